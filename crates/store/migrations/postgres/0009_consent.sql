-- The versioned privacy policy, each user's acceptances of it, and their consents to optional
-- purposes. None of it is personal content: it is the proof of what a user agreed to, when,
-- under which policy version and through which channel, so it stays readable.
CREATE TABLE policy_versions (
    version      BIGINT PRIMARY KEY,
    published_at BIGINT NOT NULL,
    body         TEXT NOT NULL,
    sha256       TEXT NOT NULL
);

CREATE TABLE policy_acceptances (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL REFERENCES policy_versions (version),
    accepted_at BIGINT NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (user_id, version)
);

-- A ledger: every grant and every withdrawal is a row, the latest per purpose is in force.
-- The database numbers the rows, so "latest" never depends on a node's clock.
CREATE TABLE consents (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        TEXT NOT NULL,
    granted        BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    source         TEXT NOT NULL
);
CREATE INDEX consents_by_user ON consents (user_id, purpose, id);
CREATE INDEX consents_by_purpose ON consents (purpose, user_id);
