"""The runtime: the batch loop, its protocols, retry policy and lifecycle."""
