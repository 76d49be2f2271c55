"""Rooms: the event pipeline and the operations built on it, one module per concern."""
