//! Patient mode under Slint's testing backend, on a simulated clock: the patient
//! confirms a masked name, switches language mid-way, answers the whole safety
//! questionnaire with big buttons — each answer touched, then confirmed on its own,
//! each with its picture — reads the instructions, and practises breath-holds toward
//! the site's target; each confirmed answer and the best hold are recorded in the exam
//! sink. Staff controls (theme, monitor, vital signs) are not shown.
//! (The testing backend can be initialised once per process: one test function.)

use crate::support::ui as common;
use common::*;

use std::cell::Cell;
use std::rc::Rc;

use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::domain::ExamEvent;
use cmr_kiosk::domain::breathing::BreathHoldPhase;
use cmr_kiosk::domain::screening::Claustrophobia;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::ui::components::Screen;
use cmr_kiosk::ui::patient::model::{Answer, Question, ReviewReason, VecSink};
use cmr_kiosk::ui::shell::Shell;
use i_slint_backend_testing::ElementHandle;

#[test]
fn patient_answers_the_questionnaire_and_practises_breath_holds() {
    i_slint_backend_testing::init_no_event_loop();
    let loc = Rc::new(Localizer::embedded().unwrap());
    let shell = Shell::new(Config::default(), loc.clone()).unwrap();
    let sink = Rc::new(VecSink::default());
    shell.patient().set_sink(sink.clone());
    let clock = Rc::new(Cell::new(Instant::ZERO));
    let c = clock.clone();
    shell.patient().set_clock(Rc::new(move || c.get()));
    let set_time = |ms: u64| {
        clock.set(Instant::from_millis(ms));
        shell.patient().tick();
    };
    let zh = |key: &str| loc.tr(Language::ZhCn, key);
    let en = |key: &str| loc.tr(Language::EnUs, key);

    // No exam registered: a friendly "ask the nurse", no patient shown.
    tap(&shell, &zh("role-patient"));
    assert_eq!(shell.app().get_screen(), Screen::Patient);
    // Staff controls are hidden in patient mode; the language toggle stays.
    assert!(!has_label(&shell, &zh("theme-toggle-label")));
    assert!(
        ElementHandle::find_by_element_id(shell.app(), "StatusBar::vitals-text")
            .next()
            .is_none()
    );
    assert!(has_label(&shell, &zh("language-toggle-label")));
    assert_eq!(
        label_of(&shell, "PatientWelcome::message"),
        zh("patient-no-exam-body")
    );
    assert!(
        ElementHandle::find_by_element_id(shell.app(), "PatientWelcome::name")
            .next()
            .is_none()
    );

    // The nurse registers the exam: the patient confirms the full name in characters
    // and the date of birth (issue 18; other screens mask the name).
    shell
        .patient()
        .set_patient_identity(Some("王小明"), chrono::NaiveDate::from_ymd_opt(1965, 3, 2));
    assert_eq!(label_of(&shell, "PatientWelcome::name"), "王小明");
    assert_eq!(
        label_of(&shell, "PatientWelcome::birth"),
        format!("{}  1965-03-02", zh("patient-identity-birth"))
    );
    tap(&shell, &zh("patient-identity-yes"));

    // The first question in Chinese, then the patient switches to English.
    assert_eq!(
        label_of(&shell, "PatientQuestionnaire::question"),
        zh("patient-q-implants")
    );
    tap(&shell, &zh("language-toggle-label"));
    assert_eq!(
        label_of(&shell, "PatientQuestionnaire::question"),
        en("patient-q-implants")
    );
    // Patient answer buttons are at least the patient target (22 mm at 96 dpi ≈ 83 px).
    for id in ["yes", "no", "not-sure"] {
        let size = element(&shell, &format!("PatientQuestionnaire::{id}")).size();
        assert!(size.width >= 83.0 && size.height >= 83.0, "{id}: {size:?}");
    }

    let answers = [
        "patient-answer-no",       // implants
        "patient-answer-no",       // metal
        "patient-answer-not-sure", // pregnancy
        "patient-answer-yes",      // claustrophobia
        "patient-answer-no",       // contrast allergy
        "patient-answer-no",       // kidney
        "patient-answer-no",       // asthma
        "patient-answer-no",       // caffeine
    ];
    let confirm = |a: &str| {
        en(match a {
            "patient-answer-yes" => "patient-confirm-yes",
            "patient-answer-no" => "patient-confirm-no",
            _ => "patient-confirm-not-sure",
        })
    };
    for (i, (q, a)) in Question::ALL.iter().zip(answers).enumerate() {
        assert_eq!(
            label_of(&shell, "PatientQuestionnaire::question"),
            en(q.key())
        );
        assert_eq!(
            label_of(&shell, "PatientQuestionnaire::progress"),
            format!("{} {} / 8", en("patient-q-progress"), i + 1)
        );
        // Each question has its picture.
        let (_, picture) = cmr_kiosk::ui::patient::view::picture(*q);
        assert_eq!(
            label_of(&shell, "PatientQuestionnaire::picture"),
            en(picture)
        );
        // A touch marks the answer; nothing is taken until it is confirmed.
        assert!(!has_label(&shell, &confirm(a)));
        tap(&shell, &en(a));
        assert_eq!(sink.events().len(), i, "a touch alone records nothing");
        assert_eq!(
            label_of(&shell, "PatientQuestionnaire::question"),
            en(q.key()),
            "a touch alone does not move on"
        );
        tap(&shell, &confirm(a));
        // One log row per confirmed answer, with that answer.
        assert_eq!(
            sink.events().get(i),
            Some(&ExamEvent::SelfAnswered {
                item: q.log_item(match a {
                    "patient-answer-yes" => Answer::Yes,
                    "patient-answer-no" => Answer::No,
                    _ => Answer::NotSure,
                })
            })
        );
    }
    // The self-report was recorded, conservatively; "not sure" is flagged.
    let events = sink.events();
    let (rows, [ExamEvent::ScreeningAnswered { answers }]) = events.split_at(8) else {
        panic!("eight answers and one screening event: {events:?}");
    };
    let items: Vec<_> = rows
        .iter()
        .map(|e| match e {
            ExamEvent::SelfAnswered { item } => item.clone(),
            other => panic!("an answer row: {other:?}"),
        })
        .collect();
    // The patient's own answers are kept for the nurse, "not sure" flagged.
    assert_eq!(items.len(), 8);
    assert!(items.iter().any(|i| i.question == "pregnancy"
        && i.answer == cmr_kiosk::domain::SelfAnswer::NotSure
        && i.needs_review));
    assert!(answers.pregnancy_first_trimester);
    assert_eq!(answers.claustrophobia, Claustrophobia::Mild);
    assert!(answers.implants.is_empty() && !answers.asthma);
    let report = shell.patient().with(|c, _| c.self_report()).unwrap();
    assert_eq!(
        report
            .review
            .iter()
            .map(|r| (r.question, r.reason))
            .collect::<Vec<_>>(),
        [
            (Question::Pregnancy, ReviewReason::NotSure),
            (Question::Claustrophobia, ReviewReason::NeedsDetail)
        ]
    );

    // What the exam is like, the electrodes, then practice.
    assert_eq!(
        label_of(&shell, "PatientInstructions::title"),
        en("patient-instructions-title")
    );
    // No stress exam registered: no page about the stress drug.
    tap(&shell, &en("patient-next"));
    assert!(
        ElementHandle::find_by_element_id(shell.app(), "PatientStressDrug::title")
            .next()
            .is_none()
    );
    assert_eq!(
        label_of(&shell, "PatientElectrodes::title"),
        en("patient-electrodes-title")
    );
    tap(&shell, &en("patient-electrodes-next"));
    assert_eq!(
        label_of(&shell, "PatientBreathHold::phase"),
        en("patient-bh-phase-expiration")
    );
    assert_eq!(
        label_of(&shell, "PatientBreathHold::cue-text"),
        en("patient-bh-cue-ready")
    );
    // The target: the site's breath-hold threshold (15 s by default).
    assert_eq!(
        label_of(&shell, "PatientBreathHold::target"),
        format!("{} 15 {}", en("patient-bh-target"), en("unit-seconds"))
    );

    // First breath: in, out (end-expiration), hold for 12.5 s.
    set_time(1_000);
    tap(&shell, &en("patient-bh-start"));
    assert_eq!(
        label_of(&shell, "PatientBreathHold::cue-text"),
        en("patient-bh-cue-in")
    );
    set_time(5_500);
    assert_eq!(
        label_of(&shell, "PatientBreathHold::cue-text"),
        en("patient-bh-cue-out")
    );
    set_time(9_000);
    assert_eq!(
        label_of(&shell, "PatientBreathHold::cue-text"),
        en("patient-bh-cue-hold")
    );
    set_time(21_500);
    assert_eq!(label_of(&shell, "PatientBreathHold::seconds"), "12 s");
    tap(&shell, &en("patient-bh-breathe-now"));
    assert_eq!(
        label_of(&shell, "PatientBreathHold::cue-text"),
        en("patient-bh-cue-rest")
    );

    // Second breath, held 17.3 s.
    set_time(40_000);
    tap(&shell, &en("patient-bh-again"));
    set_time(48_000 + 17_300);
    assert_eq!(label_of(&shell, "PatientBreathHold::seconds"), "17 s");
    tap(&shell, &en("patient-bh-breathe-now"));
    assert_eq!(
        label_of(&shell, "PatientBreathHold::progress"),
        format!(
            "{} 2   {} 17 {}",
            en("patient-bh-count"),
            en("patient-bh-best"),
            en("unit-seconds")
        )
    );
    tap(&shell, &en("patient-bh-finish"));
    assert_eq!(
        label_of(&shell, "PatientBreathHoldResult::best"),
        format!("{} 17 {}", en("patient-bh-best"), en("unit-seconds"))
    );
    assert_eq!(
        label_of(&shell, "PatientBreathHoldResult::advice"),
        en("patient-result-good")
    );
    assert_eq!(
        sink.events().last(),
        Some(&ExamEvent::BreathHoldPracticed {
            best_hold_s: 17.3,
            phase: BreathHoldPhase::EndExpiration,
            holds: 2
        })
    );

    // Done leads back home.
    tap(&shell, &en("patient-leave"));
    assert_eq!(shell.app().get_screen(), Screen::Home);
}
