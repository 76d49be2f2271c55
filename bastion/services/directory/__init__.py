"""Finding people and rooms: the user directory and the published room directory.

`user_index.py` keeps each user's search terms in step with their profile, `users.py` answers
`POST /user_directory/search`, `room_info.py` describes a room from its state (shared by the room
list and room summaries), `rooms.py` publishes rooms and lists them (`/publicRooms`), and
`summary.py` previews one room (`/room_summary`) without leaking the existence of rooms the
requester may not preview.
"""
