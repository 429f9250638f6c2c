//! The technologist console's controller: drains the running exam's decisions into
//! the [`AlarmBoard`], turns [`console_state`] into the `ConsoleAdapter` properties
//! (worded through Fluent), and turns the console's buttons into logged exam events.

use std::cell::RefCell;
use std::rc::Rc;

use fluent::FluentArgs;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::alarms::{AlarmBoard, Prompt, presentation};
use crate::console::{ConsoleState, console_state};
use crate::domain::ExamEvent;
use crate::domain::output::AlarmPriority;
use crate::domain::protocol::ProtocolStep;
use crate::domain::stress::{StressDose, StressDrug};
use crate::domain::time::Instant;
use crate::i18n::LanguageState;
use crate::recorder::Recorder;
use crate::report::{key_for, number};
use crate::session::ExamSession;
use crate::ui::{AlarmRow, AppWindow, ConsoleAdapter};

/// Who the console logs actions as until staff sign-in is on the console.
pub const CONSOLE_ACTOR: &str = "technologist";

/// The standard injections offered on the console as one touch each: dose in
/// mmol/kg, rate 4 mL/s and a 25 mL flush (inside 3.1.3.2's 3–7 mL/s and 20–30 mL).
pub const INJECTIONS: [(crate::domain::contrast::Purpose, f64); 4] = [
    (crate::domain::contrast::Purpose::StressPerfusion, 0.05),
    (crate::domain::contrast::Purpose::RestPerfusion, 0.05),
    (crate::domain::contrast::Purpose::Single, 0.1),
    (crate::domain::contrast::Purpose::TopUp, 0.05),
];
/// Injection rate of the console's standard injections (mL/s).
pub const INJECTION_RATE_ML_S: f64 = 4.0;
/// Saline flush of the console's standard injections (mL).
pub const INJECTION_FLUSH_ML: f64 = 25.0;

/// The console's controller state.
#[derive(Debug, Default)]
pub struct ConsoleUi {
    board: AlarmBoard,
    /// The latest warning or refusal: (Fluent key, refused?).
    notice: Option<(String, bool)>,
    weight_kg: Option<f64>,
    mmol_per_ml: Option<f64>,
}

fn prompt_key(p: Prompt) -> &'static str {
    match p {
        Prompt::ImageNow => "prompt-image_now",
        Prompt::StopInfusion => "prompt-stop_infusion",
        Prompt::RestPerfusionReady => "prompt-rest_perfusion_ready",
        Prompt::LgeWindowOpen => "prompt-lge_window_open",
        Prompt::Escalate => "prompt-escalate",
        Prompt::TiRecheck => "prompt-ti_recheck",
        Prompt::ObservePatient => "prompt-observe_patient",
    }
}

/// Whether an alarm of `priority` is in its lit phase at monotonic `t_ms`.
pub fn lit(priority: AlarmPriority, t_ms: u64) -> bool {
    let hz = presentation(priority).flash_hz;
    if hz <= 0.0 {
        return true;
    }
    let period_ms = (1000.0 / hz) as u64;
    t_ms % period_ms < period_ms / 2
}

impl ConsoleUi {
    /// The alarm board (for tests and the lock screen).
    pub fn board(&self) -> &AlarmBoard {
        &self.board
    }

    /// Fires due deadlines, collects the decisions and redraws the console for exam time
    /// `now` labelled with `wall_now`.
    pub fn refresh(
        &mut self,
        app: &AppWindow,
        lang: &LanguageState,
        session: Option<&mut ExamSession>,
        now: Instant,
        wall_now: chrono::NaiveDateTime,
    ) {
        let a = app.global::<ConsoleAdapter>();
        let Some(session) = session else {
            a.set_exam_open(false);
            return;
        };
        a.set_exam_open(true);
        let exam = session.exam_mut();
        exam.handle_timeout(now);
        while let Some(out) = exam.poll() {
            match &out.decision {
                crate::domain::Decision::Warning { code } => {
                    self.notice = Some((key_for("warning", code), false))
                }
                crate::domain::Decision::Rejected { code } => {
                    self.notice = Some((key_for("rejected", code), true))
                }
                _ => {}
            }
            self.board.on_output(&out);
        }
        let state = console_state(session.exam(), now, wall_now);
        self.weight_kg = session.exam().patient().map(|p| p.weight_kg);
        self.mmol_per_ml = session.exam().agent().and_then(|a| {
            session
                .exam()
                .settings()
                .agents
                .get(a)
                .map(|i| i.mmol_per_ml)
        });
        self.resolve_prompts(session.exam(), &state);
        self.show(&a, lang, &state, now);
    }

    /// Prompts whose step has been done leave the console by themselves.
    fn resolve_prompts(&mut self, exam: &crate::domain::Exam, state: &ConsoleState) {
        use crate::domain::contrast::Purpose;
        let stress = state.stress.as_ref();
        if stress.is_some_and(|s| !s.image_now) {
            self.board.dismiss(Prompt::ImageNow);
        }
        if stress.is_some_and(|s| !s.infusing) {
            self.board.dismiss(Prompt::StopInfusion);
        }
        if exam
            .ledger()
            .and_then(|l| l.last_with(Purpose::RestPerfusion))
            .is_some()
        {
            self.board.dismiss(Prompt::RestPerfusionReady);
        }
        if exam
            .acquired()
            .iter()
            .any(|(_, step)| *step == ProtocolStep::Lge)
        {
            self.board.dismiss(Prompt::LgeWindowOpen);
        }
    }

    fn show(&self, a: &ConsoleAdapter<'_>, lang: &LanguageState, s: &ConsoleState, now: Instant) {
        let tr = |key: &str| lang.tr(key);
        let tra = |key: &str, args: &[(&str, String)]| {
            let mut f = FluentArgs::new();
            for (k, v) in args {
                f.set(*k, v.clone());
            }
            lang.localizer().tr_args(lang.current(), key, &f)
        };
        let dash = || tr("vitals-missing");
        match &s.stress {
            None => {
                a.set_stress_active(false);
                a.set_infusing(false);
                a.set_stress_title(tr("console-stress-title-none").into());
                a.set_recovery(SharedString::new());
            }
            Some(p) => {
                a.set_stress_active(true);
                a.set_stress_title(
                    tra(
                        "console-stress-title",
                        &[("drug", tr(&key_for("drug", &p.drug)))],
                    )
                    .into(),
                );
                a.set_stress_dose(
                    match p.dose {
                        StressDose::UgKgMin(d) => tra(
                            "console-dose",
                            &[
                                ("dose", number(d, 0)),
                                (
                                    "rate",
                                    p.rate_ml_h.map(|r| number(r, 1)).unwrap_or_else(dash),
                                ),
                            ],
                        ),
                        StressDose::Mg(mg) => tra("console-dose-bolus", &[("mg", number(mg, 1))]),
                    }
                    .into(),
                );
                let opt = |v: Option<f64>| v.map(|x| number(x, 0)).unwrap_or_else(dash);
                a.set_baseline(
                    tra(
                        "console-baseline",
                        &[("hr", opt(p.baseline_hr)), ("sbp", opt(p.baseline_sbp))],
                    )
                    .into(),
                );
                a.set_elapsed(
                    tra(
                        "console-elapsed",
                        &[("time", crate::console::mm_ss(p.elapsed_s))],
                    )
                    .into(),
                );
                a.set_hr_progress(p.hr_rise.map_or(0.0, |r| (r / p.hr_target) as f32));
                a.set_hr_progress_text(
                    tra(
                        "console-hr-progress",
                        &[
                            ("rise", opt(p.hr_rise.map(|r| r.max(0.0)))),
                            ("target", number(p.hr_target, 0)),
                        ],
                    )
                    .into(),
                );
                a.set_sbp_progress(p.sbp_drop.map_or(0.0, |d| (d / p.sbp_target) as f32));
                a.set_sbp_progress_text(
                    tra(
                        "console-sbp-progress",
                        &[
                            ("drop", opt(p.sbp_drop.map(|d| d.max(0.0)))),
                            ("target", number(p.sbp_target, 0)),
                        ],
                    )
                    .into(),
                );
                match &p.max_time {
                    Some(c) => {
                        let total = 240.0_f32;
                        a.set_time_progress(1.0 - c.remaining_s as f32 / total);
                        a.set_time_left(
                            tra(
                                "console-time-left",
                                &[("left", c.mm_ss()), ("clock", c.clock())],
                            )
                            .into(),
                        );
                    }
                    None => {
                        a.set_time_progress((p.elapsed_s as f32 / 240.0).min(1.0));
                        a.set_time_left(
                            tr(if p.elapsed_s >= 240 {
                                "console-time-done"
                            } else {
                                "console-criteria-met"
                            })
                            .into(),
                        );
                    }
                }
                a.set_infusing(p.infusing);
                a.set_image_now(p.image_now);
                a.set_stop_now(p.stop_now);
                a.set_recovery(
                    match &p.recovery {
                        Some(c) if c.remaining_s > 0 => tra(
                            "console-recovery",
                            &[("left", c.mm_ss()), ("clock", c.clock())],
                        ),
                        Some(_) => tr("console-recovery-ready"),
                        None => String::new(),
                    }
                    .into(),
                );
            }
        }
        match &s.lge {
            None => {
                a.set_lge(tr("console-lge-none").into());
                a.set_lge_open(false);
            }
            Some(l) => {
                let text = if l.opens.remaining_s > 0 {
                    tra(
                        "console-lge-waiting",
                        &[
                            ("left", l.opens.mm_ss()),
                            ("open", l.opens.clock()),
                            ("close", l.closes.clock()),
                        ],
                    )
                } else if l.closes.remaining_s > 0 {
                    tra(
                        "console-lge-open",
                        &[("left", l.closes.mm_ss()), ("close", l.closes.clock())],
                    )
                } else {
                    tra("console-lge-closed", &[("close", l.closes.clock())])
                };
                a.set_lge(text.into());
                a.set_lge_open(l.open);
            }
        }
        match &s.contrast {
            Some(c) if c.injections > 0 => {
                a.set_contrast(
                    tra(
                        "console-contrast",
                        &[
                            ("n", c.injections.to_string()),
                            ("ml", number(c.cumulative_ml, 1)),
                            ("mmolkg", number(c.cumulative_mmol_kg, 3)),
                        ],
                    )
                    .into(),
                );
                a.set_contrast_fraction(c.of_ceiling as f32);
            }
            _ => {
                a.set_contrast(tr("console-contrast-none").into());
                a.set_contrast_fraction(0.0);
            }
        }
        let (notice, refused) = match &self.notice {
            Some((key, refused)) => (tr(key), *refused),
            None => (String::new(), false),
        };
        a.set_notice(notice.into());
        a.set_notice_refused(refused);
        let labels: Vec<SharedString> = INJECTIONS
            .iter()
            .map(|(purpose, dose)| {
                let ml = match (self.weight_kg, self.mmol_per_ml) {
                    (Some(w), Some(c)) => {
                        number(crate::domain::contrast::dose_to_volume_ml(*dose, w, c), 1)
                    }
                    _ => dash(),
                };
                tra(
                    "console-inject",
                    &[
                        ("purpose", tr(&key_for("purpose", purpose))),
                        ("dose", number(*dose, 3)),
                        ("ml", ml),
                    ],
                )
                .into()
            })
            .collect();
        a.set_injections(ModelRc::new(VecModel::from(labels)));
        a.set_injection_how(
            tra(
                "console-inject-how",
                &[
                    ("rate", number(INJECTION_RATE_ML_S, 1)),
                    ("flush", number(INJECTION_FLUSH_ML, 0)),
                ],
            )
            .into(),
        );
        let rows: Vec<AlarmRow> = self
            .board
            .alarms()
            .iter()
            .map(|al| AlarmRow {
                text: tr(&key_for("alarm", &al.code)).into(),
                marker: presentation(al.priority).marker.into(),
                priority: match al.priority {
                    AlarmPriority::High => 3,
                    AlarmPriority::Medium => 2,
                    AlarmPriority::Low => 1,
                },
                lit: lit(al.priority, now.as_millis()),
            })
            .collect();
        a.set_alarms(ModelRc::new(VecModel::from(rows)));
        let prompts: Vec<SharedString> = self
            .board
            .prompts()
            .map(|p| tr(prompt_key(p)).into())
            .collect();
        a.set_prompts(ModelRc::new(VecModel::from(prompts)));
        a.set_audio_paused(
            self.board
                .audio_paused_until(now)
                .map(|until| {
                    tra(
                        "console-audio-paused",
                        &[(
                            "left",
                            crate::console::mm_ss((until - now).as_millis().div_ceil(1000)),
                        )],
                    )
                })
                .unwrap_or_default()
                .into(),
        );
    }
}

/// Wires the console's buttons to the running exam. Every action is an exam event,
/// handled by the domain and logged through the recorder; acknowledgements are logged.
pub fn install_callbacks(
    app: &AppWindow,
    console: Rc<RefCell<ConsoleUi>>,
    session: Rc<RefCell<Option<ExamSession>>>,
    recorder: Option<Rc<Recorder>>,
) {
    let a = app.global::<ConsoleAdapter>();
    let act = {
        let (session, recorder) = (session.clone(), recorder.clone());
        move |event: ExamEvent| {
            let Some(rec) = recorder.as_ref() else { return };
            let mut open = session.borrow_mut();
            let Some(s) = open.as_mut() else { return };
            if let Err(e) = s.handle(event, CONSOLE_ACTOR, rec) {
                tracing::error!("console action refused: {e}");
            }
        }
    };
    let act = Rc::new(act);
    let f = act.clone();
    a.on_start_adenosine(move || {
        f(ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
        })
    });
    let f = act.clone();
    a.on_stop_infusion(move || f(ExamEvent::StressStopped));
    let f = act.clone();
    a.on_stress_acquired(move || {
        f(ExamEvent::SeriesAcquired {
            step: ProtocolStep::StressPerfusion,
            params: None,
            acquisition: None,
        })
    });
    let (c, f) = (console.clone(), act.clone());
    a.on_acknowledge_alarm(move |i| {
        let code = c.borrow().board.alarms().get(i as usize).map(|al| al.code);
        if let Some(code) = code {
            c.borrow_mut().board.acknowledge(code);
            f(ExamEvent::AlarmAcknowledged {
                code,
                by: CONSOLE_ACTOR.to_string(),
            });
        }
    });
    let c = console.clone();
    a.on_dismiss_prompt(move |i| {
        let p = c.borrow().board.prompts().nth(i as usize);
        if let Some(p) = p {
            c.borrow_mut().board.dismiss(p);
        }
    });
    let f = act.clone();
    a.on_inject(move |i| {
        if let Some((purpose, dose)) = INJECTIONS.get(i as usize) {
            f(ExamEvent::Injected(
                crate::domain::contrast::InjectionRequest {
                    amount: crate::domain::contrast::Amount::DoseMmolKg(*dose),
                    rate_ml_s: INJECTION_RATE_ML_S,
                    flush_ml: INJECTION_FLUSH_ML,
                    purpose: *purpose,
                    method: crate::domain::contrast::InjectionMethod::PowerInjector,
                },
            ));
        }
    });
    let c = console;
    a.on_pause_audio(move || {
        let now = session.borrow().as_ref().map(|s| s.now());
        if let Some(now) = now {
            c.borrow_mut().board.pause_audio(now);
        }
    });
}

/// Console states for screenshots: (name, description).
pub const PREVIEWS: [&str; 4] = ["stress", "alarm", "recovery", "lge"];

/// A worked exam in one of the [`PREVIEWS`] states, and the exam time to show it at:
/// 70 kg patient, gadobutrol, adenosine 140 µg/kg/min started at 30 s.
pub fn preview_exam(name: &str) -> Option<(crate::domain::Exam, Instant)> {
    use crate::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest, Purpose};
    use crate::domain::screening::{Patient, Sex};
    use crate::domain::stress::Vitals;
    use crate::domain::{Exam, ProtocolSettings};
    if !PREVIEWS.contains(&name) {
        return None;
    }
    let mut exam = Exam::new(ProtocolSettings::default());
    let mut at = |secs: u64, ev: ExamEvent| {
        let _ = exam.handle(ev, Instant::from_secs(secs));
    };
    let vitals = |hr: f64, sbp: Option<f64>| ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(hr),
            sbp,
            dbp: sbp.map(|_| 76.0),
            spo2: Some(98.0),
            ..Default::default()
        },
    };
    let inject = |purpose| {
        ExamEvent::Injected(InjectionRequest {
            amount: Amount::DoseMmolKg(0.05),
            rate_ml_s: 4.0,
            flush_ml: 25.0,
            purpose,
            method: InjectionMethod::PowerInjector,
        })
    };
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: Some(172.0),
        sex: Sex::Male,
        age_years: 61,
        egfr: Some(82.0),
        egfr_date: None,
    };
    at(0, ExamEvent::PatientRegistered { patient });
    at(
        0,
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    );
    at(10, vitals(64.0, Some(126.0)));
    at(
        30,
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: Some(StressDose::UgKgMin(140.0)),
        },
    );
    at(90, vitals(69.0, Some(121.0)));
    if name == "stress" {
        return Some((exam, Instant::from_secs(100)));
    }
    if name == "alarm" {
        at(120, vitals(82.0, Some(84.0)));
        return Some((exam, Instant::from_secs(121)));
    }
    at(150, vitals(75.0, None));
    at(160, inject(Purpose::StressPerfusion));
    at(
        220,
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::StressPerfusion,
            params: None,
            acquisition: None,
        },
    );
    at(225, ExamEvent::StressStopped);
    if name == "recovery" {
        return Some((exam, Instant::from_secs(300)));
    }
    at(830, inject(Purpose::RestPerfusion));
    at(
        900,
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::RestPerfusion,
            params: None,
            acquisition: None,
        },
    );
    Some((exam, Instant::from_secs(1000)))
}
