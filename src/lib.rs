//! cmr-kiosk: the touchscreen computer in a cardiac MR exam room.
//!
//! The crate is layered; a module's folder says its layer (see `ARCHITECTURE.md`):
//!
//! * [`domain`] — the pure clinical core: screening, contrast ledger, stress and LGE
//!   timing, protocol compliance, technique facts. No I/O, no clocks, no UI types.
//! * [`engine`] — the exam engine on its own thread: the running exam (session), its
//!   clock, deadlines and alarm board, and the recorder (the durable log).
//! * [`monitor`] — patient-monitor protocols (HL7 PCD-01, IntelliVue), the link, the
//!   simulator and the kiosk's live feed.
//! * [`dicom`] — header-only DICOM reading, series summaries, classification and compliance.
//! * [`store`] — the exam record: hash-chained log on SQLite or PostgreSQL, recovery,
//!   staff accounts, sync to the central database.
//! * [`audit`] — the audit trail to the hospital: ATNA messages over syslog/TLS.
//! * [`report`] — the technique section (5.2.3) worded in zh-CN or en-US through Fluent.
//! * [`i18n`] — Fluent bundles (zh-CN, en-US) and the bridge that feeds them to Slint.
//! * [`config`] — the site configuration (`kiosk.toml`) and the settings an
//!   administrator changes on the kiosk.
//! * [`ui`] — the screens: one pure view-model per page (testable without a window)
//!   and, with the `ui` feature, the code that binds it to the Slint components.
//! * [`gallery`] — headless rendering of any screen to PNG, with the demo states the
//!   screenshots show (kept out of the production screens).
//! * [`cli`] — the `cmr-kiosk` subcommands other than the kiosk window.

pub mod audit;
pub mod cli;
pub mod config;
pub mod dicom;
pub mod domain;
pub mod engine;
#[cfg(feature = "ui")]
pub mod gallery;
pub mod i18n;
pub mod monitor;
pub mod report;
pub mod service;
pub mod store;
pub mod ui;
