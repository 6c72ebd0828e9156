-- Rectification: an author may edit a message for a while; each earlier text is kept,
-- sealed under the same key as the message, for as long as the message itself.
CREATE TABLE message_edits (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    body_sealed  BYTEA NOT NULL,
    replaced_at  BIGINT NOT NULL
);
CREATE INDEX message_edits_by_message ON message_edits (message_id);
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
