//! Patient mode.
//!
//! * [`model`] — identity, self-report, breath-hold practice.
//! * `view` — wires the patient views to that model and a clock.

pub mod model;
#[cfg(feature = "ui")]
pub mod view;
