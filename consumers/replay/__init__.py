"""Dead-letter replay: which dead letters to take again (:mod:`.selection`) and taking them
through the current pipeline, committing after each one (:mod:`.replayer`)."""
