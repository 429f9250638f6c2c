//! On-screen input.
//!
//! * [`model`] — keypad and keyboard models (range checks, PIN masking).
//! * `view` — wires the keypad and keyboard widgets to those models.

pub mod model;
#[cfg(feature = "ui")]
pub mod view;
