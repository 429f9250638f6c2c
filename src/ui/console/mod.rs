//! The technologist's console.
//!
//! * [`model`] — what the console shows: stress, LGE and contrast panels with countdowns.
//! * [`chart`] — the HR/BP trend since baseline as `Path` data, with markers.
//! * [`digest`] — the journal read once, row by row: chart data, criteria, series.
//! * [`log`] — the event log: the exam's rows worded through Fluent.
//! * `view` — the controller: engine state into Slint, buttons into engine commands.

pub mod chart;
pub mod digest;
pub mod log;
pub mod model;
#[cfg(feature = "ui")]
pub mod view;
