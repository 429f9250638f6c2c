//! Nurse mode (issue 7): registration, the review of the patient's answers with the
//! live clearance and physician overrides, preparation (2.2.1, 2.2.2) and sign-off.
//!
//! Every clinical fact goes through the running [`ExamSession`] (so it is checked by
//! the domain and logged durably, as the signed-in user); the registration record is
//! the `exam_opened` row's payload. What the nurse has typed but not yet registered
//! lives here in memory, untouched by the lock screen.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use chrono::NaiveDate;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::domain::protocol::Indication;
use crate::domain::screening::{
    Claustrophobia, Implant, ImplantConditions, ImplantKind, MrStatus, Permission, ReasonCode,
    ScreeningAnswers, Sex,
};
use crate::domain::verdict::{Go, NextStep, verdict};
use crate::domain::{ExamEvent, ExamType, Lift, Outcome, PrepItem, SelfAnswer};
use crate::engine::recorder::Recorder;
use crate::i18n::LanguageState;
use crate::report::key_for;
use crate::store::accounts::AuditAction;
use crate::ui::components::{
    AppWindow, ChoiceRow, ClearanceLevel, FactChoice, FactRow, FieldRow, NurseAdapter, NurseTab,
    PrepRow, ReasonRow, ReviewRow, WorklistRow,
};
use crate::ui::input::model::{NumberEntry, NumberSpec, format_number};
use crate::ui::input::view::InputPanels;
use crate::ui::nurse::facts::{FactForm, FactKind, FactValue};
use crate::ui::nurse::registration::{
    Field, FieldError, Registration, RegistrationForm, age_between, parse_date,
};
use crate::ui::patient::model::Question;
use crate::ui::patient::view::PatientPanel;
use crate::ui::staff::view::{CountersignDraft, StaffPanel, tra};

/// The text fields of the form in the order the form shows them (sex and exam type
/// are choice rows of their own).
pub const FORM_FIELDS: [Field; 7] = [
    Field::Name,
    Field::PatientId,
    Field::BirthDate,
    Field::Weight,
    Field::Height,
    Field::Department,
    Field::Question,
];

/// The sexes offered, in order.
pub const SEXES: [Sex; 3] = [Sex::Female, Sex::Male, Sex::Other];

/// The exam types offered, in order.
pub const EXAM_TYPES: [ExamType; 4] = [
    ExamType::Routine,
    ExamType::Contrast,
    ExamType::AdenosineStress,
    ExamType::RegadenosonStress,
];

/// The implant kinds offered in the implant dialog, in order.
pub const IMPLANT_KINDS: [ImplantKind; 8] = [
    ImplantKind::Pacemaker,
    ImplantKind::Icd,
    ImplantKind::HeartValve,
    ImplantKind::VascularClip,
    ImplantKind::AneurysmClip,
    ImplantKind::Neurostimulator,
    ImplantKind::MetalFragment,
    ImplantKind::Other,
];

/// The MR labels offered in the implant dialog, in order.
pub const MR_STATUSES: [MrStatus; 4] = [
    MrStatus::Safe,
    MrStatus::Conditional,
    MrStatus::Unsafe,
    MrStatus::Unknown,
];

pub use crate::ui::nurse::facts::Fact;

fn sex_key(s: Sex) -> &'static str {
    match s {
        Sex::Female => "sex-female",
        Sex::Male => "sex-male",
        Sex::Other => "sex-other",
    }
}

fn prep_key(i: PrepItem) -> String {
    format!("prep-{}", i.as_str())
}

#[derive(Debug, Default)]
pub(crate) struct ImplantDraft {
    pub(crate) kind: Option<ImplantKind>,
    pub(crate) status: Option<MrStatus>,
    pub(crate) conditions: String,
    /// The field strengths the label allows, among [`LABEL_FIELD_STRENGTHS`].
    pub(crate) field_strengths: Vec<f64>,
    /// The label's limits: whole-body SAR (W/kg), B1+rms (µT), dB/dt (T/s).
    pub(crate) limits: [Option<f64>; 3],
}

/// The field strengths an MR-conditional label names (the standard's 1.5 T and 3.0 T).
pub const LABEL_FIELD_STRENGTHS: [f64; 2] = [1.5, 3.0];

/// The keypad of each label limit: SAR (W/kg), B1+rms (µT), dB/dt (T/s).
pub fn limit_spec(i: usize) -> NumberSpec {
    match i {
        0 => NumberSpec::range((0.1, 4.0, 1), "unit-w-kg", "nurse-implant-sar"),
        1 => NumberSpec::range((0.1, 10.0, 1), "unit-ut", "nurse-implant-b1rms"),
        _ => NumberSpec::range((1.0, 300.0, 0), "unit-t-s", "nurse-implant-dbdt"),
    }
}

#[derive(Debug)]
pub(crate) struct OverrideDraft {
    pub(crate) rule: ReasonCode,
    pub(crate) sign: CountersignDraft,
}

#[derive(Debug, Default)]
pub(crate) struct NurseState {
    pub(crate) tab: NurseTab,
    pub(crate) form: RegistrationForm,
    pub(crate) form_errors: bool,
    /// The weight last shown as unusual for the age: registering again with it
    /// confirms it.
    pub(crate) weight_warned: Option<f64>,
    pub(crate) today: Vec<Registration>,
    pub(crate) confirmed: HashSet<String>,
    /// The safety facts as the nurse answered them (unanswered until chosen).
    pub(crate) facts: FactForm,
    /// The exam the answers and confirmations above belong to: another exam (opened,
    /// resumed, installed) starts them afresh.
    pub(crate) facts_exam: Option<crate::store::log::ExamId>,
    pub(crate) implant: Option<ImplantDraft>,
    pub(crate) override_draft: Option<OverrideDraft>,
    /// The indications chosen (2.1.1), recorded with the registration.
    pub(crate) indications: Vec<Indication>,
    /// Whether the indications picker is open.
    pub(crate) indications_open: bool,
    pub(crate) notice: Option<(String, bool)>,
    /// Today's modality worklist from the RIS.
    pub(crate) worklist: WorklistState,
    pub(crate) last_drawn: String,
}

/// Where the worklist stands.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum WorklistState {
    /// No provider configured: registration by hand only.
    #[default]
    Off,
    /// Being asked.
    Loading,
    /// Today's scheduled procedures.
    Ready(Vec<crate::dicom::node::WorklistItem>),
    /// The provider could not be asked (why): registration by hand.
    Down(String),
}

/// Where the worklist comes from and how its items map to exam types.
#[derive(Debug, Clone)]
pub struct WorklistSource {
    /// The kiosk's AE title (calling).
    pub calling: String,
    /// The provider.
    pub peer: crate::dicom::node::Peer,
    /// The scanner's AE title as scheduled (empty: any).
    pub station_ae: String,
    /// The modality asked for.
    pub modality: String,
    /// Requested procedure → exam type: the site's rules, then the shipped ones.
    pub rules: Vec<crate::dicom::node::worklist::ProcedureRule>,
}

impl WorklistSource {
    /// The worklist `config` names, `None` when none is configured.
    pub fn from_config(config: &crate::config::Config) -> Option<WorklistSource> {
        let w = &config.dicom.worklist;
        let mut rules = w.procedure_rules.clone();
        rules.extend(crate::dicom::node::worklist::builtin_procedure_rules());
        Some(WorklistSource {
            calling: config.dicom.node.ae_title.clone(),
            // A CA file that cannot be read was refused when the configuration was.
            peer: w.peer().ok().flatten()?,
            station_ae: w.station_ae.clone(),
            modality: w.modality.clone(),
            rules,
        })
    }
}

pub(crate) struct Inner {
    app: slint::Weak<AppWindow>,
    lang: LanguageState,
    input: InputPanels,
    staff: StaffPanel,
    patient: PatientPanel,
    engine: crate::engine::Engine,
    recorder: RefCell<Option<std::sync::Arc<Recorder>>>,
    worklist_source: RefCell<Option<WorklistSource>>,
    pub(crate) state: RefCell<NurseState>,
}

/// Nurse mode of one window.
#[derive(Clone)]
pub struct NursePanel {
    pub(crate) inner: Rc<Inner>,
}

impl std::fmt::Debug for NursePanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NursePanel").finish_non_exhaustive()
    }
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(v))
}

impl NursePanel {
    /// Wires nurse mode's callbacks of `app`.
    pub fn install(
        app: &AppWindow,
        lang: LanguageState,
        input: InputPanels,
        staff: StaffPanel,
        patient: PatientPanel,
        engine: crate::engine::Engine,
    ) -> NursePanel {
        let panel = NursePanel {
            inner: Rc::new(Inner {
                app: app.as_weak(),
                lang,
                input,
                staff,
                patient,
                engine,
                recorder: RefCell::new(None),
                worklist_source: RefCell::new(None),
                state: RefCell::new(NurseState::default()),
            }),
        };
        let n = app.global::<NurseAdapter>();
        macro_rules! on {
            ($setter:ident, |$p:ident $(, $arg:ident)*| $body:expr) => {{
                let $p = panel.clone();
                n.$setter(move |$($arg),*| {
                    $body;
                    $p.refresh();
                });
            }};
        }
        on!(on_select_tab, |p, t| {
            p.inner.state.borrow_mut().tab = t;
            if t == NurseTab::Register {
                p.load_today();
                p.load_worklist();
            }
        });
        on!(on_refresh_worklist, |p| p.load_worklist());
        on!(on_pick_worklist, |p, i| p.pick_worklist(i as usize));
        on!(on_edit_field, |p, i| p.edit_field(i as usize));
        on!(on_choose_sex, |p, i| p.inner.state.borrow_mut().form.sex =
            SEXES.get(i as usize).copied());
        on!(on_edit_indications, |p| p
            .inner
            .state
            .borrow_mut()
            .indications_open = true);
        on!(on_toggle_indication, |p, i| {
            if let Some(&ind) = Indication::ALL.get(i as usize) {
                let mut st = p.inner.state.borrow_mut();
                if st.indications.contains(&ind) {
                    st.indications.retain(|x| *x != ind);
                } else {
                    st.indications.push(ind);
                }
            }
        });
        on!(on_indications_done, |p| p.indications_done());
        on!(on_choose_exam_type, |p, i| p
            .inner
            .state
            .borrow_mut()
            .form
            .exam_type =
            EXAM_TYPES.get(i as usize).copied());
        on!(on_pick_today, |p, i| {
            let mut st = p.inner.state.borrow_mut();
            if let Some(r) = st.today.get(i as usize).cloned() {
                st.form = RegistrationForm::from_registration(&r);
                // Another patient: their indications are chosen again.
                st.indications.clear();
            }
        });
        on!(on_register, |p| p.register());
        on!(on_new_exam, |p| p.new_exam());
        on!(on_confirm_review, |p, i| p.confirm_review(i as usize));
        on!(on_edit_fact, |p, i| p.edit_fact(i as usize));
        on!(on_choose_fact, |p, i, c| p
            .choose_fact(i as usize, c as usize));
        on!(on_change_exam_type, |p| p.change_exam_type());
        on!(on_add_implant, |p| p.inner.state.borrow_mut().implant =
            Some(ImplantDraft::default()));
        on!(on_remove_implant, |p, i| p.remove_implant(i as usize));
        on!(on_implant_kind, |p, i| {
            if let Some(d) = p.inner.state.borrow_mut().implant.as_mut() {
                d.kind = IMPLANT_KINDS.get(i as usize).copied();
            }
        });
        on!(on_implant_status, |p, i| {
            if let Some(d) = p.inner.state.borrow_mut().implant.as_mut() {
                d.status = MR_STATUSES.get(i as usize).copied();
            }
        });
        on!(on_implant_conditions_edit, |p| p.edit_implant_conditions());
        on!(on_implant_field_strength, |p, i| {
            if let (Some(d), Some(&t)) = (
                p.inner.state.borrow_mut().implant.as_mut(),
                LABEL_FIELD_STRENGTHS.get(i as usize),
            ) {
                if d.field_strengths.contains(&t) {
                    d.field_strengths.retain(|f| *f != t);
                } else {
                    d.field_strengths.push(t);
                }
            }
        });
        on!(on_implant_limit_edit, |p, i| p
            .edit_implant_limit(i as usize));
        on!(on_implant_save, |p| p.save_implant());
        on!(on_implant_cancel, |p| p.inner.state.borrow_mut().implant =
            None);
        on!(on_override_rule_at, |p, i| p.open_override(i as usize));
        on!(on_override_edit, |p, i| p.edit_override(i as usize));
        on!(on_override_save, |p| p.save_override());
        on!(on_override_cancel, |p| p
            .inner
            .state
            .borrow_mut()
            .override_draft = None);
        on!(on_check, |p, i| p.check(i as usize));
        on!(on_sign_off, |p| p.sign_off());
        on!(on_sign_out, |p| p.inner.staff.sign_out());
        panel
    }

    /// Connects the durable log.
    pub fn set_recorder(&self, recorder: std::sync::Arc<Recorder>) {
        *self.inner.recorder.borrow_mut() = Some(recorder);
        self.load_today();
    }

    /// The form as typed so far (tests; the lock screen leaves it alone).
    pub fn form(&self) -> RegistrationForm {
        self.inner.state.borrow().form.clone()
    }

    fn actor(&self) -> String {
        self.inner
            .staff
            .actor()
            .unwrap_or_else(|| "unknown".to_string())
    }

    fn notice(&self, text: String, bad: bool) {
        self.inner.state.borrow_mut().notice = Some((text, bad));
    }

    fn tr(&self, key: &str) -> String {
        self.inner.lang.tr(key)
    }

    /// Feeds `event` to the running exam as the signed-in user; a refusal or an
    /// impossible value becomes the notice.
    fn handle(&self, event: ExamEvent) -> Option<Outcome> {
        if self.inner.recorder.borrow().is_none() {
            self.notice(self.tr("nurse-no-record"), true);
            return None;
        }
        let actor = self.actor();
        match self.inner.engine.handle(event, &actor) {
            Err(crate::engine::EngineError::NoExam) => {
                self.notice(self.tr("nurse-no-exam"), true);
                None
            }
            Err(crate::engine::EngineError::NoRecorder) => {
                self.notice(self.tr("nurse-no-record"), true);
                None
            }
            Ok(Outcome::Rejected(code)) => {
                // Why, and who lifts it and how (the same words as on the console).
                let lift = self
                    .inner
                    .engine
                    .read()
                    .session()
                    .map_or(code.lifted_by(), |s| s.exam().lift_for(code));
                self.notice(
                    tra(
                        &self.inner.lang,
                        "nurse-refused-lift",
                        &[
                            (
                                "reason",
                                tra(
                                    &self.inner.lang,
                                    "refused-step",
                                    &[("reason", self.tr(&key_for("rejected", &code)))],
                                ),
                            ),
                            ("lift", self.tr(&key_for("lift", &lift))),
                        ],
                    ),
                    true,
                );
                Some(Outcome::Rejected(code))
            }
            Ok(o) => Some(o),
            Err(e) => {
                self.notice(
                    tra(
                        &self.inner.lang,
                        "nurse-refused",
                        &[("reason", e.to_string())],
                    ),
                    true,
                );
                None
            }
        }
    }

    fn registration(&self) -> Option<Registration> {
        self.inner
            .engine
            .read()
            .session()
            .and_then(|s| Registration::from_json(s.record()))
    }

    /// Sets where today's worklist comes from (`None`: registration by hand only).
    pub fn set_worklist(&self, source: Option<WorklistSource>) {
        let off = source.is_none();
        *self.inner.worklist_source.borrow_mut() = source;
        if off {
            self.inner.state.borrow_mut().worklist = WorklistState::Off;
        }
    }

    /// Asks the worklist provider for today's list, off the UI thread (a slow or
    /// absent RIS never holds the screen); the list is drawn when it comes back, or
    /// the form says why it did not and stays open for typing.
    pub fn load_worklist(&self) {
        let Some(src) = self.inner.worklist_source.borrow().clone() else {
            return;
        };
        if self.inner.state.borrow().worklist == WorklistState::Loading {
            return;
        }
        self.inner.state.borrow_mut().worklist = WorklistState::Loading;
        let query = crate::dicom::node::WorklistQuery {
            date: today(),
            station_ae: src.station_ae.clone(),
            modality: src.modality.clone(),
        };
        let work = move || -> Result<Vec<crate::dicom::node::WorklistItem>, String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(crate::dicom::node::client::worklist(
                &src.calling,
                &src.peer,
                &query,
            ))
            .map_err(|e| e.to_string())
        };
        let p = self.clone();
        self.inner.staff.jobs().spawn(work, move |r| {
            p.inner.state.borrow_mut().worklist = match r {
                Ok(items) => WorklistState::Ready(items),
                Err(e) => {
                    tracing::warn!("worklist: {e}");
                    WorklistState::Down(e)
                }
            };
            p.refresh();
        });
    }

    /// Fills the form from worklist item `i`: identity, measures, the order, the
    /// suggested exam type; the nurse checks it and types what the RIS did not send.
    fn pick_worklist(&self, i: usize) {
        let rules = self
            .inner
            .worklist_source
            .borrow()
            .as_ref()
            .map(|s| s.rules.clone())
            .unwrap_or_default();
        let mut st = self.inner.state.borrow_mut();
        let WorklistState::Ready(items) = &st.worklist else {
            return;
        };
        let Some(item) = items.get(i) else { return };
        let form = RegistrationForm::from_worklist(item, &rules);
        let accession = item.accession.clone();
        st.form = form;
        st.form_errors = false;
        st.weight_warned = None;
        // Another patient: their indications are chosen again.
        st.indications.clear();
        drop(st);
        self.notice(
            tra(
                &self.inner.lang,
                "nurse-worklist-picked",
                &[("accession", accession)],
            ),
            false,
        );
    }

    fn load_today(&self) {
        let Some(rec) = self.inner.recorder.borrow().clone() else {
            return;
        };
        let device = rec.device().clone();
        let midnight = chrono::Local::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|m| m.and_local_timezone(chrono::Local).earliest())
            .map(|m| m.with_timezone(&chrono::Utc))
            .unwrap_or_else(chrono::Utc::now);
        // SQL off the UI thread; the list is drawn when it comes back.
        let work = move || {
            let rows =
                rec.with_store(
                    move |store| async move { store.opened_since(&device, midnight).await },
                );
            match rows {
                Some(Ok(rows)) => rows
                    .iter()
                    .filter_map(|(_, _, payload)| Registration::from_json(payload))
                    .collect(),
                Some(Err(e)) => {
                    tracing::error!("today's list: {e}");
                    Vec::new()
                }
                None => Vec::new(),
            }
        };
        let p = self.clone();
        self.inner
            .staff
            .jobs()
            .spawn(work, move |today: Vec<Registration>| {
                p.inner.state.borrow_mut().today = today;
                p.refresh();
            });
    }

    // ------------------------------------------------------------ registration

    fn edit_field(&self, i: usize) {
        let Some(&field) = FORM_FIELDS.get(i) else {
            return;
        };
        let form = self.inner.state.borrow().form.clone();
        let p = self.clone();
        let set = move |f: &mut RegistrationForm, text: String| match field {
            Field::Name => f.name = text,
            Field::PatientId => f.patient_id = text,
            Field::Department => f.department = text,
            Field::Question => f.question = text,
            _ => {}
        };
        let number = |spec: NumberSpec, current: Option<f64>| match current {
            Some(v) => NumberEntry::with_value(spec, v),
            None => NumberEntry::new(spec),
        };
        match field {
            Field::Name | Field::PatientId | Field::Department | Field::Question => {
                let initial = match field {
                    Field::Name => form.name,
                    Field::PatientId => form.patient_id,
                    Field::Department => form.department,
                    _ => form.question,
                };
                let kind = match field {
                    Field::Name => crate::ui::input::model::TextKind::Name,
                    Field::PatientId => crate::ui::input::model::TextKind::Latin,
                    _ => crate::ui::input::model::TextKind::Text,
                };
                self.inner
                    .input
                    .open_text_of(field.label_key(), &initial, kind, move |text| {
                        set(&mut p.inner.state.borrow_mut().form, text);
                        p.refresh();
                    });
            }
            Field::BirthDate => {
                let entry = match form.birth_date.parse::<f64>() {
                    Ok(v) => NumberEntry::with_value(NumberSpec::date("reg-birth-date"), v),
                    Err(_) => NumberEntry::new(NumberSpec::date("reg-birth-date")),
                };
                self.inner.input.open_number(entry, move |e| {
                    p.inner.state.borrow_mut().form.birth_date = e.text().to_string();
                    p.refresh();
                });
            }
            Field::Weight => self.inner.input.open_number(
                number(NumberSpec::weight_kg(), form.weight_kg),
                move |e| {
                    p.inner.state.borrow_mut().form.weight_kg = e.value();
                    p.refresh();
                },
            ),
            Field::Height => self.inner.input.open_number(
                number(NumberSpec::height_cm(), form.height_cm),
                move |e| {
                    p.inner.state.borrow_mut().form.height_cm = e.value();
                    p.refresh();
                },
            ),
            Field::Sex | Field::ExamType => {}
        }
    }

    /// Registers the form: opens today's exam with the record (or, for the exam
    /// already open for this patient, records the corrected weight, height and type).
    pub fn register(&self) {
        let day = today();
        let form = self.inner.state.borrow().form.clone();
        let reg = match form.complete(day) {
            Ok(r) => r,
            // An unusual weight for the age, shown once: the second touch on
            // "register" with the same weight confirms it (named in the notice).
            Err(errors)
                if errors == [(Field::Weight, FieldError::WeightUnusualForAge)]
                    && self.inner.state.borrow().weight_warned == form.weight_kg =>
            {
                let mut st = self.inner.state.borrow_mut();
                st.form.weight_confirmed = form.weight_kg;
                drop(st);
                return self.register();
            }
            Err(errors) => {
                self.inner.state.borrow_mut().form_errors = true;
                let (field, error) = errors[0];
                if error == FieldError::WeightUnusualForAge
                    && let (Some(w), Some(birth)) = (form.weight_kg, parse_date(&form.birth_date))
                {
                    self.inner.state.borrow_mut().weight_warned = Some(w);
                    let age = age_between(birth, day);
                    let (lo, hi) = crate::domain::screening::expected_weight_kg(age);
                    self.notice(
                        tra(
                            &self.inner.lang,
                            "reg-weight-unusual",
                            &[
                                ("weight", format_number(w, 2)),
                                ("age", age.to_string()),
                                ("low", format_number(lo, 0)),
                                ("high", format_number(hi, 0)),
                            ],
                        ),
                        true,
                    );
                    return;
                }
                self.notice(
                    tra(
                        &self.inner.lang,
                        "reg-problem",
                        &[
                            ("field", self.tr(field.label_key())),
                            ("problem", self.tr(error.key())),
                        ],
                    ),
                    true,
                );
                return;
            }
        };
        self.inner.state.borrow_mut().form_errors = false;
        if self.inner.recorder.borrow().is_none() {
            self.notice(self.tr("nurse-no-record"), true);
            return;
        }
        let current = self.registration();
        let same = current
            .as_ref()
            .is_some_and(|c| c.patient_id == reg.patient_id && c.name == reg.name);
        if !same {
            let has_clinical = self
                .inner
                .engine
                .read()
                .session()
                .is_some_and(|s| s.exam().patient().is_some());
            if has_clinical {
                self.notice(self.tr("nurse-other-exam-open"), true);
                return;
            }
            let actor = self.actor();
            // A running exam is closed first (by the engine).
            let settings = self.inner.engine.read().site().clinical.to_protocol();
            if let Err(e) = self.inner.engine.call(crate::engine::Command::Open {
                settings,
                actor,
                record: reg.to_json(),
            }) {
                self.notice(
                    tra(
                        &self.inner.lang,
                        "nurse-refused",
                        &[("reason", e.to_string())],
                    ),
                    true,
                );
                return;
            }
            let mut st = self.inner.state.borrow_mut();
            st.confirmed.clear();
            st.facts = FactForm::default();
            st.implant = None;
            st.override_draft = None;
        }
        let (egfr, egfr_date) = self
            .inner
            .engine
            .read()
            .session()
            .and_then(|s| s.exam().patient().cloned())
            .map(|p| {
                (
                    p.egfr,
                    p.egfr_date
                        .as_deref()
                        .and_then(|d| parse_date(&d.replace('-', ""))),
                )
            })
            .unwrap_or((None, None));
        let patient = reg.patient(day, egfr, egfr_date);
        let indications = self.inner.state.borrow().indications.clone();
        let ok = self
            .handle(ExamEvent::PatientRegistered { patient })
            .is_some()
            && self
                .handle(ExamEvent::ExamTypeChosen {
                    exam_type: reg.exam_type,
                })
                .is_some()
            && self
                .handle(ExamEvent::IndicationsRecorded { indications })
                .is_some();
        if ok {
            // A correction of the same exam keeps what the patient has done so far.
            if !same || self.inner.patient.name().as_deref() != Some(reg.name.as_str()) {
                self.inner
                    .patient
                    .set_patient_identity(Some(&reg.name), Some(reg.birth_date));
            }
            self.inner
                .patient
                .set_exam(Some(reg.sex), Some(reg.exam_type));
            self.notice(
                tra(
                    &self.inner.lang,
                    "nurse-registered",
                    &[("name", reg.name.clone())],
                ),
                false,
            );
            self.load_today();
        }
    }

    /// Starts over with an empty form; a running exam without clinical data is
    /// closed, one with data is closed too (its log stays complete).
    fn new_exam(&self) {
        let actor = self.actor();
        if self.inner.engine.read().session().is_some() {
            self.inner
                .engine
                .call_quiet(crate::engine::Command::Close { actor });
        }
        self.inner.patient.set_patient(None);
        let mut st = self.inner.state.borrow_mut();
        st.form = RegistrationForm::default();
        st.form_errors = false;
        st.confirmed.clear();
        st.facts = FactForm::default();
        st.indications.clear();
        st.notice = None;
    }

    // ------------------------------------------------------------------ review

    fn answers(&self) -> ScreeningAnswers {
        self.inner
            .engine
            .read()
            .session()
            .map(|s| s.exam().answers().clone())
            .unwrap_or_default()
    }

    fn set_answers(&self, answers: ScreeningAnswers) {
        self.handle(ExamEvent::ScreeningAnswered { answers });
    }

    fn review_questions(&self) -> Vec<(String, SelfAnswer, bool)> {
        self.inner
            .engine
            .read()
            .session()
            .map(|s| {
                s.exam()
                    .self_report()
                    .iter()
                    .map(|i| (i.question.clone(), i.answer, i.needs_review))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn confirm_review(&self, i: usize) {
        let questions = self.review_questions();
        let key = match questions.get(i) {
            Some((q, _, _)) => q.clone(),
            // No self-report on the kiosk: the nurse asked the questions in person.
            None if questions.is_empty() && i == 0 => "verbal".to_string(),
            None => return,
        };
        let all = {
            let mut st = self.inner.state.borrow_mut();
            st.confirmed.insert(key);
            questions.is_empty() || questions.iter().all(|(q, _, _)| st.confirmed.contains(q))
        };
        let done = self
            .inner
            .engine
            .read()
            .session()
            .is_some_and(|s| s.exam().prepared().contains(&PrepItem::AnswersReviewed));
        if all && !done {
            self.handle(ExamEvent::PreparationChecked {
                item: PrepItem::AnswersReviewed,
                by: self.actor(),
            });
        }
    }

    fn edit_fact(&self, i: usize) {
        let Some(&fact) = Fact::ALL.get(i) else {
            return;
        };
        let patient = self
            .inner
            .engine
            .read()
            .session()
            .and_then(|s| s.exam().patient().cloned());
        if fact.kind() != FactKind::Number {
            return;
        }
        let p = self.clone();
        let Some(patient) = patient else {
            self.notice(self.tr("nurse-register-first"), true);
            return;
        };
        let entry = if fact == Fact::Egfr {
            match patient.egfr {
                Some(v) => NumberEntry::with_value(NumberSpec::egfr(), v),
                None => NumberEntry::new(NumberSpec::egfr()),
            }
        } else {
            NumberEntry::new(NumberSpec::date("fact-egfr-date"))
        };
        self.inner.input.open_number(entry, move |e| {
            let mut patient = patient.clone();
            if fact == Fact::Egfr {
                patient.egfr = e.value();
            } else {
                match parse_date(e.text()) {
                    Some(d) if d <= today() => {
                        patient.egfr_date = Some(d.format("%Y-%m-%d").to_string())
                    }
                    _ => {
                        p.notice(
                            tra(
                                &p.inner.lang,
                                "reg-problem",
                                &[
                                    ("field", p.tr("fact-egfr-date")),
                                    ("problem", p.tr("reg-error-not-a-date")),
                                ],
                            ),
                            true,
                        );
                        p.refresh();
                        return;
                    }
                }
            }
            p.handle(ExamEvent::PatientRegistered { patient });
            p.refresh();
        });
    }

    /// The registered sex, if a patient is registered.
    fn sex(&self) -> Option<Sex> {
        self.inner
            .engine
            .read()
            .session()
            .and_then(|s| s.exam().patient().map(|p| p.sex))
    }

    /// Lays the nurse's choices over the recorded answers and records the result
    /// when it changes what the rules read.
    fn record_facts(&self) {
        let current = self.answers();
        let answers = self.inner.state.borrow().facts.apply(&current, self.sex());
        if answers != current {
            self.set_answers(answers);
        }
    }

    /// The nurse touches choice `c` of fact `i` (Yes / No, a grade, none / hours
    /// ago): a deliberate answer, recorded at once.
    fn choose_fact(&self, i: usize, c: usize) {
        let Some(&fact) = Fact::ALL.get(i) else {
            return;
        };
        self.follow_exam();
        if self.inner.engine.read().session().is_none() {
            self.notice(self.tr("nurse-register-first"), true);
            return;
        }
        if !fact.asked_of(self.sex()) {
            return;
        }
        let value = match (fact.kind(), c) {
            (FactKind::YesNo, 0) => FactValue::YesNo(true),
            (FactKind::YesNo, 1) => FactValue::YesNo(false),
            (FactKind::Grade, 0) => FactValue::Grade(Claustrophobia::None),
            (FactKind::Grade, 1) => FactValue::Grade(Claustrophobia::Mild),
            (FactKind::Grade, 2) => FactValue::Grade(Claustrophobia::Severe),
            (FactKind::Hours, 0) => FactValue::Hours(None),
            (FactKind::Hours, 1) => {
                // Hours ago, on the keypad; the fact is answered when the keypad is.
                let current = match self.inner.state.borrow().facts.get(fact) {
                    Some(FactValue::Hours(h)) => h,
                    _ => None,
                };
                let spec = NumberSpec::hours(fact.label_key());
                let entry = match current {
                    Some(v) => NumberEntry::with_value(spec, v),
                    None => NumberEntry::new(spec),
                };
                let p = self.clone();
                self.inner.input.open_number(entry, move |e| {
                    if let Some(h) = e.value() {
                        p.inner
                            .state
                            .borrow_mut()
                            .facts
                            .set(fact, FactValue::Hours(Some(h)));
                        p.record_facts();
                    }
                    p.refresh();
                });
                return;
            }
            _ => return,
        };
        self.inner.state.borrow_mut().facts.set(fact, value);
        self.record_facts();
    }

    /// Orders the exam type the clearance allows instead (the verdict's fallback).
    fn change_exam_type(&self) {
        let fallback = self.inner.engine.read().session().and_then(|s| {
            let e = s.exam();
            e.exam_type()
                .and_then(|t| verdict(e.clearance(), t).fallback)
        });
        let Some(t) = fallback else { return };
        if self
            .handle(ExamEvent::ExamTypeChosen { exam_type: t })
            .is_some()
        {
            self.inner.state.borrow_mut().form.exam_type = Some(t);
            self.inner.patient.set_exam(self.sex(), Some(t));
            self.notice(
                tra(
                    &self.inner.lang,
                    "nurse-exam-type-changed",
                    &[("type", self.tr(&key_for("verdict-instead", &t)))],
                ),
                false,
            );
        }
    }

    fn remove_implant(&self, i: usize) {
        let mut a = self.answers();
        if i < a.implants.len() {
            a.implants.remove(i);
            self.set_answers(a);
        }
    }

    fn edit_implant_conditions(&self) {
        let initial = self
            .inner
            .state
            .borrow()
            .implant
            .as_ref()
            .map(|d| d.conditions.clone())
            .unwrap_or_default();
        let p = self.clone();
        self.inner
            .input
            .open_text("nurse-implant-conditions", &initial, move |text| {
                if let Some(d) = p.inner.state.borrow_mut().implant.as_mut() {
                    d.conditions = text;
                }
                p.refresh();
            });
    }

    fn edit_implant_limit(&self, i: usize) {
        if i > 2 {
            return;
        }
        let current = self
            .inner
            .state
            .borrow()
            .implant
            .as_ref()
            .and_then(|d| d.limits[i]);
        let entry = match current {
            Some(v) => NumberEntry::with_value(limit_spec(i), v),
            None => NumberEntry::new(limit_spec(i)),
        };
        let p = self.clone();
        self.inner.input.open_number(entry, move |e| {
            if let Some(d) = p.inner.state.borrow_mut().implant.as_mut() {
                d.limits[i] = e.value();
            }
            p.refresh();
        });
    }

    fn save_implant(&self) {
        let draft = self.inner.state.borrow_mut().implant.take();
        let Some(d) = draft else { return };
        let (Some(kind), Some(mr_status)) = (d.kind, d.status) else {
            self.notice(self.tr("nurse-implant-incomplete"), true);
            self.inner.state.borrow_mut().implant = Some(d);
            return;
        };
        // The label's numbers, so each series can be checked against them (2.1.2).
        let recorded = !d.conditions.trim().is_empty()
            || !d.field_strengths.is_empty()
            || d.limits.iter().any(Option::is_some);
        let conditions = recorded.then(|| ImplantConditions {
            device: d.conditions.trim().to_string(),
            label: d.conditions.trim().to_string(),
            checked_by: self.actor(),
            field_strength_t: d.field_strengths.clone(),
            max_wb_sar_w_kg: d.limits[0],
            max_b1rms_ut: d.limits[1],
            max_dbdt_t_s: d.limits[2],
            max_spatial_gradient_t_m: None,
        });
        let mut a = self.answers();
        a.implants.push(Implant {
            kind,
            mr_status,
            conditions,
        });
        self.set_answers(a);
    }

    /// Closes the indications picker; a registered exam records the list at once (its
    /// checklist gains the steps they add), an unregistered one at registration.
    fn indications_done(&self) {
        let indications = {
            let mut st = self.inner.state.borrow_mut();
            st.indications_open = false;
            st.indications.clone()
        };
        let registered = self
            .inner
            .engine
            .read()
            .session()
            .is_some_and(|s| s.exam().patient().is_some());
        if registered {
            self.handle(ExamEvent::IndicationsRecorded { indications });
        }
    }

    fn open_override(&self, i: usize) {
        let reasons = self
            .inner
            .engine
            .read()
            .session()
            .map(|s| s.exam().clearance().reasons.clone())
            .unwrap_or_default();
        let Some(r) = reasons.get(i) else { return };
        if !r.overridable || r.overridden_by.is_some() {
            return;
        }
        self.inner.state.borrow_mut().override_draft = Some(OverrideDraft {
            rule: r.code,
            sign: CountersignDraft::default(),
        });
    }

    fn edit_override(&self, i: usize) {
        let Some(sign) = self
            .inner
            .state
            .borrow()
            .override_draft
            .as_ref()
            .map(|d| d.sign.clone())
        else {
            return;
        };
        let p = self.clone();
        sign.edit(&self.inner.input, i, move |i, text| {
            if let Some(d) = p.inner.state.borrow_mut().override_draft.as_mut() {
                d.sign.set(i, text);
            }
            p.refresh();
        });
    }

    /// The physician countersigns with their own PIN; the override is logged with
    /// their name and the reason, and audited.
    fn save_override(&self) {
        let Some((rule, sign)) = self
            .inner
            .state
            .borrow()
            .override_draft
            .as_ref()
            .map(|d| (d.rule, d.sign.clone()))
        else {
            return;
        };
        let set_error = |text: String| {
            if let Some(d) = self.inner.state.borrow_mut().override_draft.as_mut() {
                d.sign.error = text;
            }
        };
        if !sign.complete() {
            set_error(self.tr("nurse-override-incomplete"));
            return;
        }
        let (username, pin, reason) = (sign.username, sign.pin, sign.reason);
        set_error(self.tr("signin-checking"));
        let at = self.inner.staff.audit_at();
        let p = self.clone();
        // The physician's PIN is checked (Argon2) off the UI thread.
        self.inner
            .staff
            .check_physician(&username, &pin, move |checked| {
                p.countersigned(rule, reason, at, checked);
                p.refresh();
            });
    }

    /// Records the override once the physician's PIN has been checked.
    fn countersigned(
        &self,
        rule: ReasonCode,
        reason: String,
        at: crate::store::accounts::AuditAt,
        checked: Result<crate::store::accounts::StaffAccount, String>,
    ) {
        let account = match checked {
            Ok(a) => a,
            Err(text) => {
                if let Some(d) = self.inner.state.borrow_mut().override_draft.as_mut() {
                    d.sign.error = text;
                }
                return;
            }
        };
        let outcome = self.handle(ExamEvent::OverrideRecorded {
            rule,
            by: account.display_name.clone(),
            reason: reason.trim().to_string(),
        });
        if outcome.is_some() {
            self.inner.staff.desk().borrow().audit(
                AuditAction::Override,
                Some(format!("{} by {}", rule.as_str(), account.username)),
                at,
            );
            self.inner.state.borrow_mut().override_draft = None;
            self.notice(
                tra(
                    &self.inner.lang,
                    "nurse-override-done",
                    &[("name", account.display_name)],
                ),
                false,
            );
        }
    }

    // ------------------------------------------------------- preparation, sign-off

    fn check(&self, i: usize) {
        let Some(&item) = PrepItem::ALL.get(i) else {
            return;
        };
        let done = self
            .inner
            .engine
            .read()
            .session()
            .is_some_and(|s| s.exam().prepared().contains(&item));
        if done {
            return;
        }
        if item == PrepItem::AnswersReviewed {
            self.notice(self.tr("nurse-review-first"), true);
            return;
        }
        self.handle(ExamEvent::PreparationChecked {
            item,
            by: self.actor(),
        });
    }

    /// The names of the safety facts not yet answered, joined for a sentence (empty:
    /// all answered).
    fn unanswered_list(&self, sex: Option<Sex>) -> String {
        self.inner
            .state
            .borrow()
            .facts
            .unanswered(sex)
            .iter()
            .map(|f| self.tr(f.label_key()))
            .collect::<Vec<_>>()
            .join(&self.tr("report-list-separator"))
    }

    fn sign_off(&self) {
        // Every safety fact needs a deliberate answer first; the choices are then
        // laid over the recorded answers so the rules read exactly what was chosen.
        self.follow_exam();
        if self.inner.engine.read().session().is_some() {
            let missing = self.unanswered_list(self.sex());
            if !missing.is_empty() {
                self.notice(
                    tra(
                        &self.inner.lang,
                        "nurse-refused-facts",
                        &[("list", missing)],
                    ),
                    true,
                );
                return;
            }
            self.record_facts();
        }
        let by = self
            .inner
            .staff
            .desk()
            .borrow()
            .display_name()
            .map(str::to_string)
            .unwrap_or_else(|| self.actor());
        if let Some(Outcome::Accepted) = self.handle(ExamEvent::SignedOff { by: by.clone() }) {
            self.notice(
                tra(&self.inner.lang, "nurse-signed-off-done", &[("name", by)]),
                false,
            );
        }
    }

    // ------------------------------------------------------------------ drawing

    /// Forgets the nurse's answers and confirmations when the running exam is not the
    /// one they were given for.
    fn follow_exam(&self) {
        let id = self.inner.engine.read().session().map(|s| s.id());
        let mut st = self.inner.state.borrow_mut();
        if st.facts_exam != id {
            if st.facts_exam.is_some() {
                st.facts = FactForm::default();
                st.confirmed.clear();
            }
            st.facts_exam = id;
        }
    }

    /// Redraws nurse mode from the form and the running exam.
    pub fn refresh(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        self.follow_exam();
        let lang = &self.inner.lang;
        let tr = |k: &str| lang.tr(k);
        let day = today();
        let st = self.inner.state.borrow();
        // A copy of what is drawn, so the engine is not held while the page redraws.
        let open: Option<(crate::domain::Exam, serde_json::Value)> = self
            .inner
            .engine
            .read()
            .session()
            .map(|s| (s.exam().clone(), s.record().clone()));
        let exam = open.as_ref().map(|(e, _)| e);
        let registration = open.as_ref().and_then(|(_, r)| Registration::from_json(r));
        let empty = tr("value-empty");

        let fields: Vec<FieldRow> = FORM_FIELDS
            .iter()
            .map(|&f| {
                let form = &st.form;
                let value = match f {
                    Field::Name => form.name.clone(),
                    Field::PatientId => form.patient_id.clone(),
                    Field::BirthDate => parse_date(&form.birth_date)
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_else(|| form.birth_date.clone()),
                    Field::Weight => form
                        .weight_kg
                        .map(|w| format!("{} {}", format_number(w, 1), tr("unit-kg")))
                        .unwrap_or_default(),
                    Field::Height => form
                        .height_cm
                        .map(|h| format!("{} {}", format_number(h, 0), tr("unit-cm")))
                        .unwrap_or_default(),
                    Field::Department => form.department.clone(),
                    Field::Question => form.question.clone(),
                    Field::Sex | Field::ExamType => String::new(),
                };
                let error = if st.form_errors || !value.is_empty() {
                    form.error(f, day).map(|e| tr(e.key())).unwrap_or_default()
                } else {
                    String::new()
                };
                FieldRow {
                    label: tr(f.label_key()).into(),
                    value: if value.is_empty() {
                        empty.clone()
                    } else {
                        value
                    }
                    .into(),
                    error: error.into(),
                }
            })
            .collect();
        let sexes: Vec<ChoiceRow> = SEXES
            .iter()
            .map(|s| ChoiceRow {
                text: tr(sex_key(*s)).into(),
                selected: st.form.sex == Some(*s),
            })
            .collect();
        let exam_types: Vec<ChoiceRow> = EXAM_TYPES
            .iter()
            .map(|t| ChoiceRow {
                text: tr(&key_for("exam-type", t)).into(),
                selected: st.form.exam_type == Some(*t),
            })
            .collect();
        let today_rows: Vec<SharedString> = st
            .today
            .iter()
            .map(|r| {
                tra(
                    lang,
                    "nurse-today-row",
                    &[
                        ("name", r.name.clone()),
                        ("id", r.patient_id.clone()),
                        ("type", tr(&key_for("exam-type", &r.exam_type))),
                    ],
                )
                .into()
            })
            .collect();
        let (worklist_status, worklist_bad, worklist_rows): (String, bool, Vec<WorklistRow>) =
            match &st.worklist {
                WorklistState::Off => (tr("nurse-worklist-off"), false, Vec::new()),
                WorklistState::Loading => (tr("nurse-worklist-loading"), false, Vec::new()),
                WorklistState::Down(why) => (
                    tra(lang, "nurse-worklist-down", &[("reason", why.clone())]),
                    true,
                    Vec::new(),
                ),
                WorklistState::Ready(items) => (
                    tra(
                        lang,
                        "nurse-worklist-count",
                        &[("count", items.len().to_string())],
                    ),
                    false,
                    items
                        .iter()
                        .map(|i| WorklistRow {
                            hint: tra(
                                lang,
                                "nurse-worklist-order",
                                &[
                                    ("accession", i.accession.clone()),
                                    ("procedure", i.requested_procedure.clone()),
                                ],
                            )
                            .into(),
                            text: tra(
                                lang,
                                "nurse-worklist-row",
                                &[
                                    (
                                        "time",
                                        i.scheduled
                                            .map(|t| t.format("%H:%M").to_string())
                                            .unwrap_or_default(),
                                    ),
                                    ("name", i.display_name()),
                                    ("id", i.patient_id.clone()),
                                    (
                                        "sex",
                                        match i.sex.as_deref() {
                                            Some("F") => tr("sex-female"),
                                            Some("M") => tr("sex-male"),
                                            _ => tr("sex-other"),
                                        },
                                    ),
                                    (
                                        "age",
                                        i.age_on(day).map(|a| a.to_string()).unwrap_or_default(),
                                    ),
                                ],
                            )
                            .into(),
                        })
                        .collect(),
                ),
            };
        let worklist_configured = st.worklist != WorklistState::Off;
        let register_text = if registration.is_some() {
            tr("nurse-update")
        } else {
            tr("nurse-register")
        };
        let patient_line = registration
            .as_ref()
            .map(|r| {
                tra(
                    lang,
                    "nurse-patient-line",
                    &[
                        ("name", r.name.clone()),
                        ("id", r.patient_id.clone()),
                        ("age", r.age_on(day).to_string()),
                        (
                            "type",
                            tr(&key_for(
                                "exam-type",
                                &exam.and_then(|e| e.exam_type()).unwrap_or(r.exam_type),
                            )),
                        ),
                    ],
                )
            })
            .unwrap_or_default();

        // Review.
        let questions: Vec<(String, SelfAnswer, bool)> = exam
            .map(|e| {
                e.self_report()
                    .iter()
                    .map(|i| (i.question.clone(), i.answer, i.needs_review))
                    .collect()
            })
            .unwrap_or_default();
        let mut review: Vec<ReviewRow> = questions
            .iter()
            .map(|(q, a, flagged)| {
                let qkey = Question::ALL
                    .iter()
                    .find(|x| x.as_str() == q)
                    .map(|x| x.key())
                    .unwrap_or("nurse-review-unknown-question");
                let answer = tr(match a {
                    SelfAnswer::Yes => "nurse-answer-yes",
                    SelfAnswer::No => "nurse-answer-no",
                    SelfAnswer::NotSure => "nurse-answer-not-sure",
                });
                let flag = if *flagged {
                    tra(
                        lang,
                        if *a == SelfAnswer::NotSure {
                            "nurse-flag-not-sure"
                        } else {
                            "nurse-flag-needs-detail"
                        },
                        &[("answer", answer.clone())],
                    )
                } else {
                    String::new()
                };
                ReviewRow {
                    question: tr(qkey).into(),
                    answer: answer.into(),
                    flag: flag.into(),
                    confirmed: st.confirmed.contains(q),
                }
            })
            .collect();
        if review.is_empty() && exam.is_some() {
            review.push(ReviewRow {
                question: tr("nurse-review-verbal").into(),
                answer: SharedString::new(),
                flag: SharedString::new(),
                confirmed: st.confirmed.contains("verbal"),
            });
        }
        let answers = exam.map(|e| e.answers().clone()).unwrap_or_default();
        let patient = exam.and_then(|e| e.patient());
        let sex = patient.map(|p| p.sex);
        let hours = |h: f64| tra(lang, "nurse-hours-ago", &[("h", format_number(h, 1))]);
        let choice = |label: &str, text: String, selected: bool| FactChoice {
            name: format!("{label}: {text}").into(),
            text: text.into(),
            selected,
        };
        let facts: Vec<FactRow> = Fact::ALL
            .iter()
            .map(|&f| {
                let label = tr(f.label_key());
                let chosen = st.facts.get(f);
                let asked = f.asked_of(sex);
                let (value, choices) = match f.kind() {
                    FactKind::Number => (
                        match f {
                            Fact::Egfr => patient.and_then(|p| p.egfr).map(|v| format_number(v, 0)),
                            _ => patient.and_then(|p| p.egfr_date.clone()),
                        }
                        .unwrap_or_else(|| empty.clone()),
                        Vec::new(),
                    ),
                    _ if !asked => (tr("fact-not-applicable-male"), Vec::new()),
                    FactKind::YesNo => (
                        String::new(),
                        [(true, "nurse-answer-yes"), (false, "nurse-answer-no")]
                            .iter()
                            .map(|&(b, k)| {
                                choice(&label, tr(k), chosen == Some(FactValue::YesNo(b)))
                            })
                            .collect(),
                    ),
                    FactKind::Grade => (
                        String::new(),
                        [
                            (Claustrophobia::None, "claustrophobia-none"),
                            (Claustrophobia::Mild, "claustrophobia-mild"),
                            (Claustrophobia::Severe, "claustrophobia-severe"),
                        ]
                        .iter()
                        .map(|&(g, k)| choice(&label, tr(k), chosen == Some(FactValue::Grade(g))))
                        .collect(),
                    ),
                    FactKind::Hours => (
                        String::new(),
                        vec![
                            choice(
                                &label,
                                tr("fact-not-taken"),
                                chosen == Some(FactValue::Hours(None)),
                            ),
                            match chosen {
                                Some(FactValue::Hours(Some(h))) => choice(&label, hours(h), true),
                                _ => choice(&label, tr("fact-hours-ago-choose"), false),
                            },
                        ],
                    ),
                };
                FactRow {
                    label: label.into(),
                    value: value.into(),
                    number: f.kind() == FactKind::Number,
                    unanswered: exam.is_some() && asked && f.needs_choice() && chosen.is_none(),
                    choices: model(choices),
                }
            })
            .collect();
        let implants: Vec<SharedString> = answers
            .implants
            .iter()
            .map(|m| {
                let mut text = format!(
                    "{} · {}",
                    tr(&key_for("implant", &m.kind)),
                    tr(&key_for("mr-status", &m.mr_status))
                );
                if let Some(c) = &m.conditions {
                    if !c.label.is_empty() {
                        text.push_str(" · ");
                        text.push_str(&c.label);
                    }
                    for t in &c.field_strength_t {
                        text.push_str(&format!(" · {t:.1} T"));
                    }
                    for (v, unit) in [
                        (c.max_wb_sar_w_kg, "W/kg"),
                        (c.max_b1rms_ut, "µT"),
                        (c.max_dbdt_t_s, "T/s"),
                    ] {
                        if let Some(v) = v {
                            text.push_str(&format!(" · ≤ {} {unit}", format_number(v, 1)));
                        }
                    }
                }
                text.into()
            })
            .collect();

        // Clearance: the verdict for the exam ordered, once every fact is answered.
        let unanswered: Vec<String> = st
            .facts
            .unanswered(sex)
            .iter()
            .map(|f| tr(f.label_key()))
            .collect();
        let unanswered = unanswered.join(&tr("report-list-separator"));
        let mut change_type = String::new();
        let mut next = String::new();
        let (clearance, level, contrast, stress, reasons) = match exam {
            None => (
                tr("nurse-no-exam"),
                ClearanceLevel::Cleared,
                String::new(),
                String::new(),
                Vec::new(),
            ),
            Some(e) => {
                let c = e.clearance();
                let v = e.exam_type().map(|t| verdict(c, t));
                let reasons: Vec<ReasonRow> = c
                    .reasons
                    .iter()
                    .map(|r| ReasonRow {
                        text: tra(
                            lang,
                            "nurse-reason",
                            &[
                                ("reason", tr(&key_for("reason", &r.code))),
                                ("clause", r.clause.clone()),
                            ],
                        )
                        .into(),
                        clause: r.clause.clone().into(),
                        blocking: r.is_blocking(),
                        can_override: r.overridable && r.overridden_by.is_none(),
                        overridden: r
                            .overridden_by
                            .as_ref()
                            .map(|o| {
                                tra(
                                    lang,
                                    "nurse-overridden-by",
                                    &[("name", o.by.clone()), ("reason", o.reason.clone())],
                                )
                            })
                            .unwrap_or_default()
                            .into(),
                        // What to do next about a finding that holds the exam back.
                        // (An open override is its own button: no words for it.)
                        next: v
                            .as_ref()
                            .and_then(|v| v.holding.iter().find(|h| h.code == r.code))
                            .filter(|h| h.next != NextStep::PhysicianOverride)
                            .map(|h| tr(&key_for("next", &h.next)))
                            .unwrap_or_default()
                            .into(),
                    })
                    .collect();
                let perm = |p: Permission, allowed: &str, blocked: &str| {
                    tr(if p == Permission::Allowed {
                        allowed
                    } else {
                        blocked
                    })
                };
                let (headline, level) = match &v {
                    _ if !unanswered.is_empty() => (
                        tra(
                            lang,
                            "clearance-unanswered",
                            &[("list", unanswered.clone())],
                        ),
                        ClearanceLevel::Blocked,
                    ),
                    None => (tr("nurse-no-exam-type"), ClearanceLevel::Blocked),
                    Some(v) => {
                        let ty = ("type", tr(&key_for("verdict-exam", &v.exam_type)));
                        match (v.go, v.fallback) {
                            (Go::Yes, _) => {
                                (tra(lang, "verdict-go", &[ty]), ClearanceLevel::Cleared)
                            }
                            (Go::WithConditions, _) => {
                                next = tr("verdict-next-conditions");
                                (
                                    tra(lang, "verdict-go-conditions", &[ty]),
                                    ClearanceLevel::Conditional,
                                )
                            }
                            (Go::No, Some(f)) => {
                                let instead = ("fallback", tr(&key_for("verdict-instead", &f)));
                                next = tra(
                                    lang,
                                    "verdict-next-fallback",
                                    std::slice::from_ref(&instead),
                                );
                                change_type = tra(
                                    lang,
                                    "verdict-change-type",
                                    std::slice::from_ref(&instead),
                                );
                                (
                                    tra(lang, "verdict-no-fallback", &[ty, instead]),
                                    ClearanceLevel::Blocked,
                                )
                            }
                            (Go::No, None) => {
                                next = tr("verdict-next-none");
                                (tra(lang, "verdict-no", &[ty]), ClearanceLevel::Blocked)
                            }
                        }
                    }
                };
                (
                    headline,
                    level,
                    perm(
                        c.contrast,
                        "nurse-contrast-allowed",
                        "nurse-contrast-blocked",
                    ),
                    perm(
                        c.stress_drug,
                        "nurse-stress-allowed",
                        "nurse-stress-blocked",
                    ),
                    reasons,
                )
            }
        };

        // Preparation and sign-off.
        let prepared = exam.map(|e| e.prepared().to_vec()).unwrap_or_default();
        let checklist: Vec<PrepRow> = PrepItem::ALL
            .iter()
            .map(|&i| {
                let done = prepared.contains(&i);
                PrepRow {
                    text: tra(
                        lang,
                        if done {
                            "nurse-check-done"
                        } else {
                            "nurse-check-open"
                        },
                        &[("item", tr(&prep_key(i)))],
                    )
                    .into(),
                    clause: i.clause().into(),
                    done,
                }
            })
            .collect();
        let breath_hold = match exam.and_then(|e| e.breath_hold()) {
            Some(b) => tra(
                lang,
                "nurse-breath-hold",
                &[
                    ("best", format_number(b.best_hold_s, 0)),
                    ("holds", b.holds.to_string()),
                ],
            ),
            None => tr("nurse-breath-hold-none"),
        };
        let blockers: Vec<SharedString> = match exam {
            None => vec![tr("nurse-no-exam").into()],
            Some(e) if e.signed_off().is_some() => Vec::new(),
            Some(e) => (!unanswered.is_empty())
                .then(|| tra(lang, "nurse-blocker-facts", &[("list", unanswered.clone())]).into())
                .into_iter()
                .chain(e.sign_off_blockers().iter().map(|c| {
                    let reason = ("reason", tr(&key_for("rejected", c)));
                    match e.lift_for(*c) {
                        Lift::Nothing => tra(lang, "nurse-blocker", &[reason]),
                        lift => tra(
                            lang,
                            "nurse-blocker-lift",
                            &[reason, ("lift", tr(&key_for("lift", &lift)))],
                        ),
                    }
                    .into()
                }))
                .collect(),
        };
        let can_sign_off = exam.is_some_and(|e| e.signed_off().is_none()) && blockers.is_empty();
        let signed_off = exam
            .and_then(|e| e.signed_off())
            .map(|by| tra(lang, "nurse-signed-off", &[("name", by.to_string())]))
            .unwrap_or_default();

        // The dialogs.
        let implant_kinds: Vec<ChoiceRow> = IMPLANT_KINDS
            .iter()
            .map(|k| ChoiceRow {
                text: tr(&key_for("implant", k)).into(),
                selected: st.implant.as_ref().and_then(|d| d.kind) == Some(*k),
            })
            .collect();
        let implant_statuses: Vec<ChoiceRow> = MR_STATUSES
            .iter()
            .map(|s| ChoiceRow {
                text: tr(&key_for("mr-status", s)).into(),
                selected: st.implant.as_ref().and_then(|d| d.status) == Some(*s),
            })
            .collect();
        let implant_conditions = st
            .implant
            .as_ref()
            .map(|d| d.conditions.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| empty.clone());
        let indications: Vec<ChoiceRow> = Indication::ALL
            .iter()
            .map(|i| ChoiceRow {
                text: tr(&key_for("indication", i)).into(),
                selected: st.indications.contains(i),
            })
            .collect();
        let indications_text = if st.indications.is_empty() {
            empty.clone()
        } else {
            st.indications
                .iter()
                .map(|i| tr(&key_for("indication", i)))
                .collect::<Vec<_>>()
                .join(&tr("report-list-separator"))
        };
        let indications_open = st.indications_open;
        let draft = st.implant.as_ref();
        let implant_field_strengths: Vec<ChoiceRow> = LABEL_FIELD_STRENGTHS
            .iter()
            .map(|t| ChoiceRow {
                text: format!("{t:.1} T").into(),
                selected: draft.is_some_and(|d| d.field_strengths.contains(t)),
            })
            .collect();
        let implant_limits: Vec<FieldRow> = (0..3)
            .map(|i| FieldRow {
                label: tr(limit_spec(i).title_key).into(),
                value: draft
                    .and_then(|d| d.limits[i])
                    .map(|v| format!("≤ {} {}", format_number(v, 1), tr(limit_spec(i).unit_key)))
                    .unwrap_or_else(|| empty.clone())
                    .into(),
                error: SharedString::new(),
            })
            .collect();
        let (override_rule, override_fields, override_error) = match &st.override_draft {
            None => (String::new(), Vec::new(), String::new()),
            Some(d) => (
                tra(
                    lang,
                    "nurse-override-rule",
                    &[
                        ("reason", tr(&key_for("reason", &d.rule))),
                        ("clause", d.rule.clause().to_string()),
                    ],
                ),
                d.sign.fields(lang),
                d.sign.error.clone(),
            ),
        };
        let (notice, notice_bad) = st.notice.clone().unwrap_or_default();

        // Skip the redraw when nothing changed (the view is refreshed every second).
        let signature = format!(
            "{:?}|{}|{fields:?}{sexes:?}{exam_types:?}{today_rows:?}{register_text}{patient_line}{review:?}{facts:?}{implants:?}{clearance}{level:?}{contrast}{stress}{reasons:?}{checklist:?}{breath_hold}{blockers:?}{can_sign_off}{signed_off}{implant_kinds:?}{implant_statuses:?}{implant_conditions}{override_rule}{override_fields:?}{override_error}{notice}{notice_bad}{indications_text}{indications_open}{next}{change_type}{worklist_status}{worklist_bad}{worklist_configured}{worklist_rows:?}|{}|{}|{:?}",
            st.tab,
            exam.is_some(),
            st.implant.is_some(),
            st.override_draft.is_some(),
            st.implant,
        );
        drop(open);
        drop(st);
        if self.inner.state.borrow().last_drawn == signature {
            return;
        }
        let tab = self.inner.state.borrow().tab;
        let implant_open = self.inner.state.borrow().implant.is_some();
        let override_open = self.inner.state.borrow().override_draft.is_some();
        let n = app.global::<NurseAdapter>();
        n.set_tab(tab);
        n.set_exam_open(registration.is_some());
        n.set_patient_line(patient_line.into());
        n.set_notice(notice.into());
        n.set_notice_bad(notice_bad);
        n.set_fields(model(fields));
        n.set_sexes(model(sexes));
        n.set_exam_types(model(exam_types));
        n.set_today(model(today_rows));
        n.set_worklist(model(worklist_rows));
        n.set_worklist_status(worklist_status.into());
        n.set_worklist_bad(worklist_bad);
        n.set_worklist_configured(worklist_configured);
        n.set_register_text(register_text.into());
        n.set_review(model(review));
        n.set_facts(model(facts));
        n.set_implants(model(implants));
        n.set_clearance(clearance.into());
        n.set_clearance_next(next.into());
        n.set_change_type(change_type.into());
        n.set_clearance_level(level);
        n.set_contrast_permission(contrast.into());
        n.set_stress_permission(stress.into());
        n.set_reasons(model(reasons));
        n.set_checklist(model(checklist));
        n.set_breath_hold(breath_hold.into());
        n.set_blockers(model(blockers));
        n.set_can_sign_off(can_sign_off);
        n.set_signed_off(signed_off.into());
        n.set_implant_open(implant_open);
        n.set_implant_kinds(model(implant_kinds[..4].to_vec()));
        n.set_implant_kinds_2(model(implant_kinds[4..].to_vec()));
        n.set_implant_statuses(model(implant_statuses));
        n.set_implant_conditions(implant_conditions.into());
        n.set_implant_field_strengths(model(implant_field_strengths));
        n.set_indications(model(indications));
        n.set_indications_text(indications_text.into());
        n.set_indications_open(indications_open);
        n.set_implant_limits(model(implant_limits));
        n.set_override_open(override_open);
        n.set_override_rule(override_rule.into());
        n.set_override_fields(model(override_fields));
        n.set_override_error(override_error.into());
        self.inner.state.borrow_mut().last_drawn = signature;
    }

    /// Forces the next [`NursePanel::refresh`] to redraw (language change).
    pub fn invalidate(&self) {
        self.inner.state.borrow_mut().last_drawn.clear();
    }
}
