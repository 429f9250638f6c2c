//! Breath-hold practice (clause 2.2.3): the respiratory phase a site holds at and the
//! practice result recorded for the technologist.
//!
//! The clinical rules do not act on a practice result; it is recorded so the
//! technologist can choose free-breathing sequences for a patient who cannot hold
//! long enough.

use serde::{Deserialize, Serialize};

/// The phase of the breathing cycle at which every breath-hold is taken (2.2.3: the same
/// phase throughout the exam).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreathHoldPhase {
    /// Hold after breathing out (the standard's default).
    #[default]
    EndExpiration,
    /// Hold after breathing in.
    EndInspiration,
}

impl BreathHoldPhase {
    /// The phase as it appears in configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BreathHoldPhase::EndExpiration => "end_expiration",
            BreathHoldPhase::EndInspiration => "end_inspiration",
        }
    }
}

/// The outcome of one breath-hold practice session.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BreathHoldPractice {
    /// The longest hold in seconds.
    pub best_hold_s: f64,
    /// The phase practised.
    pub phase: BreathHoldPhase,
    /// How many holds were timed.
    pub holds: u32,
}
