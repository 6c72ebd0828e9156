-- Per-conversation retention: either party may ask for the conversation to be destroyed N
-- days after its last activity (the shorter of that and the deployment's default applies).
ALTER TABLE conversations ADD COLUMN retention_days BIGINT;
CREATE INDEX conversations_by_activity ON conversations (last_activity_at);
