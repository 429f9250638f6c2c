//! The protocol simulator behind `cmr-kiosk simulate FILE.json`.
//!
//! Parses a scenario (design/scenario-format.md), drives the clinical core
//! ([`crate::domain::exam::Exam`]) on a simulated clock and returns the output
//! lines, one JSON object each, in time order. Pure: it reads no file and no
//! clock; the CLI reads the file, prints the lines and exits with status 2 on a
//! [`ScenarioError`] (whose message names the offending field and step).
//!
//! Output follows the contract table exactly: the kiosk-only decisions
//! (infusion rate, escalation offer, reminders, series findings) are not printed.
//! `rejected` lines carry `step`, the 0-based index of the refused step in `steps`.

use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::domain::contrast::{
    AgentId, Amount, ContrastError, InjectionMethod, InjectionRequest, Purpose,
};
use crate::domain::date::CivilDate;
use crate::domain::exam::{Exam, ExamError, ExamEvent, Outcome};
use crate::domain::guard::StepAuthority;
use crate::domain::output::{Decision, Output};
use crate::domain::protocol::{ExamEvidence, ExamType, ProtocolStep, infer_exam_type};
use crate::domain::screening::{
    Claustrophobia, Implant, ImplantConditions, ImplantKind, MrStatus, Patient, ReasonCode,
    ScreeningAnswers, SeriesSafety, Sex,
};
use crate::domain::settings::ClinicalSettings;
use crate::domain::stress::{StopCriterion, StressDose, StressDrug, Vitals};
use crate::domain::technique::Scanner;
use crate::domain::technique::round_to;
use crate::domain::time::Instant;

/// Longest scenario accepted (seconds): one day.
const MAX_AT_S: f64 = 86_400.0;

/// Largest scenario file read (bytes): a day of readings every second fits well.
pub const MAX_SCENARIO_BYTES: u64 = 16 * 1024 * 1024;

/// Most steps in one scenario.
pub const MAX_STEPS: usize = 200_000;

/// Most field strengths on one implant label.
pub const MAX_LABEL_FIELD_STRENGTHS: usize = 8;

/// A malformed scenario: names the field and, for a step, the step.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScenarioError {
    /// Not JSON at all.
    #[error("scenario is not valid JSON: {0}")]
    Json(String),
    /// A field is missing, of the wrong type, unknown or impossible.
    #[error("{}field `{field}`: {message}", step.map(|s| format!("step {s} (steps[{s}]): ")).unwrap_or_default())]
    Field {
        /// 0-based index in `steps`, if the field is inside a step.
        step: Option<usize>,
        /// Path of the field (e.g. `rate_ml_s`, `patient.weight_kg`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

fn err(step: Option<usize>, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Field {
        step,
        field: field.into(),
        message: message.into(),
    }
}

/// A JSON object being read, remembering where it is for error messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    step: Option<usize>,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, prefix: &str, step: Option<usize>) -> Result<Self, ScenarioError> {
        let name = if prefix.is_empty() {
            "(top level)"
        } else {
            prefix.trim_end_matches('.')
        };
        match v.as_object() {
            Some(map) => Ok(Obj {
                map,
                prefix: prefix.to_string(),
                step,
            }),
            None => Err(err(step, name, "expected an object")),
        }
    }

    fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn err(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        err(self.step, self.path(key), message)
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ScenarioError> {
        for k in self.map.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(self.err(
                    k,
                    format!("unknown field; expected one of: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn num_opt(&self, key: &str) -> Result<Option<f64>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| self.err(key, format!("expected a number, got {v}"))),
        }
    }

    fn num(&self, key: &str) -> Result<f64, ScenarioError> {
        self.num_opt(key)?
            .ok_or_else(|| self.err(key, "required number is missing"))
    }

    fn bool_opt(&self, key: &str) -> Result<bool, ScenarioError> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(key, format!("expected true or false, got {v}"))),
        }
    }

    fn str_opt(&self, key: &str) -> Result<Option<&'a str>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.err(key, format!("expected a string, got {v}"))),
        }
    }

    fn str(&self, key: &str) -> Result<&'a str, ScenarioError> {
        self.str_opt(key)?
            .ok_or_else(|| self.err(key, "required string is missing"))
    }

    /// A snake_case enum value via serde.
    fn enum_opt<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, ScenarioError> {
        match self.str_opt(key)? {
            None => Ok(None),
            Some(s) => serde_json::from_value(Value::String(s.to_string()))
                .map(Some)
                .map_err(|_| self.err(key, format!("unknown value \"{s}\"; expected {expected}"))),
        }
    }

    fn enum_req<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<T, ScenarioError> {
        self.enum_opt(key, expected)?
            .ok_or_else(|| self.err(key, format!("required; expected {expected}")))
    }
}

const IMPLANT_KINDS: &str = "pacemaker, icd, heart_valve, vascular_clip, aneurysm_clip, neurostimulator, metal_fragment or other";
const MR_STATUSES: &str = "safe, conditional, unsafe or unknown";
const PURPOSES: &str = "stress_perfusion, rest_perfusion, single or top_up";
const AGENTS: &str =
    "gadobutrol, gadoterate, gadoteridol, gadobenate, gadopentetate or gadodiamide";

fn parse_patient(v: &Value) -> Result<Patient, ScenarioError> {
    let o = Obj::new(v, "patient.", None)?;
    o.only(&["weight_kg", "height_cm", "sex", "age", "egfr", "egfr_date"])?;
    let age = match o.num_opt("age")? {
        None => 0,
        Some(a) if (0.0..=150.0).contains(&a) && a.fract() == 0.0 => a as u32,
        Some(a) => return Err(o.err("age", format!("expected whole years 0–150, got {a}"))),
    };
    let p = Patient {
        weight_kg: o.num("weight_kg")?,
        height_cm: o.num_opt("height_cm")?,
        sex: o
            .enum_opt("sex", "female, male or other")?
            .unwrap_or(Sex::Other),
        age_years: age,
        egfr: o.num_opt("egfr")?,
        egfr_date: o.str_opt("egfr_date")?.map(str::to_string),
    };
    p.validate().map_err(|e| {
        let field = match e {
            crate::domain::screening::PatientError::Weight(_) => "weight_kg",
            crate::domain::screening::PatientError::Height(_) => "height_cm",
            crate::domain::screening::PatientError::Egfr(_) => "egfr",
            crate::domain::screening::PatientError::Age(_) => "age",
            crate::domain::screening::PatientError::EgfrDate(_) => "egfr_date",
        };
        o.err(field, e.to_string())
    })?;
    Ok(p)
}

fn parse_screening(v: Option<&Value>) -> Result<ScreeningAnswers, ScenarioError> {
    let Some(v) = v else {
        return Ok(ScreeningAnswers::default());
    };
    let o = Obj::new(v, "screening.", None)?;
    o.only(&[
        "implants",
        "pregnancy_first_trimester",
        "claustrophobia",
        "haemodynamically_unstable",
        "contrast_allergy",
        "asthma",
        "av_block",
        "caffeine_hours_ago",
        "dipyridamole_hours_ago",
        "dialysis",
        "acute_kidney_injury",
    ])?;
    let mut implants = Vec::new();
    if let Some(list) = o.get("implants") {
        let arr = list
            .as_array()
            .ok_or_else(|| o.err("implants", "expected a list"))?;
        for (i, item) in arr.iter().enumerate() {
            let io = Obj::new(item, &format!("screening.implants[{i}]."), None)?;
            io.only(&["kind", "mr_status", "conditions"])?;
            let conditions = match io.get("conditions") {
                None => None,
                Some(c) => {
                    let co = Obj::new(c, &format!("screening.implants[{i}].conditions."), None)?;
                    co.only(&[
                        "device",
                        "label",
                        "checked_by",
                        "field_strength_t",
                        "max_wb_sar_w_kg",
                        "max_b1rms_ut",
                        "max_dbdt_t_s",
                        "max_spatial_gradient_t_m",
                    ])?;
                    let field_strength_t = match co.get("field_strength_t") {
                        None => Vec::new(),
                        Some(Value::Array(list)) if list.len() > MAX_LABEL_FIELD_STRENGTHS => {
                            return Err(co.err(
                                "field_strength_t",
                                format!("at most {MAX_LABEL_FIELD_STRENGTHS} field strengths, got {}", list.len()),
                            ));
                        }
                        Some(Value::Array(list)) => list
                            .iter()
                            .map(|t| t.as_f64().filter(|t| t.is_finite() && *t > 0.0 && *t <= 12.0))
                            .collect::<Option<Vec<f64>>>()
                            .ok_or_else(|| {
                                co.err("field_strength_t", "expected a list of field strengths in tesla (above 0, at most 12)")
                            })?,
                        Some(_) => return Err(co.err("field_strength_t", "expected a list")),
                    };
                    let limit = |key: &str| -> Result<Option<f64>, ScenarioError> {
                        match co.num_opt(key)? {
                            Some(x) if x <= 0.0 => {
                                Err(co.err(key, format!("must be above 0, got {x}")))
                            }
                            x => Ok(x),
                        }
                    };
                    Some(ImplantConditions {
                        device: co.str_opt("device")?.unwrap_or_default().to_string(),
                        label: co.str_opt("label")?.unwrap_or_default().to_string(),
                        checked_by: co.str_opt("checked_by")?.unwrap_or_default().to_string(),
                        field_strength_t,
                        max_wb_sar_w_kg: limit("max_wb_sar_w_kg")?,
                        max_b1rms_ut: limit("max_b1rms_ut")?,
                        max_dbdt_t_s: limit("max_dbdt_t_s")?,
                        max_spatial_gradient_t_m: limit("max_spatial_gradient_t_m")?,
                    })
                }
            };
            implants.push(Implant {
                kind: io.enum_req::<ImplantKind>("kind", IMPLANT_KINDS)?,
                mr_status: io.enum_req::<MrStatus>("mr_status", MR_STATUSES)?,
                conditions,
            });
        }
    }
    let hours = |key: &str| -> Result<Option<f64>, ScenarioError> {
        match o.num_opt(key)? {
            Some(h) if h < 0.0 => Err(o.err(key, format!("hours cannot be negative, got {h}"))),
            h => Ok(h),
        }
    };
    Ok(ScreeningAnswers {
        implants,
        pregnancy_first_trimester: o.bool_opt("pregnancy_first_trimester")?,
        claustrophobia: o
            .enum_opt::<Claustrophobia>("claustrophobia", "none, mild or severe")?
            .unwrap_or_default(),
        haemodynamically_unstable: o.bool_opt("haemodynamically_unstable")?,
        contrast_allergy: o.bool_opt("contrast_allergy")?,
        asthma: o.bool_opt("asthma")?,
        av_block: o.bool_opt("av_block")?,
        caffeine_hours_ago: hours("caffeine_hours_ago")?,
        dipyridamole_hours_ago: hours("dipyridamole_hours_ago")?,
        dialysis: o.bool_opt("dialysis")?,
        acute_kidney_injury: o.bool_opt("acute_kidney_injury")?,
    })
}

fn parse_overrides(v: Option<&Value>) -> Result<Vec<ExamEvent>, ScenarioError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let arr = v
        .as_array()
        .ok_or_else(|| err(None, "overrides", "expected a list"))?;
    arr.iter()
        .enumerate()
        .map(|(i, item)| {
            let o = Obj::new(item, &format!("overrides[{i}]."), None)?;
            o.only(&["rule", "by", "reason"])?;
            let rule: ReasonCode = o.enum_req("rule", "a screening reason code")?;
            let by = o.str("by")?;
            let reason = o.str("reason")?;
            if by.trim().is_empty() {
                return Err(o.err("by", "the physician's name is empty"));
            }
            if reason.trim().is_empty() {
                return Err(o.err("reason", "the reason is empty"));
            }
            Ok(ExamEvent::OverrideRecorded {
                rule,
                by: by.to_string(),
                reason: reason.to_string(),
            })
        })
        .collect()
}

fn parse_vitals(v: &Value, step: usize) -> Result<Vitals, ScenarioError> {
    let o = Obj::new(v, "vitals.", Some(step))?;
    o.only(&["hr", "sbp", "dbp", "map", "spo2"])?;
    let m = |k: &str| -> Result<Option<f64>, ScenarioError> {
        match o.num_opt(k)? {
            Some(x) if x < 0.0 => Err(o.err(k, format!("cannot be negative, got {x}"))),
            x => Ok(x),
        }
    };
    Ok(Vitals {
        hr: m("hr")?,
        sbp: m("sbp")?,
        dbp: m("dbp")?,
        map: m("map")?,
        spo2: m("spo2")?,
    })
}

/// What lifts a guarded step's limits: `override` (a physician's countersign) and
/// `confirmed` (every soft check, for this step only).
fn parse_authority(o: &Obj<'_>) -> Result<StepAuthority, ScenarioError> {
    let mut authority = StepAuthority::default();
    if let Some(v) = o.get("override") {
        let step = o.step;
        let io = Obj::new(v, "override.", step)?;
        io.only(&["by", "reason"])?;
        let by = io.str("by")?;
        let reason = io.str("reason")?;
        if by.trim().is_empty() {
            return Err(io.err("by", "the physician's name is empty"));
        }
        if reason.trim().is_empty() {
            return Err(io.err("reason", "the reason is empty"));
        }
        authority = StepAuthority::countersigned(by, reason);
    }
    if o.bool_opt("confirmed")? {
        authority = authority.confirm_all();
    }
    Ok(authority)
}

fn parse_action(o: &Obj<'_>) -> Result<ExamEvent, ScenarioError> {
    let action = o.str("action")?;
    let ev = match action {
        "start_stress" => {
            o.only(&[
                "at",
                "action",
                "drug",
                "dose_ug_kg_min",
                "dose_mg",
                "override",
                "confirmed",
            ])?;
            let drug: StressDrug = o.enum_req("drug", "adenosine or regadenoson")?;
            let dose = match drug {
                StressDrug::Adenosine => {
                    if o.get("dose_mg").is_some() {
                        return Err(o.err("dose_mg", "adenosine is dosed in dose_ug_kg_min"));
                    }
                    o.num_opt("dose_ug_kg_min")?.map(StressDose::UgKgMin)
                }
                StressDrug::Regadenoson => {
                    if o.get("dose_ug_kg_min").is_some() {
                        return Err(o.err("dose_ug_kg_min", "regadenoson is dosed in dose_mg"));
                    }
                    o.num_opt("dose_mg")?.map(StressDose::Mg)
                }
            };
            if let Some(StressDose::UgKgMin(d) | StressDose::Mg(d)) = dose
                && d <= 0.0
            {
                let key = if drug == StressDrug::Adenosine {
                    "dose_ug_kg_min"
                } else {
                    "dose_mg"
                };
                return Err(o.err(key, format!("must be above 0, got {d}")));
            }
            ExamEvent::StressStarted {
                drug,
                dose,
                authority: parse_authority(o)?,
            }
        }
        "escalate" => {
            o.only(&["at", "action", "dose_ug_kg_min", "override", "confirmed"])?;
            let d = o.num_opt("dose_ug_kg_min")?;
            if let Some(d) = d
                && d <= 0.0
            {
                return Err(o.err("dose_ug_kg_min", format!("must be above 0, got {d}")));
            }
            ExamEvent::StressEscalated {
                dose_ug_kg_min: d,
                authority: parse_authority(o)?,
            }
        }
        "stop_stress" => {
            o.only(&["at", "action"])?;
            ExamEvent::StressStopped
        }
        "inject" => {
            o.only(&[
                "at",
                "action",
                "dose_mmol_kg",
                "volume_ml",
                "rate_ml_s",
                "flush_ml",
                "purpose",
                "method",
                "override",
                "confirmed",
            ])?;
            let amount = match (o.num_opt("dose_mmol_kg")?, o.num_opt("volume_ml")?) {
                (Some(d), None) => Amount::DoseMmolKg(d),
                (None, Some(v)) => Amount::VolumeMl(v),
                (Some(_), Some(_)) => {
                    return Err(o.err("volume_ml", "give dose_mmol_kg or volume_ml, not both"));
                }
                (None, None) => {
                    return Err(o.err(
                        "dose_mmol_kg",
                        "one of dose_mmol_kg or volume_ml is required",
                    ));
                }
            };
            ExamEvent::Injected(InjectionRequest {
                amount,
                rate_ml_s: o.num("rate_ml_s")?,
                flush_ml: o.num("flush_ml")?,
                purpose: o.enum_req::<Purpose>("purpose", PURPOSES)?,
                method: o
                    .enum_opt::<InjectionMethod>("method", "power_injector or hand")?
                    .unwrap_or_default(),
                authority: parse_authority(o)?,
            })
        }
        "acquired" => {
            o.only(&[
                "at",
                "action",
                "series",
                "field_strength_t",
                "sar_w_kg",
                "b1rms_ut",
                "dbdt_t_s",
            ])?;
            let fact = |key: &str| -> Result<Option<f64>, ScenarioError> {
                match o.num_opt(key)? {
                    Some(x) if x < 0.0 => Err(o.err(key, format!("cannot be negative, got {x}"))),
                    x => Ok(x),
                }
            };
            let safety = SeriesSafety {
                field_strength_t: fact("field_strength_t")?,
                sar_w_kg: fact("sar_w_kg")?,
                b1rms_ut: fact("b1rms_ut")?,
                dbdt_t_s: fact("dbdt_t_s")?,
            };
            ExamEvent::SeriesAcquired {
                step: o.enum_req::<ProtocolStep>(
                    "series",
                    "a protocol step such as cine_sax, stress_perfusion, rest_perfusion or lge",
                )?,
                params: None,
                acquisition: None,
                safety: (safety != SeriesSafety::default()).then_some(safety),
                geometry: None,
                psir: None,
            }
        }
        "monitor_lost" => {
            o.only(&["at", "action"])?;
            ExamEvent::MonitorDataLost
        }
        "monitor_restored" => {
            o.only(&["at", "action"])?;
            ExamEvent::MonitorDataRestored
        }
        "stop_criterion" | "adverse_reaction" => {
            o.only(&["at", "action", "criterion", "note"])?;
            ExamEvent::StopCriterionNoted {
                criterion: o.enum_req::<StopCriterion>(
                    "criterion",
                    "av_block, wheeze, chest_pain, st_depression, poor_perfusion, patient_request or other",
                )?,
                note: o.str_opt("note")?.map(str::to_string),
            }
        }
        "acknowledge" => {
            o.only(&["at", "action", "code", "by"])?;
            ExamEvent::AlarmAcknowledged {
                code: o.enum_req("code", "an alarm code")?,
                by: o.str("by")?.to_string(),
            }
        }
        "lge_early_start" => {
            o.only(&["at", "action", "by", "reason"])?;
            ExamEvent::LgeEarlyStart {
                by: o.str("by")?.to_string(),
                reason: o.str("reason")?.to_string(),
            }
        }
        other => {
            return Err(o.err(
                "action",
                format!("unknown action \"{other}\"; expected start_stress, escalate, stop_stress, inject, acquired, monitor_lost, monitor_restored, stop_criterion, acknowledge or lge_early_start"),
            ));
        }
    };
    Ok(ev)
}

/// A parsed step.
struct Step {
    at: Instant,
    event: ExamEvent,
}

fn parse_steps(v: Option<&Value>) -> Result<Vec<Step>, ScenarioError> {
    let arr = v
        .and_then(Value::as_array)
        .ok_or_else(|| err(None, "steps", "required list of steps is missing"))?;
    if arr.len() > MAX_STEPS {
        return Err(err(
            None,
            "steps",
            format!("at most {MAX_STEPS} steps, got {}", arr.len()),
        ));
    }
    let mut steps = Vec::with_capacity(arr.len());
    let mut last = 0.0f64;
    for (i, item) in arr.iter().enumerate() {
        let o = Obj::new(item, "", Some(i))?;
        let at = o.num("at")?;
        if !(0.0..=MAX_AT_S).contains(&at) {
            return Err(o.err(
                "at",
                format!("must be between 0 and {MAX_AT_S} seconds, got {at}"),
            ));
        }
        if at < last {
            return Err(o.err(
                "at",
                format!("steps must be in time order: {at} is before {last}"),
            ));
        }
        last = at;
        let event = match (o.get("vitals"), o.get("action")) {
            (Some(v), None) => {
                o.only(&["at", "vitals"])?;
                ExamEvent::VitalsReading {
                    vitals: parse_vitals(v, i)?,
                }
            }
            (None, Some(_)) => parse_action(&o)?,
            (Some(_), Some(_)) => {
                return Err(o.err("action", "a step has either vitals or an action, not both"));
            }
            (None, None) => return Err(o.err("action", "a step needs vitals or an action")),
        };
        steps.push(Step {
            at: Instant::from_millis((at * 1000.0).round() as u64),
            event,
        });
    }
    Ok(steps)
}

fn secs(at: Instant) -> Value {
    let ms = at.as_millis();
    if ms.is_multiple_of(1000) {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

/// The contract's JSON line for an output, or `None` for kiosk-only decisions.
fn line(out: &Output, step: Option<usize>) -> Option<Value> {
    let at = secs(out.at);
    let v = match &out.decision {
        Decision::Clearance(c) => json!({
            "at": at, "kind": "clearance", "status": c.status, "contrast": c.contrast,
            "stress": c.stress_drug, "reasons": c.codes(),
        }),
        Decision::StressImagingDue { reason } => {
            json!({"at": at, "kind": "stress_imaging_due", "reason": reason})
        }
        Decision::StopStressDue { .. } => json!({"at": at, "kind": "stop_stress_due"}),
        Decision::RestPerfusionReady => json!({"at": at, "kind": "rest_perfusion_ready"}),
        Decision::LgeWindow {
            opens_at,
            closes_at,
            provisional,
            ..
        } => {
            json!({"at": at, "kind": "lge_window", "opens_at": secs(*opens_at), "closes_at": secs(*closes_at), "provisional": provisional})
        }
        Decision::LgeWindowOpen => json!({"at": at, "kind": "lge_window_open"}),
        Decision::LgeWindowClosed => json!({"at": at, "kind": "lge_window_closed"}),
        Decision::Dose(d) => json!({
            "at": at, "kind": "dose",
            "volume_ml": round_to(d.volume_ml, 1),
            "mmol": round_to(d.mmol, 3),
            "cumulative_mmol": round_to(d.cumulative_mmol, 3),
            "cumulative_mmol_kg": round_to(d.cumulative_mmol_kg, 4),
            "cumulative_ml": round_to(d.cumulative_ml, 1),
        }),
        Decision::Warning { code } => json!({"at": at, "kind": "warning", "code": code}),
        Decision::Rejected { code } => {
            json!({"at": at, "kind": "rejected", "code": code, "step": step})
        }
        Decision::Alarm { code, priority } => {
            json!({"at": at, "kind": "alarm", "code": code, "priority": priority})
        }
        Decision::Reminder { code } => json!({"at": at, "kind": "reminder", "code": code}),
        Decision::Infusion { .. }
        | Decision::EscalationDue { .. }
        | Decision::SeriesFindings { .. } => return None,
    };
    Some(v)
}

fn exam_error(step: usize, event: &ExamEvent, e: ExamError) -> ScenarioError {
    let field = match (&e, event) {
        (ExamError::Contrast(c), _) => match c {
            ContrastError::Volume(_) => "volume_ml",
            ContrastError::Dose(_) => "dose_mmol_kg",
            ContrastError::Rate(_) => "rate_ml_s",
            ContrastError::Flush(_) => "flush_ml",
            ContrastError::Weight(_) => "patient.weight_kg",
            ContrastError::Concentration(_) => "agent",
        },
        (ExamError::Vitals, _) => "vitals",
        (
            ExamError::StressDose(_),
            ExamEvent::StressStarted {
                drug: StressDrug::Regadenoson,
                ..
            },
        ) => "dose_mg",
        (ExamError::StressDose(_), _) => "dose_ug_kg_min",
        _ => "action",
    };
    err(Some(step), field, e.to_string())
}

/// The exam type the steps imply: the first stress drug started, else contrast when
/// anything is injected, else routine (the same inference as the console's).
fn infer_from_steps(steps: &[Step]) -> ExamType {
    let stress_drug = steps.iter().find_map(|s| match &s.event {
        ExamEvent::StressStarted { drug, .. } => Some(*drug),
        _ => None,
    });
    let contrast = steps
        .iter()
        .any(|s| matches!(s.event, ExamEvent::Injected(_)));
    infer_exam_type(ExamEvidence {
        stress_drug,
        contrast,
        ..Default::default()
    })
}

/// The scenario's `settings`: any key of the kiosk's `[clinical]` section.
fn parse_settings(v: Option<&Value>) -> Result<ClinicalSettings, ScenarioError> {
    let Some(v) = v else {
        return Ok(ClinicalSettings::default());
    };
    let o = Obj::new(v, "settings.", None)?;
    let known = serde_json::to_value(ClinicalSettings::default()).expect("settings serialize");
    let keys: Vec<&str> = known
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    o.only(&keys)?;
    let settings: ClinicalSettings =
        serde_json::from_value(v.clone()).map_err(|e| err(None, "settings", e.to_string()))?;
    settings
        .validate()
        .map_err(|e| err(None, format!("settings.{}", e.key), e.message))?;
    Ok(settings)
}

/// The scenario's `scanner`: its field strength (and, optionally, vendor and model).
fn parse_scanner(v: Option<&Value>) -> Result<Option<Scanner>, ScenarioError> {
    let Some(v) = v else {
        return Ok(None);
    };
    let o = Obj::new(v, "scanner.", None)?;
    o.only(&["field_strength_t", "vendor", "model"])?;
    let t = o.num("field_strength_t")?;
    if !(t > 0.0 && t <= 12.0) {
        return Err(o.err(
            "field_strength_t",
            format!("expected tesla above 0 and at most 12, got {t}"),
        ));
    }
    Ok(Some(Scanner {
        vendor: o.str_opt("vendor")?.unwrap_or_default().to_string(),
        model: o.str_opt("model")?.unwrap_or_default().to_string(),
        field_strength_t: t,
    }))
}

/// Run a scenario; returns the output lines (first `clearance`, last `summary`).
pub fn run_scenario(json: &str) -> Result<Vec<Value>, ScenarioError> {
    Ok(simulate_scenario(json)?.lines)
}

/// One row a scenario leaves on the exam's time line, as the kiosk would log it: a
/// clinical event (accepted or refused: both are logged), or a decision the domain
/// gave at the time it fell due.
#[derive(Debug, Clone, PartialEq)]
pub enum ScenarioRow {
    /// A clinical event.
    Event(ExamEvent),
    /// A decision of the domain.
    Decision(Output),
}

/// A scenario run: the contract's output lines and the rows the kiosk would have
/// logged, in order (what `simulate --record` writes as a training exam).
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    /// The output lines (the simulator contract).
    pub lines: Vec<Value>,
    /// Every row, at its exam time.
    pub rows: Vec<(Instant, ScenarioRow)>,
    /// The exam time of the last step.
    pub end: Instant,
}

/// Runs a scenario: output lines and the logged rows.
pub fn simulate_scenario(json: &str) -> Result<ScenarioRun, ScenarioError> {
    if json.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::Json(format!(
            "the scenario is {} bytes; at most {MAX_SCENARIO_BYTES} are read",
            json.len()
        )));
    }
    let root: Value = serde_json::from_str(json).map_err(|e| ScenarioError::Json(e.to_string()))?;
    let top = Obj::new(&root, "", None)?;
    top.only(&[
        "patient",
        "screening",
        "agent",
        "overrides",
        "steps",
        "exam_date",
        "exam_type",
        "scanner",
        "settings",
        "comment",
    ])?;
    top.str_opt("comment")?;
    let settings = parse_settings(top.get("settings"))?;
    let patient = parse_patient(
        top.get("patient")
            .ok_or_else(|| err(None, "patient", "required object is missing"))?,
    )?;
    let exam_date = match top.str_opt("exam_date")? {
        None => None,
        Some(d) => Some(CivilDate::parse(d).ok_or_else(|| {
            top.err(
                "exam_date",
                format!("expected a date YYYY-MM-DD, got {d:?}"),
            )
        })?),
    };
    if patient.egfr_date.is_some() && exam_date.is_none() {
        return Err(err(
            None,
            "exam_date",
            "required when patient.egfr_date is given (the eGFR's age is counted from it)",
        ));
    }
    let exam_type: Option<ExamType> = top.enum_opt(
        "exam_type",
        "routine, contrast, adenosine_stress or regadenoson_stress",
    )?;
    let scanner = parse_scanner(top.get("scanner"))?;
    let answers = parse_screening(top.get("screening"))?;
    let agent: Option<AgentId> = top.enum_opt("agent", AGENTS)?;
    if agent == Some(AgentId::Gadoxetate) {
        return Err(err(
            None,
            "agent",
            "gadoxetate is a liver agent, not for CMR; expected ".to_string() + AGENTS,
        ));
    }
    let overrides = parse_overrides(top.get("overrides"))?;
    let steps = parse_steps(top.get("steps"))?;

    let exam_type = exam_type.unwrap_or_else(|| infer_from_steps(&steps));
    let mut exam = Exam::new(settings.to_protocol());
    let t0 = Instant::ZERO;
    let mut rows: Vec<(Instant, ScenarioRow)> = Vec::new();
    // The kiosk logs the values in force first, so replay rebuilds the exam under them.
    let mut setup = vec![ExamEvent::SettingsRecorded {
        settings: Box::new(settings.clone()),
    }];
    if let Some(date) = exam_date {
        setup.push(ExamEvent::ExamDated { date, wall: None });
    }
    if let Some(scanner) = scanner {
        setup.push(ExamEvent::ScannerRecorded { scanner });
    }
    setup.push(ExamEvent::PatientRegistered { patient });
    setup.push(ExamEvent::ScreeningAnswered { answers });
    setup.extend(overrides);
    setup.push(ExamEvent::ExamTypeChosen { exam_type });
    if let Some(agent) = agent {
        setup.push(ExamEvent::AgentSelected { agent });
    }
    for ev in setup {
        exam.handle(ev.clone(), t0)
            .map_err(|e| err(None, "patient", e.to_string()))?;
        rows.push((t0, ScenarioRow::Event(ev)));
    }
    let mut clearance = None;
    for out in exam.drain() {
        if matches!(out.decision, Decision::Clearance(_)) {
            clearance = line(&out, None);
        }
        rows.push((out.at, ScenarioRow::Decision(out)));
    }
    let mut lines: Vec<Value> = clearance.into_iter().collect();

    let mut end = t0;
    for (i, step) in steps.into_iter().enumerate() {
        exam.handle_timeout(step.at);
        for out in exam.drain() {
            lines.extend(line(&out, None));
            rows.push((out.at, ScenarioRow::Decision(out)));
        }
        let event = step.event.clone();
        match exam.handle(step.event, step.at) {
            Ok(Outcome::Accepted | Outcome::Rejected(_)) => {}
            Err(e) => return Err(exam_error(i, &event, e)),
        }
        rows.push((step.at, ScenarioRow::Event(event)));
        for out in exam.drain() {
            lines.extend(line(&out, Some(i)));
            rows.push((out.at, ScenarioRow::Decision(out)));
        }
        end = step.at;
    }
    let technique = serde_json::to_value(exam.technique(end)).expect("technique facts serialize");
    lines.push(json!({"at": secs(end), "kind": "summary", "technique": technique}));
    Ok(ScenarioRun { lines, rows, end })
}

/// Run a scenario and render the output as JSON lines (no trailing newline).
pub fn run_scenario_lines(json: &str) -> Result<Vec<String>, ScenarioError> {
    Ok(run_scenario(json)?
        .into_iter()
        .map(|v| v.to_string())
        .collect())
}
