-- Foundation schema (SQLite). Decisions: ids are UUIDs as text; times are Unix milliseconds;
-- every personal field and every message body is a ciphertext BLOB sealed by parley-core,
-- so this database never holds them in clear. Handles are public pseudonyms and stay readable.
-- Keys live in a separate database (keys.db), never here.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    handle        TEXT NOT NULL,
    handle_key    TEXT NOT NULL CONSTRAINT uq_users_handle_key UNIQUE,
    email_sealed  BLOB NOT NULL,
    email_index   BLOB NOT NULL CONSTRAINT uq_users_email_index UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL CONSTRAINT uq_sessions_token_hash UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);
-- The periodic purge of ended sessions looks sessions up by both deadlines.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);

CREATE TABLE stream_tickets (
    ticket_hash BLOB PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX stream_tickets_by_session ON stream_tickets (session_id);
CREATE INDEX stream_tickets_by_expiry ON stream_tickets (expires_at);

-- listing_id is '' when the conversation is not about a listing, so that the uniqueness of
-- (buyer, seller, listing) also holds for listing-less conversations.
CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    buyer_id         TEXT NOT NULL REFERENCES users (id),
    seller_id        TEXT NOT NULL REFERENCES users (id),
    listing_id       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT uq_conversations_deal UNIQUE (buyer_id, seller_id, listing_id)
) STRICT;
CREATE INDEX conversations_by_buyer ON conversations (buyer_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_by_seller ON conversations (seller_id, last_activity_at DESC, id DESC);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    author_id       TEXT NOT NULL REFERENCES users (id),
    client_msg_id   TEXT NOT NULL,
    body_sealed     BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    CONSTRAINT uq_messages_seq UNIQUE (conversation_id, seq),
    CONSTRAINT uq_messages_client_msg_id UNIQUE (conversation_id, author_id, client_msg_id)
) STRICT;
