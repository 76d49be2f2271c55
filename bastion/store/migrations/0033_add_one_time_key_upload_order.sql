-- One-time keys are claimed in the order they were uploaded (spec v1.13, MSC4225; POST
-- /keys/claim), so each key records when it came: `upload_order` is one more than the highest
-- value among the device's keys of that algorithm when it is stored (store/sql/keys.py), so a
-- later upload sorts after every key still there. Keys stored before this column existed get 0:
-- they sort before anything uploaded since, and among themselves by key ID, as they were handed
-- out until now. Ties (only from two uploads of one device racing on PostgreSQL, which the spec
-- gives no order) are broken by key ID.
ALTER TABLE one_time_keys ADD COLUMN upload_order BIGINT NOT NULL DEFAULT 0;

-- The claim's lookup (oldest key of a device and algorithm) and the upload's highest value.
CREATE INDEX one_time_keys_by_upload_order
    ON one_time_keys (user_id, device_id, algorithm, upload_order, key_id);
