"""`netlab doctor` and `cluster create`'s preflight: the host's facts, judged."""
