//! What the technologist's console shows, computed purely from the exam state, the
//! exam's monotonic `now` and a wall-clock label for the same moment.
//!
//! Countdowns run to fixed deadlines (never decremented ticks) and carry both the
//! remaining time and the wall-clock time they end (usability reference, "Timers
//! people trust").

use chrono::NaiveDateTime;

use crate::domain::contrast::{
    Amount, InjectionMethod, InjectionRequest, Purpose, dose_to_volume_ml, volume_to_dose_mmol_kg,
};
use crate::domain::protocol::{
    ExamEvidence, ExamType, Finding, ProtocolStep, check_series, infer_exam_type,
};
use crate::domain::stress::{StressDose, StressDrug};
use crate::domain::time::Instant;
use crate::domain::{Exam, ExamEvent};
use crate::engine::session::JournalRow;

/// A countdown to a fixed deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countdown {
    /// The deadline on the exam's timeline.
    pub deadline: Instant,
    /// Whole seconds left (0 once passed), rounded up so "00:00" means due.
    pub remaining_s: u64,
    /// The wall-clock time it ends, for the label.
    pub ends_at: NaiveDateTime,
}

impl Countdown {
    /// The countdown to `deadline` seen at `now` (wall clock `wall_now`).
    pub fn new(deadline: Instant, now: Instant, wall_now: NaiveDateTime) -> Countdown {
        let left_ms = deadline.as_millis().saturating_sub(now.as_millis());
        let ahead = deadline.as_millis() as i64 - now.as_millis() as i64;
        Countdown {
            deadline,
            remaining_s: left_ms.div_ceil(1000),
            ends_at: wall_now + chrono::Duration::milliseconds(ahead),
        }
    }

    /// `mm:ss` of the remaining time.
    pub fn mm_ss(&self) -> String {
        mm_ss(self.remaining_s)
    }

    /// `HH:MM:SS` of the end.
    pub fn clock(&self) -> String {
        self.ends_at.format("%H:%M:%S").to_string()
    }
}

/// `mm:ss` of a number of seconds (minutes may exceed 59).
pub fn mm_ss(secs: u64) -> String {
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

/// The stress panel.
#[derive(Debug, Clone, PartialEq)]
pub struct StressPanel {
    /// Drug.
    pub drug: StressDrug,
    /// Current dose: µg/kg/min (adenosine) or mg (regadenoson bolus).
    pub dose: StressDose,
    /// Pump rate, mL/h (adenosine).
    pub rate_ml_h: Option<f64>,
    /// Baseline HR and SBP.
    pub baseline_hr: Option<f64>,
    /// Baseline systolic pressure.
    pub baseline_sbp: Option<f64>,
    /// The drug is still being given (adenosine infusion running).
    pub infusing: bool,
    /// Seconds of infusion so far (or until it stopped).
    pub elapsed_s: u64,
    /// HR rise so far against the target (+10 /min).
    pub hr_rise: Option<f64>,
    /// SBP fall so far against the target (−10 mmHg).
    pub sbp_drop: Option<f64>,
    /// Target HR rise (/min).
    pub hr_target: f64,
    /// Target SBP fall (mmHg).
    pub sbp_target: f64,
    /// Countdown to the longest infusion before imaging (240 s).
    pub max_time: Option<Countdown>,
    /// "Image now" has fallen due.
    pub image_now: bool,
    /// Stress perfusion acquired while the infusion still runs: stop it.
    pub stop_now: bool,
    /// After the infusion stopped: countdown to rest perfusion (≈ 10 min).
    pub recovery: Option<Countdown>,
}

/// The LGE panel.
#[derive(Debug, Clone, PartialEq)]
pub struct LgePanel {
    /// Countdown to the window opening (remaining 0 once open).
    pub opens: Countdown,
    /// Countdown to the window closing.
    pub closes: Countdown,
    /// Whether it is open at `now`.
    pub open: bool,
}

/// The contrast panel.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastPanel {
    /// Injections so far.
    pub injections: usize,
    /// Cumulative mmol/kg.
    pub cumulative_mmol_kg: f64,
    /// Cumulative mL.
    pub cumulative_ml: f64,
    /// Fraction of the 0.2 mmol/kg ceiling used (3.1.3.2), may exceed 1.
    pub of_ceiling: f64,
}

/// Everything the console shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleState {
    /// Present once stress has started.
    pub stress: Option<StressPanel>,
    /// Present once an injection set the LGE window.
    pub lge: Option<LgePanel>,
    /// Present once the patient's weight is known.
    pub contrast: Option<ContrastPanel>,
}

/// Whether the rest-perfusion injection has been given since `t` (the recovery wait
/// is then over and its countdown leaves the console).
fn rest_given_after(exam: &Exam, t: Instant) -> bool {
    exam.ledger()
        .and_then(|l| l.last_with(crate::domain::contrast::Purpose::RestPerfusion))
        .is_some_and(|inj| inj.at >= t)
}

/// The console at `now` (exam time) labelled with `wall_now`.
pub fn console_state(exam: &Exam, now: Instant, wall_now: NaiveDateTime) -> ConsoleState {
    let stress_protocol = exam.stress();
    let settings = stress_protocol.settings();
    let latest = stress_protocol.latest_vitals();
    let stress = stress_protocol.runs().last().map(|run| {
        let end = run.stopped_at.unwrap_or(now);
        let rate = match (run.drug, run.dose) {
            (StressDrug::Adenosine, StressDose::UgKgMin(d)) => Some(stress_protocol.rate_ml_h(d)),
            _ => None,
        };
        let infusing = run.stopped_at.is_none();
        StressPanel {
            drug: run.drug,
            dose: run.dose,
            rate_ml_h: rate,
            infusing,
            baseline_hr: run.baseline.hr,
            baseline_sbp: run.baseline.sbp,
            elapsed_s: (end - run.started_at).as_millis() / 1000,
            hr_rise: run.baseline.hr.zip(latest.hr).map(|(b, h)| h - b),
            sbp_drop: run.baseline.sbp.zip(latest.sbp).map(|(b, s)| b - s),
            hr_target: settings.hr_rise,
            sbp_target: settings.sbp_drop,
            max_time: (infusing && run.drug == StressDrug::Adenosine && run.imaging_due.is_none())
                .then(|| {
                    Countdown::new(run.started_at + settings.max_time_to_imaging, now, wall_now)
                }),
            image_now: run.imaging_due.is_some() && !run.imaged,
            stop_now: infusing && run.imaged && run.drug == StressDrug::Adenosine,
            recovery: run
                .stopped_at
                .filter(|_| run.drug == StressDrug::Adenosine)
                .filter(|stop| !rest_given_after(exam, *stop))
                .map(|stop| Countdown::new(stop + settings.recovery, now, wall_now)),
        }
    });
    let lge = exam.lge().window().map(|w| LgePanel {
        opens: Countdown::new(w.opens_at, now, wall_now),
        closes: Countdown::new(w.closes_at, now, wall_now),
        open: now >= w.opens_at && now < w.closes_at,
    });
    let contrast = exam.ledger().map(|l| ContrastPanel {
        injections: l.injections().len(),
        cumulative_mmol_kg: l.cumulative_mmol_kg(),
        cumulative_ml: l.cumulative_ml(),
        of_ceiling: l.cumulative_mmol_kg() / 0.2,
    });
    ConsoleState {
        stress,
        lge,
        contrast,
    }
}

/// One series acquired, as logged: when, which step, whether it was ticked by hand
/// (no scanner parameters or DICOM identity), its DICOM label and its compliance
/// findings (3.1, 3.2).
#[derive(Debug, Clone, PartialEq)]
pub struct AcquiredSeries {
    /// Exam time.
    pub at: Instant,
    /// Step.
    pub step: ProtocolStep,
    /// Ticked on the console rather than read from the scanner's files.
    pub by_hand: bool,
    /// The scanner's series number and description, if read from DICOM.
    pub label: Option<String>,
    /// Deviations of its parameters from the catalogue entry.
    pub findings: Vec<Finding>,
}

/// The series acquisitions in the session's journal that the exam accepted (a
/// `SeriesAcquired` refused while the exam was blocked is logged but not acquired).
pub fn acquired_series(journal: &[JournalRow], exam: &Exam) -> Vec<AcquiredSeries> {
    // Matched by arrival (the log entry's time), not by the acquisition time the exam
    // placed the series at.
    let accepted: Vec<(Instant, ProtocolStep)> = exam.accepted_series().collect();
    journal
        .iter()
        .filter_map(|row| match row {
            JournalRow::Event {
                at,
                event:
                    ExamEvent::SeriesAcquired {
                        step,
                        params,
                        acquisition,
                        ..
                    },
                ..
            } if accepted.contains(&(*at, *step)) => Some(AcquiredSeries {
                at: *at,
                step: *step,
                by_hand: params.is_none() && acquisition.is_none(),
                label: acquisition.as_ref().map(|a| a.label.clone()),
                findings: params.map(|p| check_series(*step, &p)).unwrap_or_default(),
            }),
            _ => None,
        })
        .collect()
}

/// One line of the protocol checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistRow {
    /// The step.
    pub step: ProtocolStep,
    /// Required by the exam type (false: acquired although not required).
    pub required: bool,
    /// The latest acquisition that ticks it (bright-blood ticks black-blood).
    pub latest: Option<AcquiredSeries>,
    /// How many series tick it.
    pub count: usize,
}

/// The checklist of `exam_type` (its required steps in order, then any other step
/// acquired) ticked by `acquired` (oldest first). Bright-blood static imaging stands in
/// for black-blood, as in [`crate::domain::protocol::missing_steps`].
pub fn checklist(exam_type: ExamType, acquired: &[AcquiredSeries]) -> Vec<ChecklistRow> {
    checklist_for(exam_type, &[], acquired)
}

/// The checklist of an exam type with the steps its indications add (2.1.1 → 3.2.1,
/// 3.2.2) among the required rows.
pub fn checklist_for(
    exam_type: ExamType,
    indications: &[crate::domain::protocol::Indication],
    acquired: &[AcquiredSeries],
) -> Vec<ChecklistRow> {
    let ticks = |step: ProtocolStep, s: &AcquiredSeries| {
        s.step == step || (step == ProtocolStep::BlackBlood && s.step == ProtocolStep::BrightBlood)
    };
    let required = crate::domain::protocol::required_steps_for(exam_type, indications);
    let row = |step: ProtocolStep, required: bool| {
        let matching: Vec<&AcquiredSeries> = acquired.iter().filter(|s| ticks(step, s)).collect();
        ChecklistRow {
            step,
            required,
            latest: matching.last().map(|s| (*s).clone()),
            count: matching.len(),
        }
    };
    let mut rows: Vec<ChecklistRow> = required.iter().map(|s| row(*s, true)).collect();
    for s in acquired {
        let covered =
            required.iter().any(|r| ticks(*r, s)) || rows.iter().any(|r| r.step == s.step);
        if !covered {
            rows.push(row(s.step, false));
        }
    }
    rows
}

/// The exam type chosen at registration or, when none was chosen, the one the exam's
/// record implies (a stress run's drug, else contrast given or an agent selected, else
/// routine). The flag says whether it was inferred.
pub fn exam_type_of(exam: &Exam) -> (ExamType, bool) {
    if let Some(t) = exam.exam_type() {
        return (t, false);
    }
    let evidence = ExamEvidence {
        stress_drug: exam.stress().runs().first().map(|r| r.drug),
        stress_perfusion: false,
        contrast: exam.agent().is_some()
            || exam.ledger().is_some_and(|l| !l.injections().is_empty()),
    };
    (infer_exam_type(evidence), true)
}

/// The console's injection form: purpose, dose or volume, rate and flush as the
/// technologist set them (each number through the keypad).
#[derive(Debug, Clone, PartialEq)]
pub struct InjectionForm {
    /// Why.
    pub purpose: Purpose,
    /// Entered as a volume (mL) rather than a dose (mmol/kg).
    pub by_volume: bool,
    /// Dose (mmol/kg) when entered by dose.
    pub dose_mmol_kg: f64,
    /// Volume (mL) when entered by volume.
    pub volume_ml: f64,
    /// Injection rate (mL/s).
    pub rate_ml_s: f64,
    /// Saline flush (mL).
    pub flush_ml: f64,
}

/// The standard injection rate the form starts with (mL/s; 3.1.3.2: 3–7).
pub const STANDARD_RATE_ML_S: f64 = 4.0;
/// The standard flush the form starts with (mL; 3.1.3.2: 20–30).
pub const STANDARD_FLUSH_ML: f64 = 25.0;

impl Default for InjectionForm {
    fn default() -> Self {
        InjectionForm {
            purpose: Purpose::StressPerfusion,
            by_volume: false,
            dose_mmol_kg: InjectionForm::standard_dose(Purpose::StressPerfusion),
            volume_ml: 0.0,
            rate_ml_s: STANDARD_RATE_ML_S,
            flush_ml: STANDARD_FLUSH_ML,
        }
    }
}

impl InjectionForm {
    /// The usual dose for a purpose (mmol/kg): 0.05 per perfusion pass and for a
    /// top-up (3.1.4.1 allows at most 0.05), 0.1 for a single injection.
    pub fn standard_dose(purpose: Purpose) -> f64 {
        match purpose {
            Purpose::Single => 0.1,
            Purpose::StressPerfusion | Purpose::RestPerfusion | Purpose::TopUp => 0.05,
        }
    }

    /// Chooses the purpose and starts from its usual dose (entered by dose).
    pub fn choose(&mut self, purpose: Purpose) {
        self.purpose = purpose;
        self.by_volume = false;
        self.dose_mmol_kg = InjectionForm::standard_dose(purpose);
    }

    /// Switches between dose and volume; the other amount starts from the equivalent
    /// of the current one for the patient (when weight and concentration are known).
    pub fn set_by_volume(
        &mut self,
        by_volume: bool,
        weight_kg: Option<f64>,
        mmol_per_ml: Option<f64>,
    ) {
        if by_volume == self.by_volume {
            return;
        }
        if let (Some(w), Some(c)) = (weight_kg, mmol_per_ml) {
            if by_volume {
                self.volume_ml = round_to(dose_to_volume_ml(self.dose_mmol_kg, w, c), 1);
            } else {
                self.dose_mmol_kg = round_to(volume_to_dose_mmol_kg(self.volume_ml, w, c), 3);
            }
        }
        self.by_volume = by_volume;
    }

    /// The request the form describes (power injector).
    pub fn request(&self) -> InjectionRequest {
        InjectionRequest {
            amount: if self.by_volume {
                Amount::VolumeMl(self.volume_ml)
            } else {
                Amount::DoseMmolKg(self.dose_mmol_kg)
            },
            rate_ml_s: self.rate_ml_s,
            flush_ml: self.flush_ml,
            purpose: self.purpose,
            method: InjectionMethod::PowerInjector,
            authority: Default::default(),
        }
    }

    /// (volume mL, dose mmol/kg) for a patient of `weight_kg` and an agent of
    /// `mmol_per_ml`: the entered amount and its equivalent.
    pub fn amounts(&self, weight_kg: f64, mmol_per_ml: f64) -> (f64, f64) {
        if self.by_volume {
            (
                self.volume_ml,
                volume_to_dose_mmol_kg(self.volume_ml, weight_kg, mmol_per_ml),
            )
        } else {
            (
                dose_to_volume_ml(self.dose_mmol_kg, weight_kg, mmol_per_ml),
                self.dose_mmol_kg,
            )
        }
    }
}

fn round_to(v: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    (v * f).round() / f
}
