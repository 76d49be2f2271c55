-- The published room directory and the user directory, PostgreSQL (the SQLite file differs only
-- in the collation of `user_directory_terms.term`).
--
-- room_directory: the rooms listed by /publicRooms (spec: client-server-api#published-room-
-- directory). It replaces rooms.is_public as the record of what is published: that column keeps
-- what createRoom asked for and is no longer read. Rooms created public before this migration
-- are published by their creator at their creation time.
CREATE TABLE room_directory (
    room_id TEXT PRIMARY KEY,
    published_by TEXT NOT NULL,
    published_ts BIGINT NOT NULL
);
INSERT INTO room_directory (room_id, published_by, published_ts)
    SELECT room_id, creator, created_ts FROM rooms WHERE is_public = 1;

-- user_directory_terms: the search tokens (services/search/normalize.py) of each active user's
-- ID and display name, written with the profile change that makes them. A search term matches a
-- user when each of its tokens is a prefix of one of theirs: a range scan of the primary key
-- (term >= 'ann' AND term < 'ano'), which needs code-point order: the "C" collation compares
-- UTF-8 bytes, which is that order (a locale's collation is not). Accounts that existed before
-- this migration are indexed at start-up (users with no terms).
CREATE TABLE user_directory_terms (
    term TEXT COLLATE "C" NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (term, user_id)
);
CREATE INDEX user_directory_terms_by_user ON user_directory_terms (user_id);

-- events.state_value now also holds the join rule of m.room.join_rules (the user directory finds
-- the members of public rooms through it); events stored before get it from their PDU.
UPDATE events SET state_value = (pdu::json -> 'content') ->> 'join_rule'
    WHERE type = 'm.room.join_rules' AND state_key = '';
