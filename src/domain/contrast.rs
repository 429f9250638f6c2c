//! Gadolinium: the agent catalogue and the per-exam [`ContrastLedger`]
//! (clauses 3.1.3.2 and 3.1.4.1).
//!
//! The ledger owns every accepted injection (time, agent, volume, mmol, rate,
//! flush, purpose) and the dose ↔ volume arithmetic for the patient's weight.
//! It checks the standard's limits: rate 3–7 mL/s and flush 20–30 mL (warnings),
//! cumulative dose above 0.2 mmol/kg (warning), top-up above 0.05 mmol/kg
//! (refused). Impossible numbers are typed errors; a refused or invalid
//! injection leaves the ledger unchanged. Whether contrast is allowed at all
//! (clearance) is the exam's business, not the ledger's.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::guard::StepAuthority;
use super::output::{RejectCode, WarningCode};
use super::screening::MAX_WEIGHT_KG;
use super::time::Instant;

/// Tolerance for comparing doses against limits (mmol/kg).
pub const DOSE_EPSILON: f64 = 1e-9;

/// A gadolinium agent in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentId {
    /// Gadobutrol (Gadovist), 1.0 mmol/mL, ACR II.
    Gadobutrol,
    /// Gadoterate meglumine (Dotarem, Clariscan), 0.5 mmol/mL, ACR II.
    Gadoterate,
    /// Gadoteridol (ProHance), 0.5 mmol/mL, ACR II.
    Gadoteridol,
    /// Gadobenate dimeglumine (MultiHance), 0.5 mmol/mL, ACR II.
    Gadobenate,
    /// Gadopentetate dimeglumine (Magnevist), 0.5 mmol/mL, ACR I.
    Gadopentetate,
    /// Gadodiamide (Omniscan), 0.5 mmol/mL, ACR I.
    Gadodiamide,
    /// Gadoxetate (Primovist/Eovist), 0.25 mmol/mL, ACR III: a liver agent, not for CMR.
    Gadoxetate,
}

/// ACR group of a gadolinium agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcrGroup {
    /// Group I: highest NSF risk; contraindicated in CKD 4–5.
    #[serde(rename = "I")]
    I,
    /// Group II: preferred.
    #[serde(rename = "II")]
    II,
    /// Group III: limited data (liver agent).
    #[serde(rename = "III")]
    III,
}

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Identity.
    pub id: AgentId,
    /// Generic name for the report.
    pub generic_name: String,
    /// Brand names.
    pub brands: String,
    /// Concentration in mmol/mL.
    pub mmol_per_ml: f64,
    /// ACR group.
    pub acr_group: AcrGroup,
    /// Whether the agent may be used for CMR (gadoxetate may not).
    pub for_cmr: bool,
}

/// The site's agent catalogue (defaults from clinical.md; concentrations configurable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCatalogue {
    /// The entries.
    pub agents: Vec<AgentInfo>,
}

impl Default for AgentCatalogue {
    fn default() -> Self {
        let e = |id, generic: &str, brands: &str, c, g, cmr| AgentInfo {
            id,
            generic_name: generic.to_string(),
            brands: brands.to_string(),
            mmol_per_ml: c,
            acr_group: g,
            for_cmr: cmr,
        };
        use AcrGroup::*;
        use AgentId::*;
        AgentCatalogue {
            agents: vec![
                e(Gadobutrol, "gadobutrol", "Gadovist", 1.0, II, true),
                e(
                    Gadoterate,
                    "gadoterate meglumine",
                    "Dotarem, Clariscan",
                    0.5,
                    II,
                    true,
                ),
                e(Gadoteridol, "gadoteridol", "ProHance", 0.5, II, true),
                e(
                    Gadobenate,
                    "gadobenate dimeglumine",
                    "MultiHance",
                    0.5,
                    II,
                    true,
                ),
                e(
                    Gadopentetate,
                    "gadopentetate dimeglumine",
                    "Magnevist",
                    0.5,
                    I,
                    true,
                ),
                e(Gadodiamide, "gadodiamide", "Omniscan", 0.5, I, true),
                e(
                    Gadoxetate,
                    "gadoxetate",
                    "Primovist, Eovist",
                    0.25,
                    III,
                    false,
                ),
            ],
        }
    }
}

impl AgentCatalogue {
    /// Look an agent up.
    pub fn get(&self, id: AgentId) -> Option<&AgentInfo> {
        self.agents.iter().find(|a| a.id == id)
    }
}

/// How much contrast to give: a weight-based dose or a volume (one of them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Amount {
    /// Dose in mmol per kg body weight.
    DoseMmolKg(f64),
    /// Volume of agent in mL.
    VolumeMl(f64),
}

/// Why an injection is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Stress perfusion (first pass under stress).
    StressPerfusion,
    /// Rest perfusion.
    RestPerfusion,
    /// A single injection for a contrast exam without perfusion pairs.
    Single,
    /// A small top-up for a repeated LGE (3.1.4.1: ≤ 0.05 mmol/kg).
    TopUp,
}

/// How the agent is given (report's "injection method", 5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InjectionMethod {
    /// Power injector via peripheral IV.
    #[default]
    PowerInjector,
    /// Hand injection.
    Hand,
}

/// An injection as requested by the technologist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectionRequest {
    /// Dose or volume.
    pub amount: Amount,
    /// Injection rate in mL/s.
    pub rate_ml_s: f64,
    /// Saline flush in mL, at the same rate.
    pub flush_ml: f64,
    /// Purpose.
    pub purpose: Purpose,
    /// Method.
    #[serde(default)]
    pub method: InjectionMethod,
    /// What lifts this injection's limits, for this injection only.
    #[serde(default, skip_serializing_if = "StepAuthority::is_empty")]
    pub authority: StepAuthority,
}

/// An accepted injection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    /// When it was given.
    pub at: Instant,
    /// Agent.
    pub agent: AgentId,
    /// Volume of agent (mL).
    pub volume_ml: f64,
    /// Amount of gadolinium (mmol).
    pub mmol: f64,
    /// Dose of this injection (mmol/kg).
    pub mmol_kg: f64,
    /// Rate (mL/s).
    pub rate_ml_s: f64,
    /// Flush (mL).
    pub flush_ml: f64,
    /// Purpose.
    pub purpose: Purpose,
    /// Method.
    pub method: InjectionMethod,
}

/// An injection taken off the ledger: recorded by mistake (a double tap, the wrong
/// line), kept with who voided it and why, never deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoidedInjection {
    /// The injection as it was recorded.
    pub injection: Injection,
    /// When it was voided.
    pub at: Instant,
    /// Who voided it.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// Limits from 3.1.3.2 and 3.1.4.1 (the standard's numbers; adjustable per site).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContrastSettings {
    /// Lowest recommended injection rate (mL/s).
    pub rate_min_ml_s: f64,
    /// Highest recommended injection rate (mL/s).
    pub rate_max_ml_s: f64,
    /// Smallest recommended flush (mL).
    pub flush_min_ml: f64,
    /// Largest recommended flush (mL).
    pub flush_max_ml: f64,
    /// Cumulative dose above which a warning is raised (mmol/kg).
    pub cumulative_max_mmol_kg: f64,
    /// Largest top-up accepted (mmol/kg).
    pub top_up_max_mmol_kg: f64,
    /// The cumulative maximum after an eGFR < 30 override, on dialysis or with acute
    /// kidney injury (practice: a single standard dose, 0.1 mmol/kg).
    pub reduced_max_mmol_kg: f64,
    /// An injection below this is implausible: a dose typed into the mL field
    /// (0.01 mmol/kg).
    pub implausible_below_mmol_kg: f64,
}

impl Default for ContrastSettings {
    fn default() -> Self {
        ContrastSettings {
            rate_min_ml_s: 3.0,
            rate_max_ml_s: 7.0,
            flush_min_ml: 20.0,
            flush_max_ml: 30.0,
            cumulative_max_mmol_kg: 0.2,
            top_up_max_mmol_kg: 0.05,
            reduced_max_mmol_kg: 0.1,
            implausible_below_mmol_kg: 0.01,
        }
    }
}

/// An impossible number in an injection or in the ledger's set-up.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ContrastError {
    /// Weight not in (0, 350] kg.
    #[error("weight_kg must be above 0 and at most 350 kg, got {0}")]
    Weight(f64),
    /// Volume not a finite number above 0.
    #[error("volume_ml must be a finite number above 0, got {0}")]
    Volume(f64),
    /// Dose not a finite number above 0.
    #[error("dose_mmol_kg must be a finite number above 0, got {0}")]
    Dose(f64),
    /// Rate not a finite number above 0.
    #[error("rate_ml_s must be a finite number above 0, got {0}")]
    Rate(f64),
    /// Flush not a finite number ≥ 0.
    #[error("flush_ml must be a finite number of at least 0, got {0}")]
    Flush(f64),
    /// Concentration not a finite number above 0.
    #[error("agent concentration must be a finite number above 0 mmol/mL, got {0}")]
    Concentration(f64),
}

/// Why the ledger did not record an injection.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InjectError {
    /// Impossible input.
    #[error(transparent)]
    Invalid(#[from] ContrastError),
    /// Refused by a rule of the standard.
    #[error("refused: {0:?}")]
    Refused(RejectCode),
}

/// Volume (mL) for a dose: mL = mmol/kg × kg ÷ mmol/mL.
pub fn dose_to_volume_ml(dose_mmol_kg: f64, weight_kg: f64, mmol_per_ml: f64) -> f64 {
    dose_mmol_kg * weight_kg / mmol_per_ml
}

/// Dose (mmol/kg) for a volume: mmol/kg = mL × mmol/mL ÷ kg.
pub fn volume_to_dose_mmol_kg(volume_ml: f64, weight_kg: f64, mmol_per_ml: f64) -> f64 {
    volume_ml * mmol_per_ml / weight_kg
}

/// The exam's record of gadolinium given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContrastLedger {
    weight_kg: f64,
    settings: ContrastSettings,
    injections: Vec<Injection>,
    #[serde(default)]
    voided: Vec<VoidedInjection>,
}

/// What an accepted injection produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The recorded injection.
    pub injection: Injection,
    /// Warnings raised by it, in check order (rate, flush, cumulative).
    pub warnings: Vec<WarningCode>,
}

impl ContrastLedger {
    /// A ledger for a patient of `weight_kg` (0 < w ≤ 350).
    pub fn new(weight_kg: f64, settings: ContrastSettings) -> Result<Self, ContrastError> {
        if !(weight_kg.is_finite() && weight_kg > 0.0 && weight_kg <= MAX_WEIGHT_KG) {
            return Err(ContrastError::Weight(weight_kg));
        }
        Ok(ContrastLedger {
            weight_kg,
            settings,
            injections: Vec::new(),
            voided: Vec::new(),
        })
    }

    /// Patient weight used for every dose.
    pub fn weight_kg(&self) -> f64 {
        self.weight_kg
    }

    /// The limits in force.
    pub fn settings(&self) -> &ContrastSettings {
        &self.settings
    }

    /// Accepted injections, oldest first.
    pub fn injections(&self) -> &[Injection] {
        &self.injections
    }

    /// Injections voided, in the order they were voided.
    pub fn voided(&self) -> &[VoidedInjection] {
        &self.voided
    }

    /// Takes the injection recorded at `injected_at` off the ledger (the latest one,
    /// should two share that instant): every total, the LGE basis and the report
    /// follow. `None` when no injection was recorded then.
    pub fn void(
        &mut self,
        injected_at: Instant,
        at: Instant,
        by: String,
        reason: String,
    ) -> Option<&VoidedInjection> {
        let i = self.injections.iter().rposition(|i| i.at == injected_at)?;
        let injection = self.injections.remove(i);
        self.voided.push(VoidedInjection {
            injection,
            at,
            by,
            reason,
        });
        self.voided.last()
    }

    /// Total gadolinium given (mmol).
    pub fn cumulative_mmol(&self) -> f64 {
        self.injections.iter().map(|i| i.mmol).sum()
    }

    /// Total gadolinium given per kg (mmol/kg).
    pub fn cumulative_mmol_kg(&self) -> f64 {
        self.cumulative_mmol() / self.weight_kg
    }

    /// Total agent volume given (mL).
    pub fn cumulative_ml(&self) -> f64 {
        self.injections.iter().map(|i| i.volume_ml).sum()
    }

    /// Total saline flush given (mL).
    pub fn cumulative_flush_ml(&self) -> f64 {
        self.injections.iter().map(|i| i.flush_ml).sum()
    }

    /// The last injection with this purpose, if any.
    pub fn last_with(&self, purpose: Purpose) -> Option<&Injection> {
        self.injections.iter().rev().find(|i| i.purpose == purpose)
    }

    /// Whether the LGE dose is complete: after a single injection, after both
    /// perfusion injections, or after any top-up (3.1.4.1). From then on anything
    /// more is a top-up, whatever its label says.
    pub fn lge_dose_complete(&self) -> bool {
        let has = |p| self.injections.iter().any(|i| i.purpose == p);
        has(Purpose::Single)
            || has(Purpose::TopUp)
            || (has(Purpose::StressPerfusion) && has(Purpose::RestPerfusion))
    }

    /// The injection `req` of `agent` at `at` would be, with its numbers checked;
    /// nothing is recorded.
    pub fn plan(
        &self,
        agent: &AgentInfo,
        req: &InjectionRequest,
        at: Instant,
    ) -> Result<Injection, ContrastError> {
        let c = agent.mmol_per_ml;
        if !(c.is_finite() && c > 0.0) {
            return Err(ContrastError::Concentration(c));
        }
        let (volume_ml, mmol_kg) = match req.amount {
            Amount::DoseMmolKg(d) => {
                if !(d.is_finite() && d > 0.0) {
                    return Err(ContrastError::Dose(d));
                }
                (dose_to_volume_ml(d, self.weight_kg, c), d)
            }
            Amount::VolumeMl(v) => {
                if !(v.is_finite() && v > 0.0) {
                    return Err(ContrastError::Volume(v));
                }
                (v, volume_to_dose_mmol_kg(v, self.weight_kg, c))
            }
        };
        if !(volume_ml.is_finite() && volume_ml > 0.0) {
            return Err(ContrastError::Volume(volume_ml));
        }
        if !(req.rate_ml_s.is_finite() && req.rate_ml_s > 0.0) {
            return Err(ContrastError::Rate(req.rate_ml_s));
        }
        if !(req.flush_ml.is_finite() && req.flush_ml >= 0.0) {
            return Err(ContrastError::Flush(req.flush_ml));
        }
        Ok(Injection {
            at,
            agent: agent.id,
            volume_ml,
            mmol: mmol_kg * self.weight_kg,
            mmol_kg,
            rate_ml_s: req.rate_ml_s,
            flush_ml: req.flush_ml,
            purpose: req.purpose,
            method: req.method,
        })
    }

    /// Record a planned injection (its limits already checked) and return the
    /// warnings it raises, in check order (rate, flush, cumulative).
    pub fn record(&mut self, injection: Injection) -> Vec<WarningCode> {
        let s = &self.settings;
        let mut warnings = Vec::new();
        if injection.rate_ml_s < s.rate_min_ml_s - DOSE_EPSILON
            || injection.rate_ml_s > s.rate_max_ml_s + DOSE_EPSILON
        {
            warnings.push(WarningCode::RateOutOfRange);
        }
        if injection.flush_ml < s.flush_min_ml - DOSE_EPSILON
            || injection.flush_ml > s.flush_max_ml + DOSE_EPSILON
        {
            warnings.push(WarningCode::FlushOutOfRange);
        }
        self.injections.push(injection);
        if self.cumulative_mmol_kg() > self.settings.cumulative_max_mmol_kg + DOSE_EPSILON {
            warnings.push(WarningCode::CumulativeAbove0_2);
        }
        warnings
    }

    /// Check and, if allowed, record an injection of `agent` at `at`: the ledger's
    /// own rules only (a top-up above 0.05 mmol/kg is refused; the cumulative
    /// maximum warns). The exam's guards ([`crate::domain::Exam`]) check more.
    ///
    /// Errors leave the ledger unchanged.
    pub fn inject(
        &mut self,
        agent: &AgentInfo,
        req: &InjectionRequest,
        at: Instant,
    ) -> Result<Accepted, InjectError> {
        let injection = self.plan(agent, req, at)?;
        if req.purpose == Purpose::TopUp
            && injection.mmol_kg > self.settings.top_up_max_mmol_kg + DOSE_EPSILON
        {
            return Err(InjectError::Refused(RejectCode::TopUpAbove0_05));
        }
        let warnings = self.record(injection.clone());
        Ok(Accepted {
            injection,
            warnings,
        })
    }
}
