-- The media repository: one row per media ID (reserved by /create or uploaded), and the
-- thumbnails generated from it.
--
-- The bytes live in the media storage (a folder by default), named only by media_id; these rows
-- are what makes a stored file downloadable. A row with uploaded_ts NULL is a reservation made by
-- POST /_matrix/media/v1/create: it belongs to user_id and lapses at unused_expires_ts.

CREATE TABLE media (
    media_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    unused_expires_ts BIGINT,
    uploaded_ts BIGINT,
    -- as the uploader sent them: Content-Type header and ?filename= (metadata only, never a path)
    content_type TEXT,
    upload_name TEXT,
    size BIGINT,
    sha256 TEXT
);
CREATE INDEX media_by_user ON media (user_id, created_ts);

-- One row per generated thumbnail, keyed by what was asked for; the image may be smaller than
-- asked (thumbnails are never upscaled).
CREATE TABLE media_thumbnails (
    media_id TEXT NOT NULL REFERENCES media (media_id) ON DELETE CASCADE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    method TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (media_id, width, height, method)
);
