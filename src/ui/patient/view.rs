//! The adapter between [`crate::ui::patient::model::PatientController`] and the patient views
//! (`ui/views/patient_*.slint`, through the `PatientAdapter` global).
//!
//! Every callback reads the clock once, hands `now` to the controller and pushes the
//! controller's state back into the UI. The clock is injected: the kiosk uses the
//! monotonic clock and a `slint::Timer` calling [`PatientPanel::tick`]; tests use a
//! simulated clock and call `tick` themselves.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use crate::domain::breathing::BreathHoldPhase;
use crate::domain::screening::Sex;
use crate::domain::time::Instant;
use crate::domain::{ExamType, StressDrug};
use crate::ui::components::{
    AppWindow, BreathCue, PatientAdapter, PatientAnswer, PatientStep, Pictogram, Screen,
};
use crate::ui::patient::model::{Answer, Cue, ExamSink, PatientController, Question, Step};

/// A source of monotonic time on the patient controller's timeline.
pub type Clock = Rc<dyn Fn() -> Instant>;

/// The monotonic clock of this process, from the moment it is created.
pub fn monotonic_clock() -> Clock {
    let origin = std::time::Instant::now();
    Rc::new(move || Instant::from_millis(origin.elapsed().as_millis() as u64))
}

struct Inner {
    app: slint::Weak<AppWindow>,
    controller: RefCell<PatientController>,
    clock: RefCell<Clock>,
}

/// Patient mode as wired into one window.
#[derive(Clone)]
pub struct PatientPanel {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for PatientPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientPanel")
            .field("controller", &self.inner.controller.borrow())
            .finish()
    }
}

fn from_ui(answer: PatientAnswer) -> Option<Answer> {
    match answer {
        PatientAnswer::Yes => Some(Answer::Yes),
        PatientAnswer::No => Some(Answer::No),
        PatientAnswer::NotSure => Some(Answer::NotSure),
        PatientAnswer::None => None,
    }
}

fn to_ui(answer: Option<Answer>) -> PatientAnswer {
    match answer {
        None => PatientAnswer::None,
        Some(Answer::Yes) => PatientAnswer::Yes,
        Some(Answer::No) => PatientAnswer::No,
        Some(Answer::NotSure) => PatientAnswer::NotSure,
    }
}

/// The picture of a question and the Fluent key of its description.
pub fn picture(q: Question) -> (Pictogram, &'static str) {
    match q {
        Question::Implants => (Pictogram::Implant, "patient-picture-implant"),
        Question::MetalFragments => (Pictogram::Metal, "patient-picture-metal"),
        Question::Pregnancy => (Pictogram::Pregnancy, "patient-picture-pregnancy"),
        Question::Claustrophobia => (Pictogram::Claustrophobia, "patient-picture-claustrophobia"),
        Question::ContrastAllergy => (Pictogram::Allergy, "patient-picture-allergy"),
        Question::KidneyDisease => (Pictogram::Kidney, "patient-picture-kidney"),
        Question::Asthma => (Pictogram::Asthma, "patient-picture-asthma"),
        Question::CaffeineToday => (Pictogram::Caffeine, "patient-picture-caffeine"),
    }
}

fn seconds_text(s: f64) -> String {
    format!("{}", s.floor() as u64)
}

impl PatientPanel {
    /// Wires `controller` to the patient views of `app`, reading time from `clock`.
    pub fn install(app: &AppWindow, controller: PatientController, clock: Clock) -> PatientPanel {
        let panel = PatientPanel {
            inner: Rc::new(Inner {
                app: app.as_weak(),
                controller: RefCell::new(controller),
                clock: RefCell::new(clock),
            }),
        };
        let a = app.global::<PatientAdapter>();
        let p = panel.clone();
        a.on_confirm_identity(move |yes| p.update(|c, _| c.confirm_identity(yes)));
        let p = panel.clone();
        a.on_choose(move |answer| {
            if let Some(answer) = from_ui(answer) {
                p.update(|c, _| c.choose(answer));
            }
        });
        let p = panel.clone();
        a.on_confirm(move || p.update(|c, _| c.confirm()));
        let p = panel.clone();
        a.on_previous(move || p.update(|c, _| c.previous()));
        let p = panel.clone();
        a.on_next(move || p.update(|c, _| c.next()));
        let p = panel.clone();
        a.on_start_breath(move || p.update(PatientController::start_breath));
        let p = panel.clone();
        a.on_end_hold(move || p.update(PatientController::end_hold));
        let p = panel.clone();
        a.on_finish_practice(move || p.update(PatientController::finish_practice));
        let p = panel.clone();
        a.on_leave(move || {
            if let Some(app) = p.inner.app.upgrade() {
                app.set_screen(Screen::Home);
            }
        });
        panel.refresh();
        panel
    }

    /// Replaces the clock (tests: a simulated one).
    pub fn set_clock(&self, clock: Clock) {
        *self.inner.clock.borrow_mut() = clock;
        self.refresh();
    }

    /// Sends the controller's events to `sink` (the kiosk: the durable exam log).
    pub fn set_sink(&self, sink: Rc<dyn ExamSink>) {
        self.inner.controller.borrow_mut().set_sink(sink);
    }

    /// The registered patient's name, if any.
    pub fn name(&self) -> Option<String> {
        self.with(|c, _| c.patient_name().map(str::to_string))
    }

    /// Starts over for the registered exam's patient (`None`: no exam registered).
    pub fn set_patient(&self, name: Option<&str>) {
        self.update(|c, _| c.set_patient(name));
    }

    /// [`PatientPanel::set_patient`] with the registered date of birth, confirmed with
    /// the name on the identity screen.
    pub fn set_patient_identity(&self, name: Option<&str>, birth: Option<chrono::NaiveDate>) {
        self.update(|c, _| c.set_patient_identity(name, birth));
    }

    /// What the registration says about the exam: the patient's sex (pregnancy is not
    /// asked of a man) and the exam type (a stress exam explains its drug).
    pub fn set_exam(&self, sex: Option<Sex>, exam_type: Option<ExamType>) {
        self.update(|c, _| c.set_exam(sex, exam_type));
    }

    /// Runs `f` on the controller (read it, or drive it in tests and demos) and
    /// shows the result.
    pub fn with<R>(&self, f: impl FnOnce(&mut PatientController, Instant) -> R) -> R {
        let now = (self.inner.clock.borrow())();
        let r = f(&mut self.inner.controller.borrow_mut(), now);
        self.refresh();
        r
    }

    fn update(&self, f: impl FnOnce(&mut PatientController, Instant)) {
        self.with(f);
    }

    /// Advances the breath-hold cues to the clock's time (call every ~200 ms).
    pub fn tick(&self) {
        self.refresh();
    }

    /// A timer that calls [`PatientPanel::tick`] five times a second; keep it alive.
    pub fn start_timer(&self) -> slint::Timer {
        let timer = slint::Timer::default();
        let p = self.clone();
        timer.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_millis(200),
            move || p.tick(),
        );
        timer
    }

    /// Pushes the controller's state into the UI.
    pub fn refresh(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let now = (self.inner.clock.borrow())();
        let mut c = self.inner.controller.borrow_mut();
        let a = app.global::<PatientAdapter>();
        a.set_step(match c.step() {
            Step::NoExam => PatientStep::NoExam,
            Step::Identity => PatientStep::Identity,
            Step::NotMe => PatientStep::NotMe,
            Step::Questionnaire => PatientStep::Questionnaire,
            Step::Instructions => PatientStep::Instructions,
            Step::StressDrug => PatientStep::StressDrug,
            Step::Electrodes => PatientStep::Electrodes,
            Step::BreathHold => PatientStep::BreathHold,
            Step::Result => PatientStep::Result,
        });
        let (name, birth) = c.identity();
        a.set_identity_name(name.into());
        a.set_identity_birth(birth.into());
        let q = c.question();
        a.set_question_key(q.key().into());
        a.set_question_hint_key(q.hint_key().into());
        let (picture, picture_key) = picture(q);
        a.set_question_picture(picture);
        a.set_question_picture_key(picture_key.into());
        a.set_progress(format!("{} / {}", c.question_index() + 1, c.asked().len()).into());
        a.set_current_answer(to_ui(c.current_answer()));
        a.set_chosen_answer(to_ui(c.chosen_answer()));
        a.set_adenosine(
            c.exam_type().and_then(ExamType::stress_drug) != Some(StressDrug::Regadenoson),
        );
        a.set_hold_target(c.target_hold_s().to_string().into());
        a.set_end_expiration(c.settings().phase == BreathHoldPhase::EndExpiration);
        let cue = c.cue(now);
        a.set_cue(match cue {
            Cue::Ready => BreathCue::Ready,
            Cue::BreatheIn => BreathCue::BreatheIn,
            Cue::BreatheOut => BreathCue::BreatheOut,
            Cue::Hold => BreathCue::Hold,
            Cue::Rest => BreathCue::Rest,
        });
        a.set_cue_seconds(c.cue_seconds(now).to_string().into());
        a.set_holds(c.holds().len() as i32);
        a.set_last_hold(c.last_hold_s().map(seconds_text).unwrap_or_default().into());
        a.set_best_hold(c.best_hold_s().map(seconds_text).unwrap_or_default().into());
        a.set_free_breathing(c.suggests_free_breathing());
    }
}
