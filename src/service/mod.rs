//! The kiosk's own health for the people who keep it running (issue 16): the
//! facts the service screen and `cmr-kiosk status` show — version, database and
//! schema, disk space, backups, the wall clock's source — and the low-disk levels
//! the engine raises as a technical alarm.

pub mod clock;
pub mod disk;
pub mod status;
