//! The screens. Each page has a pure view-model (`model`, testable without a window)
//! and, with the `ui` feature, a `view` that binds it to the Slint components and
//! turns touches into engine commands.

#[cfg(feature = "ui")]
pub mod components;
pub mod console;
pub mod input;
#[cfg(feature = "ui")]
pub mod jobs;
pub mod nurse;
pub mod patient;
#[cfg(feature = "ui")]
pub mod shell;
pub mod staff;
#[cfg(feature = "ui")]
pub mod theme;
