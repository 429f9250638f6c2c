//! The [`Exam`] aggregate: one CMR exam's clinical state, driven by
//! [`ExamEvent`]s and time.
//!
//! It owns the clearance, the contrast ledger, the stress protocol, the LGE
//! window, the acquired series and the acknowledged alarms. [`ExamEvent`] is
//! complete: replaying a logged sequence of `(Instant, ExamEvent)` through
//! [`Exam::replay`] rebuilds every timer after a crash. Outputs are drained with
//! [`Exam::poll`]; deadlines with [`Exam::poll_timeout`] /
//! [`Exam::handle_timeout`]. [`Exam::handle`] first fires every deadline up to
//! `now`, so outputs always come out in time order.
//!
//! Invariant: an input that is refused ([`Outcome::Rejected`]) or invalid
//! ([`ExamError`]) changes no state apart from queuing the `rejected` output.

use std::collections::VecDeque;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::breathing::{BreathHoldPhase, BreathHoldPractice};
use super::contrast::{
    AcrGroup, AgentCatalogue, AgentId, ContrastError, ContrastLedger, ContrastSettings,
    DOSE_EPSILON, InjectionRequest, Purpose,
};
use super::coverage::{CoverageGap, CoverageSeries, SeriesGeometry, coverage_gaps};
use super::date::CivilDate;
use super::guard::StepAuthority;
use super::lge::{EarlyStart, LgeSettings, LgeWindow, WindowBasis};
use super::output::{
    AlarmCode, AlarmPriority, Decision, DoseRecord, Lift, Output, RejectCode, ReminderCode,
    WarningCode,
};
use super::preparation::{PrepItem, SelfReportItem};
use super::protocol::{
    ExamType, Indication, ProtocolStep, SeriesParams, check_series, required_steps_for,
};
use super::screening::{
    Clearance, ClearanceStatus, ExamContext, Override, OverrideError, Patient, PatientError,
    Permission, ReasonCode, Scope, ScreeningAnswers, ScreeningSettings, SeriesSafety, Severity,
    assess,
};
use super::settings::ClinicalSettings;
use super::stress::{
    StopCriterion, StressDose, StressDrug, StressProtocol, StressSettings, Vitals,
};
use super::technique::{ExamKind, InjectionFact, Scanner, StressFact, TechniqueFacts, round_to};
use super::time::{Duration, Instant};

/// Every site setting of the clinical core, with defaults from the standard and
/// clinical.md: the `[clinical]` section of `kiosk.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolSettings {
    /// Screening thresholds.
    pub screening: ScreeningSettings,
    /// Contrast limits.
    pub contrast: ContrastSettings,
    /// Stress protocol.
    pub stress: StressSettings,
    /// LGE timing.
    pub lge: LgeSettings,
    /// Agent catalogue.
    pub agents: AgentCatalogue,
}

/// Where an acquired series came from: its DICOM identity and the scanner's
/// acquisition times (ISO 8601 local date-times as the scanner wrote them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Acquisition {
    /// Series Instance UID.
    pub series_uid: String,
    /// Series number and description, as the scanner labelled it.
    pub label: String,
    /// First acquisition moment.
    pub start: Option<String>,
    /// Last acquisition moment.
    pub end: Option<String>,
}

/// An input to the exam: the payload of the durable exam log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ExamEvent {
    /// Patient registered (or corrected).
    PatientRegistered {
        /// The patient.
        patient: Patient,
    },
    /// Screening questionnaire answered (replaces earlier answers).
    ScreeningAnswered {
        /// Answers.
        answers: ScreeningAnswers,
    },
    /// A physician lifted an overridable rule.
    OverrideRecorded {
        /// Rule.
        rule: ReasonCode,
        /// Physician.
        by: String,
        /// Documented reason.
        reason: String,
    },
    /// The scanner used (for the report).
    ScannerRecorded {
        /// Scanner.
        scanner: Scanner,
    },
    /// A contrast agent chosen from the catalogue.
    AgentSelected {
        /// Agent.
        agent: AgentId,
    },
    /// A monitor reading (each measure optional).
    VitalsReading {
        /// Reading.
        vitals: Vitals,
    },
    /// Monitor data lost.
    MonitorDataLost,
    /// Monitor data restored.
    MonitorDataRestored,
    /// Stress drug started (adenosine infusion or regadenoson bolus).
    StressStarted {
        /// Drug.
        drug: StressDrug,
        /// Dose; `None` = the site default.
        dose: Option<StressDose>,
        /// What lifts this start's limits (dose range, baseline), for it only.
        #[serde(default, skip_serializing_if = "StepAuthority::is_empty")]
        authority: StepAuthority,
    },
    /// Adenosine dose escalated.
    StressEscalated {
        /// New dose (µg/kg/min); `None` = the site's escalation dose (210).
        dose_ug_kg_min: Option<f64>,
        /// What lifts this escalation's dose range, for it only.
        #[serde(default, skip_serializing_if = "StepAuthority::is_empty")]
        authority: StepAuthority,
    },
    /// Infusion stopped (adenosine) / reversal given (regadenoson).
    StressStopped,
    /// An adverse reaction or stop criterion noted by staff.
    StopCriterionNoted {
        /// Which.
        criterion: StopCriterion,
        /// Free note.
        note: Option<String>,
    },
    /// Contrast injected.
    Injected(InjectionRequest),
    /// An injection recorded by mistake (a double tap, the wrong entry) taken off the
    /// ledger: it stays on the record with who voided it and why; the totals, the LGE
    /// window and the technique section follow.
    InjectionVoided {
        /// The exam time the injection was recorded at (it names the injection).
        injected_at: Instant,
        /// Who voided it.
        by: String,
        /// Why (required).
        reason: String,
    },
    /// A series was acquired.
    SeriesAcquired {
        /// Step.
        step: ProtocolStep,
        /// Its parameters, if read from the scanner.
        params: Option<SeriesParams>,
        /// When the scanner acquired it and which series it was, if read from its
        /// DICOM files (the scanner's wall clock, for lining the series up with the
        /// stress timeline in the report).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        acquisition: Option<Acquisition>,
        /// The series' safety facts (field strength, SAR, B1+rms, dB/dt), checked
        /// against every recorded implant condition.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        safety: Option<SeriesSafety>,
        /// Its planes, read from its header (3.1.1.1, 3.1.4.3).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        geometry: Option<SeriesGeometry>,
        /// Whether it is a PSIR reconstruction (3.1.4.2); `None` when not known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        psir: Option<bool>,
    },
    /// The site's clinical practice values in force for this exam, logged first at
    /// opening: replay rebuilds the exam under them, whatever the configuration says
    /// at the restart.
    SettingsRecorded {
        /// The values.
        settings: Box<ClinicalSettings>,
    },
    /// Why the patient is examined (2.1.1); replaces any earlier list.
    IndicationsRecorded {
        /// The indications.
        indications: Vec<Indication>,
    },
    /// The exam's date, from the kiosk's wall clock when the exam opened (a label:
    /// it dates the eGFR, it times nothing).
    ExamDated {
        /// The date.
        date: CivilDate,
        /// The kiosk's local wall-clock time at this entry: the anchor that places a
        /// series' DICOM acquisition time on the exam's monotonic time line.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<NaiveDateTime>,
    },
    /// Staff acknowledged an alarm.
    AlarmAcknowledged {
        /// Alarm.
        code: AlarmCode,
        /// Who.
        by: String,
    },
    /// A low-dose early LGE start decided by the operator (3.1.4.1).
    LgeEarlyStart {
        /// Who.
        by: String,
        /// Why.
        reason: String,
    },
    /// The patient's own answers as given on the kiosk, for the nurse's review. No
    /// rule reads them: the rules read [`ExamEvent::ScreeningAnswered`].
    SelfReported {
        /// Every question with its answer.
        items: Vec<SelfReportItem>,
    },
    /// The patient confirmed one answer on the kiosk, on its own (issue 17): it
    /// replaces an earlier answer to the same question in the self-report. No rule
    /// reads it: the rules read [`ExamEvent::ScreeningAnswered`].
    SelfAnswered {
        /// The question with its answer.
        item: SelfReportItem,
    },
    /// The exam type chosen at registration; it decides which steps follow (3.1, 3.2).
    ExamTypeChosen {
        /// The type.
        exam_type: ExamType,
    },
    /// Staff confirmed one preparation item (2.2.1, 2.2.2) or the review of the
    /// patient's answers.
    PreparationChecked {
        /// Which item.
        item: PrepItem,
        /// Who confirmed it.
        by: String,
    },
    /// The nurse hands the exam to the technologist. Refused while the exam is blocked,
    /// a preparation item is open, or the exam type needs what the clearance forbids.
    SignedOff {
        /// Who signed.
        by: String,
    },
    /// The technologist finished the exam (issue 15): what was still open then is
    /// kept with it ([`Exam::finished`]), and every report is produced from the log
    /// up to here.
    ExamFinished {
        /// Who finished it.
        by: String,
    },
    /// The patient practised breath-holds (2.2.3). Recorded for the technologist; no
    /// clinical rule acts on it.
    BreathHoldPracticed {
        /// The longest hold in seconds (finite, ≥ 0).
        best_hold_s: f64,
        /// The phase practised.
        phase: BreathHoldPhase,
        /// How many holds were timed (≥ 1).
        holds: u32,
    },
}

impl ExamEvent {
    /// The authority a guarded step carries (an injection, a stress-drug start or an
    /// escalation); `None` for every other event.
    pub fn authority_mut(&mut self) -> Option<&mut StepAuthority> {
        match self {
            ExamEvent::Injected(req) => Some(&mut req.authority),
            ExamEvent::StressStarted { authority, .. }
            | ExamEvent::StressEscalated { authority, .. } => Some(authority),
            _ => None,
        }
    }
}

/// An injection with the purpose and dose of the one recorded less than this before
/// it is refused as a likely double entry until confirmed by name.
pub const DUPLICATE_INJECTION_WINDOW: Duration = Duration::from_secs(60);

/// A repeat within this time is a double tap: the refusal names it first.
pub const DOUBLE_TAP_WINDOW: Duration = Duration::from_secs(5);

/// A series' DICOM acquisition time counts only if it lies no more than this after its
/// arrival (the scanner's clock may run a little ahead of the kiosk's).
pub const SCANNER_CLOCK_AHEAD_TOLERANCE: Duration = Duration::from_secs(60);

/// A series' DICOM acquisition time counts only if it lies no more than this before its
/// arrival: a long reconstruction or a slow transfer, not a scanner clock set wrong.
pub const MAX_SERIES_DELAY: Duration = Duration::from_secs(30 * 60);

/// The LGE window an injection sets (3.1.4.1, 3.2.3): a single injection or a
/// top-up its own; perfusion pairs from the second injection, the first of a stress
/// protocol provisionally.
fn window_basis(
    purpose: Purpose,
    had_stress: bool,
    had_rest: bool,
    stress_protocol: bool,
) -> WindowBasis {
    match purpose {
        Purpose::Single => WindowBasis::SingleInjection,
        Purpose::TopUp => WindowBasis::TopUp,
        Purpose::RestPerfusion if had_stress => WindowBasis::SecondPerfusionInjection,
        Purpose::RestPerfusion if stress_protocol => WindowBasis::FirstPerfusionInjection,
        Purpose::RestPerfusion => WindowBasis::SingleInjection,
        Purpose::StressPerfusion if had_rest => WindowBasis::SecondPerfusionInjection,
        // Stress first: a provisional window until the rest injection.
        Purpose::StressPerfusion => WindowBasis::FirstPerfusionInjection,
    }
}

/// Why the idle lock is held off ([`Exam::lock_hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockHold {
    /// An alarm is not acknowledged.
    Alarm,
    /// A stress drug is acting.
    StressDrug,
    /// The observation period after the stress drug runs.
    Observation,
    /// Rest perfusion waits for the patient's recovery.
    Recovery,
    /// The LGE window is counting down to its opening.
    LgeCountdown,
}

/// What the exam-level checks need of one acquired series.
#[derive(Debug, Clone, PartialEq)]
struct SeriesFacts {
    /// When it reached the kiosk (its log entry's time).
    arrived: Instant,
    step: ProtocolStep,
    geometry: Option<SeriesGeometry>,
    psir: Option<bool>,
}

/// One entry of the durable exam log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    /// When it happened.
    pub at: Instant,
    /// What happened.
    pub event: ExamEvent,
}

/// Whether an event was taken or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Accepted,
    /// Refused by a rule; a `rejected` output was queued; nothing else changed.
    Rejected(RejectCode),
}

/// An impossible input: nothing changed, nothing queued.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExamError {
    /// Bad patient record.
    #[error("patient: {0}")]
    Patient(#[from] PatientError),
    /// Bad contrast numbers.
    #[error("contrast: {0}")]
    Contrast(#[from] ContrastError),
    /// Incomplete override.
    #[error("override: {0}")]
    Override(#[from] OverrideError),
    /// A vital sign that is not a finite number ≥ 0.
    #[error("vitals: every measure must be a finite number of at least 0")]
    Vitals,
    /// A stress dose that is not a finite number above 0, or in the wrong unit.
    #[error("stress dose: {0}")]
    StressDose(String),
    /// Time went backwards.
    #[error("time went backwards: {now} is before {last}")]
    TimeWentBackwards {
        /// The event's time.
        now: Instant,
        /// The last time seen.
        last: Instant,
    },
    /// A breath-hold practice with an impossible time or no hold.
    #[error(
        "breath-hold practice: best_hold_s must be a finite number ≥ 0 and holds ≥ 1, got {0} s over {1} holds"
    )]
    BreathHold(f64, u32),
    /// The weight changed after contrast was given.
    #[error("weight cannot change after contrast was given")]
    WeightChangedAfterContrast,
    /// Practice values outside their ranges, or recorded after the exam began.
    #[error("clinical settings: {0}")]
    Settings(String),
    /// A correction without the name of who made it or the reason.
    #[error("a voided entry needs who voided it and why")]
    VoidWithoutReason,
}

/// One exam's clinical state.
#[derive(Debug, Clone)]
pub struct Exam {
    settings: ProtocolSettings,
    patient: Option<Patient>,
    answers: ScreeningAnswers,
    overrides: Vec<Override>,
    clearance: Clearance,
    agent: Option<AgentId>,
    scanner: Option<Scanner>,
    ledger: Option<ContrastLedger>,
    stress: StressProtocol,
    lge: LgeWindow,
    acquired: Vec<(Instant, ProtocolStep)>,
    acknowledged: Vec<(Instant, AlarmCode, String)>,
    breath_hold: Option<BreathHoldPractice>,
    exam_type: Option<ExamType>,
    self_report: Vec<SelfReportItem>,
    prepared: Vec<PrepItem>,
    signed_off: Option<String>,
    exam_date: Option<CivilDate>,
    /// The kiosk's wall-clock time at an exam instant: places DICOM acquisition times.
    clock_anchor: Option<(Instant, NaiveDateTime)>,
    /// Each acquired series' planes and reconstruction, for the exam-level checks.
    series_facts: Vec<SeriesFacts>,
    indications: Vec<Indication>,
    now: Instant,
    pending: VecDeque<Output>,
    /// Every alarm raised (time, code, priority) and acknowledged (`None`), in the
    /// order they happened: what the alarm board shows, rebuilt by replay, so a
    /// restart shows it again.
    alarm_facts: Vec<(Instant, AlarmCode, Option<AlarmPriority>)>,
    /// When and by whom the exam was finished, and what was open then.
    finished: Option<Finished>,
}

/// Something still open when an exam is finished: listed on the console before the
/// technologist confirms the end, kept with the end, named in every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outstanding {
    /// The nurse never signed the exam off to the technologist (2.2).
    NotSignedOff,
    /// A step the exam type (or an indication) requires was not acquired (3.1, 3.2).
    StepNotDone {
        /// The step.
        step: ProtocolStep,
    },
    /// An alarm still unacknowledged.
    AlarmOpen {
        /// The alarm.
        code: AlarmCode,
    },
    /// The stress drug is still acting (adenosine infusing, regadenoson within its
    /// effect and not reversed) or the observation period after it still runs (3.2.3).
    StressNotOver,
}

/// The end of an exam as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// Exam time of the end.
    pub at: Instant,
    /// Who finished it.
    pub by: String,
    /// What was still open then.
    pub outstanding: Vec<Outstanding>,
}

impl Exam {
    /// A new exam with nothing recorded.
    pub fn new(settings: ProtocolSettings) -> Self {
        let answers = ScreeningAnswers::default();
        let clearance = assess(
            None,
            &answers,
            &[],
            &settings.screening,
            &ExamContext::default(),
        );
        Exam {
            stress: StressProtocol::new(settings.stress.clone(), 0.0),
            lge: LgeWindow::new(settings.lge.clone()),
            settings,
            patient: None,
            answers,
            overrides: Vec::new(),
            clearance,
            agent: None,
            scanner: None,
            ledger: None,
            acquired: Vec::new(),
            acknowledged: Vec::new(),
            breath_hold: None,
            exam_type: None,
            self_report: Vec::new(),
            prepared: Vec::new(),
            signed_off: None,
            exam_date: None,
            clock_anchor: None,
            series_facts: Vec::new(),
            indications: Vec::new(),
            now: Instant::ZERO,
            pending: VecDeque::new(),
            alarm_facts: Vec::new(),
            finished: None,
        }
    }

    /// Rebuild an exam from its log (outputs are discarded; timers are rebuilt).
    pub fn replay<'a>(
        settings: ProtocolSettings,
        log: impl IntoIterator<Item = &'a LoggedEvent>,
    ) -> Result<Self, ExamError> {
        let mut exam = Exam::new(settings);
        for entry in log {
            exam.handle(entry.event.clone(), entry.at)?;
        }
        exam.pending.clear();
        Ok(exam)
    }

    /// Settings in force.
    pub fn settings(&self) -> &ProtocolSettings {
        &self.settings
    }

    /// The latest breath-hold practice, if any (2.2.3).
    pub fn breath_hold(&self) -> Option<&BreathHoldPractice> {
        self.breath_hold.as_ref()
    }

    /// The exam type chosen at registration, if any.
    pub fn exam_type(&self) -> Option<ExamType> {
        self.exam_type
    }

    /// The patient's latest self-report, for the nurse (empty: none yet).
    pub fn self_report(&self) -> &[SelfReportItem] {
        &self.self_report
    }

    /// The screening answers the rules read now.
    pub fn answers(&self) -> &ScreeningAnswers {
        &self.answers
    }

    /// The physicians' overrides recorded so far.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// The preparation items confirmed so far, in the order first confirmed.
    pub fn prepared(&self) -> &[PrepItem] {
        &self.prepared
    }

    /// Who signed the exam off to the technologist, once accepted.
    pub fn signed_off(&self) -> Option<&str> {
        self.signed_off.as_deref()
    }

    /// What is still open at `now`, in the order the console lists it: sign-off,
    /// required steps not acquired (in protocol order), unacknowledged alarms, a stress
    /// drug still acting or watched. Empty: nothing stands in the way of finishing.
    pub fn outstanding(&self, now: Instant) -> Vec<Outstanding> {
        let mut out = Vec::new();
        if self.signed_off.is_none() {
            out.push(Outstanding::NotSignedOff);
        }
        for step in self.required_steps() {
            if !self.series_facts.iter().any(|f| f.step == step) {
                out.push(Outstanding::StepNotDone { step });
            }
        }
        for (_, code, _) in self.unacknowledged_alarms() {
            out.push(Outstanding::AlarmOpen { code });
        }
        if self.stress.drug_active(now) || self.stress.watching(now) {
            out.push(Outstanding::StressNotOver);
        }
        out
    }

    /// The exam's end, once the technologist finished it.
    pub fn finished(&self) -> Option<&Finished> {
        self.finished.as_ref()
    }

    /// Why the nurse cannot sign off now (empty: sign-off would be accepted). Pure.
    pub fn sign_off_blockers(&self) -> Vec<RejectCode> {
        let mut out = Vec::new();
        if self.patient.is_none() {
            out.push(RejectCode::NoPatient);
        }
        if self.exam_type.is_none() {
            out.push(RejectCode::NoExamType);
        }
        if PrepItem::ALL.iter().any(|i| !self.prepared.contains(i)) {
            out.push(RejectCode::PreparationIncomplete);
        }
        if self.clearance.status == ClearanceStatus::Blocked {
            out.push(RejectCode::ExamBlocked);
        }
        let needs_contrast = self.exam_type.is_some_and(ExamType::needs_contrast);
        if needs_contrast && self.clearance.contrast == Permission::Blocked {
            out.push(RejectCode::ContrastBlocked);
        }
        let needs_stress = self.exam_type.and_then(ExamType::stress_drug).is_some();
        if needs_stress && self.clearance.stress_drug == Permission::Blocked {
            out.push(RejectCode::StressDrugBlocked);
        }
        out
    }

    /// What lifts a refusal in this exam: [`RejectCode::lifted_by`], except that a
    /// clearance refusal held by a finding no override may lift needs that finding
    /// resolved ([`Lift::ResolveFinding`]).
    pub fn lift_for(&self, code: RejectCode) -> Lift {
        let scopes: &[Scope] = match code {
            RejectCode::ExamBlocked => &[Scope::Exam],
            RejectCode::ContrastBlocked => &[Scope::Exam, Scope::Contrast],
            RejectCode::StressDrugBlocked => &[Scope::Exam, Scope::StressDrug],
            _ => return code.lifted_by(),
        };
        let held_for_good = self.clearance.reasons.iter().any(|r| {
            r.severity == Severity::Blocking
                && scopes.contains(&r.scope)
                && !r.overridable
                && r.overridden_by.is_none()
        });
        if held_for_good {
            Lift::ResolveFinding
        } else {
            code.lifted_by()
        }
    }

    /// The registered patient.
    pub fn patient(&self) -> Option<&Patient> {
        self.patient.as_ref()
    }

    /// The current clearance.
    pub fn clearance(&self) -> &Clearance {
        &self.clearance
    }

    /// The scanner recorded (the configured one at opening, then the DICOM header's).
    pub fn scanner(&self) -> Option<&Scanner> {
        self.scanner.as_ref()
    }

    /// Why the patient is examined (2.1.1).
    pub fn indications(&self) -> &[Indication] {
        &self.indications
    }

    /// The steps this exam requires: its type's, then those its indications add
    /// (flow for valve disease and HCM, T2* for suspected iron overload); empty until a
    /// type is chosen.
    pub fn required_steps(&self) -> Vec<ProtocolStep> {
        self.exam_type
            .map(|t| required_steps_for(t, &self.indications))
            .unwrap_or_default()
    }

    /// The exam's date, once recorded.
    pub fn exam_date(&self) -> Option<CivilDate> {
        self.exam_date
    }

    /// The selected agent.
    pub fn agent(&self) -> Option<AgentId> {
        self.agent
    }

    /// The contrast ledger (once a patient is registered).
    pub fn ledger(&self) -> Option<&ContrastLedger> {
        self.ledger.as_ref()
    }

    /// The stress protocol.
    pub fn stress(&self) -> &StressProtocol {
        &self.stress
    }

    /// The LGE window.
    pub fn lge(&self) -> &LgeWindow {
        &self.lge
    }

    /// Each accepted series by the time it reached the kiosk (its log entry's time)
    /// and its step, in arrival order: what matches a `SeriesAcquired` log entry to its
    /// acceptance ([`Exam::acquired`] holds the scanner's acquisition times).
    pub fn accepted_series(&self) -> impl Iterator<Item = (Instant, ProtocolStep)> + '_ {
        self.series_facts.iter().map(|f| (f.arrived, f.step))
    }

    /// Series acquired, in arrival order, each at the scanner's acquisition time when it
    /// could be placed (else its arrival).
    pub fn acquired(&self) -> &[(Instant, ProtocolStep)] {
        &self.acquired
    }

    /// Acknowledged alarms (time, code, by).
    pub fn acknowledged(&self) -> &[(Instant, AlarmCode, String)] {
        &self.acknowledged
    }

    /// The alarms raised and not acknowledged since, each with its original start
    /// (its first raise after its last acknowledgement) and highest priority, oldest
    /// first. This is state, not a one-shot output: replay after a restart rebuilds
    /// it, so an alarm active before a crash is on the board again with its start.
    pub fn unacknowledged_alarms(&self) -> Vec<(Instant, AlarmCode, AlarmPriority)> {
        let mut out: Vec<(Instant, AlarmCode, AlarmPriority)> = Vec::new();
        for &(at, code, fact) in &self.alarm_facts {
            match (fact, out.iter_mut().find(|(_, c, _)| *c == code)) {
                (None, _) => out.retain(|(_, c, _)| *c != code),
                (Some(p), Some(entry)) => entry.2 = entry.2.max(p),
                (Some(p), None) => out.push((at, code, p)),
            }
        }
        out
    }

    /// Why the staff screens must not lock on idle at `now`, if they must not: the
    /// console has to stay in view and answer a touch while a stress drug acts or its
    /// observation period runs, an alarm is unacknowledged, rest perfusion waits for
    /// recovery, or the LGE window is counting down (3.2.3, 3.1.4.1).
    pub fn lock_hold(&self, now: Instant) -> Option<LockHold> {
        let lge_pending = self.lge.window().is_some_and(|w| {
            now < w.opens_at
                && !self
                    .acquired
                    .iter()
                    .any(|(at, s)| *s == ProtocolStep::Lge && *at >= w.reference)
        });
        if !self.unacknowledged_alarms().is_empty() {
            Some(LockHold::Alarm)
        } else if self.stress.drug_active(now) {
            Some(LockHold::StressDrug)
        } else if self.stress.watching(now) {
            Some(LockHold::Observation)
        } else if self.stress.recovery_pending(now) {
            Some(LockHold::Recovery)
        } else if lge_pending {
            Some(LockHold::LgeCountdown)
        } else {
            None
        }
    }

    /// The latest time the exam has seen.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The next deadline of any timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.stress.poll_timeout(), self.lge.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fire every deadline at or before `now`, in time order.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(due) = self.poll_timeout() {
            if due > now {
                break;
            }
            self.stress.handle_timeout(due);
            self.drain_stress();
            self.lge.handle_timeout(due);
            self.drain_lge();
        }
        self.now = self.now.max(now);
    }

    /// Take the next output.
    pub fn poll(&mut self) -> Option<Output> {
        self.pending.pop_front()
    }

    /// Drain every pending output.
    pub fn drain(&mut self) -> Vec<Output> {
        self.pending.drain(..).collect()
    }

    fn drain_stress(&mut self) {
        while let Some(o) = self.stress.poll() {
            self.emit(o);
        }
    }

    fn drain_lge(&mut self) {
        while let Some(o) = self.lge.poll() {
            self.emit(o);
        }
    }

    fn push(&mut self, at: Instant, decision: Decision) {
        self.emit(Output { at, decision });
    }

    /// Every output leaves through here; alarms are remembered as state.
    fn emit(&mut self, o: Output) {
        if let Decision::Alarm { code, priority } = o.decision {
            self.alarm_facts.push((o.at, code, Some(priority)));
        }
        self.pending.push_back(o);
    }

    fn reject(&mut self, at: Instant, code: RejectCode) -> Outcome {
        self.push(at, Decision::Rejected { code });
        Outcome::Rejected(code)
    }

    /// What the screening rules know about the exam itself.
    pub fn context(&self) -> ExamContext {
        ExamContext {
            exam_date: self.exam_date,
            scanner_field_t: self.scanner.as_ref().map(|s| s.field_strength_t),
        }
    }

    fn reassess(&mut self, now: Instant) {
        self.clearance = assess(
            self.patient.as_ref(),
            &self.answers,
            &self.overrides,
            &self.settings.screening,
            &self.context(),
        );
        self.push(now, Decision::Clearance(self.clearance.clone()));
    }

    /// Apply one event at `now` (after firing every deadline up to `now`).
    pub fn handle(&mut self, event: ExamEvent, now: Instant) -> Result<Outcome, ExamError> {
        if now < self.now {
            return Err(ExamError::TimeWentBackwards {
                now,
                last: self.now,
            });
        }
        self.validate(&event)?;
        self.handle_timeout(now);
        let outcome = self.apply(event, now);
        self.drain_stress();
        self.drain_lge();
        Ok(outcome)
    }

    fn validate(&self, event: &ExamEvent) -> Result<(), ExamError> {
        match event {
            ExamEvent::PatientRegistered { patient } => {
                patient.validate()?;
                if let Some(l) = &self.ledger
                    && !l.injections().is_empty()
                    && l.weight_kg() != patient.weight_kg
                {
                    return Err(ExamError::WeightChangedAfterContrast);
                }
            }
            ExamEvent::OverrideRecorded { rule, by, reason } => Override {
                rule: *rule,
                by: by.clone(),
                reason: reason.clone(),
            }
            .validate()?,
            ExamEvent::VitalsReading { vitals } if !vitals.is_valid() => {
                return Err(ExamError::Vitals);
            }
            ExamEvent::InjectionVoided { by, reason, .. }
                if by.trim().is_empty() || reason.trim().is_empty() =>
            {
                return Err(ExamError::VoidWithoutReason);
            }
            ExamEvent::SettingsRecorded { settings } => {
                settings
                    .validate()
                    .map_err(|e| ExamError::Settings(e.to_string()))?;
                if self.patient.is_some() || !self.stress.runs().is_empty() {
                    return Err(ExamError::Settings(
                        "recorded after the exam began".to_string(),
                    ));
                }
            }
            ExamEvent::BreathHoldPracticed {
                best_hold_s, holds, ..
            } if !(best_hold_s.is_finite() && *best_hold_s >= 0.0 && *holds >= 1) => {
                return Err(ExamError::BreathHold(*best_hold_s, *holds));
            }
            ExamEvent::StressStarted { drug, dose, .. } => match (drug, dose) {
                (_, None) => {}
                (StressDrug::Adenosine, Some(StressDose::UgKgMin(d)))
                | (StressDrug::Regadenoson, Some(StressDose::Mg(d))) => {
                    if !(d.is_finite() && *d > 0.0) {
                        return Err(ExamError::StressDose(format!(
                            "dose must be a finite number above 0, got {d}"
                        )));
                    }
                }
                (StressDrug::Adenosine, Some(StressDose::Mg(_))) => {
                    return Err(ExamError::StressDose(
                        "adenosine is dosed in µg/kg/min".into(),
                    ));
                }
                (StressDrug::Regadenoson, Some(StressDose::UgKgMin(_))) => {
                    return Err(ExamError::StressDose("regadenoson is dosed in mg".into()));
                }
            },
            ExamEvent::StressEscalated {
                dose_ug_kg_min: Some(d),
                ..
            } if !(d.is_finite() && *d > 0.0) => {
                return Err(ExamError::StressDose(format!(
                    "dose must be a finite number above 0, got {d}"
                )));
            }
            ExamEvent::Injected(req) => {
                // Dry run on a scratch ledger to surface impossible numbers as errors.
                let weight = self.patient.as_ref().map_or(70.0, |p| p.weight_kg);
                let scratch = ContrastLedger::new(weight, self.settings.contrast.clone())?;
                let agent = self
                    .agent
                    .and_then(|a| self.settings.agents.get(a))
                    .or_else(|| self.settings.agents.agents.first());
                if let Some(agent) = agent
                    && let Err(e) = scratch.plan(agent, req, self.now)
                {
                    return Err(e.into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn apply(&mut self, event: ExamEvent, now: Instant) -> Outcome {
        match event {
            ExamEvent::PatientRegistered { patient } => {
                let keep = self
                    .ledger
                    .as_ref()
                    .is_some_and(|l| !l.injections().is_empty());
                if !keep {
                    self.ledger =
                        ContrastLedger::new(patient.weight_kg, self.settings.contrast.clone()).ok();
                }
                self.stress.set_weight(patient.weight_kg);
                self.patient = Some(patient);
                self.reassess(now);
            }
            ExamEvent::ScreeningAnswered { answers } => {
                self.answers = answers;
                self.reassess(now);
            }
            ExamEvent::OverrideRecorded { rule, by, reason } => {
                self.overrides.push(Override { rule, by, reason });
                self.reassess(now);
            }
            ExamEvent::ScannerRecorded { scanner } => {
                self.scanner = Some(scanner);
                self.reassess(now);
            }
            ExamEvent::IndicationsRecorded { indications } => self.indications = indications,
            ExamEvent::SettingsRecorded { settings } => {
                // Nothing clinical has happened yet (validated): a fresh exam under
                // these values, keeping what was recorded before them.
                let mut fresh = Exam::new(settings.to_protocol());
                fresh.now = self.now;
                fresh.exam_date = self.exam_date;
                fresh.clock_anchor = self.clock_anchor;
                fresh.scanner = self.scanner.take();
                fresh.exam_type = self.exam_type;
                fresh.indications = std::mem::take(&mut self.indications);
                fresh.answers = std::mem::take(&mut self.answers);
                fresh.overrides = std::mem::take(&mut self.overrides);
                fresh.agent = self.agent;
                fresh.pending = std::mem::take(&mut self.pending);
                *self = fresh;
                self.reassess(now);
            }
            ExamEvent::ExamDated { date, wall } => {
                self.exam_date = Some(date);
                if let Some(wall) = wall {
                    self.clock_anchor = Some((now, wall));
                }
                self.reassess(now);
            }
            ExamEvent::AgentSelected { agent } => match self.settings.agents.get(agent) {
                Some(info) if info.for_cmr => self.agent = Some(agent),
                _ => return self.reject(now, RejectCode::AgentNotForCmr),
            },
            ExamEvent::VitalsReading { vitals } => self.stress.vitals(&vitals, now),
            ExamEvent::MonitorDataLost => self.stress.monitor(true, now),
            ExamEvent::MonitorDataRestored => self.stress.monitor(false, now),
            ExamEvent::StressStarted {
                drug,
                dose,
                authority,
            } => return self.start_stress(drug, dose, &authority, now),
            ExamEvent::StressEscalated {
                dose_ug_kg_min,
                authority,
            } => {
                let s = &self.settings.stress;
                let dose = dose_ug_kg_min
                    .or(s.escalation.as_ref().map(|e| e.dose_ug_kg_min))
                    .unwrap_or(s.adenosine_max_ug_kg_min);
                let in_range = s.dose_in_range(StressDrug::Adenosine, StressDose::UgKgMin(dose));
                if self.stress.infusing()
                    && let Err(code) = authority.check(!in_range, RejectCode::StressDoseOutOfRange)
                {
                    return self.reject(now, code);
                }
                if let Err(code) = self.stress.escalate(Some(dose), now) {
                    return self.reject(now, code);
                }
            }
            ExamEvent::StressStopped => {
                if let Err(code) = self.stress.stop(now) {
                    return self.reject(now, code);
                }
            }
            ExamEvent::StopCriterionNoted { criterion, .. } => {
                self.stress.stop_criterion(criterion, now)
            }
            ExamEvent::Injected(req) => return self.inject(&req, now),
            ExamEvent::InjectionVoided {
                injected_at,
                by,
                reason,
            } => return self.void_injection(injected_at, by, reason, now),
            ExamEvent::SeriesAcquired {
                step,
                params,
                safety,
                acquisition,
                geometry,
                psir,
            } => {
                if self.clearance.status == ClearanceStatus::Blocked {
                    return self.reject(now, RejectCode::ExamBlocked);
                }
                let at = self.acquired_at(acquisition.as_ref(), now);
                let stress_perfusion_pending =
                    step == ProtocolStep::Lge && self.stress_perfusion_pending();
                self.acquired.push((at, step));
                self.series_facts.push(SeriesFacts {
                    arrived: now,
                    step,
                    geometry,
                    psir,
                });
                if step == ProtocolStep::Lge && psir == Some(false) {
                    self.push(
                        now,
                        Decision::Reminder {
                            code: ReminderCode::PsirRecommended,
                        },
                    );
                }
                if let Some(safety) = safety
                    && self.implant_conditions_exceeded(&safety)
                {
                    self.push(
                        now,
                        Decision::Alarm {
                            code: AlarmCode::ImplantConditionExceeded,
                            priority: AlarmPriority::High,
                        },
                    );
                }
                if let Some(p) = params {
                    let findings = check_series(step, &p);
                    if !findings.is_empty() {
                        self.push(now, Decision::SeriesFindings { step, findings });
                        self.push(
                            now,
                            Decision::Warning {
                                code: WarningCode::SeriesOutOfRange,
                            },
                        );
                    }
                }
                match step {
                    ProtocolStep::StressPerfusion => self.stress.stress_perfusion_acquired(at, now),
                    ProtocolStep::Lge => self.lge.acquired(at, now, stress_perfusion_pending),
                    _ => {}
                }
            }
            ExamEvent::AlarmAcknowledged { code, by } => {
                self.alarm_facts.push((now, code, None));
                self.acknowledged.push((now, code, by));
            }
            ExamEvent::LgeEarlyStart { by, reason } => {
                let cumulative_mmol_kg =
                    self.ledger.as_ref().map_or(0.0, |l| l.cumulative_mmol_kg());
                self.lge.record_early_start(EarlyStart {
                    at: now,
                    by,
                    reason,
                    cumulative_mmol_kg,
                });
            }
            ExamEvent::ExamTypeChosen { exam_type } => self.exam_type = Some(exam_type),
            ExamEvent::SelfReported { items } => self.self_report = items,
            ExamEvent::SelfAnswered { item } => {
                match self
                    .self_report
                    .iter_mut()
                    .find(|i| i.question == item.question)
                {
                    Some(slot) => *slot = item,
                    None => self.self_report.push(item),
                }
            }
            ExamEvent::PreparationChecked { item, .. } => {
                if !self.prepared.contains(&item) {
                    self.prepared.push(item);
                }
            }
            ExamEvent::SignedOff { by } => {
                if let Some(&code) = self.sign_off_blockers().first() {
                    return self.reject(now, code);
                }
                self.signed_off = Some(by);
            }
            ExamEvent::ExamFinished { by } => {
                // Finishing is never refused (a patient may leave mid-exam); what
                // was open is kept with the end for the report.
                let outstanding = self.outstanding(now);
                self.finished = Some(Finished {
                    at: now,
                    by,
                    outstanding,
                });
            }
            ExamEvent::BreathHoldPracticed {
                best_hold_s,
                phase,
                holds,
            } => {
                self.breath_hold = Some(BreathHoldPractice {
                    best_hold_s,
                    phase,
                    holds,
                })
            }
        }
        Outcome::Accepted
    }

    fn start_stress(
        &mut self,
        drug: StressDrug,
        dose: Option<StressDose>,
        authority: &StepAuthority,
        now: Instant,
    ) -> Outcome {
        if self.patient.is_none() {
            return self.reject(now, RejectCode::NoPatient);
        }
        if self.clearance.stress_drug == Permission::Blocked {
            return self.reject(now, RejectCode::StressDrugBlocked);
        }
        let s = &self.settings.stress;
        let dose = dose.unwrap_or(match drug {
            StressDrug::Adenosine => StressDose::UgKgMin(s.adenosine_dose_ug_kg_min),
            StressDrug::Regadenoson => StressDose::Mg(s.regadenoson_dose_mg),
        });
        let checks = [
            (
                !s.dose_in_range(drug, dose),
                RejectCode::StressDoseOutOfRange,
            ),
            (
                !self.stress.baseline_fresh(now),
                RejectCode::NoBaselineVitals,
            ),
        ];
        if !self.stress.drug_active(now) {
            for (crossed, code) in checks {
                if let Err(code) = authority.check(crossed, code) {
                    return self.reject(now, code);
                }
            }
        }
        if let Err(code) = self.stress.start(drug, dose, now) {
            return self.reject(now, code);
        }
        let rest_done = self
            .acquired
            .iter()
            .any(|(_, s)| *s == ProtocolStep::RestPerfusion)
            || self
                .ledger
                .as_ref()
                .is_some_and(|l| l.last_with(Purpose::RestPerfusion).is_some());
        if drug == StressDrug::Regadenoson && !rest_done {
            self.drain_stress();
            self.push(
                now,
                Decision::Warning {
                    code: WarningCode::RegadenosonBeforeRest,
                },
            );
        }
        Outcome::Accepted
    }

    /// The gadolinium maximum for this patient (3.1.3.2: 0.2 mmol/kg; the reduced
    /// maximum with eGFR below the site's limit, on dialysis or with acute kidney
    /// injury).
    pub fn dose_max_mmol_kg(&self) -> f64 {
        let c = &self.settings.contrast;
        if self.kidney_risk() {
            c.reduced_max_mmol_kg
        } else {
            c.cumulative_max_mmol_kg
        }
    }

    fn kidney_risk(&self) -> bool {
        let low = self
            .patient
            .as_ref()
            .and_then(|p| p.egfr)
            .is_some_and(|e| e < self.settings.screening.egfr_contrast_min);
        low || self.answers.kidney_risk()
    }

    /// Every limit the injection `req` at `now` would cross, in the order they are
    /// checked (empty: it may be given). Pure: the console asks before it sends the
    /// step, so one refusal can name every countersign or confirmation it needs.
    /// The screening (contrast blocked), the patient and the agent are checked
    /// first and alone.
    pub fn injection_limits(
        &self,
        req: &InjectionRequest,
        now: Instant,
    ) -> Result<Vec<RejectCode>, RejectCode> {
        let (Some(_), Some(ledger)) = (&self.patient, &self.ledger) else {
            return Err(RejectCode::NoPatient);
        };
        if self.clearance.contrast == Permission::Blocked {
            return Err(RejectCode::ContrastBlocked);
        }
        let agent = self.agent.ok_or(RejectCode::NoAgentSelected)?;
        let agent = self
            .settings
            .agents
            .get(agent)
            .filter(|a| a.for_cmr)
            .ok_or(RejectCode::AgentNotForCmr)?;
        let Ok(planned) = ledger.plan(agent, req, now) else {
            return Ok(Vec::new());
        };
        let c = &self.settings.contrast;
        let dose = planned.mmol_kg;
        let top_up = req.purpose == Purpose::TopUp || ledger.lge_dose_complete();
        let after = ledger.cumulative_mmol_kg() + dose;
        // The same injection again moments later: a double tap, not a second dose.
        let since_same = ledger
            .injections()
            .last()
            .filter(|last| {
                last.purpose == req.purpose && (last.mmol_kg - dose).abs() <= DOSE_EPSILON
            })
            .map(|last| now.saturating_since(last.at));
        let duplicate = since_same.is_some_and(|d| d < DUPLICATE_INJECTION_WINDOW);
        let crossed = [
            (
                dose < c.implausible_below_mmol_kg - DOSE_EPSILON,
                RejectCode::DoseImplausible,
            ),
            (
                req.purpose == Purpose::StressPerfusion && !self.stress.drug_active(now),
                RejectCode::StressPerfusionWithoutStress,
            ),
            (
                req.purpose == Purpose::RestPerfusion && self.stress.recovery_pending(now),
                RejectCode::RestBeforeRecovery,
            ),
            (
                agent.acr_group == AcrGroup::I && self.kidney_risk(),
                RejectCode::GroupIAgentLowEgfr,
            ),
            (
                top_up && dose > c.top_up_max_mmol_kg + DOSE_EPSILON,
                RejectCode::TopUpAbove0_05,
            ),
            (
                after > self.dose_max_mmol_kg() + DOSE_EPSILON,
                RejectCode::DoseAboveMax,
            ),
            // Last: the contract's limits are named first when one is crossed too.
            (duplicate, RejectCode::PossibleDuplicate),
        ];
        let mut codes: Vec<RejectCode> = crossed
            .into_iter()
            .filter_map(|(crossed, code)| crossed.then_some(code))
            .collect();
        // A second touch within seconds is named for what it is, before any limit
        // the repeated dose would also cross.
        if since_same.is_some_and(|d| d < DOUBLE_TAP_WINDOW) {
            codes.retain(|c| *c != RejectCode::PossibleDuplicate);
            codes.insert(0, RejectCode::PossibleDuplicate);
        }
        Ok(codes)
    }

    fn inject(&mut self, req: &InjectionRequest, now: Instant) -> Outcome {
        let limits = match self.injection_limits(req, now) {
            Ok(limits) => limits,
            Err(code) => return self.reject(now, code),
        };
        if let Some(&code) = limits.iter().find(|c| !req.authority.lifts(**c)) {
            return self.reject(now, code);
        }
        let Some(agent) = self
            .agent
            .and_then(|a| self.settings.agents.get(a))
            .cloned()
        else {
            return self.reject(now, RejectCode::NoAgentSelected);
        };
        let exam_type = self.exam_type;
        let stress_started = !self.stress.runs().is_empty();
        let ledger = self.ledger.as_mut().expect("checked by injection_limits");
        let Ok(planned) = ledger.plan(&agent, req, now) else {
            unreachable!("validated before apply")
        };
        let first = ledger.injections().is_empty();
        let had_stress = ledger.last_with(Purpose::StressPerfusion).is_some();
        let had_rest = ledger.last_with(Purpose::RestPerfusion).is_some();
        let warnings = ledger.record(planned.clone());
        let record = DoseRecord {
            purpose: req.purpose,
            volume_ml: planned.volume_ml,
            mmol: planned.mmol,
            cumulative_mmol: ledger.cumulative_mmol(),
            cumulative_mmol_kg: ledger.cumulative_mmol_kg(),
            cumulative_ml: ledger.cumulative_ml(),
        };
        let cumulative = record.cumulative_mmol_kg;
        self.push(now, Decision::Dose(record));
        for code in warnings {
            self.push(now, Decision::Warning { code });
        }
        let egfr = self.patient.as_ref().and_then(|p| p.egfr);
        if first && egfr.is_none() {
            self.push(
                now,
                Decision::Warning {
                    code: WarningCode::EgfrUnknown,
                },
            );
        }
        if agent.acr_group == AcrGroup::I && self.kidney_risk() {
            // Given on a physician's countersign: it stays on the record.
            self.push(
                now,
                Decision::Warning {
                    code: WarningCode::AcrGroupIWithLowEgfr,
                },
            );
        }
        // A stress protocol: the exam type names a stress drug, or a run started.
        let stress_protocol = stress_started || exam_type.and_then(ExamType::stress_drug).is_some();
        let basis = window_basis(req.purpose, had_stress, had_rest, stress_protocol);
        self.lge.set(basis, now, cumulative);
        Outcome::Accepted
    }

    /// Voids the injection recorded at `injected_at`: the ledger drops it from every
    /// total, and the LGE window is worked out again from the injections left (none
    /// left: no window). Refused when no injection was recorded then.
    fn void_injection(
        &mut self,
        injected_at: Instant,
        by: String,
        reason: String,
        now: Instant,
    ) -> Outcome {
        let voided = self
            .ledger
            .as_mut()
            .and_then(|l| l.void(injected_at, now, by, reason))
            .is_some();
        if !voided {
            return self.reject(now, RejectCode::NothingToVoid);
        }
        let stress_protocol = !self.stress.runs().is_empty()
            || self.exam_type.and_then(ExamType::stress_drug).is_some();
        let mut sets = Vec::new();
        if let Some(ledger) = &self.ledger {
            let (mut had_stress, mut had_rest, mut cumulative) = (false, false, 0.0);
            for i in ledger.injections() {
                cumulative += i.mmol_kg;
                sets.push((
                    window_basis(i.purpose, had_stress, had_rest, stress_protocol),
                    i.at,
                    cumulative,
                ));
                had_stress |= i.purpose == Purpose::StressPerfusion;
                had_rest |= i.purpose == Purpose::RestPerfusion;
            }
        }
        self.lge.recompute(&sets, now);
        Outcome::Accepted
    }

    /// A stress protocol has started (a stress run, or a perfusion injection in an
    /// exam typed as stress) and its stress perfusion is not done yet: LGE now is
    /// before its time (3.1.4.1 after 3.2.3).
    fn stress_perfusion_pending(&self) -> bool {
        let injected = |p| {
            self.ledger
                .as_ref()
                .is_some_and(|l| l.last_with(p).is_some())
        };
        let stress_exam = self.exam_type.and_then(ExamType::stress_drug).is_some();
        let started = !self.stress.runs().is_empty()
            || (stress_exam
                && (injected(Purpose::RestPerfusion) || injected(Purpose::StressPerfusion)));
        let done = injected(Purpose::StressPerfusion)
            || self
                .acquired
                .iter()
                .any(|(_, s)| *s == ProtocolStep::StressPerfusion);
        started && !done
    }

    /// When a series was acquired on the exam's time line: its DICOM acquisition start
    /// placed by the wall-clock anchor logged at opening, when that lies no later than
    /// [`SCANNER_CLOCK_AHEAD_TOLERANCE`] after `now` (its arrival) and no earlier than
    /// [`MAX_SERIES_DELAY`] before it; else (no anchor, no time, a scanner clock far
    /// off) its arrival. Never later than its arrival.
    fn acquired_at(&self, acquisition: Option<&Acquisition>, now: Instant) -> Instant {
        let Some((anchor_at, anchor_wall)) = self.clock_anchor else {
            return now;
        };
        let Some(start) = acquisition
            .and_then(|a| a.start.as_deref())
            .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok())
        else {
            return now;
        };
        let offset_ms = (start - anchor_wall).num_milliseconds();
        let mapped = anchor_at.as_millis() as i128 + offset_ms as i128;
        let now_ms = now.as_millis() as i128;
        let ahead = SCANNER_CLOCK_AHEAD_TOLERANCE.as_millis() as i128;
        let delay = MAX_SERIES_DELAY.as_millis() as i128;
        if mapped < 0 || mapped > now_ms + ahead || mapped < now_ms - delay {
            return now;
        }
        Instant::from_millis(mapped.min(now_ms) as u64)
    }

    /// The exam-level checks still open (3.1.1.1 static orientations, 3.1.4.2 PSIR,
    /// 3.1.4.3 LGE in the cine's planes), from every series acquired so far.
    pub fn coverage_gaps(&self) -> Vec<CoverageGap> {
        let series: Vec<CoverageSeries<'_>> = self
            .series_facts
            .iter()
            .map(|f| CoverageSeries {
                step: f.step,
                geometry: f.geometry.as_ref(),
                psir: f.psir,
            })
            .collect();
        coverage_gaps(&series)
    }

    /// Whether a series' safety facts exceed any recorded implant condition.
    fn implant_conditions_exceeded(&self, safety: &SeriesSafety) -> bool {
        self.answers
            .implants
            .iter()
            .filter_map(|i| i.conditions.as_ref())
            .any(|c| !c.exceeded_by(safety).is_empty())
    }

    /// The report's technique facts (5.2.3) as of `now`.
    pub fn technique(&self, now: Instant) -> TechniqueFacts {
        let mut sequences: Vec<ProtocolStep> = Vec::new();
        for (_, s) in &self.acquired {
            if !sequences.contains(s) {
                sequences.push(*s);
            }
        }
        let injections = self.ledger.as_ref().map_or(&[][..], |l| l.injections());
        let agent = injections.first().map(|i| i.agent).or(self.agent);
        let mut rates: Vec<f64> = Vec::new();
        for i in injections {
            let r = round_to(i.rate_ml_s, 1);
            if !rates.contains(&r) {
                rates.push(r);
            }
        }
        let (mmol, mmol_kg, ml, flush) = self.ledger.as_ref().map_or((0.0, 0.0, 0.0, 0.0), |l| {
            (
                l.cumulative_mmol(),
                l.cumulative_mmol_kg(),
                l.cumulative_ml(),
                l.cumulative_flush_ml(),
            )
        });
        TechniqueFacts {
            region: "heart".to_string(),
            exam_kind: if injections.is_empty() {
                ExamKind::Routine
            } else {
                ExamKind::ContrastEnhanced
            },
            vendor: self.scanner.as_ref().map(|s| s.vendor.clone()),
            model: self.scanner.as_ref().map(|s| s.model.clone()),
            field_strength_t: self.scanner.as_ref().map(|s| s.field_strength_t),
            sequences,
            agent,
            agent_name: agent
                .and_then(|a| self.settings.agents.get(a))
                .map(|a| a.generic_name.clone()),
            agents: injections.iter().fold(Vec::new(), |mut used, i| {
                if !used.contains(&i.agent) {
                    used.push(i.agent);
                }
                used
            }),
            total_mmol: round_to(mmol, 3),
            total_mmol_kg: round_to(mmol_kg, 4),
            total_ml: round_to(ml, 1),
            injection_method: injections.first().map(|i| i.method),
            injection_rates_ml_s: rates,
            flush_ml: round_to(flush, 1),
            injections: injections
                .iter()
                .map(|i| InjectionFact {
                    at_s: i.at.as_secs_f64(),
                    purpose: i.purpose,
                    volume_ml: round_to(i.volume_ml, 1),
                    mmol: round_to(i.mmol, 3),
                    mmol_kg: round_to(i.mmol_kg, 4),
                    rate_ml_s: i.rate_ml_s,
                    flush_ml: i.flush_ml,
                    method: i.method,
                })
                .collect(),
            stress: self
                .stress
                .runs()
                .iter()
                .map(|r| StressFact {
                    drug: r.drug,
                    dose: r.dose,
                    max_dose_ug_kg_min: r.max_dose_ug_kg_min,
                    duration_s: match r.drug {
                        StressDrug::Adenosine => Some(r.duration(now).as_secs_f64()),
                        StressDrug::Regadenoson => {
                            r.stopped_at.map(|s| (s - r.started_at).as_secs_f64())
                        }
                    },
                    reversal_after_s: match r.drug {
                        StressDrug::Regadenoson => {
                            r.stopped_at.map(|s| (s - r.started_at).as_secs_f64())
                        }
                        StressDrug::Adenosine => None,
                    },
                })
                .collect(),
        }
    }
}
