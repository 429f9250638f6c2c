//! Patient mode (issue 7): the controller behind `ui/views/patient_*.slint`, testable
//! without a window.
//!
//! It owns the patient's path through the kiosk — identity confirmation with a masked
//! name, the self-report safety questionnaire (yes / no / not sure, each answer
//! confirmed on its own; questions that do not apply, such as pregnancy for a man,
//! are not asked), what the exam is like, what the stress drug feels like (stress
//! exams only), the electrode pictogram and breath-hold practice (2.2.3) — and turns
//! what the patient did into domain events sent to an [`ExamSink`]:
//! [`ExamEvent::SelfAnswered`] for each confirmed answer,
//! [`ExamEvent::ScreeningAnswered`] when the questionnaire is complete and
//! [`ExamEvent::BreathHoldPracticed`] when practice ends. "Not sure" answers and
//! answers that need a detail only staff can give are kept in [`SelfReport::review`]
//! for the nurse.
//!
//! Time is an input: every method that depends on it takes `now` (the exam's
//! monotonic [`Instant`]); cues are computed from fixed start times, never by counting
//! ticks, so tests drive it on a simulated clock and the kiosk on a `slint::Timer`.

use std::cell::RefCell;

use crate::domain::breathing::BreathHoldPhase;
use crate::domain::screening::{
    Claustrophobia, Implant, ImplantKind, MrStatus, ScreeningAnswers, Sex,
};
use crate::domain::time::{Duration, Instant};
use crate::domain::{ExamEvent, ExamType, SelfAnswer, SelfReportItem};

/// Where the controller's events go. The kiosk connects this to the durable exam log.
pub trait ExamSink {
    /// Records one event (the sink stamps the time).
    fn record(&self, event: ExamEvent);
}

/// A sink that keeps events in memory (tests; the kiosk until the log is connected).
#[derive(Debug, Default)]
pub struct VecSink {
    events: RefCell<Vec<ExamEvent>>,
}

impl VecSink {
    /// Every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<ExamEvent> {
        self.events.borrow().clone()
    }
}

impl ExamSink for VecSink {
    fn record(&self, event: ExamEvent) {
        tracing::info!(?event, "patient mode recorded an event");
        self.events.borrow_mut().push(event);
    }
}

/// One self-report question, in the order asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Question {
    /// Implanted devices (pacemaker, valve, clips, stimulators …).
    Implants,
    /// Metal fragments in the body (eyes, shrapnel, work accidents).
    MetalFragments,
    /// Pregnancy, or possible pregnancy.
    Pregnancy,
    /// Fear of closed spaces.
    Claustrophobia,
    /// Allergy to contrast media.
    ContrastAllergy,
    /// Kidney disease.
    KidneyDisease,
    /// Asthma.
    Asthma,
    /// Coffee, tea, cola or chocolate today.
    CaffeineToday,
}

impl Question {
    /// Every question, in the order asked.
    pub const ALL: [Question; 8] = [
        Question::Implants,
        Question::MetalFragments,
        Question::Pregnancy,
        Question::Claustrophobia,
        Question::ContrastAllergy,
        Question::KidneyDisease,
        Question::Asthma,
        Question::CaffeineToday,
    ];

    /// Stable name (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            Question::Implants => "implants",
            Question::MetalFragments => "metal_fragments",
            Question::Pregnancy => "pregnancy",
            Question::Claustrophobia => "claustrophobia",
            Question::ContrastAllergy => "contrast_allergy",
            Question::KidneyDisease => "kidney_disease",
            Question::Asthma => "asthma",
            Question::CaffeineToday => "caffeine_today",
        }
    }

    /// Fluent key of the question.
    pub fn key(self) -> &'static str {
        match self {
            Question::Implants => "patient-q-implants",
            Question::MetalFragments => "patient-q-metal",
            Question::Pregnancy => "patient-q-pregnancy",
            Question::Claustrophobia => "patient-q-claustrophobia",
            Question::ContrastAllergy => "patient-q-contrast-allergy",
            Question::KidneyDisease => "patient-q-kidney",
            Question::Asthma => "patient-q-asthma",
            Question::CaffeineToday => "patient-q-caffeine",
        }
    }

    /// Fluent key of the question's short name (the exam log, the nurse's review).
    pub fn short_key(self) -> &'static str {
        match self {
            Question::Implants => "patient-q-implants-short",
            Question::MetalFragments => "patient-q-metal-short",
            Question::Pregnancy => "patient-q-pregnancy-short",
            Question::Claustrophobia => "patient-q-claustrophobia-short",
            Question::ContrastAllergy => "patient-q-contrast-allergy-short",
            Question::KidneyDisease => "patient-q-kidney-short",
            Question::Asthma => "patient-q-asthma-short",
            Question::CaffeineToday => "patient-q-caffeine-short",
        }
    }

    /// The question named `name` ([`Question::as_str`]).
    pub fn from_name(name: &str) -> Option<Question> {
        Question::ALL.into_iter().find(|q| q.as_str() == name)
    }

    /// Whether the question is asked of a patient of this sex: pregnancy is not asked
    /// of a man (2.1.2 concerns pregnancy only).
    pub fn applies_to(self, sex: Option<Sex>) -> bool {
        !(self == Question::Pregnancy && sex == Some(Sex::Male))
    }

    /// Whether staff must add a detail the patient cannot give to a "yes" (device kind
    /// and MR label, claustrophobia grade, hours since caffeine, eGFR).
    fn needs_detail(self) -> bool {
        matches!(
            self,
            Question::Implants
                | Question::MetalFragments
                | Question::Claustrophobia
                | Question::KidneyDisease
                | Question::CaffeineToday
        )
    }

    /// Why the nurse must look at `answer` to this question, if she must.
    pub fn review_reason(self, answer: Answer) -> Option<ReviewReason> {
        match answer {
            Answer::NotSure => Some(ReviewReason::NotSure),
            Answer::Yes if self.needs_detail() => Some(ReviewReason::NeedsDetail),
            _ => None,
        }
    }

    /// One confirmed answer as the exam log keeps it for the nurse's review.
    pub fn log_item(self, answer: Answer) -> SelfReportItem {
        SelfReportItem {
            question: self.as_str().to_string(),
            answer: match answer {
                Answer::Yes => SelfAnswer::Yes,
                Answer::No => SelfAnswer::No,
                Answer::NotSure => SelfAnswer::NotSure,
            },
            needs_review: self.review_reason(answer).is_some(),
        }
    }

    /// Fluent key of the examples under the question.
    pub fn hint_key(self) -> &'static str {
        match self {
            Question::Implants => "patient-q-implants-hint",
            Question::MetalFragments => "patient-q-metal-hint",
            Question::Pregnancy => "patient-q-pregnancy-hint",
            Question::Claustrophobia => "patient-q-claustrophobia-hint",
            Question::ContrastAllergy => "patient-q-contrast-allergy-hint",
            Question::KidneyDisease => "patient-q-kidney-hint",
            Question::Asthma => "patient-q-asthma-hint",
            Question::CaffeineToday => "patient-q-caffeine-hint",
        }
    }
}

/// A patient's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Not sure: treated as yes and flagged for the nurse.
    NotSure,
}

/// Why the nurse must look at an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewReason {
    /// The patient was not sure.
    NotSure,
    /// Yes, and staff must add what the patient cannot (device kind and MR label,
    /// claustrophobia grade, hours since caffeine, eGFR).
    NeedsDetail,
}

/// One answer the nurse must review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewItem {
    /// The question.
    pub question: Question,
    /// The patient's answer.
    pub answer: Answer,
    /// Why it needs review.
    pub reason: ReviewReason,
}

/// The completed self-report.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfReport {
    /// Every answer, in question order.
    pub items: Vec<(Question, Answer)>,
    /// The answers as the clinical rules read them, conservatively: "not sure" counts
    /// as yes; a device or fragment is of unknown MR status (a hard stop until the
    /// nurse records it); claustrophobia is mild until graded; caffeine "today" is
    /// 0 hours ago until the nurse records when.
    pub answers: ScreeningAnswers,
    /// What the nurse must review, in question order.
    pub review: Vec<ReviewItem>,
}

impl SelfReport {
    /// The answers as the exam log keeps them for the nurse's review.
    pub fn log_items(&self) -> Vec<SelfReportItem> {
        self.items.iter().map(|&(q, a)| q.log_item(a)).collect()
    }

    /// Builds the report from the questions asked, each with its answer, in order (a
    /// question not asked adds nothing).
    pub fn from_items(items: &[(Question, Answer)]) -> SelfReport {
        let items = items.to_vec();
        let mut out = ScreeningAnswers::default();
        let mut review = Vec::new();
        for &(question, answer) in &items {
            let positive = answer != Answer::No;
            match (question, positive) {
                (_, false) => {}
                (Question::Implants, true) => out.implants.push(Implant {
                    kind: ImplantKind::Other,
                    mr_status: MrStatus::Unknown,
                    conditions: None,
                }),
                (Question::MetalFragments, true) => out.implants.push(Implant {
                    kind: ImplantKind::MetalFragment,
                    mr_status: MrStatus::Unknown,
                    conditions: None,
                }),
                (Question::Pregnancy, true) => out.pregnancy_first_trimester = true,
                (Question::Claustrophobia, true) => out.claustrophobia = Claustrophobia::Mild,
                (Question::ContrastAllergy, true) => out.contrast_allergy = true,
                // No answer field: renal function is the eGFR on the patient record.
                (Question::KidneyDisease, true) => {}
                (Question::Asthma, true) => out.asthma = true,
                (Question::CaffeineToday, true) => out.caffeine_hours_ago = Some(0.0),
            }
            if let Some(reason) = question.review_reason(answer) {
                review.push(ReviewItem {
                    question,
                    answer,
                    reason,
                });
            }
        }
        SelfReport {
            items,
            answers: out,
            review,
        }
    }
}

/// The patient-mode screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// No exam registered: "please ask the nurse".
    NoExam,
    /// "Is this you?" with the masked name.
    Identity,
    /// The patient said the name is not theirs: "please ask the nurse".
    NotMe,
    /// The safety questions, one at a time.
    Questionnaire,
    /// What the exam is like (2.2.1, 2.3.2).
    Instructions,
    /// What the stress drug feels like and that it passes quickly (stress exams only,
    /// 2.3.2: possible discomfort).
    StressDrug,
    /// Electrode placement pictogram (2.2.2).
    Electrodes,
    /// Breath-hold practice (2.2.3).
    BreathHold,
    /// Practice result and thanks.
    Result,
}

/// What the patient is asked to do now during breath-hold practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// Not started: "touch Start when ready".
    Ready,
    /// Breathe in slowly.
    BreatheIn,
    /// Breathe out slowly.
    BreatheOut,
    /// Hold the breath (timed).
    Hold,
    /// A hold just ended: breathe normally.
    Rest,
}

/// Seconds each guiding cue (breathe in, breathe out) lasts before the hold.
pub const CUE_S: u64 = 4;
/// A hold ends by itself after this many seconds (no patient needs longer).
pub const MAX_HOLD_S: u64 = 45;

/// The site's breath-hold settings (from `ui.breath_hold_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreathHoldSettings {
    /// A best hold below this (seconds) suggests free-breathing sequences; it is also
    /// the target the patient is asked to reach.
    pub threshold_s: f64,
    /// The phase every hold is taken at.
    pub phase: BreathHoldPhase,
}

impl Default for BreathHoldSettings {
    fn default() -> Self {
        BreathHoldSettings {
            threshold_s: 15.0,
            phase: BreathHoldPhase::EndExpiration,
        }
    }
}

impl From<&crate::config::UiConfig> for BreathHoldSettings {
    fn from(ui: &crate::config::UiConfig) -> Self {
        BreathHoldSettings {
            threshold_s: ui.breath_hold_threshold_s,
            phase: ui.breath_hold_phase,
        }
    }
}

/// The patient's path through the kiosk.
pub struct PatientController {
    settings: BreathHoldSettings,
    sink: std::rc::Rc<dyn ExamSink>,
    name: Option<String>,
    /// The registered date of birth, confirmed with the name (issue 18).
    birth: Option<chrono::NaiveDate>,
    step: Step,
    sex: Option<Sex>,
    exam_type: Option<ExamType>,
    question: usize,
    /// The answer touched on the question shown, not yet confirmed.
    chosen: Option<Answer>,
    /// Each question's confirmed answer, by [`Question::ALL`] index.
    answers: [Option<Answer>; 8],
    /// Each question's answer as last logged ([`ExamEvent::SelfAnswered`]).
    logged: [Option<Answer>; 8],
    recorded_answers: Option<Vec<(Question, Answer)>>,
    cycle_start: Option<Instant>,
    holds: Vec<f64>,
    recorded_holds: usize,
}

impl std::fmt::Debug for PatientController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The name stays out of logs.
        f.debug_struct("PatientController")
            .field("step", &self.step)
            .field("question", &self.question)
            .field("holds", &self.holds)
            .finish_non_exhaustive()
    }
}

impl PatientController {
    /// A controller with no exam registered.
    pub fn new(settings: BreathHoldSettings, sink: std::rc::Rc<dyn ExamSink>) -> Self {
        PatientController {
            settings,
            sink,
            name: None,
            birth: None,
            step: Step::NoExam,
            sex: None,
            exam_type: None,
            question: 0,
            chosen: None,
            answers: [None; 8],
            logged: [None; 8],
            recorded_answers: None,
            cycle_start: None,
            holds: Vec::new(),
            recorded_holds: 0,
        }
    }

    /// Sends later events to `sink`.
    pub fn set_sink(&mut self, sink: std::rc::Rc<dyn ExamSink>) {
        self.sink = sink;
    }

    /// The site's breath-hold settings.
    pub fn settings(&self) -> BreathHoldSettings {
        self.settings
    }

    /// The registered patient's name, if any.
    pub fn patient_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Starts over for the registered exam's patient (`None`: no exam registered).
    /// Everything the previous patient did is forgotten.
    pub fn set_patient(&mut self, name: Option<&str>) {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        *self = PatientController::new(self.settings, self.sink.clone());
        self.name = name.map(str::to_string);
        self.step = if self.name.is_some() {
            Step::Identity
        } else {
            Step::NoExam
        };
    }

    /// The screen shown now.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The patient's name partly masked, for screens others may see.
    pub fn masked_name(&self) -> String {
        self.name.as_deref().map(mask_name).unwrap_or_default()
    }

    /// Starts over for the registered patient with the date of birth confirmed with
    /// the name (issue 18): the identity screen shows both in full.
    pub fn set_patient_identity(&mut self, name: Option<&str>, birth: Option<chrono::NaiveDate>) {
        self.set_patient(name);
        if self.name.is_some() {
            self.birth = birth;
        }
    }

    /// What the patient confirms: the full name as registered (in characters for a
    /// Chinese name) and the date of birth, `YYYY-MM-DD` (empty when not registered).
    pub fn identity(&self) -> (String, String) {
        (
            self.name.clone().unwrap_or_default(),
            self.birth
                .map(|b| b.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        )
    }

    /// The patient confirms (`true`) or denies the name shown.
    pub fn confirm_identity(&mut self, is_me: bool) {
        if self.step == Step::Identity {
            self.step = if is_me {
                Step::Questionnaire
            } else {
                Step::NotMe
            };
        }
    }

    /// What the registration says about the exam: the patient's sex (pregnancy is
    /// not asked of a man) and the exam type (a stress exam explains the drug). Call it
    /// after [`PatientController::set_patient`]; what was answered stays.
    pub fn set_exam(&mut self, sex: Option<Sex>, exam_type: Option<ExamType>) {
        let shown = self.question();
        self.sex = sex;
        self.exam_type = exam_type;
        let asked = self.asked();
        self.question = asked
            .iter()
            .position(|q| *q == shown)
            .unwrap_or(0)
            .min(asked.len() - 1);
    }

    /// Whether the exam gives a stress drug (the drug's explanation is shown).
    pub fn stress_exam(&self) -> bool {
        self.exam_type.and_then(ExamType::stress_drug).is_some()
    }

    /// The exam type registered, if any.
    pub fn exam_type(&self) -> Option<ExamType> {
        self.exam_type
    }

    /// The questions asked of this patient, in order.
    pub fn asked(&self) -> Vec<Question> {
        Question::ALL
            .into_iter()
            .filter(|q| q.applies_to(self.sex))
            .collect()
    }

    fn slot(q: Question) -> usize {
        Question::ALL.iter().position(|x| *x == q).unwrap_or(0)
    }

    /// The question shown (0-based, among the questions asked).
    pub fn question_index(&self) -> usize {
        self.question
    }

    /// The question shown.
    pub fn question(&self) -> Question {
        self.asked()[self.question]
    }

    /// The confirmed answer to the question shown, if any.
    pub fn current_answer(&self) -> Option<Answer> {
        self.answers[Self::slot(self.question())]
    }

    /// The answer marked on the question shown: the one just touched, else the
    /// confirmed one.
    pub fn chosen_answer(&self) -> Option<Answer> {
        self.chosen.or(self.current_answer())
    }

    /// Touches an answer to the question shown: it is marked, not yet taken.
    pub fn choose(&mut self, answer: Answer) {
        if self.step == Step::Questionnaire {
            self.chosen = Some(answer);
        }
    }

    /// Confirms the marked answer to the question shown: it is logged on its own
    /// ([`ExamEvent::SelfAnswered`], once per change) and the next question follows;
    /// after the last one the self-report is recorded and the instructions follow.
    pub fn confirm(&mut self) {
        if self.step != Step::Questionnaire {
            return;
        }
        let Some(answer) = self.chosen_answer() else {
            return;
        };
        let q = self.question();
        let slot = Self::slot(q);
        self.answers[slot] = Some(answer);
        self.chosen = None;
        if self.logged[slot] != Some(answer) {
            self.sink.record(ExamEvent::SelfAnswered {
                item: q.log_item(answer),
            });
            self.logged[slot] = Some(answer);
        }
        self.advance();
    }

    fn advance(&mut self) {
        if self.question + 1 < self.asked().len() {
            self.question += 1;
        } else {
            self.finish_questionnaire();
        }
    }

    fn finish_questionnaire(&mut self) {
        let Some(items) = self.complete_answers() else {
            // A question left open: go back to it.
            let asked = self.asked();
            self.question = asked
                .iter()
                .position(|q| self.answers[Self::slot(*q)].is_none())
                .unwrap_or(0);
            return;
        };
        if self.recorded_answers.as_ref() != Some(&items) {
            let report = SelfReport::from_items(&items);
            self.sink.record(ExamEvent::ScreeningAnswered {
                answers: report.answers,
            });
            self.recorded_answers = Some(items);
        }
        self.step = Step::Instructions;
    }

    fn complete_answers(&self) -> Option<Vec<(Question, Answer)>> {
        self.asked()
            .into_iter()
            .map(|q| self.answers[Self::slot(q)].map(|a| (q, a)))
            .collect()
    }

    /// The self-report, once every question asked is answered.
    pub fn self_report(&self) -> Option<SelfReport> {
        self.complete_answers()
            .map(|items| SelfReport::from_items(&items))
    }

    /// Goes one screen (or one question) back; an answer touched but not confirmed
    /// is dropped. A running breath-hold is abandoned.
    pub fn previous(&mut self) {
        self.chosen = None;
        self.step = match self.step {
            Step::Questionnaire if self.question > 0 => {
                self.question -= 1;
                Step::Questionnaire
            }
            Step::Questionnaire => Step::Identity,
            Step::Instructions => {
                self.question = self.asked().len() - 1;
                Step::Questionnaire
            }
            Step::StressDrug => Step::Instructions,
            Step::Electrodes if self.stress_exam() => Step::StressDrug,
            Step::Electrodes => Step::Instructions,
            Step::BreathHold => {
                self.cycle_start = None;
                Step::Electrodes
            }
            Step::Result => Step::BreathHold,
            other => other,
        };
    }

    /// Goes one screen forward (instructions → the stress drug, for a stress exam →
    /// electrodes → breath-hold practice); in the questionnaire, past a question whose
    /// confirmed answer is unchanged.
    pub fn next(&mut self) {
        match self.step {
            Step::Questionnaire
                if self.current_answer().is_some()
                    && self.chosen.is_none_or(|c| Some(c) == self.current_answer()) =>
            {
                self.chosen = None;
                self.advance();
            }
            Step::Instructions if self.stress_exam() => self.step = Step::StressDrug,
            Step::Instructions | Step::StressDrug => self.step = Step::Electrodes,
            Step::Electrodes => self.step = Step::BreathHold,
            _ => {}
        }
    }

    /// The hold the patient is asked to reach, in whole seconds (the site's
    /// breath-hold threshold: a shorter best hold suggests free breathing).
    pub fn target_hold_s(&self) -> u64 {
        self.settings.threshold_s.ceil().max(1.0) as u64
    }

    /// The two guiding cues before a hold, in order, for the site's phase.
    fn guide(&self) -> [Cue; 2] {
        match self.settings.phase {
            BreathHoldPhase::EndExpiration => [Cue::BreatheIn, Cue::BreatheOut],
            BreathHoldPhase::EndInspiration => [Cue::BreatheOut, Cue::BreatheIn],
        }
    }

    fn hold_start(&self) -> Option<Instant> {
        self.cycle_start.map(|s| s + Duration::from_secs(2 * CUE_S))
    }

    /// Starts one guided breath: two cues of [`CUE_S`] seconds, then the timed hold.
    pub fn start_breath(&mut self, now: Instant) {
        if self.step == Step::BreathHold && self.cycle_start.is_none() {
            self.cycle_start = Some(now);
        }
    }

    /// The cue at `now` (ends a hold that reached [`MAX_HOLD_S`]; call it on every tick).
    pub fn cue(&mut self, now: Instant) -> Cue {
        self.tick(now);
        self.peek_cue(now)
    }

    fn peek_cue(&self, now: Instant) -> Cue {
        match self.cycle_start {
            None if self.holds.is_empty() => Cue::Ready,
            None => Cue::Rest,
            Some(start) => {
                let t = now.saturating_since(start).as_millis();
                let cue_ms = CUE_S * 1000;
                if t < cue_ms {
                    self.guide()[0]
                } else if t < 2 * cue_ms {
                    self.guide()[1]
                } else {
                    Cue::Hold
                }
            }
        }
    }

    /// Ends a hold that has reached [`MAX_HOLD_S`] (at exactly that length).
    pub fn tick(&mut self, now: Instant) {
        if let Some(hold) = self.hold_start() {
            let max = hold + Duration::from_secs(MAX_HOLD_S);
            if now >= max {
                self.end_hold(max);
            }
        }
    }

    /// Whole seconds left in a guiding cue (counting down), or held so far (counting
    /// up); 0 otherwise.
    pub fn cue_seconds(&mut self, now: Instant) -> u64 {
        let cue = self.cue(now);
        match (cue, self.cycle_start, self.hold_start()) {
            (Cue::Hold, _, Some(h)) => now.saturating_since(h).as_millis() / 1000,
            (Cue::BreatheIn | Cue::BreatheOut, Some(s), _) => {
                let t = now.saturating_since(s).as_millis();
                let left = (CUE_S * 1000 - t % (CUE_S * 1000)).div_ceil(1000);
                left.max(1)
            }
            _ => 0,
        }
    }

    /// The patient breathes again (touches "I need to breathe"). During a hold the
    /// hold's length is recorded; during the guiding cues the breath is cancelled.
    pub fn end_hold(&mut self, now: Instant) {
        let Some(hold) = self.hold_start() else {
            return;
        };
        self.cycle_start = None;
        if now >= hold {
            let max = Duration::from_secs(MAX_HOLD_S).as_secs_f64();
            let s = now.saturating_since(hold).as_secs_f64().min(max);
            self.holds.push((s * 10.0).round() / 10.0);
        }
    }

    /// Every hold timed, in seconds (0.1 s), oldest first.
    pub fn holds(&self) -> &[f64] {
        &self.holds
    }

    /// The latest hold.
    pub fn last_hold_s(&self) -> Option<f64> {
        self.holds.last().copied()
    }

    /// The longest hold.
    pub fn best_hold_s(&self) -> Option<f64> {
        self.holds.iter().copied().reduce(f64::max)
    }

    /// Whether the best hold is below the site's threshold, so the technologist
    /// should use free-breathing sequences (2.2.3).
    pub fn suggests_free_breathing(&self) -> bool {
        self.best_hold_s()
            .is_some_and(|b| b < self.settings.threshold_s)
    }

    /// Ends practice: a hold still running is timed, the best hold is recorded (once
    /// per new hold) and the result is shown. Without any hold nothing is recorded.
    pub fn finish_practice(&mut self, now: Instant) {
        if self.step != Step::BreathHold {
            return;
        }
        self.tick(now);
        if self.cycle_start.is_some() {
            self.end_hold(now);
        }
        if let Some(best) = self.best_hold_s()
            && self.holds.len() != self.recorded_holds
        {
            self.sink.record(ExamEvent::BreathHoldPracticed {
                best_hold_s: best,
                phase: self.settings.phase,
                holds: self.holds.len() as u32,
            });
            self.recorded_holds = self.holds.len();
        }
        self.step = Step::Result;
    }
}

/// A name partly masked for a screen others may see: Chinese names keep the first and
/// last character (王*明, 欧阳**锋 keeps 欧…锋); Latin names keep the first word and
/// the initial of the others (Wang M*******).
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let is_cjk = |c: char| ('\u{3400}'..='\u{9fff}').contains(&c) || c == '·';
    if name.chars().any(is_cjk) {
        let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
        return match chars.len() {
            0 | 1 => chars.iter().collect(),
            2 => format!("{}*", chars[0]),
            n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
        };
    }
    let mut words = name.split_whitespace();
    let Some(first) = words.next() else {
        return String::new();
    };
    let mut out = first.to_string();
    for w in words {
        let mut chars = w.chars();
        if let Some(c) = chars.next() {
            out.push(' ');
            out.push(c);
            out.extend(chars.map(|_| '*'));
        }
    }
    if out == first && first.chars().count() > 1 {
        // A single word: keep the initial only.
        let mut chars = first.chars();
        let c = chars.next().unwrap_or_default();
        return std::iter::once(c).chain(chars.map(|_| '*')).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// Touches an answer and confirms it (two touches, as on the screen).
    fn answer(c: &mut PatientController, a: Answer) {
        c.choose(a);
        c.confirm();
    }

    fn controller(phase: BreathHoldPhase) -> (PatientController, Rc<VecSink>) {
        let sink = Rc::new(VecSink::default());
        let c = PatientController::new(
            BreathHoldSettings {
                threshold_s: 15.0,
                phase,
            },
            sink.clone(),
        );
        (c, sink)
    }

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("王小明"), "王*明");
        assert_eq!(mask_name("李明"), "李*");
        assert_eq!(mask_name("欧阳小锋"), "欧**锋");
        assert_eq!(mask_name("Wang Ming"), "Wang M***");
        assert_eq!(mask_name("  Mary Ann Smith "), "Mary A** S****");
        assert_eq!(mask_name("Madonna"), "M******");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn no_exam_means_no_patient_and_ask_the_nurse() {
        let (mut c, sink) = controller(BreathHoldPhase::EndExpiration);
        assert_eq!(c.step(), Step::NoExam);
        assert_eq!(c.masked_name(), "");
        c.confirm_identity(true);
        answer(&mut c, Answer::No);
        assert_eq!(c.step(), Step::NoExam);
        c.set_patient(Some("   "));
        assert_eq!(c.step(), Step::NoExam);
        assert!(sink.events().is_empty());
    }

    #[test]
    fn wrong_person_is_sent_to_the_nurse() {
        let (mut c, _) = controller(BreathHoldPhase::EndExpiration);
        c.set_patient(Some("王小明"));
        assert_eq!(c.step(), Step::Identity);
        assert_eq!(c.masked_name(), "王*明");
        c.confirm_identity(false);
        assert_eq!(c.step(), Step::NotMe);
    }

    #[test]
    fn questionnaire_records_conservative_answers_and_flags_review() {
        let (mut c, sink) = controller(BreathHoldPhase::EndExpiration);
        c.set_patient(Some("Wang Ming"));
        c.confirm_identity(true);
        // implants yes, metal no, pregnancy not sure, claustrophobia yes, allergy no,
        // kidney not sure, asthma no, caffeine yes.
        let given = [
            Answer::Yes,
            Answer::No,
            Answer::NotSure,
            Answer::Yes,
            Answer::No,
            Answer::NotSure,
            Answer::No,
            Answer::Yes,
        ];
        for (i, a) in given.into_iter().enumerate() {
            assert_eq!(c.question_index(), i);
            c.choose(a);
            assert_eq!(c.question_index(), i, "a touch alone does not move on");
            c.confirm();
        }
        assert_eq!(c.step(), Step::Instructions);
        let report = c.self_report().unwrap();
        let a = &report.answers;
        assert_eq!(a.implants.len(), 1);
        assert_eq!(a.implants[0].mr_status, MrStatus::Unknown);
        assert!(a.pregnancy_first_trimester, "not sure counts as yes");
        assert_eq!(a.claustrophobia, Claustrophobia::Mild);
        assert!(!a.contrast_allergy && !a.asthma);
        assert_eq!(a.caffeine_hours_ago, Some(0.0));
        let flagged: Vec<_> = report
            .review
            .iter()
            .map(|r| (r.question, r.reason))
            .collect();
        assert_eq!(
            flagged,
            [
                (Question::Implants, ReviewReason::NeedsDetail),
                (Question::Pregnancy, ReviewReason::NotSure),
                (Question::Claustrophobia, ReviewReason::NeedsDetail),
                (Question::KidneyDisease, ReviewReason::NotSure),
                (Question::CaffeineToday, ReviewReason::NeedsDetail),
            ]
        );
        // Each confirmed answer is its own log row, then the rules' answers.
        let events = sink.events();
        assert_eq!(events.len(), 9);
        for (e, item) in events.iter().zip(report.log_items()) {
            assert_eq!(e, &ExamEvent::SelfAnswered { item });
        }
        assert_eq!(
            events[8],
            ExamEvent::ScreeningAnswered {
                answers: report.answers.clone()
            }
        );
        assert_eq!(
            report.log_items().iter().filter(|i| i.needs_review).count(),
            5
        );

        // Going back and changing an answer records the new answers; unchanged
        // answers are not recorded twice.
        c.previous();
        assert_eq!(c.step(), Step::Questionnaire);
        assert_eq!(c.current_answer(), Some(Answer::Yes));
        answer(&mut c, Answer::Yes);
        assert_eq!(sink.events().len(), 9);
        c.previous();
        answer(&mut c, Answer::No);
        assert_eq!(sink.events().len(), 11);
        assert_eq!(
            sink.events()[9],
            ExamEvent::SelfAnswered {
                item: Question::CaffeineToday.log_item(Answer::No)
            }
        );
        // Unknown MR status is a hard stop in the clinical core until the nurse
        // records the device.
        let clearance = crate::domain::screening::assess(
            None,
            &report.answers,
            &[],
            &Default::default(),
            &Default::default(),
        );
        assert_eq!(
            clearance.status,
            crate::domain::screening::ClearanceStatus::Blocked
        );
    }

    #[test]
    fn all_no_is_cleared_of_patient_findings_and_nothing_to_review() {
        let all = |a: Answer| Question::ALL.map(|q| (q, a));
        let report = SelfReport::from_items(&all(Answer::No));
        assert_eq!(report.answers, ScreeningAnswers::default());
        assert!(report.review.is_empty());
        let report = SelfReport::from_items(&all(Answer::NotSure));
        assert_eq!(report.review.len(), 8);
        assert_eq!(report.answers.implants.len(), 2);
    }

    #[test]
    fn navigation_forward_and_back() {
        let (mut c, _) = controller(BreathHoldPhase::EndExpiration);
        c.set_patient(Some("王小明"));
        c.confirm_identity(true);
        c.next();
        assert_eq!(c.question_index(), 0, "no skipping an unanswered question");
        c.choose(Answer::Yes);
        c.next();
        assert_eq!(
            c.question_index(),
            0,
            "a touched answer is not confirmed by Next"
        );
        c.previous();
        assert_eq!(c.step(), Step::Identity);
        c.confirm_identity(true);
        for _ in 0..8 {
            answer(&mut c, Answer::No);
        }
        c.next();
        assert_eq!(c.step(), Step::Electrodes);
        c.next();
        assert_eq!(c.step(), Step::BreathHold);
        c.previous();
        c.previous();
        c.previous();
        assert_eq!((c.step(), c.question_index()), (Step::Questionnaire, 7));
    }

    fn to_practice(c: &mut PatientController) {
        c.set_patient(Some("王小明"));
        c.confirm_identity(true);
        for _ in 0..8 {
            answer(c, Answer::No);
        }
        c.next();
        c.next();
        assert_eq!(c.step(), Step::BreathHold);
    }

    #[test]
    fn end_expiration_guides_in_then_out_then_times_the_hold() {
        let (mut c, sink) = controller(BreathHoldPhase::EndExpiration);
        to_practice(&mut c);
        assert_eq!(c.cue(at(0)), Cue::Ready);
        c.start_breath(at(1_000));
        assert_eq!(c.cue(at(1_000)), Cue::BreatheIn);
        assert_eq!(c.cue_seconds(at(1_000)), 4);
        assert_eq!(c.cue_seconds(at(4_500)), 1);
        assert_eq!(c.cue(at(5_000)), Cue::BreatheOut);
        assert_eq!(c.cue(at(9_000)), Cue::Hold);
        assert_eq!(c.cue_seconds(at(21_400)), 12);
        c.end_hold(at(21_400));
        assert_eq!(c.holds(), [12.4]);
        assert_eq!(c.cue(at(22_000)), Cue::Rest);
        // A second, longer hold.
        c.start_breath(at(30_000));
        c.end_hold(at(38_000 + 18_000));
        assert_eq!(c.holds(), [12.4, 18.0]);
        assert_eq!(c.best_hold_s(), Some(18.0));
        assert!(!c.suggests_free_breathing());
        c.finish_practice(at(60_000));
        assert_eq!(c.step(), Step::Result);
        assert_eq!(
            sink.events().last(),
            Some(&ExamEvent::BreathHoldPracticed {
                best_hold_s: 18.0,
                phase: BreathHoldPhase::EndExpiration,
                holds: 2
            })
        );
        // Finishing again without a new hold records nothing new.
        c.previous();
        c.finish_practice(at(70_000));
        assert_eq!(sink.events().len(), 10);
    }

    #[test]
    fn end_inspiration_guides_out_then_in() {
        let (mut c, _) = controller(BreathHoldPhase::EndInspiration);
        to_practice(&mut c);
        c.start_breath(at(0));
        assert_eq!(c.cue(at(100)), Cue::BreatheOut);
        assert_eq!(c.cue(at(4_100)), Cue::BreatheIn);
        assert_eq!(c.cue(at(8_000)), Cue::Hold);
    }

    #[test]
    fn short_holds_suggest_free_breathing_and_cancel_does_not_count() {
        let (mut c, sink) = controller(BreathHoldPhase::EndExpiration);
        to_practice(&mut c);
        c.start_breath(at(0));
        c.end_hold(at(3_000)); // still breathing in: cancelled, not a hold
        assert!(c.holds().is_empty());
        assert_eq!(c.cue(at(3_000)), Cue::Ready);
        c.start_breath(at(10_000));
        c.end_hold(at(18_000 + 9_000));
        assert!(c.suggests_free_breathing());
        c.finish_practice(at(30_000));
        assert!(matches!(
            sink.events().last(),
            Some(ExamEvent::BreathHoldPracticed { best_hold_s, holds: 1, .. }) if *best_hold_s == 9.0
        ));
    }

    #[test]
    fn a_hold_nobody_ends_stops_at_the_maximum_and_finish_without_hold_records_nothing() {
        let (mut c, sink) = controller(BreathHoldPhase::EndExpiration);
        to_practice(&mut c);
        c.finish_practice(at(0));
        assert_eq!(c.step(), Step::Result);
        assert!(
            sink.events()
                .iter()
                .all(|e| !matches!(e, ExamEvent::BreathHoldPracticed { .. }))
        );
        c.previous();
        c.start_breath(at(0));
        assert_eq!(c.cue(at(8_000 + MAX_HOLD_S * 1000 + 5_000)), Cue::Rest);
        assert_eq!(c.holds(), [MAX_HOLD_S as f64]);
    }

    #[test]
    fn a_man_is_not_asked_about_pregnancy() {
        let (mut c, sink) = controller(BreathHoldPhase::EndExpiration);
        c.set_patient(Some("Wang Ming"));
        c.set_exam(Some(Sex::Male), Some(ExamType::Contrast));
        c.confirm_identity(true);
        assert_eq!(c.asked().len(), 7);
        assert!(!c.asked().contains(&Question::Pregnancy));
        while c.step() == Step::Questionnaire {
            assert_ne!(c.question(), Question::Pregnancy);
            answer(&mut c, Answer::No);
        }
        let report = c.self_report().unwrap();
        assert_eq!(report.items.len(), 7);
        assert_eq!(sink.events().len(), 8);
        // A woman is asked.
        c.set_patient(Some("Li Hua"));
        c.set_exam(Some(Sex::Female), None);
        assert_eq!(c.asked(), Question::ALL);
    }

    #[test]
    fn a_stress_exam_explains_the_drug_and_a_rest_exam_does_not() {
        for (t, shown) in [
            (ExamType::AdenosineStress, true),
            (ExamType::RegadenosonStress, true),
            (ExamType::Contrast, false),
            (ExamType::Routine, false),
        ] {
            let (mut c, _) = controller(BreathHoldPhase::EndExpiration);
            c.set_patient(Some("Wang Ming"));
            c.set_exam(Some(Sex::Male), Some(t));
            c.confirm_identity(true);
            for _ in 0..7 {
                answer(&mut c, Answer::No);
            }
            assert_eq!(c.step(), Step::Instructions);
            c.next();
            assert_eq!(c.step() == Step::StressDrug, shown, "{t:?}");
            c.previous();
            assert_eq!(c.step(), Step::Instructions);
        }
    }
}
