-- Signed checkpoints of each device's chain (store::checkpoint): the kiosk's
-- Ed25519 signature over (device, seq, hash, time), every 64 rows and at every
-- exam's end.
CREATE TABLE checkpoints (
    device_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    hash        TEXT    NOT NULL,
    wall_clock  TEXT    NOT NULL,
    public_key  TEXT    NOT NULL,
    signature   TEXT    NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: rows cannot be updated');
END;

CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: rows cannot be deleted');
END;
