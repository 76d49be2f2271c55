-- Nothing on SQLite: one process writes a SQLite database, and store/stream.py's in-process
-- counter (StreamPositions) covers it. The PostgreSQL file creates `stream_writers`.
SELECT 1;
