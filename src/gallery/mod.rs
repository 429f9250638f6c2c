//! The screen gallery: headless rendering of any screen to PNG with the software
//! renderer, and the demonstration states it shows (made-up patients and staff on a
//! fixed clock). Nothing here runs in a real exam; the production screens only offer
//! the narrow hooks these states need.

pub mod console;
pub mod nurse;
pub mod screens;
pub mod screenshot;
pub mod staff;
