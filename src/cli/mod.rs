//! The `cmr-kiosk` subcommands other than the kiosk window: scenario runs, monitor
//! diagnostics, and the exam log and accounts from the shell.

pub mod monitor;
pub mod simulate;
pub mod store;
