-- Data exports (right of access): the archive is built at request time, sealed under the
-- user's profile key, and downloaded once through an unguessable link before it expires.
CREATE TABLE exports (
    token_hash     BYTEA PRIMARY KEY,
    id             TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    archive_sealed BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX exports_by_expiry ON exports (expires_at);
