//! Integration tests: every screen under Slint's testing backend, the gallery renderer and the themes.
//!
//! One test binary per layer, so the suite links Slint and sqlx a handful of times;
//! each module below was once its own target.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod chart_render;
mod confirm;
mod console;
mod countersign;
mod dicom_notice;
mod finish;
mod input;
mod layout;
mod lock_hold;
mod maintenance;
mod nurse;
mod off_thread;
mod patient;
mod patient_elderly;
mod pinyin_keyboard;
mod screening_facts;
mod screenshot;
mod shell;
mod theme;
mod worklist;
