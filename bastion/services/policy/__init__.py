"""The organisation policy: one versioned document (`document.py`), kept by `service.py`, and
enforced on the events themselves by the event hooks of `enforcement.py`."""
