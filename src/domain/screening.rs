//! Safety screening → [`Clearance`] (clauses 2.1.2 and 2.3.1, plus the stress-drug
//! contraindications of 3.2.3 and practice).
//!
//! This module owns the patient record used by the rules ([`Patient`]), the
//! screening answers ([`ScreeningAnswers`]), physician overrides ([`Override`])
//! and the pure function [`assess`] that turns them into a [`Clearance`]: an
//! exam status, whether contrast and the stress drug are allowed, and every
//! reason with its stable code and the clause it comes from.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::date::CivilDate;

/// Heaviest patient the kiosk accepts (kg); anything above is a typing error.
pub const MAX_WEIGHT_KG: f64 = 350.0;

/// The band of body weights (kg) expected at an age (years): (from age, lightest,
/// heaviest), youngest first. Wide bands around the WHO child growth references and
/// adult extremes: a weight outside is far more often a typing slip (7.25 for 72.5)
/// than a patient, so it asks for a named confirmation; it never refuses.
pub const WEIGHT_BANDS_BY_AGE: [(u32, f64, f64); 7] = [
    (0, 1.5, 16.0),
    (2, 7.0, 25.0),
    (5, 12.0, 45.0),
    (9, 17.0, 90.0),
    (13, 25.0, 150.0),
    (18, 35.0, 250.0),
    (70, 30.0, 200.0),
];

/// The expected weight band (kg) at `age_years` ([`WEIGHT_BANDS_BY_AGE`]).
pub fn expected_weight_kg(age_years: u32) -> (f64, f64) {
    let band = WEIGHT_BANDS_BY_AGE
        .iter()
        .rev()
        .find(|(from, _, _)| age_years >= *from)
        .unwrap_or(&WEIGHT_BANDS_BY_AGE[0]);
    (band.1, band.2)
}

/// Whether `weight_kg` lies in the expected band for `age_years`.
pub fn weight_plausible_for_age(weight_kg: f64, age_years: u32) -> bool {
    let (lo, hi) = expected_weight_kg(age_years);
    weight_kg >= lo && weight_kg <= hi
}

/// Patient sex, as recorded on the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Other or not recorded.
    Other,
}

/// The patient facts the clinical rules need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    /// Body weight in kg (0 < w ≤ 350); drives every dose.
    pub weight_kg: f64,
    /// Height in cm, if measured.
    pub height_cm: Option<f64>,
    /// Sex.
    pub sex: Sex,
    /// Age in whole years.
    pub age_years: u32,
    /// eGFR in mL/min/1.73 m², if known (clause 2.3.1).
    pub egfr: Option<f64>,
    /// Date the eGFR was measured (ISO 8601 `YYYY-MM-DD`), if known.
    pub egfr_date: Option<String>,
}

/// Why a patient record is impossible.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PatientError {
    /// Weight not a finite number in (0, 350] kg.
    #[error("weight_kg must be a number above 0 and at most 350 kg, got {0}")]
    Weight(f64),
    /// Height not a finite number in (0, 300] cm.
    #[error("height_cm must be a number above 0 and at most 300 cm, got {0}")]
    Height(f64),
    /// eGFR negative or not finite.
    #[error("egfr must be a finite number ≥ 0, got {0}")]
    Egfr(f64),
    /// Age above 150 years.
    #[error("age must be at most 150 years, got {0}")]
    Age(u32),
    /// The eGFR's date is not a calendar date `YYYY-MM-DD`.
    #[error("egfr_date must be a date YYYY-MM-DD, got {0:?}")]
    EgfrDate(String),
}

impl Patient {
    /// Check that every number is possible; nothing is clamped.
    pub fn validate(&self) -> Result<(), PatientError> {
        if !(self.weight_kg.is_finite() && self.weight_kg > 0.0 && self.weight_kg <= MAX_WEIGHT_KG)
        {
            return Err(PatientError::Weight(self.weight_kg));
        }
        if let Some(h) = self.height_cm
            && !(h.is_finite() && h > 0.0 && h <= 300.0)
        {
            return Err(PatientError::Height(h));
        }
        if let Some(e) = self.egfr
            && !(e.is_finite() && e >= 0.0)
        {
            return Err(PatientError::Egfr(e));
        }
        if self.age_years > 150 {
            return Err(PatientError::Age(self.age_years));
        }
        if let Some(d) = &self.egfr_date
            && CivilDate::parse(d).is_none()
        {
            return Err(PatientError::EgfrDate(d.clone()));
        }
        Ok(())
    }

    /// How many days before the exam the eGFR was measured, when both dates are
    /// known (negative: dated after the exam).
    pub fn egfr_age_days(context: &ExamContext) -> impl Fn(&Patient) -> Option<i64> + '_ {
        move |p| {
            let measured = CivilDate::parse(p.egfr_date.as_deref()?)?;
            Some(context.exam_date?.days_after(measured))
        }
    }
}

/// Kind of implanted device or foreign body (clause 2.1.2's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImplantKind {
    /// Cardiac pacemaker.
    Pacemaker,
    /// Implantable cardioverter-defibrillator.
    Icd,
    /// Prosthetic (metal) heart valve.
    HeartValve,
    /// Vascular clip.
    VascularClip,
    /// Intracranial aneurysm clip.
    AneurysmClip,
    /// Neurostimulator.
    Neurostimulator,
    /// Metal fragment (e.g. in the eye).
    MetalFragment,
    /// Any other implant or foreign body.
    Other,
}

/// MR safety label of a device (ASTM F2503), or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MrStatus {
    /// MR Safe.
    Safe,
    /// MR Conditional: scan only within the labelled conditions.
    Conditional,
    /// MR Unsafe.
    Unsafe,
    /// Not known: a hard stop.
    Unknown,
}

/// Field strengths closer than this are the same (T): labels say 1.5 and 3.0,
/// scanners write 1.494 or 2.89.
pub const FIELD_STRENGTH_TOLERANCE_T: f64 = 0.15;

/// The conditions an MR-conditional device was checked against (2.1.2): the label's
/// numbers, so each acquired series can be checked against them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImplantConditions {
    /// Device make and model.
    #[serde(default)]
    pub device: String,
    /// The label's conditions in words (programming mode, position …).
    #[serde(default)]
    pub label: String,
    /// Who checked them.
    #[serde(default)]
    pub checked_by: String,
    /// Static field strengths the label allows (T). Empty: not recorded, and the
    /// implant blocks the exam until it is.
    #[serde(default)]
    pub field_strength_t: Vec<f64>,
    /// Highest whole-body averaged SAR (W/kg).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wb_sar_w_kg: Option<f64>,
    /// Highest B1+rms (µT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_b1rms_ut: Option<f64>,
    /// Highest gradient slew, dB/dt (T/s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dbdt_t_s: Option<f64>,
    /// Highest spatial field gradient (T/m), checked by the technologist at positioning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spatial_gradient_t_m: Option<f64>,
}

/// The safety facts of one acquired series, from its DICOM header.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SeriesSafety {
    /// Magnetic Field Strength (0018,0087), T.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_strength_t: Option<f64>,
    /// SAR (0018,1316), W/kg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sar_w_kg: Option<f64>,
    /// B1rms (0018,1320), µT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b1rms_ut: Option<f64>,
    /// dB/dt (0018,1318), T/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbdt_t_s: Option<f64>,
}

/// Which recorded condition a series exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionExceeded {
    /// The series' field strength is not among the label's.
    FieldStrength,
    /// Whole-body SAR above the label's maximum.
    Sar,
    /// B1+rms above the label's maximum.
    B1rms,
    /// dB/dt above the label's maximum.
    Dbdt,
}

impl ImplantConditions {
    /// Whether the label allows a scanner of `tesla`.
    pub fn allows_field(&self, tesla: f64) -> bool {
        self.field_strength_t
            .iter()
            .any(|t| (t - tesla).abs() <= FIELD_STRENGTH_TOLERANCE_T)
    }

    /// Every recorded condition the series exceeded (empty: within them all). A
    /// fact the header does not carry cannot be checked and is not reported.
    pub fn exceeded_by(&self, s: &SeriesSafety) -> Vec<ConditionExceeded> {
        let mut out = Vec::new();
        if let Some(t) = s.field_strength_t
            && !self.field_strength_t.is_empty()
            && !self.allows_field(t)
        {
            out.push(ConditionExceeded::FieldStrength);
        }
        let above = |value: Option<f64>, max: Option<f64>| matches!((value, max), (Some(v), Some(m)) if v > m);
        if above(s.sar_w_kg, self.max_wb_sar_w_kg) {
            out.push(ConditionExceeded::Sar);
        }
        if above(s.b1rms_ut, self.max_b1rms_ut) {
            out.push(ConditionExceeded::B1rms);
        }
        if above(s.dbdt_t_s, self.max_dbdt_t_s) {
            out.push(ConditionExceeded::Dbdt);
        }
        out
    }
}

/// One implanted device or foreign body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Implant {
    /// What it is.
    pub kind: ImplantKind,
    /// Its MR label.
    pub mr_status: MrStatus,
    /// For an MR-conditional device: the conditions as checked, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<ImplantConditions>,
}

/// Claustrophobia as reported at screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claustrophobia {
    /// None.
    #[default]
    None,
    /// Mild: coached, no rule.
    Mild,
    /// Severe: contraindication unless a physician documents a plan (2.1.2).
    Severe,
}

/// The screening questionnaire's answers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScreeningAnswers {
    /// Implants and foreign bodies.
    pub implants: Vec<Implant>,
    /// Known pregnancy within the first three months.
    pub pregnancy_first_trimester: bool,
    /// Claustrophobia.
    pub claustrophobia: Claustrophobia,
    /// Severe heart failure or haemodynamic instability.
    pub haemodynamically_unstable: bool,
    /// History of allergy to contrast media (2.3.1).
    pub contrast_allergy: bool,
    /// Asthma or active bronchospasm.
    pub asthma: bool,
    /// Second- or third-degree AV block or sick sinus.
    pub av_block: bool,
    /// Hours since the last caffeine/methylxanthine, if any was taken.
    pub caffeine_hours_ago: Option<f64>,
    /// Hours since the last dipyridamole dose, if any was taken.
    #[serde(default)]
    pub dipyridamole_hours_ago: Option<f64>,
    /// On dialysis: the reduced gadolinium maximum, no ACR group I agent.
    #[serde(default)]
    pub dialysis: bool,
    /// Acute kidney injury: the reduced gadolinium maximum, no ACR group I agent.
    #[serde(default)]
    pub acute_kidney_injury: bool,
}

impl ScreeningAnswers {
    /// Dialysis or acute kidney injury: kidneys that a normal eGFR does not describe.
    pub fn kidney_risk(&self) -> bool {
        self.dialysis || self.acute_kidney_injury
    }
}

/// Stable machine-readable code of a screening rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// An implant of unknown MR status (2.1.2): hard stop.
    ImplantUnknown,
    /// An MR-unsafe implant (2.1.2): hard stop.
    ImplantUnsafe,
    /// An MR-conditional implant (2.1.2): scan within its conditions.
    ImplantConditional,
    /// Known first-trimester pregnancy (2.1.2, relative): the exam itself. Its
    /// override allows a non-contrast exam only.
    PregnancyFirstTrimester,
    /// Known first-trimester pregnancy: gadolinium, lifted by its own override.
    PregnancyContrast,
    /// Known first-trimester pregnancy: the stress drug, lifted by its own override.
    PregnancyStress,
    /// An MR-conditional implant with no field strength condition recorded (2.1.2):
    /// blocked until the conditions are recorded.
    ConditionalImplantWithoutConditions,
    /// The scanner's field strength is not among a conditional implant's (2.1.2).
    ImplantFieldStrength,
    /// Severe claustrophobia (2.1.2).
    SevereClaustrophobia,
    /// Severe heart failure / haemodynamically unstable (2.1.2).
    HaemodynamicallyUnstable,
    /// Contrast allergy history (2.3.1).
    ContrastAllergy,
    /// eGFR < 30 mL/min/1.73 m² (2.3.1 caution, 3.1.3.2 forbidden).
    #[serde(rename = "egfr_below_30")]
    EgfrBelow30,
    /// eGFR not known (2.3.1).
    EgfrUnknown,
    /// Asthma / bronchospasm: stress-drug contraindication.
    Asthma,
    /// 2nd/3rd-degree AV block without a pacemaker: stress-drug contraindication.
    AvBlock,
    /// Caffeine within the site's window (default 12 h).
    #[serde(rename = "caffeine_within_12h")]
    CaffeineWithin12h,
    /// Dipyridamole within the site's window (default 24 h).
    #[serde(rename = "dipyridamole_within_24h")]
    DipyridamoleWithin24h,
}

impl ReasonCode {
    /// The standard's clause the rule comes from.
    pub fn clause(self) -> &'static str {
        use ReasonCode::*;
        match self {
            ImplantUnknown
            | ImplantUnsafe
            | ImplantConditional
            | ConditionalImplantWithoutConditions
            | ImplantFieldStrength
            | PregnancyFirstTrimester
            | PregnancyContrast
            | PregnancyStress
            | SevereClaustrophobia
            | HaemodynamicallyUnstable => "2.1.2",
            ContrastAllergy | EgfrUnknown => "2.3.1",
            EgfrBelow30 => "3.1.3.2",
            Asthma | AvBlock | CaffeineWithin12h | DipyridamoleWithin24h => "3.2.3",
        }
    }

    /// What the rule restricts.
    pub fn scope(self) -> Scope {
        use ReasonCode::*;
        match self {
            ContrastAllergy | EgfrBelow30 | EgfrUnknown | PregnancyContrast => Scope::Contrast,
            Asthma | AvBlock | CaffeineWithin12h | DipyridamoleWithin24h | PregnancyStress => {
                Scope::StressDrug
            }
            _ => Scope::Exam,
        }
    }

    /// How strong the rule is.
    pub fn severity(self) -> Severity {
        use ReasonCode::*;
        match self {
            ImplantConditional => Severity::Conditional,
            PregnancyFirstTrimester => Severity::Relative,
            _ => Severity::Blocking,
        }
    }

    /// Whether a physician's documented override can lift the rule.
    pub fn overridable(self) -> bool {
        use ReasonCode::*;
        match self {
            ImplantUnknown | ImplantUnsafe | HaemodynamicallyUnstable | AvBlock => false,
            ImplantConditional | ConditionalImplantWithoutConditions | ImplantFieldStrength => {
                false
            }
            EgfrUnknown | PregnancyContrast | PregnancyStress => true,
            PregnancyFirstTrimester
            | SevereClaustrophobia
            | ContrastAllergy
            | EgfrBelow30
            | Asthma
            | CaffeineWithin12h
            | DipyridamoleWithin24h => true,
        }
    }

    /// Every code, for tests that every one has its words in every language.
    pub const ALL: [ReasonCode; 17] = [
        ReasonCode::ImplantUnknown,
        ReasonCode::ImplantUnsafe,
        ReasonCode::ImplantConditional,
        ReasonCode::ConditionalImplantWithoutConditions,
        ReasonCode::ImplantFieldStrength,
        ReasonCode::PregnancyFirstTrimester,
        ReasonCode::PregnancyContrast,
        ReasonCode::PregnancyStress,
        ReasonCode::SevereClaustrophobia,
        ReasonCode::HaemodynamicallyUnstable,
        ReasonCode::ContrastAllergy,
        ReasonCode::EgfrBelow30,
        ReasonCode::EgfrUnknown,
        ReasonCode::Asthma,
        ReasonCode::AvBlock,
        ReasonCode::CaffeineWithin12h,
        ReasonCode::DipyridamoleWithin24h,
    ];

    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        use ReasonCode::*;
        match self {
            ImplantUnknown => "implant_unknown",
            ImplantUnsafe => "implant_unsafe",
            ImplantConditional => "implant_conditional",
            PregnancyFirstTrimester => "pregnancy_first_trimester",
            PregnancyContrast => "pregnancy_contrast",
            PregnancyStress => "pregnancy_stress",
            ConditionalImplantWithoutConditions => "conditional_implant_without_conditions",
            ImplantFieldStrength => "implant_field_strength",
            SevereClaustrophobia => "severe_claustrophobia",
            HaemodynamicallyUnstable => "haemodynamically_unstable",
            ContrastAllergy => "contrast_allergy",
            EgfrBelow30 => "egfr_below_30",
            EgfrUnknown => "egfr_unknown",
            Asthma => "asthma",
            AvBlock => "av_block",
            CaffeineWithin12h => "caffeine_within_12h",
            DipyridamoleWithin24h => "dipyridamole_within_24h",
        }
    }
}

/// What a rule restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole exam.
    Exam,
    /// Gadolinium contrast only.
    Contrast,
    /// The pharmacological stress agent only.
    StressDrug,
}

/// How strong a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks its scope (unless overridden, where overridable).
    Blocking,
    /// Relative contraindication: blocks until a physician decides.
    Relative,
    /// Allowed within recorded conditions.
    Conditional,
    /// Proceed with caution; blocks nothing.
    Caution,
}

/// A physician's documented decision lifting one overridable rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// The rule lifted.
    pub rule: ReasonCode,
    /// The physician's name.
    pub by: String,
    /// The documented reason (plan, risk-benefit …).
    pub reason: String,
}

/// Why an override cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OverrideError {
    /// No physician name.
    #[error("override of {0}: the physician's name (by) is empty")]
    MissingPhysician(&'static str),
    /// No reason.
    #[error("override of {0}: the reason is empty")]
    MissingReason(&'static str),
}

impl Override {
    /// An override needs both a name and a reason.
    pub fn validate(&self) -> Result<(), OverrideError> {
        if self.by.trim().is_empty() {
            return Err(OverrideError::MissingPhysician(self.rule.as_str()));
        }
        if self.reason.trim().is_empty() {
            return Err(OverrideError::MissingReason(self.rule.as_str()));
        }
        Ok(())
    }
}

/// One finding of the screening, with its clause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code.
    pub code: ReasonCode,
    /// Clause of the standard.
    pub clause: String,
    /// Strength.
    pub severity: Severity,
    /// What it restricts.
    pub scope: Scope,
    /// Whether a physician may lift it.
    pub overridable: bool,
    /// The override that lifted it, if any.
    pub overridden_by: Option<Override>,
    /// Free detail for staff (e.g. which implant), if any.
    pub detail: Option<String>,
}

impl Reason {
    fn new(code: ReasonCode, detail: Option<String>) -> Self {
        Reason {
            code,
            clause: code.clause().to_string(),
            severity: code.severity(),
            scope: code.scope(),
            overridable: code.overridable(),
            overridden_by: None,
            detail,
        }
    }

    /// Whether this reason, as things stand, blocks its scope.
    pub fn is_blocking(&self) -> bool {
        matches!(self.severity, Severity::Blocking | Severity::Relative)
            && self.overridden_by.is_none()
    }
}

/// Overall exam status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearanceStatus {
    /// No finding at all.
    Cleared,
    /// The exam may go ahead, with conditions, overrides or restrictions recorded.
    Conditional,
    /// The exam must not go ahead.
    Blocked,
}

/// Allowed or blocked (contrast, stress drug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Allowed.
    Allowed,
    /// Blocked.
    Blocked,
}

/// The outcome of screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clearance {
    /// Exam status.
    pub status: ClearanceStatus,
    /// Whether gadolinium may be given.
    pub contrast: Permission,
    /// Whether a pharmacological stress agent may be given.
    pub stress_drug: Permission,
    /// Every finding, in rule order.
    pub reasons: Vec<Reason>,
}

impl Clearance {
    /// Whether a reason with this code is present.
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The reason codes, in order.
    pub fn codes(&self) -> Vec<ReasonCode> {
        self.reasons.iter().map(|r| r.code).collect()
    }
}

/// Site settings for screening (practice values, configurable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScreeningSettings {
    /// eGFR below which contrast is blocked (3.1.3.2: 30).
    pub egfr_contrast_min: f64,
    /// Hours without caffeine before a stress drug (practice: 12; some sites 24–48).
    pub caffeine_abstinence_h: f64,
    /// Hours without dipyridamole before a stress drug (practice: 24).
    pub dipyridamole_abstinence_h: f64,
    /// An eGFR measured more than this many days before the exam is not current
    /// (practice: 90; 2.3.1 asks for current renal function).
    pub egfr_max_age_days: u32,
}

/// What the screening rules need to know about the exam itself.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExamContext {
    /// The exam's date (the kiosk's wall clock at opening: a label, not a duration).
    pub exam_date: Option<CivilDate>,
    /// The scanner's field strength (T), from the site's configuration.
    pub scanner_field_t: Option<f64>,
}

impl Default for ScreeningSettings {
    fn default() -> Self {
        ScreeningSettings {
            egfr_contrast_min: 30.0,
            caffeine_abstinence_h: 12.0,
            dipyridamole_abstinence_h: 24.0,
            egfr_max_age_days: 90,
        }
    }
}

/// Apply every screening rule. Pure: same input, same clearance.
///
/// Overrides lift only overridable rules that are present; an override of a
/// non-overridable rule (e.g. haemodynamic instability) is ignored.
pub fn assess(
    patient: Option<&Patient>,
    answers: &ScreeningAnswers,
    overrides: &[Override],
    settings: &ScreeningSettings,
    context: &ExamContext,
) -> Clearance {
    use ReasonCode::*;
    let mut reasons = Vec::new();
    for implant in &answers.implants {
        let name = serde_plain_kind(implant.kind);
        match implant.mr_status {
            MrStatus::Safe => {}
            MrStatus::Unknown => reasons.push(Reason::new(ImplantUnknown, Some(name))),
            MrStatus::Unsafe => reasons.push(Reason::new(ImplantUnsafe, Some(name))),
            MrStatus::Conditional => {
                let detail = match &implant.conditions {
                    Some(c) => format!(
                        "{name}: {} — {} (checked by {})",
                        c.device, c.label, c.checked_by
                    ),
                    None => format!("{name}: conditions to be recorded"),
                };
                reasons.push(Reason::new(ImplantConditional, Some(detail)));
                match &implant.conditions {
                    Some(c) if !c.field_strength_t.is_empty() => {
                        if let Some(t) = context.scanner_field_t
                            && !c.allows_field(t)
                        {
                            let allowed: Vec<String> = c
                                .field_strength_t
                                .iter()
                                .map(|t| format!("{t} T"))
                                .collect();
                            reasons.push(Reason::new(
                                ImplantFieldStrength,
                                Some(format!(
                                    "{name}: scanner {t} T, label {}",
                                    allowed.join(", ")
                                )),
                            ));
                        }
                    }
                    _ => reasons.push(Reason::new(
                        ConditionalImplantWithoutConditions,
                        Some(name.clone()),
                    )),
                }
            }
        }
    }
    if answers.pregnancy_first_trimester {
        reasons.push(Reason::new(PregnancyFirstTrimester, None));
        reasons.push(Reason::new(PregnancyContrast, None));
        reasons.push(Reason::new(PregnancyStress, None));
    }
    if answers.claustrophobia == Claustrophobia::Severe {
        reasons.push(Reason::new(SevereClaustrophobia, None));
    }
    if answers.haemodynamically_unstable {
        reasons.push(Reason::new(HaemodynamicallyUnstable, None));
    }
    if answers.contrast_allergy {
        reasons.push(Reason::new(ContrastAllergy, None));
    }
    let egfr = patient.and_then(|p| p.egfr);
    if let Some(e) = egfr
        && e < settings.egfr_contrast_min
    {
        reasons.push(Reason::new(EgfrBelow30, Some(format!("eGFR {e}"))));
    }
    match (egfr, patient.and_then(Patient::egfr_age_days(context))) {
        (None, _) => reasons.push(Reason::new(EgfrUnknown, None)),
        (Some(_), Some(days)) if days < 0 || days > i64::from(settings.egfr_max_age_days) => {
            let date = patient
                .and_then(|p| p.egfr_date.clone())
                .unwrap_or_default();
            reasons.push(Reason::new(
                EgfrUnknown,
                Some(format!("eGFR from {date}: {days} days before the exam")),
            ));
        }
        (Some(_), _) => {}
    }
    if answers.asthma {
        reasons.push(Reason::new(Asthma, None));
    }
    let paced = answers
        .implants
        .iter()
        .any(|i| matches!(i.kind, ImplantKind::Pacemaker | ImplantKind::Icd));
    if answers.av_block && !paced {
        reasons.push(Reason::new(AvBlock, None));
    }
    if let Some(h) = answers.caffeine_hours_ago
        && h < settings.caffeine_abstinence_h
    {
        reasons.push(Reason::new(CaffeineWithin12h, Some(format!("{h} h ago"))));
    }
    if let Some(h) = answers.dipyridamole_hours_ago
        && h < settings.dipyridamole_abstinence_h
    {
        reasons.push(Reason::new(
            DipyridamoleWithin24h,
            Some(format!("{h} h ago")),
        ));
    }
    for r in &mut reasons {
        if r.overridable
            && let Some(o) = overrides
                .iter()
                .rev()
                .find(|o| o.rule == r.code && o.validate().is_ok())
        {
            r.overridden_by = Some(o.clone());
        }
    }
    let blocks = |scope: Scope| reasons.iter().any(|r| r.scope == scope && r.is_blocking());
    let exam_blocked = blocks(Scope::Exam);
    let status = if exam_blocked {
        ClearanceStatus::Blocked
    } else if reasons.is_empty() {
        ClearanceStatus::Cleared
    } else {
        ClearanceStatus::Conditional
    };
    let perm = |blocked: bool| {
        if blocked {
            Permission::Blocked
        } else {
            Permission::Allowed
        }
    };
    Clearance {
        status,
        contrast: perm(exam_blocked || blocks(Scope::Contrast)),
        stress_drug: perm(exam_blocked || blocks(Scope::StressDrug)),
        reasons,
    }
}

fn serde_plain_kind(kind: ImplantKind) -> String {
    match kind {
        ImplantKind::Pacemaker => "pacemaker",
        ImplantKind::Icd => "icd",
        ImplantKind::HeartValve => "heart_valve",
        ImplantKind::VascularClip => "vascular_clip",
        ImplantKind::AneurysmClip => "aneurysm_clip",
        ImplantKind::Neurostimulator => "neurostimulator",
        ImplantKind::MetalFragment => "metal_fragment",
        ImplantKind::Other => "other",
    }
    .to_string()
}
