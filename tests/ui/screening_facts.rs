//! Issue 17 on the nurse's review tab, by touch under Slint's testing backend: every
//! yes/no safety fact starts unanswered and takes a deliberate choice (separate Yes and
//! No targets; touching No twice leaves it No); sign-off is refused while any fact is
//! unanswered, naming which; pregnancy is not asked of a man (2.1.2) but is of a woman;
//! the clearance headline is a verdict for the exam ordered — an adenosine stress exam
//! with contrast (3.1.3.2) and the stress drug (3.2.3) blocked "cannot go ahead — a
//! non-contrast exam is possible", in both languages — with an action for every
//! finding that holds it back.

use crate::support::ui as common;
use common::*;

/// The nurse's list of safety facts (it scrolls).
const FACTS: &str = "ReviewTab::facts-list";

use slint::{ComponentHandle, Model};

use cmr_kiosk::config::Language;
use cmr_kiosk::domain::protocol::ExamType;
use cmr_kiosk::domain::screening::{ScreeningAnswers, Sex};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{Exam, ExamEvent, PrepItem, ProtocolSettings};
use cmr_kiosk::engine::Command;
use cmr_kiosk::engine::session::ExamSession;
use cmr_kiosk::store::accounts::Role;
use cmr_kiosk::ui::components::{ClearanceLevel, NurseAdapter, SignInAdapter};
use cmr_kiosk::ui::nurse::registration::Registration;
use cmr_kiosk::ui::shell::Shell;

/// An 81-year-old (born 81 years before today, so the test never ages) booked for
/// adenosine stress: eGFR 25 (no gadolinium, 3.1.3.2), coffee 3 h ago (no adenosine,
/// 3.2.3), every preparation item done.
fn install(shell: &Shell, sex: Sex) {
    let today = chrono::Local::now().date_naive();
    let birth =
        chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today) - 81, 1, 15).unwrap();
    let reg = Registration {
        name: "Wang Xiaoming".into(),
        patient_id: "P0099".into(),
        sex,
        birth_date: birth,
        weight_kg: 62.0,
        height_cm: Some(165.0),
        department: "Cardiology".into(),
        question: "Ischaemia?".into(),
        exam_type: ExamType::AdenosineStress,
        order: None,
    };
    let mut e = Exam::new(ProtocolSettings::default());
    let mut events = vec![
        ExamEvent::PatientRegistered {
            patient: reg.patient(today, Some(25.0), Some(today)),
        },
        ExamEvent::ExamTypeChosen {
            exam_type: ExamType::AdenosineStress,
        },
        ExamEvent::ScreeningAnswered {
            answers: ScreeningAnswers {
                caffeine_hours_ago: Some(3.0),
                ..Default::default()
            },
        },
    ];
    events.extend(PrepItem::ALL.map(|item| ExamEvent::PreparationChecked {
        item,
        by: "nurse1".into(),
    }));
    for ev in events {
        e.handle(ev, Instant::ZERO).unwrap();
    }
    let session = ExamSession::preview_with_record(e, Instant::from_secs(60), reg.to_json());
    shell
        .engine()
        .call(Command::Install(Some(Box::new(session))))
        .unwrap();
    shell.nurse().invalidate();
    shell.nurse().refresh();
}

fn args(pairs: &[(&str, String)]) -> fluent::FluentArgs<'static> {
    let mut a = fluent::FluentArgs::new();
    for (k, v) in pairs {
        a.set(k.to_string(), v.clone());
    }
    a
}

#[test]
fn clause_2_1_2_safety_facts_need_a_deliberate_choice_and_the_verdict_names_the_exam() {
    let dir = tempfile::tempdir().unwrap();
    let (shell, url, loc) = english_kiosk(dir.path(), "facts-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    let nurse = || shell.app().global::<NurseAdapter>();
    add_staff(&url, "nurse1", "Nurse Zhang", Role::Nurse, "2468");
    press(&shell, &en("role-nurse"));
    press(&shell, "Nurse Zhang");
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    assert!(!shell.app().global::<SignInAdapter>().get_open());

    // A woman: pregnancy is asked, like every other fact, and nothing is answered yet.
    install(&shell, Sex::Female);
    press(&shell, &en("nurse-tab-review"));
    let row = |key: &str| {
        nurse()
            .get_facts()
            .iter()
            .find(|f| f.label == en(key))
            .unwrap_or_else(|| panic!("fact {key}"))
    };
    let choice_facts = [
        "fact-dialysis",
        "fact-aki",
        "fact-pregnancy",
        "fact-claustrophobia",
        "fact-unstable",
        "fact-contrast-allergy",
        "fact-asthma",
        "fact-av-block",
        "fact-caffeine",
        "fact-dipyridamole",
    ];
    for key in choice_facts {
        let f = row(key);
        assert!(f.unanswered, "{key} starts unanswered");
        assert!(
            f.choices.iter().all(|c| !c.selected),
            "{key}: nothing chosen"
        );
    }
    assert_eq!(nurse().get_clearance_level(), ClearanceLevel::Blocked);
    assert!(
        nurse().get_clearance().contains(&en("fact-pregnancy")),
        "{}",
        nurse().get_clearance()
    );

    // Sign-off is refused, naming what is unanswered; nothing is signed.
    press(&shell, &en("nurse-tab-prepare"));
    assert!(!nurse().get_can_sign_off());
    assert!(
        nurse()
            .get_blockers()
            .iter()
            .any(|b| b.contains(&en("fact-asthma")))
    );
    press(&shell, &en("nurse-sign-off"));
    let notice = nurse().get_notice().to_string();
    assert!(
        notice.contains(&en("fact-asthma")) && notice.contains(&en("fact-pregnancy")),
        "{notice}"
    );
    assert!(
        shell
            .engine()
            .read()
            .session()
            .unwrap()
            .exam()
            .signed_off()
            .is_none()
    );

    // A deliberate choice: two targets; touching No again leaves No (no flip).
    press(&shell, &en("nurse-tab-review"));
    let asthma_no = format!("{}: {}", en("fact-asthma"), en("nurse-answer-no"));
    press_in(&shell, FACTS, &asthma_no);
    press_in(&shell, FACTS, &asthma_no);
    let f = row("fact-asthma");
    assert!(!f.unanswered);
    assert_eq!(
        f.choices
            .iter()
            .map(|c| (c.text.to_string(), c.selected))
            .collect::<Vec<_>>(),
        [
            (en("nurse-answer-yes"), false),
            (en("nurse-answer-no"), true)
        ]
    );
    // Yes is its own target and is recorded for the rules.
    press_in(
        &shell,
        FACTS,
        &format!("{}: {}", en("fact-asthma"), en("nurse-answer-yes")),
    );
    assert!(
        shell
            .engine()
            .read()
            .session()
            .unwrap()
            .exam()
            .answers()
            .asthma
    );
    press_in(&shell, FACTS, &asthma_no);
    assert!(
        !shell
            .engine()
            .read()
            .session()
            .unwrap()
            .exam()
            .answers()
            .asthma
    );

    // Every other fact: No / None (pregnancy too: she is asked).
    for key in choice_facts {
        let label = en(key);
        let none = match key {
            "fact-claustrophobia" => en("claustrophobia-none"),
            "fact-caffeine" | "fact-dipyridamole" => en("fact-not-taken"),
            _ => en("nurse-answer-no"),
        };
        if key == "fact-caffeine" {
            // Coffee 3 h ago: hours, on the keypad.
            press_in(
                &shell,
                FACTS,
                &format!("{label}: {}", en("fact-hours-ago-choose")),
            );
            keys(&shell, "3");
            press(&shell, &en("keypad-ok"));
            continue;
        }
        press_in(&shell, FACTS, &format!("{label}: {none}"));
    }
    assert!(nurse().get_facts().iter().all(|f| !f.unanswered));

    // The verdict for the exam ordered: adenosine stress cannot go ahead; a
    // non-contrast exam can.
    let headline = |lang: Language| {
        let tr = |k: &str| loc.tr(lang, k);
        loc.tr_args(
            lang,
            "verdict-no-fallback",
            &args(&[
                ("type", tr("verdict-exam-adenosine_stress")),
                ("fallback", tr("verdict-instead-routine")),
            ]),
        )
    };
    assert_eq!(nurse().get_clearance(), headline(Language::EnUs));
    assert_eq!(
        nurse().get_clearance(),
        "Adenosine stress: cannot go ahead — non-contrast exam possible"
    );
    assert_eq!(nurse().get_clearance_level(), ClearanceLevel::Blocked);
    // An action for every finding that holds it back: an override button or the next
    // step in words; and the exam type that is possible, as a button.
    let holding: Vec<_> = nurse()
        .get_reasons()
        .iter()
        .filter(|r| r.blocking)
        .collect();
    assert_eq!(holding.len(), 2, "eGFR below 30 and caffeine");
    assert!(holding.iter().all(|r| r.can_override || !r.next.is_empty()));
    let change = nurse().get_change_type().to_string();
    assert!(change.contains(&en("verdict-instead-routine")), "{change}");
    // In Chinese.
    tap(&shell, &en("language-toggle-label"));
    shell.nurse().refresh();
    assert_eq!(nurse().get_clearance(), headline(Language::ZhCn));
    assert_eq!(
        nurse().get_clearance(),
        "腺苷负荷检查：不能进行；可行平扫检查"
    );
    let zh = |k: &str| loc.tr(Language::ZhCn, k);
    tap(&shell, &zh("language-toggle-label"));
    shell.nurse().refresh();

    // Changing to the possible exam: a non-contrast exam goes ahead.
    press(&shell, &change);
    assert_eq!(
        shell.engine().read().session().unwrap().exam().exam_type(),
        Some(ExamType::Routine)
    );
    assert_eq!(
        nurse().get_clearance(),
        loc.tr_args(
            Language::EnUs,
            "verdict-go",
            &args(&[("type", en("verdict-exam-routine"))])
        )
    );

    // A man: pregnancy is not asked (shown as not applicable, no targets) and is not
    // among the unanswered.
    install(&shell, Sex::Male);
    press(&shell, &en("nurse-tab-review"));
    let f = row("fact-pregnancy");
    assert!(!f.unanswered && f.choices.row_count() == 0);
    assert_eq!(f.value, en("fact-not-applicable-male"));
    assert!(!has_label(
        &shell,
        &format!("{}: {}", en("fact-pregnancy"), en("nurse-answer-no"))
    ));
    assert!(!nurse().get_clearance().contains(&en("fact-pregnancy")));
    assert!(nurse().get_clearance().contains(&en("fact-asthma")));
}
