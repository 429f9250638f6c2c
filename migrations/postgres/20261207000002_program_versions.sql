-- Which versions of cmr-kiosk have opened this database, and the schema each left
-- it at (issue 16); see the SQLite migration of the same name.
CREATE TABLE program_versions (
    version        TEXT        NOT NULL,
    schema_version BIGINT      NOT NULL,
    first_opened   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (version, schema_version)
);
