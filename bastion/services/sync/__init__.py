"""/sync: which rooms and streams changed for a user since a token, and the long-poll wait."""
