//! What lifts a clinical limit for one step: a physician's countersign for a hard
//! limit, a named confirmation for a soft check (the "Guards" section of the
//! simulator contract; clauses 3.1.3.2, 3.1.4.1 and 3.2.3).
//!
//! A guarded step (an injection, a stress-drug start or escalation) carries its own
//! [`StepAuthority`]. The exam checks every limit *before* the step is recorded as
//! done; a crossed limit refuses the step (nothing changes) unless the step's
//! authority lifts exactly that kind of limit. The authority is part of the logged
//! event, so the record says who lifted what, and replay decides the same way.

use serde::{Deserialize, Serialize};

use super::output::{Lift, RejectCode};

/// A physician's countersign for one step (in the kiosk: the physician's own PIN,
/// checked by the store and audited before the event is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Countersign {
    /// The physician's name (the account that signed).
    pub by: String,
    /// The documented reason.
    pub reason: String,
}

/// What the person giving a step brought to lift its limits; for this step only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StepAuthority {
    /// A physician's countersign: lifts hard limits ([`Lift::Countersign`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countersign: Option<Countersign>,
    /// Soft checks the technologist confirmed by name ([`Lift::Confirmation`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmed: Vec<RejectCode>,
}

impl StepAuthority {
    /// No countersign and no confirmation: every limit holds.
    pub fn is_empty(&self) -> bool {
        self.countersign.is_none() && self.confirmed.is_empty()
    }

    /// A countersign by `by` for `reason`.
    pub fn countersigned(by: &str, reason: &str) -> Self {
        StepAuthority {
            countersign: Some(Countersign {
                by: by.to_string(),
                reason: reason.to_string(),
            }),
            confirmed: Vec::new(),
        }
    }

    /// Every soft check confirmed (the simulator's `"confirmed": true`).
    pub fn confirm_all(mut self) -> Self {
        self.confirmed = RejectCode::ALL
            .iter()
            .copied()
            .filter(|c| c.lifted_by() == Lift::Confirmation)
            .collect();
        self
    }

    /// Whether this authority lifts `code` for its step. A countersign needs a name
    /// and a reason; it lifts hard limits only, and a confirmation only the soft
    /// check it names. Screening rules are lifted by clearance overrides, never here.
    pub fn lifts(&self, code: RejectCode) -> bool {
        match code.lifted_by() {
            Lift::Countersign => self
                .countersign
                .as_ref()
                .is_some_and(|c| !c.by.trim().is_empty() && !c.reason.trim().is_empty()),
            Lift::Confirmation => self.confirmed.contains(&code),
            Lift::ClearanceOverride | Lift::ResolveFinding | Lift::Nothing => false,
        }
    }

    /// `Err(code)` when the limit `code` is crossed and this authority does not lift it.
    pub fn check(&self, crossed: bool, code: RejectCode) -> Result<(), RejectCode> {
        if crossed && !self.lifts(code) {
            Err(code)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_countersign_lifts_hard_limits_only_and_a_confirmation_only_what_it_names() {
        let c = StepAuthority::countersigned("Dr Li", "benefit outweighs risk");
        assert!(c.lifts(RejectCode::DoseAboveMax));
        assert!(!c.lifts(RejectCode::DoseImplausible));
        assert!(!c.lifts(RejectCode::ContrastBlocked));
        let soft = StepAuthority {
            countersign: None,
            confirmed: vec![RejectCode::DoseImplausible],
        };
        assert!(soft.lifts(RejectCode::DoseImplausible));
        assert!(!soft.lifts(RejectCode::RestBeforeRecovery));
        assert!(!soft.lifts(RejectCode::DoseAboveMax));
        let nameless = StepAuthority::countersigned(" ", "reason");
        assert!(!nameless.lifts(RejectCode::DoseAboveMax));
        let all = StepAuthority::default().confirm_all();
        assert_eq!(all.confirmed.len(), 5);
        assert!(!all.lifts(RejectCode::TopUpAbove0_05));
    }
}
