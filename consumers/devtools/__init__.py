"""The embedded broker and store and the sample data: for the demo and the tests only."""
