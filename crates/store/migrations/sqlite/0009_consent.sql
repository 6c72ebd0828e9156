-- The versioned privacy policy, each user's acceptances of it, and their consents to optional
-- purposes. None of it is personal content: it is the proof of what a user agreed to, when,
-- under which policy version and through which channel, so it stays readable.
CREATE TABLE policy_versions (
    version      INTEGER PRIMARY KEY,
    published_at INTEGER NOT NULL,
    body         TEXT NOT NULL,
    sha256       TEXT NOT NULL
) STRICT;

CREATE TABLE policy_acceptances (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL REFERENCES policy_versions (version),
    accepted_at INTEGER NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (user_id, version)
) STRICT;

-- A ledger: every grant and every withdrawal is a row, the latest per purpose is in force.
-- The database numbers the rows, so "latest" never depends on a node's clock.
CREATE TABLE consents (
    id             INTEGER PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        TEXT NOT NULL,
    granted        INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    policy_version INTEGER NOT NULL REFERENCES policy_versions (version),
    source         TEXT NOT NULL
) STRICT;
CREATE INDEX consents_by_user ON consents (user_id, purpose, id);
CREATE INDEX consents_by_purpose ON consents (purpose, user_id);
