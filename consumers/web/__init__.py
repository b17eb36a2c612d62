"""What ``cwlpipe serve`` serves to browsers: the Logs Insights query page."""
