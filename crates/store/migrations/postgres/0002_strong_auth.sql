-- Strong authentication (PostgreSQL). Accounts made by marketplace single sign-on have neither
-- an email address nor a password, so those columns become optional.

-- Consecutive failed logins, and until when the account refuses password logins.
ALTER TABLE users
    ALTER COLUMN email_sealed DROP NOT NULL,
    ALTER COLUMN email_index DROP NOT NULL,
    ALTER COLUMN password_hash DROP NOT NULL,
    ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN locked_until BIGINT,
    ADD CONSTRAINT ck_users_email_pair CHECK ((email_sealed IS NULL) = (email_index IS NULL));

-- How a session was opened and from where (device label and coarse network, sealed under the
-- user's profile key); cookie sessions are the web client's and need a CSRF token.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'bearer', ADD COLUMN device_sealed BYTEA;

-- What happened to an account, shown to its owner. The context (network, device) is sealed.
CREATE TABLE security_events (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    at             BIGINT NOT NULL,
    context_sealed BYTEA NOT NULL
);
CREATE INDEX security_events_by_user ON security_events (user_id, at DESC, id DESC);
CREATE INDEX security_events_by_time ON security_events (at);

-- Mail waiting to be sent, written in the same transaction as what it reports. The payload
-- (kind-specific facts) is sealed under the recipient's profile key; the address is read from
-- the profile at delivery, so erasing the user also cancels their mail.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    payload_sealed  BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

-- Devices (label and network, as a keyed fingerprint) an account has logged in from.
CREATE TABLE known_devices (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fingerprint  BYTEA NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, fingerprint)
);

-- TOTP: the secret is sealed; last_step is the last time step accepted, so a code is used once.
CREATE TABLE totp_credentials (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BYTEA NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT NOT NULL DEFAULT -1,
    created_at    BIGINT NOT NULL
);

-- One-time recovery codes, stored hashed; a used code is deleted.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Registered passkeys. The credential (public key, counter) is sealed with its label.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  BYTEA NOT NULL CONSTRAINT uq_passkeys_credential_id UNIQUE,
    passkey_sealed BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- Short-lived, single-use challenges: the second step of a login, and WebAuthn ceremonies
-- (their state is public: a random challenge and the allowed credentials).
CREATE TABLE auth_challenges (
    challenge_hash BYTEA PRIMARY KEY,
    kind           TEXT NOT NULL,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    state          TEXT,
    failures       BIGINT NOT NULL DEFAULT 0,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX auth_challenges_by_expiry ON auth_challenges (expires_at);

-- Accounts made by marketplace single sign-on, found by a keyed index of (provider, subject).
CREATE TABLE external_identities (
    provider      TEXT NOT NULL,
    subject_index BYTEA NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (provider, subject_index)
);
CREATE INDEX external_identities_by_user ON external_identities (user_id);

-- Token ids of single sign-on tokens already used, kept until the token would expire.
CREATE TABLE sso_token_ids (
    provider   TEXT NOT NULL,
    jti_hash   BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (provider, jti_hash)
);
CREATE INDEX sso_token_ids_by_expiry ON sso_token_ids (expires_at);

