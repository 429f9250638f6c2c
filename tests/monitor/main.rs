//! Integration tests: patient-monitor protocols, the link over ptys and sockets, the simulator and the live feed.
//!
//! One test binary per layer, so the suite links Slint and sqlx a handful of times;
//! each module below was once its own target.

#[path = "../support/mod.rs"]
mod support;

mod captures;
mod faults;
mod hl7;
mod intellivue;
mod port;
mod profiles;
mod props;
mod vitals_extremes;
mod vitals_feed;
