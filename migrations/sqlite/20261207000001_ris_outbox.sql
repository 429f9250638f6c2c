-- The RIS outbox (report::ris): each HL7 ORU^R01 the kiosk owes the RIS, kept
-- until the RIS acknowledges it. One row per exam and kind (the report, or an
-- explicitly asked correction); the control id (MSH-10) is fixed at enqueue, so a
-- message resent after a restart carries the same id and a RIS that already has it
-- can discard the repeat. A row marked sent is never sent again.
CREATE TABLE ris_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    exam_id     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    accession   TEXT    NOT NULL,
    control_id  TEXT    NOT NULL UNIQUE,
    message     TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error  TEXT,
    created_at  TEXT    NOT NULL,
    sent_at     TEXT,
    UNIQUE (exam_id, kind)
);
CREATE INDEX ris_outbox_by_state ON ris_outbox (state, id);
