-- A conversation about to be destroyed (every party deleted it, or its retention ran out) is
-- marked first, in the same transaction as that decision: from then on no send is accepted
-- into it, so no message is acknowledged and then destroyed with it.
ALTER TABLE conversations ADD COLUMN closing_at INTEGER;
