-- The audit log's newest entry as last seen by the server (its number and chained hash),
-- kept here, apart from the data database: someone who can rewrite that database could cut
-- the log's tail and move its head back together, but not this checkpoint.
CREATE TABLE audit_checkpoint (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
