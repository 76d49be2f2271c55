-- The processes writing this database's stream (store/shared_stream.py). Each live writer has a
-- row: its slot (it allocates the positions congruent to it modulo 32; unique among live rows),
-- its frontier (it never writes at or below it again), the highest bound it has handed to its
-- readers (`exposed`), the newest writer it has seen (`seen_writer`: newcomers wait until every
-- live writer has seen them), its lease (a writer whose lease has long passed is left out) and
-- the key of its life line, an advisory lock its session holds (store/lifeline.py).
CREATE SEQUENCE stream_writer_ids;

CREATE TABLE stream_writers (
    writer_id BIGINT PRIMARY KEY,
    slot INTEGER NOT NULL,
    frontier BIGINT NOT NULL,
    exposed BIGINT NOT NULL,
    seen_writer BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL,
    lifeline_key BIGINT NOT NULL
);
