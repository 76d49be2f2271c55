-- Data-leak prevention's review queue (services/dlp/), sqlite; the PostgreSQL file differs only in how `review_id` is numbered (an identity column there, the rowid here).
--
-- dlp_reviews: one row per event a `flag` policy matched, written in the event's own
-- transaction (so an event is never stored unflagged, nor a review left for an event that
-- rolled back). It names the policy, the detectors and the fields that matched, never the
-- matched text (the event itself is the evidence, read through the admin APIs). `status` is
-- `open` until an admin resolves it (`resolved_by`, `resolved_ts`, `resolution`).
CREATE TABLE dlp_reviews (
    review_id INTEGER PRIMARY KEY,
    created_ts BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    event_type TEXT NOT NULL,
    policy TEXT NOT NULL,
    detectors TEXT NOT NULL,
    fields TEXT NOT NULL,
    status TEXT NOT NULL,
    resolved_by TEXT,
    resolved_ts BIGINT,
    resolution TEXT
);
CREATE INDEX dlp_reviews_by_status ON dlp_reviews (status, review_id);
