//! Staff access.
//!
//! * [`model`] — PIN sign-in, the idle lock and account administration, audited.
//! * `view` — the sign-in / lock overlay and the admin screens.

pub mod model;
#[cfg(feature = "ui")]
pub mod view;
