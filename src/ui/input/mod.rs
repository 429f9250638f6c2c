//! On-screen input.
//!
//! * [`model`] — keypad and keyboard models (range checks, PIN masking).
//! * [`pinyin`] — pinyin input: syllables, ranked candidates, the composer (issue 18).
//! * `view` — wires the keypad and keyboard widgets to those models.

pub mod model;
pub mod pinyin;
#[cfg(feature = "ui")]
pub mod view;
