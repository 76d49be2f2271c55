-- Account suspension (spec: client-server-api#account-suspension, services/suspensions.py): an
-- admin's reversible stop on what an account may do in rooms; it may still sign in and read.
ALTER TABLE users ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
