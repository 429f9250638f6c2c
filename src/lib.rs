//! cmr-kiosk: the touchscreen computer in a cardiac MR exam room.
//!
//! The crate is split into a pure clinical core and adapters around it (see
//! `ARCHITECTURE.md`):
//!
//! * [`domain`] — the pure clinical core: screening, contrast ledger, stress and LGE
//!   timing, protocol compliance, technique facts. No I/O, no clocks.
//! * [`simulate`] — the scenario runner behind `cmr-kiosk simulate`.
//! * [`dicom`] — header-only DICOM reading, series summaries, classification and compliance.
//! * [`store`] — the exam record: hash-chained log on SQLite or PostgreSQL, recovery,
//!   staff accounts, sync to the central database.
//! * [`engine`] — the exam engine on its own thread: the running exam (session), its
//!   clock, deadlines and alarm board, and the recorder (the durable log).
//! * [`console`] — what the technologist's console shows: stress, LGE and contrast panels with countdowns.
//! * [`console_chart`] — the console's HR/BP trend since baseline as `Path` data, with markers.
//! * [`console_log`] — the console's event log: the exam's rows worded through Fluent.
//! * [`console_ui`] — the console's controller: decisions into the alarm board, state into Slint, buttons into logged events.
//! * [`config`] — the site configuration (`kiosk.toml`), parsed and validated purely.
//! * [`i18n`] — Fluent bundles (zh-CN, en-US) and the bridge that feeds them to Slint.
//! * [`theme`] — day and night palettes, contrast checks, millimetre touch targets.
//! * [`monitor`] — patient-monitor protocols (HL7 PCD-01, IntelliVue), the link and a simulator.
//! * [`report`] — the technique section (5.2.3) worded in zh-CN or en-US through Fluent.
//! * [`vitals`] — the kiosk's live monitor feed (configured link or in-process simulator).
//! * [`input`] — on-screen keypad and keyboard models (range checks, PIN masking).
//! * [`input_view`] — wires the keypad and keyboard widgets to those models.
//! * [`patient`] — patient mode's controller: identity, self-report, breath-hold practice.
//! * [`patient_view`] — wires the patient views to that controller and a clock.
//! * [`registration`] — the registration form: fields, checks, the record and exam type.
//! * [`staff`] — PIN sign-in, the idle lock and account administration, audited.
//! * [`nurse_view`] — nurse mode: registration, review, clearance and overrides, preparation, sign-off.
//! * [`staff_view`] — the sign-in / lock overlay and the admin screens.
//! * [`site`] — the site settings an administrator changes on the kiosk, kept beside the database.
//! * [`ui`] — the Slint components generated from `ui/`.
//! * [`shell`] — the controller that wires the window to the rest of the program.
//! * [`screenshot`] — headless rendering of any screen to PNG with the software renderer.

pub mod config;
pub mod console;
pub mod console_chart;
pub mod console_log;
#[cfg(feature = "ui")]
pub mod console_ui;
pub mod dicom;
pub mod domain;
pub mod engine;
pub mod i18n;
pub mod input;
#[cfg(feature = "ui")]
pub mod input_view;
pub mod monitor;
#[cfg(feature = "ui")]
pub mod nurse_view;
pub mod patient;
#[cfg(feature = "ui")]
pub mod patient_view;
pub mod registration;
pub mod report;
#[cfg(feature = "ui")]
pub mod screenshot;
#[cfg(feature = "ui")]
pub mod shell;
pub mod simulate;
pub mod site;
pub mod staff;
#[cfg(feature = "ui")]
pub mod staff_view;
pub mod store;
#[cfg(feature = "ui")]
pub mod theme;
#[cfg(feature = "ui")]
pub mod ui;
pub mod vitals;
