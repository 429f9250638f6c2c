//! Nurse mode.
//!
//! * [`registration`] — the registration form: fields, checks, the record and exam type.
//! * `view` — registration, review, clearance and overrides, preparation, sign-off.

pub mod registration;
#[cfg(feature = "ui")]
pub mod view;
