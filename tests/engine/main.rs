//! Integration tests: the exam engine, the recorder, the alarm board and the alarm
//! sound, with restarts.
//!
//! One test binary per layer, so the suite links Slint and sqlx a handful of times;
//! each module below was once its own target.

#[path = "../support/mod.rs"]
mod support;

mod alarms;
mod exam_engine;
mod recorder;
mod sound;
mod watchdog;
