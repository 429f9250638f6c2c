//! What the technologist's console shows, computed purely from the exam state, the
//! exam's monotonic `now` and a wall-clock label for the same moment.
//!
//! Countdowns run to fixed deadlines (never decremented ticks) and carry both the
//! remaining time and the wall-clock time they end (usability reference, "Timers
//! people trust").

use chrono::NaiveDateTime;

use crate::domain::Exam;
use crate::domain::stress::{StressDose, StressDrug};
use crate::domain::time::Instant;

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
