//! Integration tests: the `cmr-kiosk` program's subcommands, run as a child process.
//!
//! One test binary per layer, so the suite links Slint and sqlx a handful of times;
//! each module below was once its own target.

#[path = "../support/mod.rs"]
mod support;

mod commands;
mod dicom_node;
mod store;
mod synth;
