-- Deleting for oneself: a message hidden from one party, and a conversation deleted by one
-- party (everything up to that moment hidden from them; destroyed when both have deleted it).
CREATE TABLE hidden_messages (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, message_id)
);

CREATE TABLE conversation_deletions (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    deleted_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
