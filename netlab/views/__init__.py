"""The read side: `get`, `describe`, `events` and `graph`."""
