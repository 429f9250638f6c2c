//! The `cmr-kiosk` subcommands other than the kiosk window: scenario runs, monitor
//! diagnostics, the alarm sound for installers, and the exam log and accounts from
//! the shell.

pub mod alarm_sound;
pub mod dicom;
pub mod maintenance;
pub mod monitor;
pub mod report;
pub mod simulate;
pub mod store;
