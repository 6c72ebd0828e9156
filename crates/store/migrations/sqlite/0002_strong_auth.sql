-- no-transaction
-- Strong authentication (SQLite). Accounts made by marketplace single sign-on have neither an
-- email address nor a password, so those columns become optional. SQLite cannot drop NOT NULL
-- in place: the users table is rebuilt by the documented twelve-step procedure, with foreign
-- keys off (which only works outside a transaction, hence `no-transaction` above).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE users_rebuilt (
    id            TEXT PRIMARY KEY,
    handle        TEXT NOT NULL,
    handle_key    TEXT NOT NULL CONSTRAINT uq_users_handle_key UNIQUE,
    email_sealed  BLOB,
    email_index   BLOB CONSTRAINT uq_users_email_index UNIQUE,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    -- Consecutive failed logins, and until when the account refuses password logins.
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    CONSTRAINT ck_users_email_pair CHECK ((email_sealed IS NULL) = (email_index IS NULL))
) STRICT;
INSERT INTO users_rebuilt (id, handle, handle_key, email_sealed, email_index, password_hash, created_at)
    SELECT id, handle, handle_key, email_sealed, email_index, password_hash, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

-- How a session was opened and from where (device label and coarse network, sealed under the
-- user's profile key); cookie sessions are the web client's and need a CSRF token.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'bearer';
ALTER TABLE sessions ADD COLUMN device_sealed BLOB;

-- What happened to an account, shown to its owner. The context (network, device) is sealed.
CREATE TABLE security_events (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    at             INTEGER NOT NULL,
    context_sealed BLOB NOT NULL
) STRICT;
CREATE INDEX security_events_by_user ON security_events (user_id, at DESC, id DESC);
CREATE INDEX security_events_by_time ON security_events (at);

-- Mail waiting to be sent, written in the same transaction as what it reports. The payload
-- (kind-specific facts) is sealed under the recipient's profile key; the address is read from
-- the profile at delivery, so erasing the user also cancels their mail.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    payload_sealed  BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at);

-- Devices (label and network, as a keyed fingerprint) an account has logged in from.
CREATE TABLE known_devices (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fingerprint  BLOB NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, fingerprint)
) STRICT;

-- TOTP: the secret is sealed; last_step is the last time step accepted, so a code is used once.
CREATE TABLE totp_credentials (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER NOT NULL DEFAULT -1,
    created_at    INTEGER NOT NULL
) STRICT;

-- One-time recovery codes, stored hashed; a used code is deleted.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- Registered passkeys. The credential (public key, counter) is sealed with its label.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  BLOB NOT NULL CONSTRAINT uq_passkeys_credential_id UNIQUE,
    passkey_sealed BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
) STRICT;
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- Short-lived, single-use challenges: the second step of a login, and WebAuthn ceremonies
-- (their state is public: a random challenge and the allowed credentials).
CREATE TABLE auth_challenges (
    challenge_hash BLOB PRIMARY KEY,
    kind           TEXT NOT NULL,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    state          TEXT,
    failures       INTEGER NOT NULL DEFAULT 0,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_challenges_by_expiry ON auth_challenges (expires_at);

-- Accounts made by marketplace single sign-on, found by a keyed index of (provider, subject).
CREATE TABLE external_identities (
    provider      TEXT NOT NULL,
    subject_index BLOB NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (provider, subject_index)
) STRICT;
CREATE INDEX external_identities_by_user ON external_identities (user_id);

-- Token ids of single sign-on tokens already used, kept until the token would expire.
CREATE TABLE sso_token_ids (
    provider   TEXT NOT NULL,
    jti_hash   BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, jti_hash)
) STRICT;
CREATE INDEX sso_token_ids_by_expiry ON sso_token_ids (expires_at);

COMMIT;
PRAGMA foreign_keys = ON;
