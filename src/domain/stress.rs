//! Pharmacological stress perfusion (clause 3.2.3): the [`StressProtocol`] state
//! machine for adenosine infusion and the regadenoson bolus.
//!
//! It owns the latest vital signs, the baseline taken at the start of a run,
//! the stress criteria ("image now" at HR ≥ baseline + 10, SBP ≤ baseline − 10
//! or 240 s of infusion, whichever first, once per run), the stop and recovery
//! timers, optional escalation, and the alarms raised from readings while the
//! drug acts. Shape: `handle_*(…, now)`, [`StressProtocol::poll_timeout`],
//! [`StressProtocol::handle_timeout`], [`StressProtocol::poll`]. No clock, no I/O.
//!
//! Escalation (site setting, off by default): with [`Escalation`] set, a patient
//! not stressed by `start + max_time_to_imaging` (240 s) is offered the higher
//! dose (`escalation_due`), and the "max duration" imaging deadline moves to
//! `start + max_infusion` (default 420 s, the published 7-min maximum). A manual
//! escalation is always accepted while adenosine runs.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::output::{
    AlarmCode, AlarmPriority, Decision, Output, RejectCode, ReminderCode, StopReason,
    StressImagingReason, WarningCode,
};
use super::time::{Duration, Instant};

/// Stress agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StressDrug {
    /// Adenosine infusion (3.2.3's example).
    Adenosine,
    /// Regadenoson bolus (practice): rest perfusion first.
    Regadenoson,
}

/// Stress dose as given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StressDose {
    /// Infusion dose (µg/kg/min), adenosine.
    UgKgMin(f64),
    /// Fixed bolus (mg), regadenoson.
    Mg(f64),
}

/// A stop criterion or adverse reaction noted by staff (practice list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCriterion {
    /// Persistent 2nd/3rd-degree AV block.
    AvBlock,
    /// Wheeze / bronchospasm.
    Wheeze,
    /// Severe chest pain.
    ChestPain,
    /// ST depression > 2 mm.
    StDepression,
    /// Signs of poor perfusion.
    PoorPerfusion,
    /// The patient asks to stop.
    PatientRequest,
    /// Anything else.
    Other,
}

/// One monitor reading; a missing measure keeps its last value.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Vitals {
    /// Heart rate (/min).
    pub hr: Option<f64>,
    /// Systolic blood pressure (mmHg).
    pub sbp: Option<f64>,
    /// Diastolic blood pressure (mmHg).
    pub dbp: Option<f64>,
    /// Mean arterial pressure (mmHg).
    pub map: Option<f64>,
    /// Oxygen saturation (%).
    pub spo2: Option<f64>,
}

impl Vitals {
    /// `self` updated with every measure present in `reading`.
    pub fn merged(self, reading: &Vitals) -> Vitals {
        Vitals {
            hr: reading.hr.or(self.hr),
            sbp: reading.sbp.or(self.sbp),
            dbp: reading.dbp.or(self.dbp),
            map: reading.map.or(self.map),
            spo2: reading.spo2.or(self.spo2),
        }
    }

    /// Whether every present measure is a finite, non-negative number.
    pub fn is_valid(&self) -> bool {
        [self.hr, self.sbp, self.dbp, self.map, self.spo2]
            .iter()
            .flatten()
            .all(|v| v.is_finite() && *v >= 0.0)
    }
}

/// A heart rate below this (that is, 0 /min as monitors report it) is asystole:
/// the highest-priority alarm at any point of the exam.
pub const ASYSTOLE_BELOW_PER_MIN: f64 = 1.0;

/// Site escalation setting (practice: 140 → 210 µg/kg/min).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    /// Dose to escalate to (µg/kg/min).
    pub dose_ug_kg_min: f64,
    /// Latest time from the start of the infusion to stress imaging when
    /// escalation is enabled.
    pub max_infusion: Duration,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            dose_ug_kg_min: 210.0,
            max_infusion: Duration::from_secs(420),
        }
    }
}

/// Stress settings (standard's numbers and practice defaults; all configurable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StressSettings {
    /// Adenosine concentration in the syringe (µg/mL; practice 3000).
    pub concentration_ug_ml: f64,
    /// Default adenosine dose (µg/kg/min; practice 140).
    pub adenosine_dose_ug_kg_min: f64,
    /// HR rise that marks stress (3.2.3: 10 /min).
    pub hr_rise: f64,
    /// SBP fall that marks stress (3.2.3: 10 mmHg).
    pub sbp_drop: f64,
    /// Infusion time after which to image anyway (3.2.3: 4 min).
    pub max_time_to_imaging: Duration,
    /// Recovery wait after stopping before rest perfusion (3.2.3: about 10 min).
    pub recovery: Duration,
    /// SBP below this during stress raises `sbp_low` (high priority; default 90).
    pub sbp_floor: f64,
    /// SBP below this during stress is a stop criterion (practice: 80).
    pub sbp_stop: f64,
    /// Baseline SBP below this contraindicates the stress drug (practice: 90).
    pub sbp_contraindication: f64,
    /// SpO₂ below this during stress raises `spo2_low` (medium; default 90 %).
    pub spo2_floor: f64,
    /// Optional escalation; `None` = not offered automatically.
    pub escalation: Option<Escalation>,
    /// Infusion still running this long after its start raises `infusion_overdue`.
    pub infusion_limit: Duration,
    /// Regadenoson bolus (mg; practice 0.4).
    pub regadenoson_dose_mg: f64,
    /// Regadenoson: image this long after the bolus (practice: about 1 min).
    pub regadenoson_imaging_delay: Duration,
    /// Regadenoson: effect lasts at least this long (practice: ≥ 15 min).
    pub regadenoson_effect: Duration,
    /// Lowest adenosine dose accepted without a countersign (µg/kg/min; 140).
    pub adenosine_min_ug_kg_min: f64,
    /// Highest adenosine dose accepted without a countersign (µg/kg/min; 210).
    pub adenosine_max_ug_kg_min: f64,
    /// A baseline HR or SBP must have been read this long before a stress drug (300 s).
    pub baseline_max_age: Duration,
    /// "Image now" on the HR or SBP criterion comes no earlier than this after the
    /// start (practice: adenosine takes 1–2 min to reach steady hyperaemia; 120 s;
    /// 0 gives the standard's literal "as soon as").
    pub min_infusion: Duration,
    /// After an escalation the longest-infusion deadline is at least this far away.
    pub after_escalation: Duration,
    /// Alarms keep watching this long after the adenosine stop or the regadenoson
    /// bolus (3.2.3 step 3: observe the patient; 900 s).
    pub observation: Duration,
    /// HR below this while the drug acts or under observation raises `hr_low` (40).
    pub hr_low: f64,
    /// With adenosine, a high alarm still present this long after the stop brings
    /// the aminophylline reminder (60 s).
    pub aminophylline_after_stop: Duration,
}

impl Default for StressSettings {
    fn default() -> Self {
        StressSettings {
            concentration_ug_ml: 3000.0,
            adenosine_dose_ug_kg_min: 140.0,
            hr_rise: 10.0,
            sbp_drop: 10.0,
            max_time_to_imaging: Duration::from_secs(240),
            recovery: Duration::from_secs(600),
            sbp_floor: 90.0,
            sbp_stop: 80.0,
            sbp_contraindication: 90.0,
            spo2_floor: 90.0,
            escalation: None,
            infusion_limit: Duration::from_secs(480),
            regadenoson_dose_mg: 0.4,
            regadenoson_imaging_delay: Duration::from_secs(60),
            regadenoson_effect: Duration::from_secs(900),
            adenosine_min_ug_kg_min: 140.0,
            adenosine_max_ug_kg_min: 210.0,
            baseline_max_age: Duration::from_secs(300),
            min_infusion: Duration::from_secs(120),
            after_escalation: Duration::from_secs(120),
            observation: Duration::from_secs(900),
            hr_low: 40.0,
            aminophylline_after_stop: Duration::from_secs(60),
        }
    }
}

/// Regadenoson doses closer than this to the site's bolus are that bolus (mg).
pub const REGADENOSON_DOSE_TOLERANCE_MG: f64 = 1e-6;

impl StressSettings {
    /// Whether `dose` of `drug` is inside the site's range (3.2.3 and practice).
    pub fn dose_in_range(&self, drug: StressDrug, dose: StressDose) -> bool {
        match (drug, dose) {
            (StressDrug::Adenosine, StressDose::UgKgMin(d)) => {
                d >= self.adenosine_min_ug_kg_min - 1e-9 && d <= self.adenosine_max_ug_kg_min + 1e-9
            }
            (StressDrug::Regadenoson, StressDose::Mg(mg)) => {
                (mg - self.regadenoson_dose_mg).abs() <= REGADENOSON_DOSE_TOLERANCE_MG
            }
            _ => false,
        }
    }
}

/// A vital-sign alarm's cause: the measure, its latest value and the limit it
/// crossed, for "SBP 82 < 90 mmHg" beside the alarm (IEC 60601-1-8 asks the cause to
/// be shown).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlarmCause {
    /// Which measure.
    pub measure: VitalMeasure,
    /// Its latest value.
    pub value: f64,
    /// The limit it is below.
    pub limit: f64,
}

/// The measures an alarm can be caused by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VitalMeasure {
    /// Heart rate (/min).
    Hr,
    /// Systolic blood pressure (mmHg).
    Sbp,
    /// Oxygen saturation (%).
    Spo2,
}

/// The measure a vital-sign alarm is about (its tile turns alarm red); `None` for
/// alarms without one.
pub fn alarm_measure(code: crate::domain::output::AlarmCode) -> Option<VitalMeasure> {
    use crate::domain::output::AlarmCode::*;
    match code {
        SbpLow | SbpBelowStopLimit => Some(VitalMeasure::Sbp),
        Spo2Low => Some(VitalMeasure::Spo2),
        HrLow | Asystole => Some(VitalMeasure::Hr),
        MonitorLost | AdverseReaction | InfusionOverdue | ImplantConditionExceeded => None,
    }
}

/// The cause of a vital-sign alarm from the latest `vitals` and the limits in
/// `settings`; `None` for alarms without a measured cause (monitor lost, a noted
/// reaction, overdue infusion, implant conditions) or with no reading.
pub fn alarm_cause(
    code: crate::domain::output::AlarmCode,
    vitals: &Vitals,
    settings: &StressSettings,
) -> Option<AlarmCause> {
    use crate::domain::output::AlarmCode::*;
    let measure = alarm_measure(code)?;
    let value = match measure {
        VitalMeasure::Hr => vitals.hr?,
        VitalMeasure::Sbp => vitals.sbp?,
        VitalMeasure::Spo2 => vitals.spo2?,
    };
    let limit = match code {
        SbpBelowStopLimit => settings.sbp_stop,
        SbpLow => settings.sbp_floor,
        Spo2Low => settings.spo2_floor,
        HrLow => settings.hr_low,
        // Asystole: a rate of 0, below any rate at all.
        _ => 1.0,
    };
    Some(AlarmCause {
        measure,
        value,
        limit,
    })
}

/// Pump rate (mL/h) = dose (µg/kg/min) × weight (kg) × 60 ÷ concentration (µg/mL).
pub fn infusion_rate_ml_h(dose_ug_kg_min: f64, weight_kg: f64, concentration_ug_ml: f64) -> f64 {
    dose_ug_kg_min * weight_kg * 60.0 / concentration_ug_ml
}

/// The record of one stress run (for the report's technique section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressRun {
    /// Drug.
    pub drug: StressDrug,
    /// Dose at the start.
    pub dose: StressDose,
    /// Highest infusion dose reached (µg/kg/min), adenosine only.
    pub max_dose_ug_kg_min: Option<f64>,
    /// Start of infusion / bolus time.
    pub started_at: Instant,
    /// When it was stopped (adenosine) or reversed (regadenoson).
    pub stopped_at: Option<Instant>,
    /// When escalated, if it was.
    pub escalated_at: Option<Instant>,
    /// Baseline: the last value of each measure before the start.
    pub baseline: Vitals,
    /// When and why stress imaging fell due.
    pub imaging_due: Option<(Instant, StressImagingReason)>,
    /// Whether stress perfusion was acquired in this run.
    pub imaged: bool,
}

impl StressRun {
    /// Infusion time until `stopped_at` (or until `now` if still running).
    pub fn duration(&self, now: Instant) -> Duration {
        self.stopped_at.unwrap_or(now) - self.started_at
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct RunTimers {
    escalation_offered: bool,
    overdue_warned: bool,
    stop_due_emitted: bool,
    rest_ready_emitted: bool,
    /// A criterion met before the minimum infusion time: due at that time.
    early_criterion: Option<StressImagingReason>,
    aminophylline_reminded: bool,
    aminophylline_checked: bool,
}

/// The stress-protocol state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct StressProtocol {
    settings: StressSettings,
    weight_kg: f64,
    latest: Vitals,
    /// When an HR and an SBP were last read (baseline check).
    hr_at: Option<Instant>,
    sbp_at: Option<Instant>,
    monitor_lost: bool,
    runs: Vec<StressRun>,
    timers: RunTimers,
    latched: Vec<AlarmCode>,
    pending: VecDeque<Output>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    EscalationOffer,
    ImagingMax,
    BolusDelay,
    Overdue,
    RestReady,
    MinInfusion,
    AminophyllineCheck,
}

impl StressProtocol {
    /// A protocol for a patient of `weight_kg` (validated by the exam).
    pub fn new(settings: StressSettings, weight_kg: f64) -> Self {
        StressProtocol {
            settings,
            weight_kg,
            latest: Vitals::default(),
            hr_at: None,
            sbp_at: None,
            monitor_lost: false,
            runs: Vec::new(),
            timers: RunTimers::default(),
            latched: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    /// Settings in force.
    pub fn settings(&self) -> &StressSettings {
        &self.settings
    }

    /// Update the weight used for pump rates (re-registration).
    pub fn set_weight(&mut self, weight_kg: f64) {
        self.weight_kg = weight_kg;
    }

    /// The latest value of each measure.
    pub fn latest_vitals(&self) -> Vitals {
        self.latest
    }

    /// Whether monitor data is currently lost.
    pub fn monitor_lost(&self) -> bool {
        self.monitor_lost
    }

    /// Every run so far, oldest first.
    pub fn runs(&self) -> &[StressRun] {
        &self.runs
    }

    /// The current (last) run, if any.
    pub fn current(&self) -> Option<&StressRun> {
        self.runs.last()
    }

    /// Whether adenosine is infusing now.
    pub fn infusing(&self) -> bool {
        matches!(self.runs.last(), Some(r) if r.drug == StressDrug::Adenosine && r.stopped_at.is_none())
    }

    /// Whether a stress drug is acting at `now` (adenosine infusing, or within
    /// the regadenoson effect window and not reversed).
    pub fn drug_active(&self, now: Instant) -> bool {
        match self.runs.last() {
            Some(r) if r.stopped_at.is_none() => match r.drug {
                StressDrug::Adenosine => true,
                StressDrug::Regadenoson => now < r.started_at + self.settings.regadenoson_effect,
            },
            _ => false,
        }
    }

    /// Whether alarms watch the patient at `now`: from a stress drug's start until
    /// the observation period after the adenosine stop or the regadenoson bolus has
    /// passed (3.2.3 step 3).
    pub fn watching(&self, now: Instant) -> bool {
        let Some(r) = self.runs.last() else {
            return false;
        };
        let observe = self.settings.observation;
        match r.drug {
            StressDrug::Adenosine => r.stopped_at.is_none_or(|s| now < s + observe),
            StressDrug::Regadenoson => now < r.started_at + observe,
        }
    }

    /// A stress criterion met before the minimum infusion time: "image now" falls due
    /// at the returned time, for the returned reason (3.2.3).
    pub fn imaging_deferred(&self) -> Option<(Instant, StressImagingReason)> {
        let run = self.runs.last()?;
        let reason = self.timers.early_criterion?;
        (run.imaging_due.is_none() && !run.imaged && run.stopped_at.is_none())
            .then(|| (run.started_at + self.settings.min_infusion, reason))
    }

    /// Whether rest perfusion must still wait: adenosine infusing, or stopped less
    /// than the recovery time ago (3.2.3 step 4).
    pub fn recovery_pending(&self, now: Instant) -> bool {
        match self.runs.last() {
            Some(r) if r.drug == StressDrug::Adenosine => r
                .stopped_at
                .is_none_or(|s| now < s + self.settings.recovery),
            _ => false,
        }
    }

    /// Whether an HR or an SBP was read within the baseline window before `now`.
    pub fn baseline_fresh(&self, now: Instant) -> bool {
        let window = self.settings.baseline_max_age;
        [self.hr_at, self.sbp_at]
            .iter()
            .flatten()
            .any(|at| *at <= now && now - *at <= window)
    }

    /// The alarm conditions latched now with high priority (what "a high alarm still
    /// present" means for the reversal-drug reminder).
    fn high_alarm_latched(&self) -> bool {
        self.latched.iter().any(|c| {
            matches!(
                c,
                AlarmCode::SbpLow
                    | AlarmCode::SbpBelowStopLimit
                    | AlarmCode::Spo2Low
                    | AlarmCode::HrLow
                    | AlarmCode::Asystole
            )
        })
    }

    fn remind_aminophylline(&mut self, at: Instant) {
        if !self.timers.aminophylline_reminded {
            self.timers.aminophylline_reminded = true;
            self.push(
                at,
                Decision::Reminder {
                    code: ReminderCode::ConsiderAminophylline,
                },
            );
        }
    }

    fn regadenoson_watch(&self, now: Instant) -> bool {
        self.watching(now)
            && self
                .runs
                .last()
                .is_some_and(|r| r.drug == StressDrug::Regadenoson)
    }

    /// Pump rate for a dose at this patient's weight (mL/h).
    pub fn rate_ml_h(&self, dose_ug_kg_min: f64) -> f64 {
        infusion_rate_ml_h(
            dose_ug_kg_min,
            self.weight_kg,
            self.settings.concentration_ug_ml,
        )
    }

    fn push(&mut self, at: Instant, decision: Decision) {
        self.pending.push_back(Output { at, decision });
    }

    fn alarm(&mut self, at: Instant, code: AlarmCode, priority: AlarmPriority) {
        if !self.latched.contains(&code) {
            self.latched.push(code);
            self.push(at, Decision::Alarm { code, priority });
            if priority == AlarmPriority::High
                && code != AlarmCode::MonitorLost
                && self.regadenoson_watch(at)
            {
                self.remind_aminophylline(at);
            }
        }
    }

    fn clear(&mut self, code: AlarmCode) {
        self.latched.retain(|c| *c != code);
    }

    /// Whether an alarm condition is currently latched (raised and not cleared).
    pub fn alarm_active(&self, code: AlarmCode) -> bool {
        self.latched.contains(&code)
    }

    /// Start a run. The baseline is the latest value of each measure.
    pub fn start(
        &mut self,
        drug: StressDrug,
        dose: StressDose,
        now: Instant,
    ) -> Result<(), RejectCode> {
        if self.drug_active(now) {
            return Err(RejectCode::StressAlreadyRunning);
        }
        if let Some(sbp) = self.latest.sbp
            && sbp < self.settings.sbp_contraindication
        {
            return Err(RejectCode::SbpBelow90);
        }
        let max_dose = match dose {
            StressDose::UgKgMin(d) => Some(d),
            StressDose::Mg(_) => None,
        };
        self.runs.push(StressRun {
            drug,
            dose,
            max_dose_ug_kg_min: max_dose,
            started_at: now,
            stopped_at: None,
            escalated_at: None,
            baseline: self.latest,
            imaging_due: None,
            imaged: false,
        });
        self.timers = RunTimers::default();
        if let StressDose::UgKgMin(d) = dose {
            let rate = self.rate_ml_h(d);
            self.push(
                now,
                Decision::Infusion {
                    drug,
                    dose_ug_kg_min: d,
                    rate_ml_h: rate,
                },
            );
        }
        if self.monitor_lost {
            self.alarm(now, AlarmCode::MonitorLost, AlarmPriority::High);
        }
        Ok(())
    }

    /// Escalate the adenosine dose (default: the site's escalation dose, else 210).
    pub fn escalate(
        &mut self,
        dose_ug_kg_min: Option<f64>,
        now: Instant,
    ) -> Result<(), RejectCode> {
        if !self.infusing() {
            return Err(RejectCode::NoStressRunning);
        }
        let d = dose_ug_kg_min
            .or(self.settings.escalation.as_ref().map(|e| e.dose_ug_kg_min))
            .unwrap_or(210.0);
        let run = self.runs.last_mut().expect("infusing");
        if run.escalated_at.is_some() || !(d.is_finite() && d > 0.0) {
            return Err(RejectCode::EscalationNotAllowed);
        }
        run.escalated_at = Some(now);
        run.max_dose_ug_kg_min = Some(run.max_dose_ug_kg_min.unwrap_or(0.0).max(d));
        self.timers.escalation_offered = true;
        let rate = self.rate_ml_h(d);
        self.push(
            now,
            Decision::Infusion {
                drug: StressDrug::Adenosine,
                dose_ug_kg_min: d,
                rate_ml_h: rate,
            },
        );
        Ok(())
    }

    /// Stop the infusion (adenosine) or record reversal (regadenoson).
    pub fn stop(&mut self, now: Instant) -> Result<(), RejectCode> {
        match self.runs.last_mut() {
            Some(run) if run.stopped_at.is_none() => {
                run.stopped_at = Some(now);
                if run.imaging_due.is_none() {
                    // Stopped before any criterion: no imaging deadline any more.
                    self.timers.escalation_offered = true;
                }
                self.push(
                    now,
                    Decision::Reminder {
                        code: ReminderCode::ObservePatient,
                    },
                );
                self.clear(AlarmCode::MonitorLost);
                self.clear(AlarmCode::InfusionOverdue);
                Ok(())
            }
            _ => Err(RejectCode::NoStressRunning),
        }
    }

    /// Stress perfusion was acquired (it arrived at `now`).
    /// `at` is when the scanner acquired it (never after `now`, when it arrived): a
    /// series acquired during the infusion counts as its stress imaging even when its
    /// files arrive after the stop.
    pub fn stress_perfusion_acquired(&mut self, at: Instant, now: Instant) {
        let infusing = self.infusing();
        if let Some(run) = self.runs.last_mut() {
            if run.drug == StressDrug::Adenosine && run.stopped_at.is_some_and(|stop| stop < at) {
                return;
            }
            run.imaged = true;
        }
        if infusing && !self.timers.stop_due_emitted {
            self.timers.stop_due_emitted = true;
            self.push(
                now,
                Decision::StopStressDue {
                    reason: StopReason::StressImagingAcquired,
                },
            );
        }
    }

    /// A stop criterion / adverse reaction was noted.
    pub fn stop_criterion(&mut self, criterion: StopCriterion, now: Instant) {
        if !self.watching(now) {
            return;
        }
        self.push(
            now,
            Decision::Alarm {
                code: AlarmCode::AdverseReaction,
                priority: AlarmPriority::High,
            },
        );
        if self.regadenoson_watch(now) {
            self.remind_aminophylline(now);
        }
        if self.infusing() {
            self.timers.stop_due_emitted = true;
            self.push(
                now,
                Decision::StopStressDue {
                    reason: StopReason::StopCriterion { criterion },
                },
            );
        }
    }

    /// Monitor data lost (`true`) or restored (`false`).
    pub fn monitor(&mut self, lost: bool, now: Instant) {
        self.monitor_lost = lost;
        if lost {
            let priority = if self.drug_active(now) {
                AlarmPriority::High
            } else {
                AlarmPriority::Low
            };
            self.alarm(now, AlarmCode::MonitorLost, priority);
        } else {
            self.clear(AlarmCode::MonitorLost);
        }
    }

    /// A monitor reading at `now` (caller validated it).
    pub fn vitals(&mut self, reading: &Vitals, now: Instant) {
        if self.monitor_lost {
            self.monitor(false, now);
        }
        self.latest = self.latest.merged(reading);
        if reading.hr.is_some() {
            self.hr_at = Some(now);
        }
        if reading.sbp.is_some() {
            self.sbp_at = Some(now);
        }
        let v = self.latest;
        let s = self.settings.clone();
        let active = self.watching(now);
        if let Some(hr) = v.hr {
            if hr < ASYSTOLE_BELOW_PER_MIN {
                if !self.alarm_active(AlarmCode::Asystole) {
                    self.alarm(now, AlarmCode::Asystole, AlarmPriority::High);
                }
            } else {
                self.clear(AlarmCode::Asystole);
            }
            if active && hr >= ASYSTOLE_BELOW_PER_MIN && hr < s.hr_low {
                self.alarm(now, AlarmCode::HrLow, AlarmPriority::High);
            } else if hr >= s.hr_low {
                self.clear(AlarmCode::HrLow);
            }
        }
        if let Some(sbp) = v.sbp {
            if active && sbp < s.sbp_floor {
                self.alarm(now, AlarmCode::SbpLow, AlarmPriority::High);
            } else if sbp >= s.sbp_floor {
                self.clear(AlarmCode::SbpLow);
            }
            if active && sbp < s.sbp_stop {
                if !self.alarm_active(AlarmCode::SbpBelowStopLimit) {
                    self.alarm(now, AlarmCode::SbpBelowStopLimit, AlarmPriority::High);
                    if self.infusing() {
                        self.timers.stop_due_emitted = true;
                        self.push(
                            now,
                            Decision::StopStressDue {
                                reason: StopReason::SbpBelowStopLimit,
                            },
                        );
                    }
                }
            } else if sbp >= s.sbp_stop {
                self.clear(AlarmCode::SbpBelowStopLimit);
            }
        }
        if let Some(spo2) = v.spo2 {
            if active && spo2 < s.spo2_floor {
                self.alarm(now, AlarmCode::Spo2Low, AlarmPriority::High);
            } else if spo2 >= s.spo2_floor {
                self.clear(AlarmCode::Spo2Low);
            }
        }
        if !self.infusing() {
            return;
        }
        let run = self.runs.last().expect("infusing");
        if run.imaging_due.is_some() || run.imaged {
            return;
        }
        let base = run.baseline;
        let reason = match (base.hr, v.hr, base.sbp, v.sbp) {
            (Some(b), Some(h), _, _) if h >= b + s.hr_rise => Some(StressImagingReason::HrRise),
            (_, _, Some(b), Some(p)) if p <= b - s.sbp_drop => Some(StressImagingReason::SbpDrop),
            _ => None,
        };
        if let Some(reason) = reason {
            if now < run.started_at + s.min_infusion {
                // Hyperaemia is not steady yet: due at the minimum infusion time.
                self.timers.early_criterion.get_or_insert(reason);
            } else {
                self.imaging_due(now, reason);
            }
        }
    }

    fn imaging_due(&mut self, at: Instant, reason: StressImagingReason) {
        if let Some(run) = self.runs.last_mut() {
            run.imaging_due = Some((at, reason));
        }
        self.push(at, Decision::StressImagingDue { reason });
    }

    fn next_deadline(&self) -> Option<(Instant, Deadline)> {
        let run = self.runs.last()?;
        let s = &self.settings;
        let t = &self.timers;
        let mut due: Vec<(Instant, Deadline)> = Vec::new();
        let open = run.imaging_due.is_none() && !run.imaged;
        match (run.drug, run.stopped_at) {
            (StressDrug::Adenosine, None) => {
                // After an escalation the longest infusion is at least
                // `after_escalation` away.
                let moved = |at: Instant| match run.escalated_at {
                    Some(e) => at.max(e + s.after_escalation),
                    None => at,
                };
                if open {
                    if t.early_criterion.is_some() {
                        due.push((run.started_at + s.min_infusion, Deadline::MinInfusion));
                    }
                    match &s.escalation {
                        Some(e) => {
                            if !t.escalation_offered && run.escalated_at.is_none() {
                                due.push((
                                    run.started_at + s.max_time_to_imaging,
                                    Deadline::EscalationOffer,
                                ));
                            }
                            due.push((
                                moved(run.started_at + e.max_infusion),
                                Deadline::ImagingMax,
                            ));
                        }
                        None => due.push((
                            moved(run.started_at + s.max_time_to_imaging),
                            Deadline::ImagingMax,
                        )),
                    }
                }
                if !t.overdue_warned {
                    let spare = s.infusion_limit.saturating_sub(s.max_time_to_imaging);
                    let overdue = match run.escalated_at {
                        Some(e) => {
                            (run.started_at + s.infusion_limit).max(e + s.after_escalation + spare)
                        }
                        None => run.started_at + s.infusion_limit,
                    };
                    due.push((overdue, Deadline::Overdue));
                }
            }
            (StressDrug::Adenosine, Some(stop)) => {
                if !t.aminophylline_checked && !t.aminophylline_reminded {
                    due.push((
                        stop + s.aminophylline_after_stop,
                        Deadline::AminophyllineCheck,
                    ));
                }
                if !t.rest_ready_emitted {
                    due.push((stop + s.recovery, Deadline::RestReady));
                }
            }
            (StressDrug::Regadenoson, None) => {
                if open {
                    due.push((
                        run.started_at + s.regadenoson_imaging_delay,
                        Deadline::BolusDelay,
                    ));
                }
            }
            (StressDrug::Regadenoson, Some(_)) => {}
        }
        // Stable order at equal times: declaration order above.
        due.into_iter().min_by_key(|(at, _)| *at)
    }

    /// The next deadline, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_deadline().map(|(at, _)| at)
    }

    /// Fire every deadline at or before `now`, each stamped with its own time.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, which)) = self.next_deadline() {
            if at > now {
                break;
            }
            match which {
                Deadline::EscalationOffer => {
                    self.timers.escalation_offered = true;
                    let d = self
                        .settings
                        .escalation
                        .as_ref()
                        .map_or(210.0, |e| e.dose_ug_kg_min);
                    let rate = self.rate_ml_h(d);
                    self.push(
                        at,
                        Decision::EscalationDue {
                            dose_ug_kg_min: d,
                            rate_ml_h: rate,
                        },
                    );
                }
                Deadline::ImagingMax => self.imaging_due(at, StressImagingReason::MaxDuration),
                Deadline::BolusDelay => self.imaging_due(at, StressImagingReason::BolusDelay),
                Deadline::Overdue => {
                    self.timers.overdue_warned = true;
                    self.push(
                        at,
                        Decision::Warning {
                            code: WarningCode::InfusionOverdue,
                        },
                    );
                    // A drug still running past its longest time is an alarm, not
                    // only a notice: it sounds until the infusion is stopped.
                    self.alarm(at, AlarmCode::InfusionOverdue, AlarmPriority::Medium);
                }
                Deadline::RestReady => {
                    self.timers.rest_ready_emitted = true;
                    self.push(at, Decision::RestPerfusionReady);
                }
                Deadline::MinInfusion => {
                    let reason = self
                        .timers
                        .early_criterion
                        .take()
                        .unwrap_or(StressImagingReason::HrRise);
                    self.imaging_due(at, reason);
                }
                Deadline::AminophyllineCheck => {
                    self.timers.aminophylline_checked = true;
                    if self.high_alarm_latched() {
                        self.remind_aminophylline(at);
                    }
                }
            }
        }
    }

    /// Take the next pending output.
    pub fn poll(&mut self) -> Option<Output> {
        self.pending.pop_front()
    }
}
