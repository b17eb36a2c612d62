"""The imperative shell: Kafka in; OpenSearch, Kafka and Prometheus out; the CLI."""
