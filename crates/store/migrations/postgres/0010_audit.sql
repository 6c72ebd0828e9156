-- The audit log: append-only and hash-chained. Each entry's `hash` is a keyed MAC (the key
-- lives in the key store) over the previous entry's hash and this entry, so an edited, deleted
-- or reordered entry shows on verification, and someone with only the database cannot forge a
-- chain. A cut-off tail shows against `audit_head`, and against a checkpoint of it kept in the
-- key store if the head is moved back too. Entries name pseudonymous ids and counts, never
-- content or personal fields.
CREATE TABLE audit_log (
    seq     BIGINT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    hash    BYTEA NOT NULL
);

-- One row: the newest entry's number and hash. Appends lock it, so entries are numbered
-- without gaps even with several writers.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
