//! The report's technique facts (clause 5.2.3), built from an exam's record.
//!
//! Only facts: region, routine or contrast-enhanced, scanner, sequences, agent,
//! dose, injection method and rate, flush, stress drug, dose and duration. The
//! zh-CN / en-US wording is rendered elsewhere (Fluent); numbers here are
//! already rounded for reporting (mmol 3 dp, mmol/kg 4 dp, mL 1 dp).

use serde::{Deserialize, Serialize};

use super::contrast::{AgentId, InjectionMethod, Purpose};
use super::protocol::ProtocolStep;
use super::stress::{StressDose, StressDrug};

/// Round to `dp` decimals (for reporting only; the ledger keeps full precision).
pub fn round_to(v: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    let r = (v * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

/// Routine or contrast-enhanced (5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExamKind {
    /// No contrast given.
    Routine,
    /// Contrast given.
    ContrastEnhanced,
}

/// The scanner, as recorded for the exam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scanner {
    /// Vendor.
    pub vendor: String,
    /// Model.
    pub model: String,
    /// Field strength (T): 1.5 or 3.0.
    pub field_strength_t: f64,
}

/// One injection, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectionFact {
    /// Seconds from the exam origin.
    pub at_s: f64,
    /// Purpose.
    pub purpose: Purpose,
    /// Agent volume (mL).
    pub volume_ml: f64,
    /// Gadolinium (mmol).
    pub mmol: f64,
    /// Dose (mmol/kg).
    pub mmol_kg: f64,
    /// Rate (mL/s).
    pub rate_ml_s: f64,
    /// Flush (mL).
    pub flush_ml: f64,
    /// Method.
    pub method: InjectionMethod,
}

/// Stress, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressFact {
    /// Drug.
    pub drug: StressDrug,
    /// Starting dose.
    pub dose: StressDose,
    /// Highest infusion dose (µg/kg/min), if an infusion.
    pub max_dose_ug_kg_min: Option<f64>,
    /// Infusion duration in seconds (bolus: time to reversal, if any).
    pub duration_s: Option<f64>,
    /// Regadenoson only: the reversal drug (aminophylline) was given this many seconds
    /// after the bolus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal_after_s: Option<f64>,
}

/// The technique section's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechniqueFacts {
    /// Region examined.
    pub region: String,
    /// Routine or contrast-enhanced.
    pub exam_kind: ExamKind,
    /// Scanner vendor, if recorded.
    pub vendor: Option<String>,
    /// Scanner model, if recorded.
    pub model: Option<String>,
    /// Field strength (T), if recorded.
    pub field_strength_t: Option<f64>,
    /// Sequences acquired, in first-acquired order, without repeats.
    pub sequences: Vec<ProtocolStep>,
    /// Contrast agent, if any was given or selected.
    pub agent: Option<AgentId>,
    /// Its generic name.
    pub agent_name: Option<String>,
    /// Every agent injected, in the order first used (5.2.3 names each).
    #[serde(default)]
    pub agents: Vec<AgentId>,
    /// Total gadolinium (mmol).
    pub total_mmol: f64,
    /// Total gadolinium (mmol/kg).
    pub total_mmol_kg: f64,
    /// Total agent volume (mL).
    pub total_ml: f64,
    /// Injection method (of the first injection).
    pub injection_method: Option<InjectionMethod>,
    /// Injection rates used (mL/s), distinct, in order.
    pub injection_rates_ml_s: Vec<f64>,
    /// Total saline flush (mL).
    pub flush_ml: f64,
    /// Every injection.
    pub injections: Vec<InjectionFact>,
    /// Stress runs.
    pub stress: Vec<StressFact>,
}
