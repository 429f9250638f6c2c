-- Kept for parity with SQLite: a PostgreSQL store can also relay onwards.
CREATE TABLE sync_marks (
    target     TEXT        NOT NULL,
    device_id  TEXT        NOT NULL,
    seq        BIGINT      NOT NULL CHECK (seq >= 0),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (target, device_id)
);
