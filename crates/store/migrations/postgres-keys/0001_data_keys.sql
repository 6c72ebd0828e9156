-- Key store (PostgreSQL, a database of its own). Decision: data keys live apart from the data they protect, so
-- a backup of the data database holds only ciphertext whose keys can still be destroyed.
-- Each row is one data key wrapped by the key-encryption key named by kek_id; deleting the
-- row is crypto-shredding.
CREATE TABLE data_keys (
    scope      TEXT PRIMARY KEY,
    kek_id     TEXT NOT NULL,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
