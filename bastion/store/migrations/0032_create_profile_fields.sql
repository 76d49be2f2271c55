-- Extended profile fields (spec v1.16, services/profile.py): every field of a user's global
-- profile other than the display name and avatar (which stay in `profiles`, where the member
-- events and the user directory read them): `m.tz` and custom namespaced keys. `value_json` is
-- the field's value as JSON (any JSON value, `null` included: the spec asks a server that
-- accepts null to store it, not to treat it as a deletion).
CREATE TABLE profile_fields (
    user_id TEXT NOT NULL REFERENCES users (user_id),
    field_name TEXT NOT NULL,
    value_json TEXT NOT NULL,
    PRIMARY KEY (user_id, field_name)
);
