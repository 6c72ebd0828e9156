-- Which generation of an author's message key seals their messages in a conversation (no row:
-- generation 0). Deleting a message for everyone re-seals the author's other messages under
-- the next generation, in one transaction with this row, and then destroys the old key: a
-- backup taken before the deletion cannot show the deleted text any more.
CREATE TABLE message_key_generations (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    generation      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, author_id)
);
