//! The Slint components compiled from `ui/app.slint` by `build.rs`.
//!
//! Generated code is fenced off here so that lints for hand-written code stay strict.

#[allow(clippy::all, missing_docs, unused_qualifications, unsafe_code)]
mod generated {
    slint::include_modules!();
}

pub use generated::{
    AccountRow, Activity, AdminAdapter, AdminTab, AlarmLevel, AlarmRow, AppWindow, BreathCue,
    ChartGrid, ChartMarker, ChartTick, CheckRow, ChoiceRow, ClearanceLevel, ConsoleAdapter,
    ConsoleLine, ConsoleTab, FactChoice, FactRow, FieldRow, I18n, InjectionRow, KeyboardAdapter,
    KeypadAdapter, MonitorState, NurseAdapter, NurseTab, PatientAdapter, PatientAnswer,
    PatientStep, Pictogram, PrepRow, ReasonRow, ReviewRow, Role, Screen, ServiceRow, SignInAdapter,
    StaffRow, Theme, ViewOnly, WorklistRow,
};
