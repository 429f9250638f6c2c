-- The RIS outbox (report::ris), as in the SQLite store: one row per exam and kind,
-- the control id (MSH-10) fixed at enqueue, a row marked sent never sent again.
CREATE TABLE ris_outbox (
    id          BIGSERIAL PRIMARY KEY,
    exam_id     TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    accession   TEXT   NOT NULL,
    control_id  TEXT   NOT NULL UNIQUE,
    message     TEXT   NOT NULL,
    state       TEXT   NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error  TEXT,
    created_at  TEXT   NOT NULL,
    sent_at     TEXT,
    UNIQUE (exam_id, kind)
);
CREATE INDEX ris_outbox_by_state ON ris_outbox (state, id);
