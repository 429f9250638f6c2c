-- Signed checkpoints relayed from each kiosk (store::checkpoint).
CREATE TABLE checkpoints (
    device_id   TEXT        NOT NULL,
    seq         BIGINT      NOT NULL CHECK (seq >= 1),
    hash        TEXT        NOT NULL,
    wall_clock  TIMESTAMPTZ NOT NULL,
    public_key  TEXT        NOT NULL,
    signature   TEXT        NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TRIGGER checkpoints_no_change BEFORE UPDATE OR DELETE ON checkpoints
FOR EACH ROW EXECUTE FUNCTION events_append_only();
