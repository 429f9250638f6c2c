-- Which versions of cmr-kiosk have opened this database, and the schema each left
-- it at (issue 16). Written once per version at each open after the migrations, so
-- a database that a newer program has migrated names that program when an older
-- one refuses it, and the service screen says who wrote it last.
CREATE TABLE program_versions (
    version        TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    first_opened   TEXT    NOT NULL,
    PRIMARY KEY (version, schema_version)
);
