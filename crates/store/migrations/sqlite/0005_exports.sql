-- Data exports (right of access): the archive is built at request time, sealed under the
-- user's profile key, and downloaded once through an unguessable link before it expires.
CREATE TABLE exports (
    token_hash     BLOB PRIMARY KEY,
    id             TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    archive_sealed BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX exports_by_expiry ON exports (expires_at);
