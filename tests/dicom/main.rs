//! Integration tests: header reading, hostile files, series scans and the watch folder.
//!
//! One test binary per layer, so the suite links Slint and sqlx a handful of times;
//! each module below was once its own target.

#[path = "../support/mod.rs"]
mod support;

mod coverage;
mod files;
mod hostile;
mod node;
mod scan;
mod watch;
