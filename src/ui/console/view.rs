//! The technologist console's controller: drains the running exam's decisions into
//! the [`AlarmBoard`], turns [`console_state`] and the session's journal into the
//! `ConsoleAdapter` properties (worded through Fluent) — vitals strip, stress page with
//! the trend chart, contrast ledger and injection form, LGE, protocol checklist, event
//! log and technique preview — and turns the console's buttons into logged exam events
//! (prompt dismissals into audit rows).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use fluent::FluentArgs;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::config::Language;
use crate::domain::contrast::Purpose;
use crate::domain::coverage::CoverageGap;
use crate::domain::output::AlarmPriority;
use crate::domain::output::{Lift, RejectCode};
use crate::domain::protocol::ProtocolStep;
use crate::domain::stress::{StopCriterion, StressDose, StressDrug};
use crate::domain::time::Instant;
use crate::domain::{ExamEvent, Outcome};
use crate::engine::alarm_board::{AlarmBoard, Prompt, presentation};
use crate::engine::session::ExamSession;
use crate::engine::{Command, Engine, EngineState};
use crate::i18n::LanguageState;
use crate::monitor::feed::VitalsBoard;
use crate::report::{key_for, mmol, mmol_per_kg, mmol_per_kg_against, number, technique_lines};
use crate::ui::components::{
    AlarmLevel, AlarmRow, AppWindow, ChartGrid, ChartMarker, ChartTick, CheckRow, ConsoleAdapter,
    ConsoleLine, ConsoleTab, FieldRow, InjectionRow, MonitorState, Screen,
};
use crate::ui::console::digest::JournalDigest;
use crate::ui::console::model::{
    ConsoleState, InjectionForm, acquired_series, checklist_for, console_state,
};
use crate::ui::input::model::{NumberEntry, NumberSpec};
use crate::ui::input::view::InputPanels;
use crate::ui::staff::view::{CountersignDraft, StaffPanel};

/// Who the console logs actions as until staff sign-in is on the console.
pub const CONSOLE_ACTOR: &str = "technologist";

/// Who is acting on the console now (the signed-in user's name in the kiosk).
pub type Actor = Rc<dyn Fn() -> String>;

/// The purposes offered on the injection form, in the order shown.
pub const PURPOSES: [Purpose; 4] = [
    Purpose::StressPerfusion,
    Purpose::RestPerfusion,
    Purpose::Single,
    Purpose::TopUp,
];

/// The stop criteria and adverse reactions offered by touch, in the order shown.
pub const CRITERIA: [StopCriterion; 7] = [
    StopCriterion::AvBlock,
    StopCriterion::Wheeze,
    StopCriterion::ChestPain,
    StopCriterion::StDepression,
    StopCriterion::PoorPerfusion,
    StopCriterion::PatientRequest,
    StopCriterion::Other,
];

/// Points per series on the trend chart (about one per 2 px of its width).
pub const CHART_COLUMNS: usize = 240;

/// Keypad ranges of the injection form's fields (plausible entries; the ledger warns
/// outside the standard's 3–7 mL/s and 20–30 mL, and refuses a top-up above 0.05).
pub fn field_spec(field: Field) -> NumberSpec {
    match field {
        Field::Dose => NumberSpec::range(
            (0.005, 0.3, 3),
            "console-unit-mmolkg",
            "console-keypad-dose",
        ),
        Field::Volume => {
            NumberSpec::range((0.5, 60.0, 1), "console-unit-ml", "console-keypad-volume")
        }
        Field::Rate => NumberSpec::range((0.5, 10.0, 1), "console-unit-mls", "console-keypad-rate"),
        Field::Flush => {
            NumberSpec::range((0.0, 60.0, 0), "console-unit-ml", "console-keypad-flush")
        }
    }
}

/// A number field of the injection form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Dose (mmol/kg).
    Dose,
    /// Volume (mL).
    Volume,
    /// Rate (mL/s).
    Rate,
    /// Flush (mL).
    Flush,
}

/// The console's controller state.
#[derive(Debug, Default)]
pub struct ConsoleUi {
    board: AlarmBoard,
    /// The latest warning or refusal: (Fluent key, refused?).
    notice: Option<(String, bool)>,
    weight_kg: Option<f64>,
    mmol_per_ml: Option<f64>,
    /// The live monitor board (status of the feed); `None` shows the exam's latest
    /// readings (screenshots of worked states).
    vitals: Option<Arc<Mutex<VitalsBoard>>>,
    simulated: bool,
    form: InjectionForm,
    /// The checklist's steps as shown (a touch on row i ticks `steps[i]`).
    checklist_steps: Vec<ProtocolStep>,
    /// The injections as listed (a touch on "void" in row i voids the injection given
    /// at `injection_times[i]`; `None` for a voided row).
    injection_times: Vec<Option<Instant>>,
    /// What the log and technique pages were last built from.
    pages_built: Option<(crate::store::ExamId, usize, Language, ConsoleTab, u64)>,
    /// The step the kiosk last refused on a limit the console can lift, with the
    /// authority gathered for it so far (that step only).
    refusal: Option<Refusal>,
    /// The physician's countersign being entered for the refused step.
    countersign: Option<CountersignDraft>,
    /// The dose-changing step on the confirm panel, waiting for its confirmation.
    confirm: Option<Pending>,
    /// The journal as read so far (only new rows are read at each redraw).
    digest: JournalDigest,
    /// The report of the exam just finished, shown until closed (issue 15).
    report: Option<ShownReport>,
    /// What producing and printing a report needs.
    report_setup: ReportSetup,
}

/// What the console needs to produce and print an exam's report (issue 15).
#[derive(Debug, Clone, Default)]
pub struct ReportSetup {
    /// The hospital named in the title.
    pub site: crate::report::sections::ReportSite,
    /// Where "Print" sends the PDF.
    pub print: crate::report::print::PrintConfig,
    /// The configuration the finished exam's report is sent under (the RIS outbox,
    /// the PACS); `None`: nothing is sent (screenshots, tests of the panel).
    pub deliver: Option<Arc<crate::config::Config>>,
}

/// The report panel after finishing: the exam's record read back from the log (while
/// it is being read: `None`), the language its lines were last worded in, and what
/// the last step said.
#[derive(Debug, Clone, Default)]
pub struct ShownReport {
    /// The exam.
    pub exam: Option<crate::store::ExamId>,
    /// The record, once read.
    pub record: Option<Arc<crate::report::record::ExamRecord>>,
    /// The language the panel's lines are in (`None`: to be worded).
    worded: Option<Language>,
    /// The status line: a Fluent key and its arguments.
    status: Option<(&'static str, Vec<(&'static str, String)>)>,
    /// A PDF is being produced or printed.
    printing: bool,
}

/// A dose-changing step (start stress, escalate, inject) shown on the confirm panel
/// before it is sent (issue 17): what it will record, frozen when the panel opened.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The step as it will be sent.
    pub event: ExamEvent,
    /// Fluent key of the panel's title.
    pub title: &'static str,
    /// Fluent key of the confirm button.
    pub action: &'static str,
    /// (Fluent key of the label, value) per row.
    pub rows: Vec<(&'static str, RowValue)>,
}

/// How long the confirm panel's confirm button stays unarmed after the panel opens:
/// longer than the two touches of a double tap (about 0.2–0.5 s apart), short enough
/// not to slow a deliberate confirmation.
pub const CONFIRM_ARM_DELAY: std::time::Duration = std::time::Duration::from_millis(600);

/// Draws the confirm panel of `pending` (closed for `None`) in the language shown.
fn draw_confirm(a: &ConsoleAdapter<'_>, lang: &LanguageState, pending: Option<&Pending>) {
    let Some(p) = pending else {
        a.set_confirm_open(false);
        return;
    };
    a.set_confirm_open(true);
    a.set_confirm_title(lang.tr(p.title).into());
    a.set_confirm_action(lang.tr(p.action).into());
    a.set_confirm_rows(model(
        p.rows
            .iter()
            .map(|(label, value)| FieldRow {
                label: lang.tr(label).into(),
                value: match value {
                    RowValue::Plain(s) => s.clone(),
                    RowValue::Key(k) => lang.tr(k),
                    RowValue::Agent(k, conc) => crate::ui::staff::view::tra(
                        lang,
                        "console-agent-option",
                        &[("agent", lang.tr(k)), ("conc", conc.clone())],
                    ),
                    RowValue::Open(o) => crate::report::sections::outstanding_text(
                        lang.localizer(),
                        lang.current(),
                        o,
                    ),
                }
                .into(),
                error: SharedString::new(),
            })
            .collect(),
    ));
}

/// The report's sections for the panel and the sheet: today's date and the kiosk's
/// local time for labels.
pub fn report_sections(
    loc: &crate::i18n::Localizer,
    lang: Language,
    setup: &ReportSetup,
    record: &crate::report::record::ExamRecord,
) -> crate::report::sections::ReportSections {
    use chrono::Offset as _;
    let now = chrono::Local::now();
    crate::report::sections::sections(
        loc,
        lang,
        &setup.site,
        record,
        now.date_naive(),
        now.offset().fix(),
    )
}

impl Pending {
    /// The end of the exam on the confirm panel: what is still open at `now`, one row
    /// each (or that nothing is).
    pub fn finish(exam: &crate::domain::Exam, now: Instant, by: String) -> Pending {
        let open = exam.outstanding(now);
        let rows = if open.is_empty() {
            vec![(
                "confirm-open-item",
                RowValue::Key("confirm-nothing-open".into()),
            )]
        } else {
            open.into_iter()
                .map(|o| ("confirm-open-item", RowValue::Open(o)))
                .collect()
        };
        Pending {
            event: ExamEvent::ExamFinished { by },
            title: "confirm-title-finish",
            action: "confirm-action-finish",
            rows,
        }
    }
}

/// Every Fluent key the confirm panel uses (the locale test checks them all).
pub const CONFIRM_KEYS: &[&str] = &[
    "confirm-title-finish",
    "confirm-action-finish",
    "confirm-open-item",
    "confirm-nothing-open",
    "confirm-title-adenosine",
    "confirm-title-regadenoson",
    "confirm-title-escalate",
    "confirm-title-injection",
    "confirm-action-start",
    "confirm-action-escalate",
    "confirm-action-inject",
    "confirm-weight",
    "confirm-dose",
    "confirm-concentration",
    "confirm-pump-rate",
    "confirm-image-by",
    "confirm-route",
    "confirm-regadenoson-route",
    "confirm-agent",
    "confirm-purpose",
    "confirm-volume",
    "confirm-rate",
    "confirm-total-after",
];

/// A value on the confirm panel, worded in the language shown.
#[derive(Debug, Clone, PartialEq)]
pub enum RowValue {
    /// Numbers with their units, the same in both languages.
    Plain(String),
    /// A Fluent key.
    Key(String),
    /// A contrast agent by its key, with its concentration (mmol/mL).
    Agent(String, String),
    /// Something still open when the exam is finished.
    Open(crate::domain::exam::Outstanding),
}

impl Pending {
    /// The confirm panel of `event` for `exam` at `now`: weight, dose, concentration and
    /// pump rate (stress) or agent, dose, volume, rate and the total after it
    /// (injection). `None` for a step that changes no dose.
    pub fn for_event(event: ExamEvent, exam: &crate::domain::Exam) -> Option<Pending> {
        let weight = exam.patient().map(|p| p.weight_kg);
        let kg = |w: Option<f64>| {
            w.map(|w| format!("{} kg", number(w, 1)))
                .unwrap_or_else(|| "--".into())
        };
        let protocol = exam.stress();
        let settings = protocol.settings();
        let conc = format!("{} mg/mL", number(settings.concentration_ug_ml / 1000.0, 1));
        let (title, action, rows) = match &event {
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose,
                ..
            } => {
                let d = match dose {
                    Some(StressDose::UgKgMin(d)) => *d,
                    _ => settings.adenosine_dose_ug_kg_min,
                };
                (
                    "confirm-title-adenosine",
                    "confirm-action-start",
                    vec![
                        ("confirm-weight", RowValue::Plain(kg(weight))),
                        (
                            "confirm-dose",
                            RowValue::Plain(format!("{} µg/kg/min", number(d, 0))),
                        ),
                        ("confirm-concentration", RowValue::Plain(conc)),
                        (
                            "confirm-pump-rate",
                            RowValue::Plain(format!("{} mL/h", number(protocol.rate_ml_h(d), 1))),
                        ),
                        (
                            "confirm-image-by",
                            RowValue::Plain(format!(
                                "{} min",
                                number(settings.max_time_to_imaging.as_secs_f64() / 60.0, 0)
                            )),
                        ),
                    ],
                )
            }
            ExamEvent::StressStarted {
                drug: StressDrug::Regadenoson,
                dose,
                ..
            } => {
                let mg = match dose {
                    Some(StressDose::Mg(mg)) => *mg,
                    _ => settings.regadenoson_dose_mg,
                };
                (
                    "confirm-title-regadenoson",
                    "confirm-action-start",
                    vec![
                        ("confirm-weight", RowValue::Plain(kg(weight))),
                        (
                            "confirm-dose",
                            RowValue::Plain(format!("{} mg", number(mg, 1))),
                        ),
                        (
                            "confirm-route",
                            RowValue::Key("confirm-regadenoson-route".into()),
                        ),
                        (
                            "confirm-image-by",
                            RowValue::Plain(format!(
                                "{} s",
                                number(settings.regadenoson_imaging_delay.as_secs_f64(), 0)
                            )),
                        ),
                    ],
                )
            }
            ExamEvent::StressEscalated { dose_ug_kg_min, .. } => {
                let now_dose = protocol.current().and_then(|r| match r.dose {
                    StressDose::UgKgMin(d) => Some(d),
                    StressDose::Mg(_) => None,
                });
                let to = dose_ug_kg_min.unwrap_or_else(|| {
                    settings
                        .escalation
                        .as_ref()
                        .map_or(settings.adenosine_max_ug_kg_min, |e| e.dose_ug_kg_min)
                });
                let from = now_dose.unwrap_or(settings.adenosine_dose_ug_kg_min);
                (
                    "confirm-title-escalate",
                    "confirm-action-escalate",
                    vec![
                        ("confirm-weight", RowValue::Plain(kg(weight))),
                        (
                            "confirm-dose",
                            RowValue::Plain(format!(
                                "{} → {} µg/kg/min",
                                number(from, 0),
                                number(to, 0)
                            )),
                        ),
                        ("confirm-concentration", RowValue::Plain(conc)),
                        (
                            "confirm-pump-rate",
                            RowValue::Plain(format!(
                                "{} → {} mL/h",
                                number(protocol.rate_ml_h(from), 1),
                                number(protocol.rate_ml_h(to), 1)
                            )),
                        ),
                    ],
                )
            }
            ExamEvent::Injected(req) => {
                let agent = exam.agent();
                let info = agent.and_then(|a| exam.settings().agents.get(a));
                let mmol_per_ml = info.map(|i| i.mmol_per_ml);
                let (ml, mmolkg) = match (req.amount, weight, mmol_per_ml) {
                    (crate::domain::contrast::Amount::DoseMmolKg(d), Some(w), Some(c)) => (
                        Some(crate::domain::contrast::dose_to_volume_ml(d, w, c)),
                        Some(d),
                    ),
                    (crate::domain::contrast::Amount::DoseMmolKg(d), _, _) => (None, Some(d)),
                    (crate::domain::contrast::Amount::VolumeMl(v), Some(w), Some(c)) => (
                        Some(v),
                        Some(crate::domain::contrast::volume_to_dose_mmol_kg(v, w, c)),
                    ),
                    (crate::domain::contrast::Amount::VolumeMl(v), _, _) => (Some(v), None),
                };
                let so_far = exam.ledger().map_or(0.0, |l| l.cumulative_mmol_kg());
                let dash = || "--".to_string();
                (
                    "confirm-title-injection",
                    "confirm-action-inject",
                    vec![
                        (
                            "confirm-agent",
                            info.map_or(RowValue::Plain(dash()), |i| {
                                RowValue::Agent(key_for("agent", &i.id), number(i.mmol_per_ml, 2))
                            }),
                        ),
                        (
                            "confirm-purpose",
                            RowValue::Key(key_for("purpose", &req.purpose)),
                        ),
                        ("confirm-weight", RowValue::Plain(kg(weight))),
                        (
                            "confirm-dose",
                            RowValue::Plain(match (mmolkg, weight) {
                                (Some(d), Some(w)) => {
                                    format!("{} mmol/kg ({} mmol)", mmol_per_kg(d), mmol(d * w))
                                }
                                (Some(d), None) => format!("{} mmol/kg", mmol_per_kg(d)),
                                _ => dash(),
                            }),
                        ),
                        (
                            "confirm-volume",
                            RowValue::Plain(
                                ml.map(|v| format!("{} mL", number(v, 1)))
                                    .unwrap_or_else(dash),
                            ),
                        ),
                        (
                            "confirm-rate",
                            RowValue::Plain(format!(
                                "{} mL/s, {} mL",
                                number(req.rate_ml_s, 1),
                                number(req.flush_ml, 0)
                            )),
                        ),
                        (
                            "confirm-total-after",
                            RowValue::Plain(format!(
                                "{} / {} mmol/kg",
                                mmol_per_kg_against(
                                    so_far + mmolkg.unwrap_or(0.0),
                                    exam.dose_max_mmol_kg()
                                ),
                                mmol_per_kg(exam.dose_max_mmol_kg())
                            )),
                        ),
                    ],
                )
            }
            _ => return None,
        };
        Some(Pending {
            event,
            title,
            action,
            rows,
        })
    }
}

/// A refused guarded step and the limit that stopped it.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The step as it was sent (with whatever authority it already carried).
    pub event: ExamEvent,
    /// The limit it crossed.
    pub code: RejectCode,
}

fn prompt_key(p: Prompt) -> String {
    format!("prompt-{}", p.code())
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

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(v))
}

impl ConsoleUi {
    /// A console fed by the live monitor board (`simulated`: the built-in simulator
    /// feeds it, so the strip says SIMULATED).
    pub fn with_feed(vitals: Arc<Mutex<VitalsBoard>>, simulated: bool) -> ConsoleUi {
        ConsoleUi {
            vitals: Some(vitals),
            simulated,
            ..ConsoleUi::default()
        }
    }

    /// Journal rows read since this console started, over every exam: each row once
    /// (issue 22; the benchmark and a test check it stays the journal's length).
    pub fn journal_rows_read(&self) -> u64 {
        self.digest.rows_read()
    }

    /// The alarm board (for tests and the lock screen).
    pub fn board(&self) -> &AlarmBoard {
        &self.board
    }

    /// The injection form as set now.
    pub fn form(&self) -> &InjectionForm {
        &self.form
    }

    /// Shows a refused step (and a countersign being entered) without sending it:
    /// worked states of the gallery.
    pub(crate) fn show_refused(&mut self, refusal: Refusal, countersign: Option<CountersignDraft>) {
        self.refusal = Some(refusal);
        self.countersign = countersign;
    }

    /// The refused step waiting for its lift, if any.
    pub fn refusal(&self) -> Option<&Refusal> {
        self.refusal.as_ref()
    }

    /// Redraws the console from what the engine published, at exam time `now`
    /// labelled with `wall_now`. Deadlines, alarms and the log are the engine's: this
    /// only draws.
    pub fn refresh(
        &mut self,
        app: &AppWindow,
        lang: &LanguageState,
        published: &EngineState,
        now: Instant,
        wall_now: chrono::NaiveDateTime,
    ) {
        let a = app.global::<ConsoleAdapter>();
        // The technical alarm of the alarm sound, with or without an exam.
        a.set_audio_alarm(sound_alarm_text(lang, published.sound()).into());
        // The data disk filling up, with or without an exam.
        let (disk, critical) = disk_alarm_text(lang, published.disk());
        a.set_disk_alarm(disk.into());
        a.set_disk_alarm_critical(critical);
        self.show_report(&a, lang);
        let Some(session) = published.session() else {
            a.set_exam_open(false);
            self.pages_built = None;
            self.board = AlarmBoard::default();
            // No exam: no step waits for its lift.
            self.refusal = None;
            self.countersign = None;
            self.confirm = None;
            a.set_confirm_open(false);
            a.set_refusal(SharedString::new());
            a.set_countersign_open(false);
            return;
        };
        a.set_exam_open(true);
        // The board as drawn: a touch on row i acts on the alarm shown in row i.
        self.board = published.board().clone();
        self.notice = published.notice().map(|n| (n.key.clone(), n.refused));
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
        let view = View {
            a: &a,
            lang,
            now,
            wall_now,
        };
        // The lock screen shows the stress, LGE and alarm panels too; the chart,
        // the checklist, the criteria and the pages only on the console itself, and
        // only the journal rows logged since the last redraw are read for them.
        let shown = app.get_screen() == Screen::Technologist;
        self.show_vitals(&view, session);
        self.show_stress(&view, &state, session);
        self.show_contrast(&view, &state, session);
        self.show_lge(&view, &state, session);
        if shown {
            self.digest.follow(session.id(), session.journal());
            self.show_criteria(&view);
            self.show_chart(&view);
            self.show_checklist(&view, session);
            self.show_pages(&view, session);
        }
        self.show_alarms(&view, session.exam());
        view.a
            .set_patient_banner(patient_banner(&view, session).into());
        self.show_refusal(&view, session.exam());
        self.show_confirm(&view);
    }

    /// The confirm panel of the step waiting for its confirmation, if any.
    fn show_confirm(&self, v: &View<'_, '_>) {
        draw_confirm(v.a, v.lang, self.confirm.as_ref());
    }

    /// The report panel: the finished exam's report in the language shown, worded
    /// again only when the language changed; the status of the last print.
    fn show_report(&mut self, a: &ConsoleAdapter<'_>, lang: &LanguageState) {
        let Some(shown) = self.report.as_mut() else {
            a.set_report_open(false);
            return;
        };
        a.set_report_open(true);
        a.set_report_title(lang.tr("console-report-title").into());
        a.set_report_printing(shown.printing);
        a.set_report_status(
            shown
                .status
                .as_ref()
                .map(|(k, args)| {
                    let args: Vec<(&str, String)> =
                        args.iter().map(|(n, v)| (*n, v.clone())).collect();
                    crate::ui::staff::view::tra(lang, k, &args)
                })
                .unwrap_or_default()
                .into(),
        );
        let now = lang.current();
        if shown.worded == Some(now) {
            return;
        }
        let Some(record) = shown.record.clone() else {
            a.set_report_lines(model(Vec::new()));
            return;
        };
        let s = report_sections(lang.localizer(), now, &self.report_setup, &record);
        let text = crate::report::sections::text(lang.localizer(), now, &s);
        a.set_report_lines(model(
            text.lines()
                .map(|l| SharedString::from(l.to_string()))
                .collect(),
        ));
        shown.worded = Some(now);
    }

    /// Shows `record` on the report panel without finishing (worked states of the
    /// gallery).
    pub(crate) fn show_report_preview(&mut self, record: crate::report::record::ExamRecord) {
        self.report = Some(ShownReport {
            exam: Some(record.exam),
            record: Some(Arc::new(record)),
            ..ShownReport::default()
        });
    }

    /// The report panel's state (tests).
    pub fn shown_report(&self) -> Option<&ShownReport> {
        self.report.as_ref()
    }

    /// The step waiting on the confirm panel (tests, the gallery).
    pub fn pending(&self) -> Option<&Pending> {
        self.confirm.as_ref()
    }

    /// Opens the confirm panel for `pending` without a touch (worked states of the
    /// gallery).
    pub(crate) fn show_pending(&mut self, pending: Pending) {
        self.confirm = Some(pending);
    }

    /// The refused step: why, what lifts it, the button that lifts it here, and the
    /// countersign dialog.
    fn show_refusal(&self, v: &View<'_, '_>, exam: &crate::domain::Exam) {
        let a = v.a;
        let (text, lift, action) = match &self.refusal {
            None => (String::new(), String::new(), String::new()),
            Some(r) => {
                let lift = exam.lift_for(r.code);
                let action = match lift {
                    Lift::Countersign => v.tr("console-countersign-action"),
                    Lift::Confirmation => v.tra(
                        "console-confirm-action",
                        &[("check", v.tr(&key_for("check", &r.code)))],
                    ),
                    Lift::ClearanceOverride | Lift::ResolveFinding | Lift::Nothing => String::new(),
                };
                (
                    v.tra(
                        "refused-step",
                        &[("reason", v.tr(&key_for("rejected", &r.code)))],
                    ),
                    v.tr(&key_for("lift", &lift)),
                    action,
                )
            }
        };
        a.set_refusal(text.clone().into());
        a.set_refusal_lift(lift.into());
        a.set_refusal_action(action.into());
        match &self.countersign {
            Some(d) => {
                a.set_countersign_open(true);
                a.set_countersign_step(text.into());
                a.set_countersign_fields(model(d.fields(v.lang)));
                a.set_countersign_error(d.error.clone().into());
            }
            None => a.set_countersign_open(false),
        }
    }

    fn show_vitals(&self, v: &View<'_, '_>, session: &ExamSession) {
        let dash = || v.tr("vitals-missing");
        let or_dash = |s: String| if s.is_empty() { dash() } else { s };
        match &self.vitals {
            Some(board) => {
                let b = board.lock().unwrap_or_else(|p| p.into_inner()).clone();
                v.a.set_hr(or_dash(b.hr_text()).into());
                v.a.set_bp(or_dash(b.bp_text()).into());
                v.a.set_spo2(or_dash(b.spo2_text()).into());
                let age = match b.nibp_age_minutes(std::time::Instant::now()) {
                    None => String::new(),
                    Some(0) => v.tr("vitals-bp-age-now"),
                    Some(m) => v.tra("vitals-bp-age", &[("minutes", m.to_string())]),
                };
                v.a.set_bp_age(age.into());
                v.a.set_link_state(if b.lost {
                    MonitorState::Lost
                } else if self.simulated {
                    MonitorState::Simulated
                } else if b.connected {
                    MonitorState::Connected
                } else {
                    MonitorState::Off
                });
            }
            None => {
                // A worked state with no feed: the exam's latest readings, marked simulated.
                let l = session.exam().stress().latest_vitals();
                let n = |x: Option<f64>| x.map(|x| number(x, 0)).unwrap_or_else(dash);
                v.a.set_hr(n(l.hr).into());
                v.a.set_bp(
                    match (l.sbp, l.dbp) {
                        (Some(s), Some(d)) => format!("{}/{}", number(s, 0), number(d, 0)),
                        _ => dash(),
                    }
                    .into(),
                );
                v.a.set_spo2(n(l.spo2).into());
                v.a.set_bp_age(SharedString::new());
                v.a.set_link_state(if session.exam().stress().monitor_lost() {
                    MonitorState::Lost
                } else {
                    MonitorState::Simulated
                });
            }
        }
    }

    fn show_stress(&self, v: &View<'_, '_>, s: &ConsoleState, session: &ExamSession) {
        let a = v.a;
        let exam = session.exam();
        let dash = || v.tr("vitals-missing");
        let protocol = exam.stress();
        a.set_drug_active(protocol.drug_active(v.now));
        // Only the ordered drug can be started, and only until the protocol is past
        // the start (a run was started).
        let ordered = exam.exam_type().and_then(|t| t.stress_drug());
        let before_start = protocol.runs().is_empty();
        a.set_can_start_adenosine(before_start && ordered == Some(StressDrug::Adenosine));
        a.set_can_start_regadenoson(before_start && ordered == Some(StressDrug::Regadenoson));
        let run = protocol.current();
        let rega = run.filter(|r| r.drug == StressDrug::Regadenoson);
        a.set_regadenoson(
            rega.is_some_and(|r| r.stopped_at.is_none()) && protocol.drug_active(v.now),
        );
        a.set_bolus_note(
            rega.map(|r| {
                let given = v.clock_at(r.started_at);
                match r.stopped_at {
                    Some(stop) => v.tra(
                        "console-bolus-reversed",
                        &[("given", given), ("reversed", v.clock_at(stop))],
                    ),
                    None => {
                        let st = protocol.settings();
                        v.tra(
                            "console-bolus-note",
                            &[
                                ("given", given),
                                (
                                    "image",
                                    v.clock_at(r.started_at + st.regadenoson_imaging_delay),
                                ),
                                ("effect", v.clock_at(r.started_at + st.regadenoson_effect)),
                            ],
                        )
                    }
                }
            })
            .unwrap_or_default()
            .into(),
        );
        let escalation_dose = protocol
            .settings()
            .escalation
            .as_ref()
            .map_or(210.0, |e| e.dose_ug_kg_min);
        let offered = protocol.settings().escalation.is_some()
            || self.board.prompts().any(|p| p == Prompt::Escalate);
        a.set_can_escalate(
            protocol.infusing() && offered && run.is_some_and(|r| r.escalated_at.is_none()),
        );
        a.set_escalate_label(
            v.tra(
                "console-escalate",
                &[
                    ("dose", number(escalation_dose, 0)),
                    ("rate", number(protocol.rate_ml_h(escalation_dose), 1)),
                ],
            )
            .into(),
        );
        a.set_agents(model(
            session
                .exam()
                .settings()
                .agents
                .agents
                .iter()
                .filter(|g| g.for_cmr)
                .map(|g| {
                    SharedString::from(v.tra(
                        "console-agent-option",
                        &[
                            ("agent", v.tr(&key_for("agent", &g.id))),
                            ("conc", number(g.mmol_per_ml, 2)),
                        ],
                    ))
                })
                .collect(),
        ));
        a.set_criteria(model(
            CRITERIA
                .iter()
                .map(|c| SharedString::from(v.tr(&key_for("criterion", c))))
                .collect(),
        ));
        match &s.stress {
            None => {
                a.set_stress_active(false);
                a.set_infusing(false);
                a.set_image_now(false);
                a.set_stop_now(false);
                a.set_stress_title(v.tr("console-stress-title-none").into());
                a.set_recovery(SharedString::new());
            }
            Some(p) => {
                a.set_stress_active(true);
                a.set_stress_title(
                    v.tra(
                        "console-stress-title",
                        &[("drug", v.tr(&key_for("drug", &p.drug)))],
                    )
                    .into(),
                );
                a.set_stress_dose(
                    match p.dose {
                        StressDose::UgKgMin(d) => v.tra(
                            "console-dose",
                            &[
                                ("dose", number(d, 0)),
                                (
                                    "rate",
                                    p.rate_ml_h.map(|r| number(r, 1)).unwrap_or_else(dash),
                                ),
                            ],
                        ),
                        StressDose::Mg(mg) => v.tra("console-dose-bolus", &[("mg", number(mg, 1))]),
                    }
                    .into(),
                );
                let opt = |x: Option<f64>| x.map(|x| number(x, 0)).unwrap_or_else(dash);
                a.set_baseline(
                    v.tra(
                        "console-baseline",
                        &[("hr", opt(p.baseline_hr)), ("sbp", opt(p.baseline_sbp))],
                    )
                    .into(),
                );
                a.set_elapsed(
                    v.tra(
                        match p.drug {
                            StressDrug::Adenosine => "console-elapsed",
                            StressDrug::Regadenoson => "console-since-bolus",
                        },
                        &[("time", crate::ui::console::model::mm_ss(p.elapsed_s))],
                    )
                    .into(),
                );
                a.set_hr_progress(p.hr_rise.map_or(0.0, |r| (r / p.hr_target) as f32));
                a.set_hr_progress_text(
                    v.tra(
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
                    v.tra(
                        "console-sbp-progress",
                        &[
                            ("drop", opt(p.sbp_drop.map(|d| d.max(0.0)))),
                            ("target", number(p.sbp_target, 0)),
                        ],
                    )
                    .into(),
                );
                // The far view: the same numbers, large.
                a.set_far_time(crate::ui::console::model::mm_ss(p.elapsed_s).into());
                a.set_far_time_label(
                    v.tr(match p.drug {
                        StressDrug::Adenosine => "far-time-adenosine",
                        StressDrug::Regadenoson => "far-time-regadenoson",
                    })
                    .into(),
                );
                let signed = |x: Option<f64>| {
                    x.map(|x| {
                        let r = x.round();
                        if r > 0.0 {
                            format!("+{}", number(r, 0))
                        } else if r < 0.0 {
                            format!("\u{2212}{}", number(-r, 0))
                        } else {
                            "0".to_string()
                        }
                    })
                    .unwrap_or_else(dash)
                };
                a.set_far_hr(signed(p.hr_rise).into());
                a.set_far_hr_met(p.hr_rise.is_some_and(|r| r >= p.hr_target));
                a.set_far_sbp(signed(p.sbp_drop.map(|d| -d)).into());
                a.set_far_sbp_met(p.sbp_drop.is_some_and(|d| d >= p.sbp_target));
                a.set_far_given(match (p.dose, exam.patient()) {
                    (StressDose::UgKgMin(d), Some(pt)) if p.drug == StressDrug::Adenosine => {
                        format!(
                            "{} · {}",
                            a.get_stress_dose(),
                            v.tra(
                                "far-given-mg",
                                &[(
                                    "mg",
                                    number(
                                        d * pt.weight_kg * p.elapsed_s as f64 / 60.0 / 1000.0,
                                        1
                                    ),
                                )],
                            )
                        )
                        .into()
                    }
                    _ => SharedString::new(),
                });
                let (next, next_label) = if p.image_now {
                    (v.tr("far-now"), v.tr("far-next-image"))
                } else if let Some((due, _)) = protocol.imaging_deferred() {
                    (
                        crate::ui::console::model::mm_ss(
                            due.as_millis().saturating_sub(v.now.as_millis()) / 1000,
                        ),
                        v.tr("far-next-image"),
                    )
                } else if p.drug == StressDrug::Regadenoson {
                    // Regadenoson: imaging about a minute after the bolus.
                    let delay = protocol.settings().regadenoson_imaging_delay.as_millis() / 1000;
                    if p.elapsed_s < delay {
                        (
                            crate::ui::console::model::mm_ss(delay - p.elapsed_s),
                            v.tr("far-next-image"),
                        )
                    } else {
                        (v.tr("far-now"), v.tr("far-next-image"))
                    }
                } else if let Some(c) = &p.max_time {
                    (c.mm_ss(), v.tr("far-next-image-latest"))
                } else {
                    (dash(), v.tr("far-next-image"))
                };
                a.set_far_next(next.into());
                a.set_far_next_label(next_label.into());
                let total = protocol.settings().max_time_to_imaging.as_millis() as f32 / 1000.0;
                match &p.max_time {
                    // A criterion met before the minimum infusion time: say when
                    // "image now" comes, not only the 4-minute limit.
                    Some(c) if protocol.imaging_deferred().is_some() => {
                        let (due, _) = protocol.imaging_deferred().expect("checked");
                        let left = due.as_millis().saturating_sub(v.now.as_millis()) / 1000;
                        a.set_time_progress(1.0 - c.remaining_s as f32 / total);
                        a.set_time_left(
                            v.tra(
                                "console-criterion-deferred",
                                &[
                                    ("left", crate::ui::console::model::mm_ss(left)),
                                    ("clock", v.clock_at(due)),
                                ],
                            )
                            .into(),
                        );
                    }
                    Some(c) => {
                        a.set_time_progress(1.0 - c.remaining_s as f32 / total);
                        a.set_time_left(
                            v.tra(
                                "console-time-left",
                                &[("left", c.mm_ss()), ("clock", c.clock())],
                            )
                            .into(),
                        );
                    }
                    None => {
                        a.set_time_progress((p.elapsed_s as f32 / total).min(1.0));
                        a.set_time_left(
                            v.tr(if p.elapsed_s as f32 >= total {
                                "console-time-done"
                            } else {
                                "console-criteria-met"
                            })
                            .into(),
                        );
                    }
                }
                a.set_infusing(p.infusing && p.drug == StressDrug::Adenosine);
                a.set_image_now(p.image_now);
                a.set_stop_now(p.stop_now);
                a.set_recovery(
                    match &p.recovery {
                        Some(c) if c.remaining_s > 0 => v.tra(
                            "console-recovery",
                            &[("left", c.mm_ss()), ("clock", c.clock())],
                        ),
                        Some(_) => v.tr("console-recovery-ready"),
                        None => String::new(),
                    }
                    .into(),
                );
            }
        }
    }

    /// The stop criteria noted so far (from the journal's digest).
    fn show_criteria(&self, v: &View<'_, '_>) {
        let a = v.a;
        a.set_criteria_noted(model(
            self.digest
                .criteria
                .iter()
                .filter_map(|row| match row {
                    crate::engine::session::JournalRow::Event {
                        at,
                        event: ExamEvent::StopCriterionNoted { criterion, .. },
                        ..
                    } => Some(ConsoleLine {
                        time: v.clock_at(*at).into(),
                        who: SharedString::new(),
                        text: v.tr(&key_for("criterion", criterion)).into(),
                    }),
                    _ => None,
                })
                .collect(),
        ));
    }

    fn show_chart(&self, v: &View<'_, '_>) {
        let a = v.a;
        let chart = self.digest.trend.chart(v.now, CHART_COLUMNS);
        a.set_chart_hr(chart.hr.into());
        a.set_chart_sbp(chart.sbp.into());
        a.set_chart_dbp(chart.dbp.into());
        a.set_chart_markers(model(
            chart
                .markers
                .iter()
                .map(|m| ChartMarker {
                    x: m.x as f32,
                    kind: m.kind.index(),
                    label: v.tr(m.kind.key()).into(),
                })
                .collect(),
        ));
        a.set_chart_grid(model(
            chart
                .grid
                .iter()
                .map(|(y, value)| ChartGrid {
                    y: *y as f32,
                    label: number(*value, 0).into(),
                })
                .collect(),
        ));
        a.set_chart_ticks(model(
            crate::ui::console::chart::time_ticks(chart.from, chart.to, {
                use chrono::Timelike;
                let wall_ms = i64::from(v.wall_now.num_seconds_from_midnight()) * 1000
                    + i64::from(v.wall_now.nanosecond() / 1_000_000);
                wall_ms - v.now.as_millis() as i64
            })
            .into_iter()
            .map(|(x, at)| ChartTick {
                x: x as f32,
                label: v.clock_at(at).get(..5).unwrap_or_default().into(),
            })
            .collect(),
        ));
        a.set_chart_range(
            v.tra(
                "console-chart-range",
                &[
                    ("from", v.clock_at(chart.from)),
                    ("to", v.clock_at(chart.to)),
                ],
            )
            .into(),
        );
    }

    fn show_contrast(&mut self, v: &View<'_, '_>, s: &ConsoleState, session: &ExamSession) {
        let a = v.a;
        let exam = session.exam();
        let dash = || v.tr("vitals-missing");
        let weight = self.weight_kg;
        a.set_agent(
            match (exam.agent(), self.mmol_per_ml) {
                (Some(agent), Some(c)) => v.tra(
                    "console-agent",
                    &[
                        ("agent", v.tr(&key_for("agent", &agent))),
                        ("conc", number(c, 2)),
                        ("weight", weight.map(|w| number(w, 1)).unwrap_or_else(dash)),
                    ],
                ),
                _ => v.tr("console-agent-none"),
            }
            .into(),
        );
        match &s.contrast {
            Some(c) if c.injections > 0 => {
                a.set_contrast(
                    v.tra(
                        "console-contrast",
                        &[
                            ("n", c.injections.to_string()),
                            ("ml", number(c.cumulative_ml, 1)),
                            ("mmolkg", mmol_per_kg(c.cumulative_mmol_kg)),
                        ],
                    )
                    .into(),
                );
                a.set_contrast_mmolkg(c.cumulative_mmol_kg as f32);
            }
            _ => {
                a.set_contrast(v.tr("console-contrast-none").into());
                a.set_contrast_mmolkg(0.0);
            }
        }
        let (notice, refused) = match &self.notice {
            // A refusal says so before its reason; a warning is its own sentence.
            Some((key, true)) => (v.tra("refused-step", &[("reason", v.tr(key))]), true),
            Some((key, false)) => (v.tr(key), false),
            None => (String::new(), false),
        };
        a.set_notice(notice.into());
        a.set_notice_refused(refused);
        a.set_purposes(model(
            PURPOSES
                .iter()
                .map(|p| SharedString::from(v.tr(&key_for("purpose", p))))
                .collect(),
        ));
        let f = &self.form;
        a.set_purpose(PURPOSES.iter().position(|p| *p == f.purpose).unwrap_or(0) as i32);
        a.set_by_volume(f.by_volume);
        a.set_amount_text(
            if f.by_volume {
                format!("{} mL", number(f.volume_ml, 1))
            } else {
                format!("{} mmol/kg", mmol_per_kg(f.dose_mmol_kg))
            }
            .into(),
        );
        a.set_rate_text(format!("{} mL/s", number(f.rate_ml_s, 1)).into());
        a.set_flush_text(format!("{} mL", number(f.flush_ml, 0)).into());
        a.set_computed(
            match (weight, self.mmol_per_ml) {
                (Some(w), Some(c)) => {
                    let (ml, mmolkg) = f.amounts(w, c);
                    if f.by_volume {
                        v.tra(
                            "console-computed-dose",
                            &[("mmolkg", mmol_per_kg(mmolkg)), ("weight", number(w, 1))],
                        )
                    } else {
                        v.tra(
                            "console-computed-volume",
                            &[("ml", number(ml, 1)), ("weight", number(w, 1))],
                        )
                    }
                }
                _ => String::new(),
            }
            .into(),
        );
        let line = |i: &crate::domain::contrast::Injection| {
            v.tra(
                "console-injection-line",
                &[
                    ("purpose", v.tr(&key_for("purpose", &i.purpose))),
                    ("mmolkg", mmol_per_kg(i.mmol_kg)),
                    ("ml", number(i.volume_ml, 1)),
                    ("rate", number(i.rate_ml_s, 1)),
                    ("flush", number(i.flush_ml, 0)),
                ],
            )
        };
        // Given injections in order, then the voided ones with who voided them and why.
        let mut rows: Vec<(Option<Instant>, InjectionRow)> = Vec::new();
        if let Some(l) = exam.ledger() {
            for i in l.injections() {
                rows.push((
                    Some(i.at),
                    InjectionRow {
                        time: v.clock_at(i.at).into(),
                        text: line(i).into(),
                        voided: false,
                    },
                ));
            }
            for x in l.voided() {
                rows.push((
                    None,
                    InjectionRow {
                        time: v.clock_at(x.injection.at).into(),
                        text: v
                            .tra(
                                "console-injection-voided",
                                &[
                                    ("line", line(&x.injection)),
                                    ("by", x.by.clone()),
                                    ("reason", x.reason.clone()),
                                ],
                            )
                            .into(),
                        voided: true,
                    },
                ));
            }
        }
        self.injection_times = rows.iter().map(|(at, _)| *at).collect();
        a.set_injection_list(model(rows.into_iter().map(|(_, r)| r).collect()));
    }

    fn show_lge(&self, v: &View<'_, '_>, s: &ConsoleState, session: &ExamSession) {
        let a = v.a;
        match &s.lge {
            None => {
                a.set_lge(v.tr("console-lge-none").into());
                a.set_lge_short(v.tr("console-lge-short-none").into());
                a.set_lge_open(false);
            }
            Some(l) => {
                let (text, short) = if l.opens.remaining_s > 0 {
                    (
                        v.tra(
                            "console-lge-waiting",
                            &[
                                ("left", l.opens.mm_ss()),
                                ("open", l.opens.clock()),
                                ("close", l.closes.clock()),
                            ],
                        ),
                        v.tra("console-lge-short-waiting", &[("left", l.opens.mm_ss())]),
                    )
                } else if l.closes.remaining_s > 0 {
                    (
                        v.tra(
                            "console-lge-open",
                            &[("left", l.closes.mm_ss()), ("close", l.closes.clock())],
                        ),
                        v.tra("console-lge-short-open", &[("left", l.closes.mm_ss())]),
                    )
                } else {
                    (
                        v.tra("console-lge-closed", &[("close", l.closes.clock())]),
                        v.tr("console-lge-short-closed"),
                    )
                };
                a.set_lge(text.into());
                a.set_lge_short(short.into());
                a.set_lge_open(l.open);
            }
        }
        let acquired = session
            .exam()
            .acquired()
            .iter()
            .any(|(_, s)| *s == ProtocolStep::Lge);
        a.set_lge_acquired(acquired);
        a.set_ti_due(self.board.prompts().any(|p| p == Prompt::TiRecheck));
        let top_up = InjectionForm::standard_dose(Purpose::TopUp);
        let ml = match (self.weight_kg, self.mmol_per_ml) {
            (Some(w), Some(c)) => {
                number(crate::domain::contrast::dose_to_volume_ml(top_up, w, c), 1)
            }
            _ => v.tr("vitals-missing"),
        };
        a.set_repeat_label(
            v.tra(
                "console-repeat-lge",
                &[("dose", number(top_up, 3)), ("ml", ml)],
            )
            .into(),
        );
    }

    fn show_checklist(&mut self, v: &View<'_, '_>, session: &ExamSession) {
        let exam = session.exam();
        let (exam_type, inferred) = crate::ui::console::model::exam_type_of(exam);
        v.a.set_exam_type(
            v.tra(
                if inferred {
                    "console-exam-type-inferred"
                } else {
                    "console-exam-type"
                },
                &[("type", v.tr(&key_for("console-type", &exam_type)))],
            )
            .into(),
        );
        let rows = checklist_for(
            exam_type,
            exam.indications(),
            &acquired_series(&self.digest.series, exam),
        );
        self.checklist_steps = rows.iter().map(|r| r.step).collect();
        let gaps = exam.coverage_gaps();
        let sep = v.tr("coverage-list-separator");
        let gap_text = |g: &CoverageGap| {
            let seen = g
                .seen
                .iter()
                .map(|c| v.tr(&format!("orientation-{}", c.name())))
                .collect::<Vec<_>>()
                .join(&sep);
            let views = g
                .views
                .iter()
                .map(|s| v.tr(&key_for("step", s)))
                .collect::<Vec<_>>()
                .join(&sep);
            v.tra(
                &key_for("coverage", &g.code),
                &[
                    ("seen", seen),
                    ("views", views),
                    ("clause", g.code.clause().to_string()),
                ],
            )
        };
        let shown: Vec<CheckRow> = rows
            .iter()
            .map(|r| {
                let step_name = v.tr(&key_for("step", &r.step));
                let (how, findings) = match &r.latest {
                    None => (String::new(), String::new()),
                    Some(series) => {
                        let time = v.clock_at(series.at);
                        let mut how = match (&series.label, series.by_hand) {
                            (Some(label), _) => v.tra(
                                "console-how-series",
                                &[("time", time), ("label", label.clone())],
                            ),
                            (None, _) => v.tra("console-how-hand", &[("time", time)]),
                        };
                        if r.count > 1 {
                            how = v.tra(
                                "console-how-times",
                                &[("how", how), ("n", r.count.to_string())],
                            );
                        }
                        let findings = if series.findings.is_empty() {
                            if series.by_hand {
                                String::new()
                            } else {
                                v.tr("console-findings-ok")
                            }
                        } else {
                            series
                                .findings
                                .iter()
                                .map(|f| {
                                    v.tra(
                                        &key_for("finding", &f.code),
                                        &[
                                            ("measured", f.measured.clone()),
                                            ("expected", f.expected.clone()),
                                            ("clause", f.clause.clone()),
                                        ],
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("\n")
                        };
                        (how, findings)
                    }
                };
                // Checks across series (3.1.1.1, 3.1.4.2, 3.1.4.3) show on their step's row.
                let row_gaps: Vec<String> = gaps
                    .iter()
                    .filter(|g| g.code.step() == r.step)
                    .map(&gap_text)
                    .collect();
                let findings = if row_gaps.is_empty() {
                    findings
                } else if findings.is_empty() || findings == v.tr("console-findings-ok") {
                    row_gaps.join("\n")
                } else {
                    format!("{findings}\n{}", row_gaps.join("\n"))
                };
                CheckRow {
                    name: if r.required {
                        step_name
                    } else {
                        v.tra("console-extra-step", &[("step", step_name)])
                    }
                    .into(),
                    done: r.latest.is_some(),
                    how: how.into(),
                    findings: findings.into(),
                    warn: r.latest.as_ref().is_some_and(|s| !s.findings.is_empty())
                        || !row_gaps.is_empty(),
                    extra: !r.required,
                }
            })
            .collect();
        v.a.set_checklist(model(shown));
    }

    /// The log and technique pages, rebuilt only while shown and when the journal,
    /// the language or (for the technique's durations) the second changed.
    fn show_pages(&mut self, v: &View<'_, '_>, session: &ExamSession) {
        let tab = v.a.get_tab();
        if tab != ConsoleTab::Log && tab != ConsoleTab::Technique {
            self.pages_built = None;
            return;
        }
        let lang = v.lang.current();
        let key = (
            session.id(),
            self.digest.log_rows.len(),
            lang,
            tab,
            if tab == ConsoleTab::Technique {
                v.now.as_millis() / 1000
            } else {
                0
            },
        );
        if self.pages_built == Some(key) {
            return;
        }
        self.pages_built = Some(key);
        let loc = v.lang.localizer();
        if tab == ConsoleTab::Log {
            let lines: Vec<_> = self
                .digest
                .newest_log_rows(session.journal(), crate::ui::console::log::LOG_ROWS)
                .map(|row| crate::ui::console::log::log_line(loc, lang, row))
                .collect();
            v.a.set_log(model(
                lines
                    .into_iter()
                    .map(|l| ConsoleLine {
                        time: v.clock_at(l.at).into(),
                        who: if l.who.is_empty() {
                            v.tr("log-by-recovery")
                        } else {
                            l.who
                        }
                        .into(),
                        text: l.text.into(),
                    })
                    .collect(),
            ));
        } else {
            let facts = session.exam().technique(v.now);
            let lines = |l: Language| {
                model(
                    technique_lines(loc, l, &facts)
                        .into_iter()
                        .map(SharedString::from)
                        .collect(),
                )
            };
            v.a.set_technique_zh(lines(Language::ZhCn));
            v.a.set_technique_en(lines(Language::EnUs));
        }
    }

    fn show_alarms(&self, v: &View<'_, '_>, exam: &crate::domain::Exam) {
        let a = v.a;
        let now = v.now;
        let stress = exam.stress();
        // The cause beside the alarm: "SBP 82 < 90 mmHg".
        let text = |code: crate::domain::AlarmCode| {
            let name = v.tr(&key_for("alarm", &code));
            match crate::domain::stress::alarm_cause(
                code,
                &stress.latest_vitals(),
                stress.settings(),
            ) {
                Some(c) => v.tra(
                    &key_for("alarm-cause", &c.measure),
                    &[
                        ("alarm", name),
                        ("value", number(c.value, 0)),
                        ("limit", number(c.limit, 0)),
                    ],
                ),
                None => name,
            }
        };
        let stop_criterion = stress.infusing()
            && self
                .board
                .alarms()
                .iter()
                .any(|al| al.priority == AlarmPriority::High);
        a.set_stop_criterion(stop_criterion);
        // The most urgent alarm on a measure, if any: its tile is alarm red and, in
        // the lit phase of that priority's flash, filled.
        let on = |m: crate::domain::stress::VitalMeasure| {
            self.board
                .alarms()
                .iter()
                .filter(|al| crate::domain::stress::alarm_measure(al.code) == Some(m))
                .map(|al| al.priority)
                .max()
        };
        let flash = |m| on(m).map(|p| lit(p, now.as_millis()));
        use crate::domain::stress::VitalMeasure as M;
        a.set_hr_alarm(on(M::Hr).is_some());
        a.set_bp_alarm(on(M::Sbp).is_some());
        a.set_spo2_alarm(on(M::Spo2).is_some());
        a.set_hr_lit(flash(M::Hr).unwrap_or(false));
        a.set_bp_lit(flash(M::Sbp).unwrap_or(false));
        a.set_spo2_lit(flash(M::Spo2).unwrap_or(false));
        let rows: Vec<AlarmRow> = self
            .board
            .alarms()
            .iter()
            .map(|al| AlarmRow {
                text: text(al.code).into(),
                marker: presentation(al.priority).marker.into(),
                priority: match al.priority {
                    AlarmPriority::High => AlarmLevel::High,
                    AlarmPriority::Medium => AlarmLevel::Medium,
                    AlarmPriority::Low => AlarmLevel::Low,
                },
                lit: lit(al.priority, now.as_millis()),
            })
            .collect();
        a.set_alarms(model(rows));
        // No "image now" while a stop criterion holds: stop first.
        let prompts: Vec<SharedString> = self
            .board
            .prompts()
            .filter(|p| !(stop_criterion && *p == Prompt::ImageNow))
            .map(|p| v.tr(&prompt_key(p)).into())
            .collect();
        a.set_prompts(model(prompts));
        a.set_audio_paused(
            self.board
                .audio_paused_until(now)
                .map(|until| {
                    v.tra(
                        "console-audio-paused",
                        &[(
                            "left",
                            crate::ui::console::model::mm_ss(
                                (until - now).as_millis().div_ceil(1000),
                            ),
                        )],
                    )
                })
                .unwrap_or_default()
                .into(),
        );
    }
}

/// The console's technical alarm when the alarm sound cannot be heard (empty: the
/// sound output is fine or none is attached).
pub fn sound_alarm_text(
    lang: &LanguageState,
    status: &crate::engine::speaker::SoundStatus,
) -> String {
    let Some(fault) = status.fault() else {
        return String::new();
    };
    let mut args = FluentArgs::new();
    args.set("detail", fault.detail().to_string());
    format!(
        "{} {}",
        presentation(crate::engine::speaker::SOUND_FAULT_PRIORITY).marker,
        lang.localizer().tr_args(lang.current(), fault.key(), &args)
    )
}

/// The console's words for the data disk (issue 16): empty while there is room, a
/// warning when low, a technical alarm (`true`) when critical.
pub fn disk_alarm_text(
    lang: &LanguageState,
    reading: Option<crate::engine::DiskReading>,
) -> (String, bool) {
    use crate::service::disk::DiskLevel;
    let Some(r) = reading else {
        return (String::new(), false);
    };
    let key = match r.level {
        DiskLevel::Ok => return (String::new(), false),
        DiskLevel::Low => "disk-low",
        DiskLevel::Critical => "disk-critical",
    };
    let mut args = FluentArgs::new();
    args.set("free", crate::service::disk::format_bytes(r.space.free));
    let words = lang.localizer().tr_args(lang.current(), key, &args);
    if r.level == DiskLevel::Critical {
        let marker = presentation(crate::engine::speaker::SOUND_FAULT_PRIORITY).marker;
        (format!("{marker} {words}"), true)
    } else {
        (words, false)
    }
}

/// What every part of the console needs to word itself.
struct View<'a, 'b> {
    a: &'a ConsoleAdapter<'b>,
    lang: &'a LanguageState,
    now: Instant,
    wall_now: chrono::NaiveDateTime,
}

impl View<'_, '_> {
    fn tr(&self, key: &str) -> String {
        self.lang.tr(key)
    }

    fn tra(&self, key: &str, args: &[(&str, String)]) -> String {
        let mut f = FluentArgs::new();
        for (k, v) in args {
            f.set(*k, v.clone());
        }
        self.lang.localizer().tr_args(self.lang.current(), key, &f)
    }

    /// The wall-clock label (HH:MM:SS) of exam time `at`, from the same fixed offset as
    /// the countdowns.
    fn clock_at(&self, at: Instant) -> String {
        let ahead = at.as_millis() as i64 - self.now.as_millis() as i64;
        (self.wall_now + chrono::Duration::milliseconds(ahead))
            .format("%H:%M:%S")
            .to_string()
    }
}

/// The patient on the table, from the registration (name, ID) and the exam (sex, age,
/// weight, exam type): "" before registration.
fn patient_banner(v: &View<'_, '_>, session: &ExamSession) -> String {
    patient_banner_text(v.lang, session, false)
}

/// Who is on the table (issue 17): name and patient ID, sex, age, weight and exam type.
/// `masked` (the lock screen, which anyone in the room may see): the name's first
/// character and the ID's last four characters only — enough to notice the wrong
/// patient, not enough to identify one.
pub fn patient_banner_text(lang: &LanguageState, session: &ExamSession, masked: bool) -> String {
    use crate::ui::staff::view::tra;
    let exam = session.exam();
    let Some(p) = exam.patient() else {
        return String::new();
    };
    let reg = crate::ui::nurse::registration::Registration::from_json(session.record());
    let sex = match p.sex {
        crate::domain::screening::Sex::Male => "sex-male",
        crate::domain::screening::Sex::Female => "sex-female",
        crate::domain::screening::Sex::Other => "sex-other",
    };
    let (exam_type, _) = crate::ui::console::model::exam_type_of(exam);
    let who = match reg.as_ref() {
        None => lang.tr("console-patient-unnamed"),
        Some(r) if masked => {
            let first: String = r.name.chars().take(1).collect();
            let n = r.patient_id.chars().count();
            let tail: String = r.patient_id.chars().skip(n.saturating_sub(4)).collect();
            format!("{first}** · …{tail}")
        }
        Some(r) => format!("{} · {}", r.name, r.patient_id),
    };
    tra(
        lang,
        "console-patient-banner",
        &[
            ("who", who),
            ("sex", lang.tr(sex)),
            ("age", p.age_years.to_string()),
            ("weight", number(p.weight_kg, 1)),
            ("type", lang.tr(&key_for("console-type", &exam_type))),
        ],
    )
}

/// The code as it appears in the log and the locale keys.
fn code_name(code: RejectCode) -> String {
    key_for("", &code).trim_start_matches('-').to_string()
}

/// Wires the console's buttons to the running exam. Every action is an exam event,
/// handled by the domain and logged through the recorder; acknowledgements are logged
/// as events and prompt dismissals as audit rows. Number fields open the keypad.
pub fn install_callbacks(
    app: &AppWindow,
    console: Rc<RefCell<ConsoleUi>>,
    engine: Engine,
    input: InputPanels,
    actor: Actor,
    staff: StaffPanel,
    report: ReportSetup,
) {
    let a = app.global::<ConsoleAdapter>();
    console.borrow_mut().report_setup = report;
    // A guarded step (injection, stress start, escalation): the domain checks every
    // limit before the step is recorded; a refusal the console can lift is kept, with
    // the step, until it is lifted for that step or dismissed.
    let guarded: Rc<dyn Fn(ExamEvent)> = {
        let (engine, actor, console) = (engine.clone(), actor.clone(), console.clone());
        Rc::new(move |event: ExamEvent| {
            let outcome = engine.handle(event.clone(), &actor());
            let mut ui = console.borrow_mut();
            ui.countersign = None;
            ui.refusal = match outcome {
                Ok(Outcome::Rejected(code))
                    if matches!(code.lifted_by(), Lift::Countersign | Lift::Confirmation) =>
                {
                    Some(Refusal { event, code })
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::error!("console step refused: {e}");
                    None
                }
            };
        })
    };
    let (c, g, st, who) = (
        console.clone(),
        guarded.clone(),
        staff.clone(),
        actor.clone(),
    );
    a.on_refusal_lift_now(move || {
        let Some(r) = c.borrow().refusal.clone() else {
            return;
        };
        match r.code.lifted_by() {
            Lift::Confirmation => {
                let mut event = r.event;
                if let Some(authority) = event.authority_mut() {
                    authority.confirmed.push(r.code);
                }
                // The confirmation names the check; the audit row names who gave it.
                st.desk().borrow().audit(
                    crate::store::accounts::AuditAction::Confirmation,
                    Some(format!("{} by {}", code_name(r.code), who())),
                    st.audit_at(),
                );
                g(event);
            }
            Lift::Countersign => c.borrow_mut().countersign = Some(CountersignDraft::default()),
            Lift::ClearanceOverride | Lift::ResolveFinding | Lift::Nothing => {}
        }
    });
    let c = console.clone();
    a.on_refusal_dismiss(move || {
        let mut ui = c.borrow_mut();
        ui.refusal = None;
        ui.countersign = None;
    });
    let c = console.clone();
    a.on_countersign_cancel(move || c.borrow_mut().countersign = None);
    let (c, inp) = (console.clone(), input.clone());
    a.on_countersign_edit(move |i| {
        let Some(draft) = c.borrow().countersign.clone() else {
            return;
        };
        let c = c.clone();
        draft.edit(&inp, i as usize, move |i, text| {
            if let Some(d) = c.borrow_mut().countersign.as_mut() {
                d.set(i, text);
            }
        });
    });
    let (c, g, st) = (console.clone(), guarded.clone(), staff.clone());
    a.on_countersign_save(move || {
        let (Some(r), Some(draft)) = (c.borrow().refusal.clone(), c.borrow().countersign.clone())
        else {
            return;
        };
        if !draft.complete() {
            if let Some(d) = c.borrow_mut().countersign.as_mut() {
                d.error = st.tr("nurse-override-incomplete");
            }
            return;
        }
        if let Some(d) = c.borrow_mut().countersign.as_mut() {
            d.error = st.tr("signin-checking");
        }
        let (c, g, st2) = (c.clone(), g.clone(), st.clone());
        let reason = draft.reason.trim().to_string();
        st.check_physician(&draft.username, &draft.pin, move |checked| match checked {
            Ok(physician) => {
                let mut event = r.event;
                if let Some(authority) = event.authority_mut() {
                    authority.countersign = Some(crate::domain::Countersign {
                        by: physician.display_name.clone(),
                        reason: reason.clone(),
                    });
                }
                // The audit row names both: the technologist who gave the step (its
                // user) and the physician who lifted the limit for it.
                st2.desk().borrow().audit(
                    crate::store::accounts::AuditAction::Countersign,
                    Some(format!(
                        "{} countersigned by {}: {reason}",
                        code_name(r.code),
                        physician.username
                    )),
                    st2.audit_at(),
                );
                g(event);
            }
            Err(text) => {
                if let Some(d) = c.borrow_mut().countersign.as_mut() {
                    d.error = text;
                }
            }
        });
    });
    let act = {
        let (engine, actor) = (engine.clone(), actor.clone());
        move |event: ExamEvent| {
            if let Err(e) = engine.handle(event, &actor()) {
                tracing::error!("console action refused: {e}");
            }
        }
    };
    let act = Rc::new(act);
    // A dose-changing step opens the confirm panel first; a second touch while it is
    // open changes nothing (the panel shows the step already waiting).
    let open_panel: Rc<dyn Fn(Pending)> = {
        let (console, weak, staff) = (console.clone(), app.as_weak(), staff.clone());
        Rc::new(move |pending: Pending| {
            if let Some(app) = weak.upgrade() {
                let a = app.global::<ConsoleAdapter>();
                a.set_confirm_armed(false);
                draw_confirm(&a, staff.language(), Some(&pending));
            }
            console.borrow_mut().confirm = Some(pending);
            let weak = weak.clone();
            slint::Timer::single_shot(CONFIRM_ARM_DELAY, move || {
                if let Some(app) = weak.upgrade() {
                    app.global::<ConsoleAdapter>().set_confirm_armed(true);
                }
            });
        })
    };
    let confirm: Rc<dyn Fn(ExamEvent)> = {
        let (engine, console, open) = (engine.clone(), console.clone(), open_panel.clone());
        Rc::new(move |event: ExamEvent| {
            if console.borrow().confirm.is_some() {
                return;
            }
            let pending = {
                let published = engine.read();
                let Some(session) = published.session() else {
                    return;
                };
                Pending::for_event(event, session.exam())
            };
            if let Some(pending) = pending {
                open(pending);
            }
        })
    };
    // Finishing the exam (issue 15): the confirm panel lists what is still open.
    let (engine_f, console_f, open, who) = (
        engine.clone(),
        console.clone(),
        open_panel.clone(),
        actor.clone(),
    );
    a.on_finish_exam(move || {
        if console_f.borrow().confirm.is_some() {
            return;
        }
        let pending = {
            let published = engine_f.read();
            let Some(session) = published.session() else {
                return;
            };
            Pending::finish(session.exam(), session.now(), who())
        };
        open(pending);
    });
    let (c, g, weak, e_acc, st_acc) = (
        console.clone(),
        guarded.clone(),
        app.as_weak(),
        engine.clone(),
        staff.clone(),
    );
    a.on_confirm_accept(move || {
        let armed = weak
            .upgrade()
            .is_some_and(|app| app.global::<ConsoleAdapter>().get_confirm_armed());
        if !armed {
            return;
        }
        // Taken once: a second touch finds nothing waiting.
        let Some(pending) = c.borrow_mut().confirm.take() else {
            return;
        };
        if let Some(app) = weak.upgrade() {
            app.global::<ConsoleAdapter>().set_confirm_open(false);
        }
        let finishing = matches!(pending.event, ExamEvent::ExamFinished { .. });
        let exam = finishing
            .then(|| e_acc.read().session().map(|s| s.id()))
            .flatten();
        g(pending.event);
        if let Some(exam) = exam {
            load_report(&c, &st_acc, exam);
        }
    });
    let (c, st, weak) = (console.clone(), staff.clone(), app.as_weak());
    a.on_report_print(move || print_report(&c, &st, &weak));
    let (c, weak) = (console.clone(), app.as_weak());
    a.on_report_close(move || {
        c.borrow_mut().report = None;
        if let Some(app) = weak.upgrade() {
            app.global::<ConsoleAdapter>().set_report_open(false);
        }
    });
    let (c, weak) = (console.clone(), app.as_weak());
    a.on_confirm_cancel(move || {
        c.borrow_mut().confirm = None;
        if let Some(app) = weak.upgrade() {
            app.global::<ConsoleAdapter>().set_confirm_open(false);
        }
    });
    let f = confirm.clone();
    a.on_start_adenosine(move || {
        f(ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        })
    });
    let f = confirm.clone();
    a.on_start_regadenoson(move || {
        f(ExamEvent::StressStarted {
            drug: StressDrug::Regadenoson,
            dose: None,
            authority: Default::default(),
        })
    });
    let (f, e) = (act.clone(), engine.clone());
    a.on_choose_agent(move |i| {
        let agent = e.read().session().and_then(|s| {
            s.exam()
                .settings()
                .agents
                .agents
                .iter()
                .filter(|g| g.for_cmr)
                .nth(i as usize)
                .map(|g| g.id)
        });
        if let Some(agent) = agent {
            f(ExamEvent::AgentSelected { agent });
        }
    });
    let f = act.clone();
    a.on_stop_infusion(move || f(ExamEvent::StressStopped));
    let f = act.clone();
    a.on_reverse_regadenoson(move || f(ExamEvent::StressStopped));
    let f = confirm.clone();
    a.on_escalate(move || {
        f(ExamEvent::StressEscalated {
            dose_ug_kg_min: None,
            authority: Default::default(),
        })
    });
    let f = act.clone();
    a.on_note_criterion(move |i| {
        if let Some(criterion) = CRITERIA.get(i as usize) {
            f(ExamEvent::StopCriterionNoted {
                criterion: *criterion,
                note: None,
            });
        }
    });
    let acquired = |step| ExamEvent::SeriesAcquired {
        step,
        params: None,
        acquisition: None,
        safety: None,
        geometry: None,
        psir: None,
    };
    let f = act.clone();
    a.on_stress_acquired(move || f(acquired(ProtocolStep::StressPerfusion)));
    let f = act.clone();
    a.on_lge_done(move || f(acquired(ProtocolStep::Lge)));
    let (c, f) = (console.clone(), act.clone());
    a.on_tick(move |i| {
        let step = c.borrow().checklist_steps.get(i as usize).copied();
        if let Some(step) = step {
            f(acquired(step));
        }
    });
    let (c, e, who) = (console.clone(), engine.clone(), actor.clone());
    a.on_acknowledge_alarm(move |i| {
        let code = c.borrow().board.alarms().get(i as usize).map(|al| al.code);
        if let Some(code) = code {
            c.borrow_mut().board.acknowledge(code);
            if let Err(err) = e.call(Command::Acknowledge { code, actor: who() }) {
                tracing::error!("acknowledgement refused: {err}");
            }
        }
    });
    let (c, e, who) = (console.clone(), engine.clone(), actor.clone());
    a.on_dismiss_prompt(move |i| {
        let p = c.borrow().board.prompts().nth(i as usize);
        let Some(p) = p else { return };
        c.borrow_mut().board.dismiss(p);
        if let Err(err) = e.call(Command::DismissPrompt {
            prompt: p,
            actor: who(),
        }) {
            tracing::error!("prompt dismissal refused: {err}");
        }
    });

    // The injection form.
    let c = console.clone();
    a.on_choose_purpose(move |i| {
        if let Some(p) = PURPOSES.get(i as usize) {
            c.borrow_mut().form.choose(*p);
        }
    });
    let c = console.clone();
    a.on_set_by_volume(move |by_volume| {
        let mut ui = c.borrow_mut();
        let (w, conc) = (ui.weight_kg, ui.mmol_per_ml);
        ui.form.set_by_volume(by_volume, w, conc);
    });
    let edit = {
        let (c, input) = (console.clone(), input.clone());
        move |field: Field| {
            let current = {
                let ui = c.borrow();
                match field {
                    Field::Dose => ui.form.dose_mmol_kg,
                    Field::Volume => ui.form.volume_ml,
                    Field::Rate => ui.form.rate_ml_s,
                    Field::Flush => ui.form.flush_ml,
                }
            };
            let entry = NumberEntry::with_value(field_spec(field), current);
            let c = c.clone();
            input.open_number(entry, move |e| {
                if let Some(value) = e.value() {
                    let mut ui = c.borrow_mut();
                    match field {
                        Field::Dose => ui.form.dose_mmol_kg = value,
                        Field::Volume => ui.form.volume_ml = value,
                        Field::Rate => ui.form.rate_ml_s = value,
                        Field::Flush => ui.form.flush_ml = value,
                    }
                }
            });
        }
    };
    let edit = Rc::new(edit);
    let (e, c) = (edit.clone(), console.clone());
    a.on_edit_amount(move || {
        let by_volume = c.borrow().form.by_volume;
        e(if by_volume {
            Field::Volume
        } else {
            Field::Dose
        })
    });
    let e = edit.clone();
    a.on_edit_rate(move || e(Field::Rate));
    let e = edit;
    a.on_edit_flush(move || e(Field::Flush));
    let (c, f) = (console.clone(), confirm);
    a.on_inject_entered(move || {
        let request = c.borrow().form.request();
        f(ExamEvent::Injected(request));
    });
    let (c, weak) = (console.clone(), app.as_weak());
    a.on_repeat_lge(move || {
        c.borrow_mut().form.choose(Purpose::TopUp);
        if let Some(app) = weak.upgrade() {
            app.global::<ConsoleAdapter>().set_tab(ConsoleTab::Contrast);
        }
    });
    // Void an injection recorded by mistake: the reason on the keyboard, then the
    // correction is logged (the original entry stays on the record).
    let (c, inp, f, who) = (console.clone(), input.clone(), act.clone(), actor.clone());
    a.on_void_injection(move |i| {
        let Some(Some(injected_at)) = c.borrow().injection_times.get(i as usize).copied() else {
            return;
        };
        let (f, who) = (f.clone(), who.clone());
        inp.open_text("console-void-reason", "", move |reason| {
            if !reason.trim().is_empty() {
                f(ExamEvent::InjectionVoided {
                    injected_at,
                    by: who(),
                    reason,
                });
            }
        });
    });
    let st = staff.clone();
    a.on_sign_in(move || st.sign_in_over_view_only());
    let c = console;
    a.on_pause_audio(move || {
        let now = engine.read().session().map(|s| s.now());
        if let Some(now) = now {
            c.borrow_mut().board.pause_audio(now);
            engine.send(Command::PauseAudio);
        }
    });
}

/// Reads the finished exam's record back from the log off the UI thread (after every
/// row submitted before it) and shows it on the report panel.
fn load_report(console: &Rc<RefCell<ConsoleUi>>, staff: &StaffPanel, exam: crate::store::ExamId) {
    console.borrow_mut().report = Some(ShownReport {
        exam: Some(exam),
        ..ShownReport::default()
    });
    let Some(rec) = staff.recorder() else {
        set_report_status(
            console,
            "console-report-failed",
            "the exam record is not open",
        );
        return;
    };
    let deliver = console.borrow().report_setup.deliver.clone();
    let work = move || {
        let device = rec.device().as_str().to_string();
        let queue = deliver.clone();
        let record = rec
            .with_store(move |store| async move {
                let trust = match store.keys() {
                    Some(keys) => crate::store::checkpoint::Trust::of_kiosk(keys, &device)
                        .map_err(|e| e.to_string())?,
                    None => crate::store::checkpoint::Trust::default(),
                };
                let record = crate::report::record::ExamRecord::load(&store, exam, &trust)
                    .await
                    .map_err(|e| e.to_string())?;
                // The ORU into the RIS outbox: a local write, after the exam's own rows.
                if let Some(config) = queue {
                    use chrono::Offset as _;
                    let offset = chrono::Local::now().offset().fix();
                    let queued =
                        crate::report::deliver::queue_for_ris(&store, &config, &record, offset)
                            .await;
                    tracing::info!(?queued, %exam, "finished exam's report for the RIS");
                }
                Ok(record)
            })
            .unwrap_or_else(|| Err("the exam record is not open".to_string()))?;
        // The SR to PACS over the network: here, on the job thread, never on the
        // recorder's (the log must not wait for a PACS).
        if let Some(config) = deliver
            && let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        {
            use chrono::Offset as _;
            let offset = chrono::Local::now().offset().fix();
            let sent = rt.block_on(crate::report::deliver::sr_to_pacs(&config, &record, offset));
            match sent {
                Some(Err(e)) => tracing::error!(%exam, "the SR was not stored to PACS: {e}"),
                Some(Ok(uid)) => tracing::info!(%exam, %uid, "SR stored to PACS"),
                None => {}
            }
        }
        Ok::<_, String>(record)
    };
    let c = console.clone();
    staff.jobs().spawn(work, move |loaded| match loaded {
        Ok(record) => {
            if let Some(shown) = c.borrow_mut().report.as_mut()
                && shown.exam == Some(exam)
            {
                shown.record = Some(Arc::new(record));
                shown.worded = None;
            }
        }
        Err(reason) => set_report_status(&c, "console-report-failed", &reason),
    });
}

fn set_report_status(console: &Rc<RefCell<ConsoleUi>>, key: &'static str, reason: &str) {
    if let Some(shown) = console.borrow_mut().report.as_mut() {
        shown.status = Some((key, vec![("reason", reason.to_string())]));
        shown.printing = false;
    }
}

/// "Print": the sheet worded on the UI thread in the language shown, drawn and printed
/// on the job thread.
fn print_report(
    console: &Rc<RefCell<ConsoleUi>>,
    staff: &StaffPanel,
    weak: &slint::Weak<AppWindow>,
) {
    let (record, setup) = {
        let ui = console.borrow();
        let Some(record) = ui.report.as_ref().and_then(|r| r.record.clone()) else {
            return;
        };
        if ui.report.as_ref().is_some_and(|r| r.printing) {
            return;
        }
        (record, ui.report_setup.clone())
    };
    if !setup.print.is_set() {
        if let Some(shown) = console.borrow_mut().report.as_mut() {
            shown.status = Some(("console-report-no-printer", Vec::new()));
        }
        return;
    }
    let lang = staff.language();
    let loc = lang.localizer();
    let sections = report_sections(loc, lang.current(), &setup, &record);
    use chrono::Offset as _;
    let offset = chrono::Local::now().offset().fix();
    let sheet = crate::report::sheet::sheet(loc, lang.current(), &record, &sections, offset);
    let stem = crate::report::print::file_stem(&[
        &record
            .opened
            .with_timezone(&offset)
            .format("%Y%m%d-%H%M")
            .to_string(),
        record
            .registration
            .as_ref()
            .map(|r| r.patient_id.as_str())
            .unwrap_or(if record.training { "training" } else { "" }),
        &record.exam.to_string()[..8],
    ]);
    if let Some(shown) = console.borrow_mut().report.as_mut() {
        shown.printing = true;
        shown.status = Some(("console-report-printing", Vec::new()));
    }
    if let Some(app) = weak.upgrade() {
        app.global::<ConsoleAdapter>().set_report_printing(true);
    }
    let print = setup.print.clone();
    let work = move || -> Result<crate::report::print::Printed, String> {
        let pdf = crate::report::pdf::render(&sheet).map_err(|e| e.to_string())?;
        crate::report::print::print(&pdf, &stem, &print).map_err(|e| e.to_string())
    };
    let c = console.clone();
    staff.jobs().spawn(work, move |done| {
        use crate::report::print::Printed;
        let status: (&'static str, Vec<(&'static str, String)>) = match done {
            Ok(Printed::Command(cmd)) => ("console-report-printed", vec![("target", cmd)]),
            Ok(Printed::Saved(path) | Printed::Both(_, path)) => (
                "console-report-saved",
                vec![("target", path.display().to_string())],
            ),
            Err(reason) => ("console-report-print-failed", vec![("reason", reason)]),
        };
        if let Some(shown) = c.borrow_mut().report.as_mut() {
            shown.printing = false;
            shown.status = Some(status);
        }
    });
}
