//! The Slint components compiled from `ui/app.slint` by `build.rs`.
//!
//! Generated code is fenced off here so that lints for hand-written code stay strict.

#[allow(clippy::all, missing_docs, unused_qualifications, unsafe_code)]
mod generated {
    slint::include_modules!();
}

pub use generated::{
    AlarmRow, AppWindow, BreathCue, ChartGrid, ChartMarker, CheckRow, ConsoleAdapter, ConsoleLine,
    I18n, KeyboardAdapter, KeypadAdapter, MonitorState, PatientAdapter, PatientAnswer, PatientStep,
    Role, Screen, Theme,
};
