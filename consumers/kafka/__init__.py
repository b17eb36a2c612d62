"""Kafka: the group consumer source, the producer, the dead-letter topic."""
