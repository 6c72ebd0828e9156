-- A device token lets its owner past an account lock a few times between successful logins;
-- each pass is counted here before the answer is checked, so a stolen token is no licence to
-- guess without limit.
ALTER TABLE known_devices ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;

-- A user has at most one live challenge of each kind, even when two logins race: a new one
-- replaces the old (challenges live minutes, so the ones pending now are simply withdrawn).
DELETE FROM auth_challenges WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX auth_challenges_one_per_user ON auth_challenges (user_id, kind) WHERE user_id IS NOT NULL;

-- An account made by single sign-on has no password and logs in through its marketplace; a
-- passkey on it (possible before this version, and addable by a session alone) would be a way
-- in around the marketplace that its owner could not take back. They go.
DELETE FROM passkeys WHERE user_id IN (SELECT id FROM users WHERE password_hash IS NULL);
