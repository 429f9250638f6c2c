//! Integration tests: the exam log, accounts, crash safety, relay and TLS to a real PostgreSQL.
//!
//! One test binary per layer, so the suite links Slint and sqlx a handful of times;
//! each module below was once its own target.

#[path = "../support/mod.rs"]
mod support;

mod account_safety;
mod accounts;
mod at_rest;
mod atna;
mod backup;
mod crash;
mod log;
mod story;
mod sync;
mod tamper;
mod tls;
mod verify_live;
