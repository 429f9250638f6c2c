-- The append-only exam log with its per-device SHA-256 hash chain.
CREATE TABLE events (
    id          TEXT        PRIMARY KEY,                    -- event UUID
    exam_id     TEXT,                                       -- exam UUID; NULL for audit outside an exam
    device_id   TEXT        NOT NULL,                       -- the kiosk that wrote it
    seq         BIGINT      NOT NULL CHECK (seq >= 1),      -- per-device sequence number, no gaps
    wall_clock  TIMESTAMPTZ NOT NULL,                       -- UTC, a label only
    mono_ms     BIGINT      NOT NULL CHECK (mono_ms >= 0),  -- monotonic offset on the exam's timeline
    actor       TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    payload     TEXT        NOT NULL,                       -- JSON, hashed byte for byte
    prev_hash   TEXT        NOT NULL,
    hash        TEXT        NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (device_id, seq)
);

CREATE INDEX events_by_exam ON events (exam_id, device_id, seq);

-- The last row of each device's chain written directly to this database.
CREATE TABLE log_head (
    device_id TEXT   PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT   NOT NULL
);

CREATE FUNCTION events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the exam log is append-only: rows cannot be updated or deleted';
END
$$;

CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();
