-- Staff accounts: one per person; PINs stored as Argon2 PHC strings only.
CREATE TABLE staff (
    id            TEXT        PRIMARY KEY,
    username      TEXT        NOT NULL UNIQUE,
    display_name  TEXT        NOT NULL,
    role          TEXT        NOT NULL CHECK (role IN ('nurse', 'technologist', 'physician', 'admin')),
    pin_hash      TEXT        NOT NULL,
    disabled      BOOLEAN     NOT NULL DEFAULT FALSE,
    failed_pins   INTEGER     NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL
);
