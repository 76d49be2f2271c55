"""Moderation: the report queue, admin removal of messages, and how the server gets the power to
remove them in rooms it did not create (docs/governance.md, "Moderation").

- `reports.py`: users file reports (of an event they can see, a room, a user) into one queue;
  admins list, read, dismiss, resolve and delete them (audited, except a user's own report).
- `acting.py`: the server acts as the organisation's moderation account (policy
  `rooms.moderator`): it gets the account into the room and, if it lacks power, has it promoted.
- `redactions.py`: an admin redacts one event, or all of a user's messages through a durable,
  resumable job (`jobs.py` does its batches).
- `room_facts.py`: the admin-side reads of events and room state (a read-door exception).
"""
