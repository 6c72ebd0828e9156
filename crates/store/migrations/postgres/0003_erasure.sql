-- Erasure: an erased account stays as a tombstone row (conversations and messages still point
-- at it) with a meaningless handle and no personal field; its messages stay as numbered
-- placeholders whose bodies are gone (and whose keys were destroyed first).
ALTER TABLE users ADD COLUMN erased_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
