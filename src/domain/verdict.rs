//! The clearance as a verdict for the exam ordered (2.1.2, 2.3.1, 3.1.3.2, 3.2.3).
//!
//! [`super::screening::assess`] says what the screening allows in general (the exam,
//! gadolinium, the stress drug). Staff need the answer for the exam actually ordered:
//! can *this* exam go ahead, and if not, what could go ahead instead and what must
//! happen to each finding that holds it back. [`verdict`] gives exactly that, purely
//! from the clearance and the exam type: a finding in a scope the exam does not use
//! (no gadolinium in a non-contrast exam) does not hold it back.

use serde::{Deserialize, Serialize};

use super::protocol::ExamType;
use super::screening::{Clearance, Reason, ReasonCode, Scope};

/// Whether the ordered exam may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Go {
    /// Nothing the exam uses is restricted.
    Yes,
    /// It may go ahead within recorded conditions or overrides (a conditional
    /// implant, a physician's documented decision).
    WithConditions,
    /// A finding holds it back.
    No,
}

/// What staff do next about a finding that holds the exam back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// A physician's documented override (name and reason) lifts it.
    PhysicianOverride,
    /// Find the device's MR label and record it with its conditions (2.1.2).
    RecordImplantLabel,
    /// Enter a current eGFR (2.3.1); a physician may also override.
    RecordEgfr,
    /// No override lifts it: call the physician (stabilise first, another modality,
    /// another scanner).
    CallPhysician,
}

impl NextStep {
    /// Every next step, for tests that each has its words.
    pub const ALL: [NextStep; 4] = [
        NextStep::PhysicianOverride,
        NextStep::RecordImplantLabel,
        NextStep::RecordEgfr,
        NextStep::CallPhysician,
    ];
}

impl ReasonCode {
    /// What staff do next about this finding while it holds an exam back.
    pub fn next_step(self) -> NextStep {
        use ReasonCode::*;
        match self {
            ImplantUnknown | ImplantConditional | ConditionalImplantWithoutConditions => {
                NextStep::RecordImplantLabel
            }
            EgfrUnknown => NextStep::RecordEgfr,
            ImplantUnsafe | ImplantFieldStrength | HaemodynamicallyUnstable | AvBlock => {
                NextStep::CallPhysician
            }
            PregnancyFirstTrimester
            | PregnancyContrast
            | PregnancyStress
            | SevereClaustrophobia
            | ContrastAllergy
            | EgfrBelow30
            | Asthma
            | CaffeineWithin12h
            | DipyridamoleWithin24h => NextStep::PhysicianOverride,
        }
    }
}

/// One finding that holds the ordered exam back, with its next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// The finding.
    pub code: ReasonCode,
    /// What staff do next.
    pub next: NextStep,
}

/// The clearance read for one exam type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The exam ordered.
    pub exam_type: ExamType,
    /// Whether it may go ahead.
    pub go: Go,
    /// When it may not: the most complete exam the clearance allows instead
    /// (contrast without stress, then non-contrast); `None` when no exam may go ahead
    /// or the ordered one may.
    pub fallback: Option<ExamType>,
    /// Every finding that holds it back, in rule order, each with its next step.
    pub holding: Vec<Holding>,
}

/// Whether an exam of type `t` uses what a rule of `scope` restricts.
pub fn uses(t: ExamType, scope: Scope) -> bool {
    match scope {
        Scope::Exam => true,
        Scope::Contrast => t.needs_contrast(),
        Scope::StressDrug => t.stress_drug().is_some(),
    }
}

fn relevant(t: ExamType) -> impl Fn(&&Reason) -> bool {
    move |r| uses(t, r.scope)
}

/// The verdict of `clearance` for an exam of type `exam_type`. Pure.
pub fn verdict(clearance: &Clearance, exam_type: ExamType) -> Verdict {
    let holding: Vec<Holding> = clearance
        .reasons
        .iter()
        .filter(relevant(exam_type))
        .filter(|r| r.is_blocking())
        .map(|r| Holding {
            code: r.code,
            next: r.code.next_step(),
        })
        .collect();
    let go = if !holding.is_empty() {
        Go::No
    } else if clearance.reasons.iter().any(|r| relevant(exam_type)(&r)) {
        Go::WithConditions
    } else {
        Go::Yes
    };
    let fallback = if go == Go::No {
        [ExamType::Contrast, ExamType::Routine]
            .into_iter()
            .filter(|t| *t != exam_type && less_than(*t, exam_type))
            .find(|t| verdict(clearance, *t).go != Go::No)
    } else {
        None
    };
    Verdict {
        exam_type,
        go,
        fallback,
        holding,
    }
}

/// Whether exam `a` gives a subset of what exam `b` gives (non-contrast ⊂ contrast ⊂
/// stress).
fn less_than(a: ExamType, b: ExamType) -> bool {
    let rank = |t: ExamType| match t {
        ExamType::Routine => 0,
        ExamType::Contrast => 1,
        ExamType::AdenosineStress | ExamType::RegadenosonStress => 2,
    };
    rank(a) < rank(b)
}
