//! The sequence catalogue (clauses 3.1 and 3.2) and series compliance.
//!
//! This module owns the protocol steps ([`ProtocolStep`]), each step's parameter
//! ranges as data ([`SequenceSpec`], from the standard's tables), the check of one
//! acquired series against its entry ([`check_series`]), the required steps per
//! exam type ([`required_steps`]) and the VENC guidance of 3.2.1 ([`venc_guidance`]).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::stress::StressDrug;

/// A step of the CMR protocol (one series type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolStep {
    /// Localisers / scouts.
    Localiser,
    /// Black-blood static imaging (3.1.1).
    BlackBlood,
    /// Bright-blood static imaging (3.1.1).
    BrightBlood,
    /// Cine 2-chamber (3.1.2.2).
    #[serde(rename = "cine_2ch")]
    Cine2ch,
    /// Cine 4-chamber (3.1.2.3).
    #[serde(rename = "cine_4ch")]
    Cine4ch,
    /// Cine short axis stack (3.1.2.4).
    CineSax,
    /// Cine LVOT (3.1.2.5).
    CineLvot,
    /// Cine LVOT oblique coronal (3.1.2.6).
    CineLvotCoronal,
    /// Cine RVOT oblique sagittal (3.1.2.7, optional).
    CineRvot,
    /// Stress first-pass perfusion (3.1.3, 3.2.3).
    StressPerfusion,
    /// Rest first-pass perfusion (3.1.3).
    RestPerfusion,
    /// Late gadolinium enhancement (3.1.4).
    Lge,
    /// Phase-contrast flow (3.2.1).
    Flow,
    /// T1 mapping (3.2.2).
    T1Map,
    /// T2 mapping (3.2.2).
    T2Map,
    /// T2* mapping (3.2.2, iron overload).
    #[serde(rename = "t2star_map")]
    T2StarMap,
    /// T1-weighted imaging (3.2.2).
    #[serde(rename = "t1_weighted")]
    T1Weighted,
    /// T2-weighted imaging (3.2.2).
    #[serde(rename = "t2_weighted")]
    T2Weighted,
}

impl ProtocolStep {
    /// Every step, in protocol order.
    pub const ALL: [ProtocolStep; 18] = [
        ProtocolStep::Localiser,
        ProtocolStep::BlackBlood,
        ProtocolStep::BrightBlood,
        ProtocolStep::Cine2ch,
        ProtocolStep::Cine4ch,
        ProtocolStep::CineSax,
        ProtocolStep::CineLvot,
        ProtocolStep::CineLvotCoronal,
        ProtocolStep::CineRvot,
        ProtocolStep::StressPerfusion,
        ProtocolStep::RestPerfusion,
        ProtocolStep::Lge,
        ProtocolStep::Flow,
        ProtocolStep::T1Map,
        ProtocolStep::T2Map,
        ProtocolStep::T2StarMap,
        ProtocolStep::T1Weighted,
        ProtocolStep::T2Weighted,
    ];

    /// Whether this step uses gadolinium.
    pub fn is_contrast(self) -> bool {
        matches!(
            self,
            ProtocolStep::StressPerfusion | ProtocolStep::RestPerfusion | ProtocolStep::Lge
        )
    }
}

/// Phase-encoding direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseEncoding {
    /// Anterior–posterior.
    Ap,
    /// Left–right.
    Lr,
    /// Head–foot.
    Hf,
}

/// An inclusive numeric range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
}

impl Range {
    /// `[min, max]`.
    pub const fn new(min: f64, max: f64) -> Self {
        Range { min, max }
    }

    /// Whether `v` lies within the range.
    pub fn contains(&self, v: f64) -> bool {
        v >= self.min && v <= self.max
    }
}

/// A catalogue entry: the standard's parameter ranges for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceSpec {
    /// Step.
    pub step: ProtocolStep,
    /// Clause giving the parameters.
    pub clause: &'static str,
    /// Field of view (mm).
    pub fov_mm: Option<Range>,
    /// Slice thickness (mm).
    pub slice_mm: Option<Range>,
    /// Slice gap (mm).
    pub gap_mm: Option<Range>,
    /// Allowed phase-encoding directions (empty: not specified).
    pub phase_encoding: &'static [PhaseEncoding],
    /// Number of slices (e.g. SAX 8–9).
    pub slices: Option<Range>,
}

const AP: &[PhaseEncoding] = &[PhaseEncoding::Ap];
const AP_LR: &[PhaseEncoding] = &[PhaseEncoding::Ap, PhaseEncoding::Lr];
const LR: &[PhaseEncoding] = &[PhaseEncoding::Lr];

/// The catalogue entry for a step (steps without parameters in the standard
/// return an entry with no ranges).
pub fn spec(step: ProtocolStep) -> SequenceSpec {
    use ProtocolStep::*;
    let r = |a, b| Some(Range::new(a, b));
    let e = |clause, fov, slice, gap, pe, slices| SequenceSpec {
        step,
        clause,
        fov_mm: fov,
        slice_mm: slice,
        gap_mm: gap,
        phase_encoding: pe,
        slices,
    };
    match step {
        BlackBlood | BrightBlood => e("3.1.1", r(255.0, 340.0), r(6.0, 8.0), r(0.0, 3.0), AP, None),
        Cine2ch => e("3.1.2.2", r(315.0, 380.0), r(6.0, 8.0), None, AP, None),
        Cine4ch => e("3.1.2.3", r(280.0, 340.0), r(6.0, 8.0), None, AP, None),
        CineSax => e(
            "3.1.2.4",
            r(280.0, 340.0),
            r(6.0, 8.0),
            r(0.0, 3.0),
            AP_LR,
            r(8.0, 9.0),
        ),
        CineLvot => e("3.1.2.5", r(280.0, 340.0), r(6.0, 8.0), None, AP_LR, None),
        CineLvotCoronal => e("3.1.2.6", r(315.0, 360.0), r(6.0, 8.0), None, LR, None),
        CineRvot => e("3.1.2.7", r(280.0, 340.0), r(6.0, 8.0), None, LR, None),
        // Basal, mid and apical short axis at least (3.1.3.3); the 4-chamber is
        // recommended beside them.
        StressPerfusion | RestPerfusion => e(
            "3.1.3.5",
            r(420.0, 480.0),
            r(8.0, 10.0),
            r(8.0, 20.0),
            AP_LR,
            r(PERFUSION_MIN_LEVELS, 12.0),
        ),
        Lge => e(
            "3.1.4.4",
            r(315.0, 380.0),
            r(6.0, 8.0),
            r(0.0, 3.0),
            AP_LR,
            None,
        ),
        Flow => e("3.2.1", None, None, None, &[], None),
        T1Map | T2Map | T2StarMap | T1Weighted | T2Weighted => {
            e("3.2.2", None, None, None, &[], None)
        }
        Localiser => e("3.2.3", None, None, None, &[], None),
    }
}

/// The parameters of one acquired series, as read from the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SeriesParams {
    /// Field of view (mm).
    pub fov_mm: Option<f64>,
    /// Slice thickness (mm).
    pub slice_mm: Option<f64>,
    /// Slice gap (mm).
    pub gap_mm: Option<f64>,
    /// Phase-encoding direction.
    pub phase_encoding: Option<PhaseEncoding>,
    /// Number of slices.
    pub slices: Option<u32>,
}

/// Finding codes (stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// FOV outside the range.
    FovOutOfRange,
    /// Slice thickness outside the range.
    SliceOutOfRange,
    /// Gap outside the range.
    GapOutOfRange,
    /// Phase-encoding direction not allowed.
    PhaseEncodingNotAllowed,
    /// Slice count outside the range.
    SliceCountOutOfRange,
}

/// One deviation of a series from its catalogue entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Code.
    pub code: FindingCode,
    /// Clause of the standard.
    pub clause: String,
    /// What was measured.
    pub measured: String,
    /// What the standard expects.
    pub expected: String,
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// `v unit`, or the bare number for a count (no unit: the message names it, so
/// no English word reaches a Chinese line).
fn with_unit(v: String, unit: &str) -> String {
    if unit.is_empty() {
        v
    } else {
        format!("{v} {unit}")
    }
}

fn fmt_range(r: &Range, unit: &str) -> String {
    with_unit(format!("{}–{}", fmt_num(r.min), fmt_num(r.max)), unit)
}

/// Check one series against its catalogue entry; an unmeasured parameter is not checked.
pub fn check_series(step: ProtocolStep, params: &SeriesParams) -> Vec<Finding> {
    let s = spec(step);
    let mut out = Vec::new();
    let perfusion = matches!(
        step,
        ProtocolStep::StressPerfusion | ProtocolStep::RestPerfusion
    );
    let mut num = |code, range: Option<Range>, value: Option<f64>, unit: &str| {
        if let (Some(r), Some(v)) = (range, value)
            && !r.contains(v)
        {
            // Perfusion's levels have their own clause (3.1.3.3).
            let clause = if perfusion && code == FindingCode::SliceCountOutOfRange {
                "3.1.3.3"
            } else {
                s.clause
            };
            out.push(Finding {
                code,
                clause: clause.to_string(),
                measured: with_unit(fmt_num(v), unit),
                expected: fmt_range(&r, unit),
            });
        }
    };
    num(FindingCode::FovOutOfRange, s.fov_mm, params.fov_mm, "mm");
    num(
        FindingCode::SliceOutOfRange,
        s.slice_mm,
        params.slice_mm,
        "mm",
    );
    num(FindingCode::GapOutOfRange, s.gap_mm, params.gap_mm, "mm");
    num(
        FindingCode::SliceCountOutOfRange,
        s.slices,
        params.slices.map(f64::from),
        "",
    );
    if let Some(pe) = params.phase_encoding
        && !s.phase_encoding.is_empty()
        && !s.phase_encoding.contains(&pe)
    {
        let name = |p: &PhaseEncoding| match p {
            PhaseEncoding::Ap => "A-P",
            PhaseEncoding::Lr => "L-R",
            PhaseEncoding::Hf => "H-F",
        };
        out.push(Finding {
            code: FindingCode::PhaseEncodingNotAllowed,
            clause: s.clause.to_string(),
            measured: name(&pe).to_string(),
            expected: s
                .phase_encoding
                .iter()
                .map(name)
                .collect::<Vec<_>>()
                .join(" / "),
        });
    }
    out
}

/// A first-pass perfusion covers at least the basal, mid and apical short axis
/// (3.1.3.3).
pub const PERFUSION_MIN_LEVELS: f64 = 3.0;

/// Exam types with their own required step sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExamType {
    /// Non-contrast: static + routine cine set.
    Routine,
    /// Contrast-enhanced: + rest perfusion and LGE.
    Contrast,
    /// Adenosine stress: + stress and rest perfusion and LGE.
    AdenosineStress,
    /// Regadenoson stress: same steps as adenosine (rest first).
    RegadenosonStress,
}

impl ExamType {
    /// Whether the exam gives gadolinium (perfusion, LGE).
    pub fn needs_contrast(self) -> bool {
        self != ExamType::Routine
    }

    /// The stress drug the exam gives, if it is a stress exam.
    pub fn stress_drug(self) -> Option<StressDrug> {
        match self {
            ExamType::AdenosineStress => Some(StressDrug::Adenosine),
            ExamType::RegadenosonStress => Some(StressDrug::Regadenoson),
            ExamType::Routine | ExamType::Contrast => None,
        }
    }
}

/// What an exam's record shows, for telling its type when none was chosen: the
/// console reads it from the running exam, `dicom scan` from the series acquired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExamEvidence {
    /// The drug of the first stress run, when one was started.
    pub stress_drug: Option<StressDrug>,
    /// A stress perfusion series was acquired.
    pub stress_perfusion: bool,
    /// Gadolinium was selected or given, or a contrast series was acquired.
    pub contrast: bool,
}

/// The one inference of an exam's type from its record: a stress drug names its
/// stress exam; a stress perfusion series without a known drug is taken as adenosine
/// (the standard's default agent, 3.2.3); any contrast makes a contrast exam; else
/// routine.
pub fn infer_exam_type(evidence: ExamEvidence) -> ExamType {
    match evidence.stress_drug {
        Some(StressDrug::Adenosine) => ExamType::AdenosineStress,
        Some(StressDrug::Regadenoson) => ExamType::RegadenosonStress,
        None if evidence.stress_perfusion => ExamType::AdenosineStress,
        None if evidence.contrast => ExamType::Contrast,
        None => ExamType::Routine,
    }
}

/// The steps an exam type requires (3.1.1, 3.1.2.1, 3.1.3, 3.1.4, 3.2.3), in order.
pub fn required_steps(exam: ExamType) -> Vec<ProtocolStep> {
    use ProtocolStep::*;
    let mut steps = vec![Localiser, BlackBlood, Cine2ch, Cine4ch, CineSax, CineLvot];
    match exam {
        ExamType::Routine => {}
        ExamType::Contrast => steps.extend([RestPerfusion, Lge]),
        ExamType::AdenosineStress => steps.extend([StressPerfusion, RestPerfusion, Lge]),
        ExamType::RegadenosonStress => steps.extend([RestPerfusion, StressPerfusion, Lge]),
    }
    steps
}

/// Why the patient is examined (2.1.1), as the nurse records it at registration. Some
/// indications add supplementary steps to the exam's required set (3.2.1, 3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indication {
    /// Coronary heart disease.
    CoronaryDisease,
    /// Hypertrophic cardiomyopathy (flow when obstruction is suspected, 3.2.1).
    Hcm,
    /// Other cardiomyopathies (dilated, restrictive, infiltrative, genetic/metabolic).
    OtherCardiomyopathy,
    /// Valve disease (phase-contrast flow, 3.2.1).
    ValveDisease,
    /// Cardiac tumour.
    Tumour,
    /// Pericardial disease.
    Pericardial,
    /// Myocarditis.
    Myocarditis,
    /// Congenital heart disease (flow, 3.2.1).
    Congenital,
    /// Suspected iron overload (T2* mapping, 3.2.2).
    IronOverload,
}

impl Indication {
    /// Every indication, in the order the nurse sees them.
    pub const ALL: [Indication; 9] = [
        Indication::CoronaryDisease,
        Indication::Hcm,
        Indication::OtherCardiomyopathy,
        Indication::ValveDisease,
        Indication::Tumour,
        Indication::Pericardial,
        Indication::Myocarditis,
        Indication::Congenital,
        Indication::IronOverload,
    ];

    /// The supplementary steps this indication requires: phase-contrast flow for
    /// structural and valve disease and HCM (3.2.1), T2* mapping when iron overload is
    /// suspected (3.2.2).
    pub fn extra_steps(self) -> &'static [ProtocolStep] {
        match self {
            Indication::ValveDisease | Indication::Hcm | Indication::Congenital => {
                &[ProtocolStep::Flow]
            }
            Indication::IronOverload => &[ProtocolStep::T2StarMap],
            _ => &[],
        }
    }
}

/// The exam type's required steps followed by those its indications add (each once).
pub fn required_steps_for(exam: ExamType, indications: &[Indication]) -> Vec<ProtocolStep> {
    let mut steps = required_steps(exam);
    for step in indications.iter().flat_map(|i| i.extra_steps()) {
        if !steps.contains(step) {
            steps.push(*step);
        }
    }
    steps
}

/// Required steps not yet acquired. Bright-blood static imaging stands in for black-blood.
pub fn missing_steps(exam: ExamType, acquired: &[ProtocolStep]) -> Vec<ProtocolStep> {
    required_steps(exam)
        .into_iter()
        .filter(|s| {
            !(acquired.contains(s)
                || (*s == ProtocolStep::BlackBlood
                    && acquired.contains(&ProtocolStep::BrightBlood)))
        })
        .collect()
}

/// VENC guidance for phase-contrast flow (3.2.1: 110–130 % of the estimated peak velocity).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VencGuidance {
    /// 110 % of the estimate (cm/s).
    pub min_cm_s: f64,
    /// 120 %: the suggested setting (cm/s).
    pub suggested_cm_s: f64,
    /// 130 % of the estimate (cm/s).
    pub max_cm_s: f64,
}

/// An impossible velocity estimate.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("estimated peak velocity must be a finite number above 0 cm/s, got {0}")]
pub struct VencError(pub f64);

/// VENC range for an estimated peak velocity (cm/s).
pub fn venc_guidance(peak_velocity_cm_s: f64) -> Result<VencGuidance, VencError> {
    let v = peak_velocity_cm_s;
    if !(v.is_finite() && v > 0.0) {
        return Err(VencError(v));
    }
    Ok(VencGuidance {
        min_cm_s: v * 1.1,
        suggested_cm_s: v * 1.2,
        max_cm_s: v * 1.3,
    })
}
