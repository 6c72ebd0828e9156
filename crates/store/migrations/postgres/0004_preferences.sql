-- Privacy preferences and blocks. Settings, not personal content, so they stay readable:
-- who may start a conversation with a user, their "do not sell or share" flag, whether they
-- want mail about logins from new devices; and whom they have blocked.
CREATE TABLE preferences (
    user_id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    contact_policy  TEXT NOT NULL,
    do_not_sell     BIGINT NOT NULL,
    new_device_mail BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_by_blocked ON blocks (blocked_id);
