//! Nurse mode's demonstration states: a made-up registration and the exam behind
//! each state (self-report, eGFR 25, override, implant, preparation, sign-off).

use chrono::NaiveDate;

use crate::domain::screening::{Implant, ImplantKind, MrStatus, ReasonCode, ScreeningAnswers, Sex};
use crate::domain::{ExamEvent, ExamType, PrepItem};
use crate::ui::components::NurseTab;
use crate::ui::nurse::facts::{Fact, FactForm};
use crate::ui::nurse::registration::{Registration, RegistrationForm};
use crate::ui::nurse::view::{ImplantDraft, NursePanel, NurseState, OverrideDraft, WorklistState};
use crate::ui::patient::model::{Answer, Question};

/// The demonstration states of nurse mode for screenshots (never used in the kiosk):
/// names after `nurse-` in [`super::screens::SCREENS`].
pub const DEMOS: [&str; 9] = [
    "register",
    "worklist",
    "facts",
    "review",
    "override",
    "implant",
    "blocked",
    "prepare",
    "signed-off",
];

/// A made-up registration for screenshots, named in the shown language.
pub fn demo_registration(name: &str) -> Registration {
    Registration {
        name: name.to_string(),
        patient_id: "P0012345".into(),
        sex: Sex::Male,
        birth_date: NaiveDate::from_ymd_opt(1968, 5, 2).unwrap_or_default(),
        weight_kg: 72.5,
        height_cm: Some(172.0),
        department: if name.is_ascii() {
            "Cardiology"
        } else {
            "心内科"
        }
        .into(),
        question: if name.is_ascii() {
            "Chest pain: ischaemia?"
        } else {
            "胸痛，排除心肌缺血"
        }
        .into(),
        exam_type: ExamType::AdenosineStress,
        order: None,
    }
}

/// A made-up morning's worklist for screenshots, in the script of `name` (the
/// patient named in the shown language comes second).
pub fn demo_worklist(name: &str) -> Vec<crate::dicom::node::WorklistItem> {
    let chinese = !name.is_ascii();
    let people: [(&str, &str, &str, &str); 4] = if chinese {
        [
            ("李^娜", "F", "心脏磁共振增强", "08:30"),
            ("王^小明", "M", "心脏磁共振腺苷负荷灌注", "09:30"),
            ("欧阳^娜娜", "F", "心脏磁共振平扫", "10:30"),
            ("张^伟", "M", "心脏磁共振瑞加德松负荷灌注", "11:00"),
        ]
    } else {
        [
            ("Li^Na", "F", "Cardiac MR with contrast", "08:30"),
            (
                "Wang^Xiaoming",
                "M",
                "Cardiac MR adenosine stress perfusion",
                "09:30",
            ),
            ("Ouyang^Nana", "F", "Cardiac MR non-contrast", "10:30"),
            ("Zhang^Wei", "M", "Cardiac MR regadenoson stress", "11:00"),
        ]
    };
    people
        .iter()
        .enumerate()
        .map(
            |(i, (n, sex, procedure, time))| crate::dicom::node::WorklistItem {
                patient_name: n.to_string(),
                patient_id: format!("P00123{:02}", 40 + i),
                sex: Some(sex.to_string()),
                birth_date: NaiveDate::from_ymd_opt(1958 + 7 * i as i32, 5, 2),
                weight_kg: Some(62.0 + 4.0 * i as f64),
                height_m: Some(1.62 + 0.03 * i as f64),
                accession: format!("CMR2611270{}", 12 + i),
                study_uid: format!("1.2.826.0.1.3680043.9.7145.{i}"),
                requested_procedure: procedure.to_string(),
                scheduled: NaiveDate::from_ymd_opt(2026, 11, 27)
                    .zip(chrono::NaiveTime::parse_from_str(time, "%H:%M").ok())
                    .map(|(d, t)| d.and_time(t)),
                station_ae: "MR_SCANNER".into(),
                modality: "MR".into(),
                ..Default::default()
            },
        )
        .collect()
}

/// The demonstration exam behind `demo`: registered, the patient's self-report with
/// one "not sure", eGFR 25 (contrast blocked), breath-holds practised; further states
/// add the physician's override, an unknown aneurysm clip, preparation, sign-off.
pub fn demo_exam(demo: &str, reg: &Registration) -> crate::domain::Exam {
    use crate::domain::{Exam, ProtocolSettings};
    let mut exam = Exam::new(ProtocolSettings::default());
    let mut t = 0;
    let mut at = |e: ExamEvent| {
        t += 5;
        let _ = exam.handle(e, crate::domain::Instant::from_secs(t));
    };
    let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default();
    at(ExamEvent::PatientRegistered {
        patient: reg.patient(day, Some(25.0), NaiveDate::from_ymd_opt(2026, 11, 20)),
    });
    at(ExamEvent::ExamTypeChosen {
        exam_type: reg.exam_type,
    });
    // Each answer confirmed on its own; a man is not asked about pregnancy.
    for q in Question::ALL
        .into_iter()
        .filter(|q| q.applies_to(Some(reg.sex)))
    {
        let answer = match q {
            Question::ContrastAllergy => Answer::NotSure,
            Question::CaffeineToday => Answer::Yes,
            _ => Answer::No,
        };
        at(ExamEvent::SelfAnswered {
            item: q.log_item(answer),
        });
    }
    // The patient's "coffee today" was yesterday's for the exam signed off: the nurse
    // recorded the time she found out.
    let mut answers = ScreeningAnswers {
        caffeine_hours_ago: Some(if demo == "signed-off" { 30.0 } else { 3.0 }),
        ..Default::default()
    };
    if demo == "blocked" {
        answers.implants.push(Implant {
            kind: ImplantKind::AneurysmClip,
            mr_status: MrStatus::Unknown,
            conditions: None,
        });
    }
    at(ExamEvent::ScreeningAnswered { answers });
    at(ExamEvent::BreathHoldPracticed {
        best_hold_s: 18.0,
        phase: crate::domain::BreathHoldPhase::EndExpiration,
        holds: 3,
    });
    if matches!(demo, "prepare" | "signed-off") {
        at(ExamEvent::OverrideRecorded {
            rule: ReasonCode::EgfrBelow30,
            by: "Dr Li".into(),
            reason: "Benefit outweighs risk; nephrology consulted".into(),
        });
        let items: &[PrepItem] = if demo == "prepare" {
            &PrepItem::ALL[..4]
        } else {
            &PrepItem::ALL
        };
        for &item in items {
            at(ExamEvent::PreparationChecked {
                item,
                by: "nurse1".into(),
            });
        }
    }
    if demo == "signed-off" {
        at(ExamEvent::SignedOff {
            by: "Nurse Zhang".into(),
        });
    }
    exam
}

impl NursePanel {
    /// Clears dialogs, notices and the form (screenshots start from a clean state).
    pub fn demo_reset(&self) {
        let mut st = self.inner.state.borrow_mut();
        let today = std::mem::take(&mut st.today);
        *st = NurseState::default();
        st.today = today;
    }

    /// Puts nurse mode into the demonstration state `demo` (one of [`DEMOS`]) with the
    /// made-up patient `name`; the caller has put [`demo_exam`] into the session.
    pub fn demo(&self, demo: &str, name: &str) {
        let reg = demo_registration(name);
        {
            let mut st = self.inner.state.borrow_mut();
            st.today = vec![reg.clone()];
            match demo {
                "register" => {
                    st.form = RegistrationForm {
                        name: name.to_string(),
                        patient_id: "P0012345".into(),
                        birth_date: "19680502".into(),
                        weight_kg: Some(72.5),
                        sex: Some(Sex::Male),
                        exam_type: Some(ExamType::AdenosineStress),
                        ..Default::default()
                    };
                    st.form_errors = true;
                }
                "worklist" => {
                    st.worklist = WorklistState::Ready(demo_worklist(name));
                }
                "indications" => {
                    st.form = RegistrationForm::from_registration(&reg);
                    st.indications = vec![
                        crate::domain::protocol::Indication::ValveDisease,
                        crate::domain::protocol::Indication::IronOverload,
                    ];
                    st.indications_open = true;
                }
                _ => {
                    st.form = RegistrationForm::from_registration(&reg);
                    st.tab = if matches!(demo, "prepare" | "signed-off") {
                        NurseTab::Prepare
                    } else {
                        NurseTab::Review
                    };
                    st.confirmed = Question::ALL
                        .iter()
                        .filter(|q| q.applies_to(Some(reg.sex)))
                        .take(if matches!(demo, "review" | "facts") {
                            3
                        } else {
                            8
                        })
                        .map(|q| q.as_str().to_string())
                        .collect();
                    // Every safety fact answered, as recorded; "facts" shows the
                    // nurse half-way through (the rest still unanswered).
                    let answers = demo_exam(demo, &reg).answers().clone();
                    st.facts = FactForm::answered_as(&answers);
                    if demo == "facts" {
                        let mut half = FactForm::default();
                        for f in [Fact::Dialysis, Fact::AcuteKidneyInjury, Fact::Unstable] {
                            if let Some(v) = st.facts.get(f) {
                                half.set(f, v);
                            }
                        }
                        st.facts = half;
                    }
                }
            }
            if demo == "implant" {
                st.implant = Some(ImplantDraft {
                    kind: Some(ImplantKind::AneurysmClip),
                    status: Some(MrStatus::Unknown),
                    conditions: String::new(),
                    ..Default::default()
                });
            }
            if demo == "override" {
                st.override_draft = Some(OverrideDraft {
                    rule: ReasonCode::EgfrBelow30,
                    sign: crate::ui::staff::view::CountersignDraft {
                        username: "drli".into(),
                        pin: "1357".into(),
                        reason: "Benefit outweighs risk; nephrology consulted".into(),
                        error: String::new(),
                    },
                });
            }
        }
        self.invalidate();
        self.refresh();
    }
}
