"""OpenSearch: the bulk sink, index templates, retention."""
