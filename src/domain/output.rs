//! What the clinical core tells the shell: [`Output`] = a [`Decision`] stamped
//! with the exam time it fell due.
//!
//! Every row of the simulator's output table (design/scenario-format.md) is a
//! variant here, plus the kiosk-only decisions (infusion rate, escalation,
//! reminders, series findings). Alarms (IEC 60601-1-8 priorities) and reminders
//! are distinct kinds: a reminder never sounds.

use serde::{Deserialize, Serialize};

use super::contrast::Purpose;
use super::protocol::{Finding, ProtocolStep};
use super::screening::Clearance;
use super::stress::{StopCriterion, StressDrug};
use super::time::Instant;

/// A decision with the exam time it fell due (a deadline carries its own time,
/// not the time it was noticed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// When the decision fell due.
    pub at: Instant,
    /// The decision.
    #[serde(flatten)]
    pub decision: Decision,
}

/// Everything the clinical core decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// Screening outcome (after patient, screening or override changes).
    Clearance(Clearance),
    /// Image stress perfusion now (once per stress run).
    StressImagingDue {
        /// Which criterion fired first.
        reason: StressImagingReason,
    },
    /// The pump rate to set (on start and on escalation).
    Infusion {
        /// Drug.
        drug: StressDrug,
        /// Dose (µg/kg/min).
        dose_ug_kg_min: f64,
        /// Pump rate (mL/h).
        rate_ml_h: f64,
    },
    /// Site escalation enabled and the patient not stressed: offer the higher dose.
    EscalationDue {
        /// Dose to escalate to (µg/kg/min).
        dose_ug_kg_min: f64,
        /// Its pump rate (mL/h).
        rate_ml_h: f64,
    },
    /// Stop the infusion now.
    StopStressDue {
        /// Why.
        reason: StopReason,
    },
    /// The recovery wait after stress is over: rest perfusion may start.
    RestPerfusionReady,
    /// The LGE window changed.
    LgeWindow {
        /// Earliest start per the standard.
        opens_at: Instant,
        /// Latest start per the standard.
        closes_at: Instant,
        /// Dose-dependent guidance: best contrast from here (≥ `opens_at`).
        best_from: Instant,
        /// Set by the first perfusion injection while the second is still to come:
        /// the second replaces it with the final window (3.1.4.1).
        #[serde(default)]
        provisional: bool,
    },
    /// The LGE window is open.
    LgeWindowOpen,
    /// The LGE window has closed.
    LgeWindowClosed,
    /// An injection was recorded.
    Dose(DoseRecord),
    /// Something is outside the standard's range but allowed.
    Warning {
        /// Code.
        code: WarningCode,
    },
    /// An input the kiosk refuses; it changed nothing.
    Rejected {
        /// Code.
        code: RejectCode,
    },
    /// An alarm condition (sounds, by priority).
    Alarm {
        /// Code.
        code: AlarmCode,
        /// IEC 60601-1-8 priority.
        priority: AlarmPriority,
    },
    /// A silent reminder for the technologist.
    Reminder {
        /// Code.
        code: ReminderCode,
    },
    /// An acquired series' parameters fall outside its catalogue entry.
    SeriesFindings {
        /// Step.
        step: ProtocolStep,
        /// Findings.
        findings: Vec<Finding>,
    },
}

/// The dose line after an accepted injection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoseRecord {
    /// Purpose of this injection.
    pub purpose: Purpose,
    /// Volume of this injection (mL).
    pub volume_ml: f64,
    /// Gadolinium in this injection (mmol).
    pub mmol: f64,
    /// Total so far (mmol).
    pub cumulative_mmol: f64,
    /// Total so far (mmol/kg).
    pub cumulative_mmol_kg: f64,
    /// Total agent volume so far (mL).
    pub cumulative_ml: f64,
}

/// Why stress imaging is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StressImagingReason {
    /// HR ≥ baseline + 10 /min.
    HrRise,
    /// SBP ≤ baseline − 10 mmHg.
    SbpDrop,
    /// The maximum infusion time before imaging (240 s) was reached.
    MaxDuration,
    /// Regadenoson: the post-bolus delay (≈ 60 s) has passed.
    BolusDelay,
}

/// Why the infusion must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum StopReason {
    /// Stress perfusion was acquired (3.2.3 step 3).
    StressImagingAcquired,
    /// SBP fell below the stop limit (practice: < 80 mmHg).
    SbpBelowStopLimit,
    /// A stop criterion was noted.
    StopCriterion {
        /// Which one.
        criterion: StopCriterion,
    },
}

/// Warning codes (stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// Injection rate outside 3–7 mL/s (3.1.3.2).
    RateOutOfRange,
    /// Flush outside 20–30 mL (3.1.3.2).
    FlushOutOfRange,
    /// Cumulative gadolinium above 0.2 mmol/kg (3.1.3.2).
    #[serde(rename = "cumulative_above_0_2")]
    CumulativeAbove0_2,
    /// ACR group I agent with eGFR < 30 (practice).
    AcrGroupIWithLowEgfr,
    /// Contrast given with eGFR unknown (2.3.1).
    EgfrUnknown,
    /// LGE acquired before the window opened without a recorded early start (3.1.4.1).
    LgeBeforeWindow,
    /// LGE acquired after the window closed (3.1.4.1).
    LgeAfterWindow,
    /// Early LGE start recorded although the dose is not low (3.1.4.1).
    LgeEarlyStartNotLowDose,
    /// Regadenoson given before rest perfusion (practice: rest first).
    RegadenosonBeforeRest,
    /// An acquired series is outside its catalogue ranges (3.1, 3.2).
    SeriesOutOfRange,
    /// The infusion has run past the site's maximum.
    InfusionOverdue,
}

/// Codes for refused inputs (stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// Clearance blocks contrast (2.3.1, 3.1.3.2).
    ContrastBlocked,
    /// A top-up above 0.05 mmol/kg (3.1.4.1).
    #[serde(rename = "top_up_above_0_05")]
    TopUpAbove0_05,
    /// No patient registered yet.
    NoPatient,
    /// No contrast agent selected.
    NoAgentSelected,
    /// The agent is not for CMR (gadoxetate) or not in the catalogue.
    AgentNotForCmr,
    /// Clearance blocks the stress drug (3.2.3). Logged before the second edition
    /// of the contract as `stress_drug_blocked`.
    #[serde(rename = "stress_blocked", alias = "stress_drug_blocked")]
    StressDrugBlocked,
    /// Baseline SBP < 90 mmHg: stress drug contraindicated (practice).
    #[serde(rename = "sbp_below_90")]
    SbpBelow90,
    /// A stress run is already active.
    StressAlreadyRunning,
    /// No stress run to stop or escalate.
    NoStressRunning,
    /// Escalation is not enabled at this site or already done.
    EscalationNotAllowed,
    /// The exam is blocked by clearance.
    ExamBlocked,
    /// Sign-off before the exam type was chosen.
    NoExamType,
    /// Sign-off with a preparation item (2.2.1, 2.2.2) not yet confirmed.
    PreparationIncomplete,
    /// The injection would take the cumulative dose above the maximum (3.1.3.2:
    /// 0.2 mmol/kg; 0.1 after an eGFR < 30 override, on dialysis or with acute
    /// kidney injury). Hard: a physician's countersign for this step.
    DoseAboveMax,
    /// An injection below the plausible dose (0.01 mmol/kg): a dose typed into
    /// the mL field. Soft: a confirmation naming the check.
    DoseImplausible,
    /// An ACR group I agent with eGFR < 30, dialysis or acute kidney injury
    /// (practice, even after the eGFR override). Hard.
    GroupIAgentLowEgfr,
    /// A stress-drug dose outside the site's range (adenosine 140–210 µg/kg/min
    /// at start or escalation; regadenoson 0.4 mg). Hard.
    StressDoseOutOfRange,
    /// A stress drug started with no HR and no SBP reading in the 300 s before
    /// (3.2.3 needs a baseline). Soft.
    NoBaselineVitals,
    /// A rest perfusion injection while adenosine runs or before the recovery wait
    /// is over (3.2.3 step 4). Soft.
    RestBeforeRecovery,
    /// A stress perfusion injection with no stress drug acting (3.2.3). Soft.
    StressPerfusionWithoutStress,
    /// The same purpose and dose as the injection recorded less than a minute
    /// before: a double tap or a second entry of one injection. Soft.
    PossibleDuplicate,
    /// A correction names no injection the ledger holds.
    NothingToVoid,
}

/// Who may lift a refused step, for that step only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lift {
    /// A hard limit: a physician's countersign (PIN, reason, audited).
    Countersign,
    /// A soft check: a second touch on a confirmation that names the check.
    Confirmation,
    /// A screening rule: a physician's clearance override naming the rule.
    ClearanceOverride,
    /// A screening finding no override lifts (an implant of unknown MR status, an
    /// unstable patient): only a corrected screening entry does.
    ResolveFinding,
    /// Nothing lifts it: the input itself must change.
    Nothing,
}

impl Lift {
    /// Every way a refusal is lifted, for tests that each has its words.
    pub const ALL: [Lift; 5] = [
        Lift::Countersign,
        Lift::Confirmation,
        Lift::ClearanceOverride,
        Lift::ResolveFinding,
        Lift::Nothing,
    ];
}

impl RejectCode {
    /// Every code, for tests that every one has its words in every language.
    pub const ALL: [RejectCode; 22] = [
        RejectCode::ContrastBlocked,
        RejectCode::TopUpAbove0_05,
        RejectCode::NoPatient,
        RejectCode::NoAgentSelected,
        RejectCode::AgentNotForCmr,
        RejectCode::StressDrugBlocked,
        RejectCode::SbpBelow90,
        RejectCode::StressAlreadyRunning,
        RejectCode::NoStressRunning,
        RejectCode::EscalationNotAllowed,
        RejectCode::ExamBlocked,
        RejectCode::NoExamType,
        RejectCode::PreparationIncomplete,
        RejectCode::DoseAboveMax,
        RejectCode::DoseImplausible,
        RejectCode::GroupIAgentLowEgfr,
        RejectCode::StressDoseOutOfRange,
        RejectCode::NoBaselineVitals,
        RejectCode::RestBeforeRecovery,
        RejectCode::StressPerfusionWithoutStress,
        RejectCode::PossibleDuplicate,
        RejectCode::NothingToVoid,
    ];

    /// What lifts the refusal (the "Guards" table of the simulator contract).
    pub fn lifted_by(self) -> Lift {
        use RejectCode::*;
        match self {
            DoseAboveMax | TopUpAbove0_05 | GroupIAgentLowEgfr | StressDoseOutOfRange => {
                Lift::Countersign
            }
            DoseImplausible
            | NoBaselineVitals
            | RestBeforeRecovery
            | StressPerfusionWithoutStress
            | PossibleDuplicate => Lift::Confirmation,
            ContrastBlocked | StressDrugBlocked | ExamBlocked => Lift::ClearanceOverride,
            NoPatient
            | NoAgentSelected
            | AgentNotForCmr
            | SbpBelow90
            | StressAlreadyRunning
            | NoStressRunning
            | EscalationNotAllowed
            | NoExamType
            | PreparationIncomplete
            | NothingToVoid => Lift::Nothing,
        }
    }
}

/// Alarm codes (stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmCode {
    /// Heart rate 0 /min from the monitor: asystole (or no detectable rhythm).
    /// Highest priority, whatever the exam's phase, until a rate is read again.
    Asystole,
    /// SBP below the floor during stress (default 90 mmHg).
    SbpLow,
    /// SBP below the stop limit (practice: 80 mmHg): stop criterion.
    SbpBelowStopLimit,
    /// SpO₂ below the floor during stress (default 90 %).
    Spo2Low,
    /// Monitor data lost while the stress drug acts.
    MonitorLost,
    /// An adverse reaction / stop criterion was noted during stress.
    AdverseReaction,
    /// The stress infusion is still running past its longest time (medium priority,
    /// until it is stopped).
    InfusionOverdue,
    /// Heart rate below 40 /min while a stress drug acts or during the observation
    /// after it (practice: symptomatic bradycardia / AV block).
    HrLow,
    /// An acquired series exceeded a recorded condition of an MR-conditional implant
    /// (field strength, whole-body SAR, B1+rms or dB/dt; 2.1.2).
    ImplantConditionExceeded,
}

impl AlarmCode {
    /// Every code, for tests that every one has its words in every language.
    pub const ALL: [AlarmCode; 9] = [
        AlarmCode::Asystole,
        AlarmCode::SbpLow,
        AlarmCode::SbpBelowStopLimit,
        AlarmCode::Spo2Low,
        AlarmCode::MonitorLost,
        AlarmCode::AdverseReaction,
        AlarmCode::InfusionOverdue,
        AlarmCode::HrLow,
        AlarmCode::ImplantConditionExceeded,
    ];
}

/// Alarm priority (IEC 60601-1-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmPriority {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// Reminder codes (silent, stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderCode {
    /// Re-check TI (TI scout) before the LGE block: TI drifts upward with time.
    TiRecheck,
    /// Watch the patient for adverse reactions after stopping the stress drug (3.2.3).
    ObservePatient,
    /// Consider the reversal drug (aminophylline): a stop criterion or a high alarm
    /// with regadenoson, or a high alarm still present 60 s after an adenosine stop.
    ConsiderAminophylline,
    /// An LGE series was not reconstructed with PSIR: PSIR is recommended (3.1.4.2).
    PsirRecommended,
}

impl ReminderCode {
    /// Every code, for tests that every one has its words in every language.
    pub const ALL: [ReminderCode; 4] = [
        ReminderCode::TiRecheck,
        ReminderCode::ObservePatient,
        ReminderCode::ConsiderAminophylline,
        ReminderCode::PsirRecommended,
    ];
}
