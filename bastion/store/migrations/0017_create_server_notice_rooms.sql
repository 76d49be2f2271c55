-- The server notices room of each user (services/notices.py): at most one per user, the room the
-- notices account invited them to. When the user has left it, the next notice makes a new room and
-- replaces the row.
CREATE TABLE server_notice_rooms (
    user_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX server_notice_rooms_by_room ON server_notice_rooms (room_id);
