//! Nurse mode.
//!
//! * [`facts`] — the safety facts staff answer by a deliberate choice.
//! * [`registration`] — the registration form: fields, checks, the record and exam type.
//! * `view` — registration, review, clearance and overrides, preparation, sign-off.

pub mod facts;
pub mod registration;
#[cfg(feature = "ui")]
pub mod view;
