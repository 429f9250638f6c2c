-- The outbox relay's high-water mark: last sequence number the central
-- database acknowledged, per target and device.
CREATE TABLE sync_marks (
    target     TEXT    NOT NULL,
    device_id  TEXT    NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (target, device_id)
);
