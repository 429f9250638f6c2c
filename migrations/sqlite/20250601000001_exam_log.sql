-- The append-only exam log with its per-device SHA-256 hash chain.
CREATE TABLE events (
    id          TEXT    PRIMARY KEY NOT NULL,          -- event UUID
    exam_id     TEXT,                                  -- exam UUID; NULL for audit outside an exam
    device_id   TEXT    NOT NULL,                      -- the kiosk that wrote it
    seq         INTEGER NOT NULL CHECK (seq >= 1),     -- per-device sequence number, no gaps
    wall_clock  TEXT    NOT NULL,                      -- UTC, a label only
    mono_ms     INTEGER NOT NULL CHECK (mono_ms >= 0), -- monotonic offset on the exam's timeline
    actor       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,                      -- JSON, hashed byte for byte
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    UNIQUE (device_id, seq)
);

CREATE INDEX events_by_exam ON events (exam_id, device_id, seq);

-- The last row of each device's chain: a deleted tail is detectable.
CREATE TABLE log_head (
    device_id TEXT    PRIMARY KEY NOT NULL,
    seq       INTEGER NOT NULL,
    hash      TEXT    NOT NULL
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the exam log is append-only: rows cannot be updated');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the exam log is append-only: rows cannot be deleted');
END;
