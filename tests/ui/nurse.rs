//! Nurse mode by touch under Slint's testing backend, on a simulated clock, against a
//! real SQLite exam record: a nurse signs in with the keypad, leaves a half-filled form
//! when the kiosk locks after idle and finds it after signing in again, registers the
//! patient with the keypad and keyboard; the patient answers the questionnaire and
//! practises breath-holds (the best hold lands in the log); the nurse confirms the
//! answers, enters eGFR 25 and sees contrast blocked (3.1.3.2) until a physician's
//! override, which is logged; an aneurysm clip of unknown MR status blocks the exam
//! (2.1.2); the preparation checklist (2.2.1, 2.2.2) and sign-off are logged.
//! (The testing backend can be initialised once per process: one test function.)

use crate::support::ui as common;
use common::*;

/// The nurse's list of safety facts (it scrolls).
const FACTS: &str = "ReviewTab::facts-list";

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::domain::screening::{ClearanceStatus, Permission, ReasonCode};
use cmr_kiosk::domain::{ExamEvent, ExamType, PrepItem};
use cmr_kiosk::store::accounts::{NewStaff, Role};
use cmr_kiosk::ui::components::{
    KeyboardAdapter, KeypadAdapter, NurseAdapter, Screen, SignInAdapter,
};
use cmr_kiosk::ui::nurse::registration::Registration;
use cmr_kiosk::ui::patient::model::{Answer, Question, Step};
use cmr_kiosk::ui::shell::Shell;

use slint::{ComponentHandle, Model};

fn events(url: &str) -> Vec<ExamEvent> {
    with_store(url, async |store| {
        let device = cmr_kiosk::store::log::DeviceId::new("nurse-test").unwrap();
        let exam = store
            .open_exam(&device)
            .await
            .unwrap()
            .expect("an open exam");
        exam.events.into_iter().map(|e| e.event).collect()
    })
}

/// The open exam's events once `done` holds (the recorder writes on its own thread).
fn wait_for(url: &str, done: impl Fn(&[ExamEvent]) -> bool) -> Vec<ExamEvent> {
    for _ in 0..100 {
        let log = events(url);
        if done(&log) {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    events(url)
}

fn audit_count(url: &str, action: &str) -> usize {
    with_store(url, async |store| {
        store
            .entries_after("nurse-test", 0, 10_000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "audit" && e.payload.contains(&format!("\"{action}\"")))
            .count()
    })
}

#[test]
fn nurse_registers_reviews_overrides_and_signs_off_by_touch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut shell, url, loc) = english_kiosk(dir.path(), "nurse-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    shell.start_console();

    // Staff accounts (an administrator adds them; here straight into the store).
    {
        with_store(&url, async |store| {
            for (u, name, role, pin) in [
                ("admin", "Admin", Role::Admin, "999999"),
                ("nurse1", "Nurse Zhang", Role::Nurse, "2468"),
                ("drli", "Dr Li", Role::Physician, "135791"),
            ] {
                store
                    .add_staff(
                        &crate::support::support_device(),
                        None,
                        crate::support::support_at(),
                        &NewStaff {
                            username: u.into(),
                            display_name: name.into(),
                            role,
                            pin: pin.into(),
                        },
                    )
                    .await
                    .unwrap();
            }
        });
    }

    // A simulated monotonic clock for the idle lock.
    let base = std::time::Instant::now();
    let offset = Rc::new(Cell::new(Duration::ZERO));
    let o = offset.clone();
    shell.staff().set_clock(Rc::new(move || base + o.get()));
    let signin = || shell.app().global::<SignInAdapter>();
    let nurse = || shell.app().global::<NurseAdapter>();

    // The nurse area asks for a PIN; only accounts that may use it are offered.
    press(&shell, &en("role-nurse"));
    assert_eq!(shell.app().get_screen(), Screen::Nurse);
    assert!(signin().get_open());
    assert!(has_label(&shell, "Nurse Zhang") && has_label(&shell, "Dr Li"));
    assert!(!has_label(&shell, "Admin"));
    press(&shell, "Nurse Zhang");
    assert!(shell.app().global::<KeypadAdapter>().get_open());
    keys(&shell, "1111");
    press(&shell, &en("keypad-ok"));
    assert!(signin().get_open(), "a wrong PIN does not sign in");
    assert!(
        signin().get_message().contains("4"),
        "{}",
        signin().get_message()
    );
    press(&shell, "Nurse Zhang");
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    assert!(!signin().get_open(), "signed in");

    // A half-filled form: name and weight.
    press(&shell, &en("reg-name"));
    assert!(shell.app().global::<KeyboardAdapter>().get_open());
    press(&shell, &en("keyboard-shift"));
    press(&shell, "W");
    keys(&shell, "ang");
    press(&shell, &en("keyboard-space"));
    press(&shell, &en("keyboard-shift"));
    press(&shell, "X");
    keys(&shell, "iaoming");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-weight"));
    keys(&shell, "400");
    press(&shell, &en("keypad-ok"));
    assert!(
        shell.app().global::<KeypadAdapter>().get_open(),
        "400 kg refused"
    );
    press(&shell, &en("keypad-clear"));
    keys(&shell, "72");
    press(&shell, &en("keypad-point-label"));
    keys(&shell, "5");
    press(&shell, &en("keypad-ok"));
    assert_eq!(shell.nurse().form().name, "Wang Xiaoming");

    // Idle: touching restarts the countdown; 120 s without a touch locks.
    offset.set(Duration::from_secs(100));
    shell.staff_tick();
    assert!(!signin().get_open());
    press(&shell, &en("nurse-tab-register")); // a touch at 100 s
    offset.set(Duration::from_secs(219));
    shell.staff_tick();
    assert!(!signin().get_open(), "the last touch was at 100 s");
    press(&shell, &en("reg-patient-id")); // a touch at 219 s opens the keyboard
    offset.set(Duration::from_secs(340));
    shell.staff_tick();
    assert!(signin().get_open(), "locked after 120 s idle");
    assert_eq!(signin().get_title(), en("lock-title"));
    assert!(!shell.app().global::<KeyboardAdapter>().get_open());
    shell.settle();
    assert_eq!(audit_count(&url, "auto_lock"), 1);
    press(&shell, "Nurse Zhang");
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    assert!(!signin().get_open());
    // The half-filled form is still there.
    assert_eq!(shell.nurse().form().name, "Wang Xiaoming");
    assert_eq!(shell.nurse().form().weight_kg, Some(72.5));
    let fields = nurse().get_fields();
    assert_eq!(fields.row_data(0).unwrap().value, "Wang Xiaoming");
    assert_eq!(fields.row_data(3).unwrap().value, "72.5 kg");

    // Registering with fields missing names the first one.
    press(&shell, &en("nurse-register"));
    assert!(nurse().get_notice().contains(&en("reg-patient-id")));
    assert!(shell.engine().read().session().is_none());
    press(&shell, &en("reg-patient-id"));
    keys(&shell, "p0012345");
    press(&shell, &en("keypad-ok"));
    // Issue 17: the birth-date keypad takes only a calendar date.
    press(&shell, &en("reg-birth-date"));
    keys(&shell, "20301345");
    let keypad = || shell.app().global::<KeypadAdapter>();
    assert_eq!(keypad().get_message_key(), "keypad-not-a-date");
    assert!(!keypad().get_valid());
    press(&shell, &en("keypad-ok"));
    assert!(keypad().get_open(), "2030-13-45 is not taken");
    press(&shell, &en("keypad-clear"));
    keys(&shell, "19450502");
    press(&shell, &en("keypad-ok"));
    // 7.25 typed for 72.5: the third digit is refused visibly, and 7.2 kg at 81 is
    // questioned before the exam opens.
    press(&shell, &en("reg-weight"));
    press(&shell, &en("keypad-clear"));
    keys(&shell, "7");
    press(&shell, &en("keypad-point-label"));
    keys(&shell, "25");
    assert_eq!(keypad().get_shown(), "7.2");
    assert_eq!(keypad().get_message_key(), "keypad-refused-decimals");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-height"));
    keys(&shell, "172");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-department"));
    keys(&shell, "cardiology");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-question"));
    keys(&shell, "ischaemia");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("sex-male"));
    press(&shell, &en("exam-type-contrast"));
    press(&shell, &en("nurse-register"));
    assert!(
        shell.engine().read().session().is_none(),
        "weight questioned"
    );
    let notice = nurse().get_notice().to_string();
    // The age on the kiosk's date (81 in 2026), not a fixed number.
    let age = cmr_kiosk::ui::nurse::registration::age_between(
        chrono::NaiveDate::from_ymd_opt(1945, 5, 2).unwrap(),
        chrono::Local::now().date_naive(),
    );
    assert!(
        notice.contains("7.2 kg") && notice.contains(&format!("{age} ")),
        "{notice}"
    );
    // A second touch confirms that weight (named in the notice) and opens the exam.
    press(&shell, &en("nurse-register"));
    assert_eq!(
        shell
            .engine()
            .read()
            .session()
            .expect("confirmed")
            .exam()
            .patient()
            .unwrap()
            .weight_kg,
        7.2
    );
    // Corrected to 72.5 kg (and born 1968) before any contrast: registered again.
    press(&shell, &en("reg-weight"));
    press(&shell, &en("keypad-clear"));
    keys(&shell, "72");
    press(&shell, &en("keypad-point-label"));
    keys(&shell, "5");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-birth-date"));
    press(&shell, &en("keypad-clear"));
    keys(&shell, "19680502");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("nurse-update"));
    {
        let open = shell.engine().read();
        let s = open.session().expect("the exam is open");
        let reg = Registration::from_json(s.record()).unwrap();
        assert_eq!(reg.patient_id, "p0012345");
        assert_eq!(reg.exam_type, ExamType::Contrast);
        assert_eq!(s.exam().patient().unwrap().weight_kg, 72.5);
        assert_eq!(s.exam().exam_type(), Some(ExamType::Contrast));
    }
    assert!(nurse().get_patient_line().contains("Wang Xiaoming"));
    // The indications (2.1.1): valve disease adds phase-contrast flow (3.2.1) to the
    // exam's required steps.
    press(&shell, &en("reg-indications"));
    assert!(nurse().get_indications_open());
    press(&shell, &en("indication-valve_disease"));
    press(&shell, &en("nurse-indications-done"));
    assert!(!nurse().get_indications_open());
    {
        let open = shell.engine().read();
        let exam = open.session().unwrap().exam();
        assert_eq!(
            exam.indications(),
            &[cmr_kiosk::domain::protocol::Indication::ValveDisease]
        );
        assert!(
            exam.required_steps()
                .contains(&cmr_kiosk::domain::protocol::ProtocolStep::Flow)
        );
    }
    // It is on today's list.
    press(&shell, &en("nurse-tab-register"));
    assert_eq!(nurse().get_today().row_count(), 1);

    // The patient answers on the kiosk, each answer confirmed on its own ("not sure"
    // about contrast allergy; a man is not asked about pregnancy), and practises.
    shell.patient().with(|c, _| {
        c.confirm_identity(true);
        assert!(!c.asked().contains(&Question::Pregnancy));
        while c.step() == Step::Questionnaire {
            c.choose(if c.question() == Question::ContrastAllergy {
                Answer::NotSure
            } else {
                Answer::No
            });
            c.confirm();
        }
        c.next();
        c.next();
    });
    shell.patient().with(|c, _| {
        let t = |ms| cmr_kiosk::domain::Instant::from_millis(ms);
        c.start_breath(t(0));
        c.end_hold(t(20_000));
        c.finish_practice(t(30_000));
    });
    let log = wait_for(&url, |log| {
        log.iter()
            .any(|e| matches!(e, ExamEvent::BreathHoldPracticed { .. }))
    });
    assert!(
        log.iter()
            .any(|e| matches!(e, ExamEvent::BreathHoldPracticed { holds: 1, .. })),
        "the best hold is in the exam log"
    );
    // One log row per confirmed answer, worded with its answer on the console's log.
    let rows: Vec<_> = log
        .iter()
        .filter_map(|e| match e {
            ExamEvent::SelfAnswered { item } => Some(item.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|i| i.question != "pregnancy"));
    let allergy = log
        .iter()
        .find(|e| matches!(e, ExamEvent::SelfAnswered { item } if item.question == "contrast_allergy"))
        .unwrap();
    let worded = cmr_kiosk::ui::console::log::word_event(&loc, Language::EnUs, allergy);
    assert!(
        worded.contains(&en("patient-q-contrast-allergy-short"))
            && worded.contains(&en("nurse-answer-not-sure")),
        "{worded}"
    );

    // Review: the flagged answer is shown; confirming every answer is logged.
    press(&shell, &en("nurse-tab-review"));
    shell.staff_tick();
    let review = nurse().get_review();
    assert_eq!(review.row_count(), 7);
    let flagged: Vec<_> = review.iter().filter(|r| !r.flag.is_empty()).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].question, en("patient-q-contrast-allergy"));
    // Contrast allergy ("not sure") reads as yes: contrast blocked until resolved.
    assert!(
        nurse()
            .get_reasons()
            .iter()
            .any(|r| r.text.contains(&en("reason-contrast_allergy")))
    );
    // Issue 17: pregnancy is not asked of a man; every other fact needs a deliberate
    // choice. The nurse asked him: no allergy, and no to everything else.
    let pregnancy = nurse()
        .get_facts()
        .iter()
        .find(|f| f.label == en("fact-pregnancy"))
        .unwrap();
    assert_eq!(pregnancy.value, en("fact-not-applicable-male"));
    assert_eq!(pregnancy.choices.row_count(), 0);
    for (fact, choice) in [
        ("fact-contrast-allergy", "nurse-answer-no"),
        ("fact-dialysis", "nurse-answer-no"),
        ("fact-aki", "nurse-answer-no"),
        ("fact-claustrophobia", "claustrophobia-none"),
        ("fact-unstable", "nurse-answer-no"),
        ("fact-asthma", "nurse-answer-no"),
        ("fact-av-block", "nurse-answer-no"),
        ("fact-caffeine", "fact-not-taken"),
        ("fact-dipyridamole", "fact-not-taken"),
    ] {
        press_in(&shell, FACTS, &format!("{}: {}", en(fact), en(choice)));
    }
    assert!(nurse().get_facts().iter().all(|f| !f.unanswered));
    assert!(
        !nurse()
            .get_reasons()
            .iter()
            .any(|r| r.text.contains(&en("reason-contrast_allergy")))
    );
    for q in [
        "patient-q-implants",
        "patient-q-metal",
        "patient-q-claustrophobia",
        "patient-q-contrast-allergy",
        "patient-q-kidney",
        "patient-q-asthma",
        "patient-q-caffeine",
    ] {
        press(&shell, &en(q));
    }
    assert!(nurse().get_review().iter().all(|r| r.confirmed));

    // eGFR 25 (3.1.3.2): contrast blocked, the contrast exam cannot be signed off.
    press_in(&shell, FACTS, &en("fact-egfr"));
    keys(&shell, "25");
    press(&shell, &en("keypad-ok"));
    press_in(&shell, FACTS, &en("fact-egfr-date"));
    keys(&shell, "20261120");
    press(&shell, &en("keypad-ok"));
    assert_eq!(
        nurse().get_contrast_permission(),
        en("nurse-contrast-blocked")
    );
    let egfr_reason = nurse()
        .get_reasons()
        .iter()
        .find(|r| r.text.contains(&en("reason-egfr_below_30")))
        .expect("eGFR reason shown");
    assert!(egfr_reason.text.contains("3.1.3.2") && egfr_reason.can_override);

    // Preparation (2.2.1, 2.2.2), then sign-off is refused for contrast.
    press(&shell, &en("nurse-tab-prepare"));
    for item in &PrepItem::ALL[1..] {
        let text = nurse()
            .get_checklist()
            .iter()
            .find(|c| c.text.contains(&en(&format!("prep-{}", item.as_str()))))
            .unwrap()
            .text
            .to_string();
        press(&shell, &text);
    }
    assert!(nurse().get_checklist().iter().all(|c| c.done));
    assert!(!nurse().get_can_sign_off());
    // Each blocker says who lifts it: a physician's override for the eGFR rule.
    assert!(nurse().get_blockers().iter().any(|b| {
        b.contains(&en("rejected-contrast_blocked")) && b.contains(&en("lift-clearance_override"))
    }));
    // Nothing was tried yet: a blocker names the reason, it does not say "refused".
    let refused_prefix = refused(&loc, Language::EnUs, "rejected-contrast_blocked")
        .replace(&en("rejected-contrast_blocked"), "");
    assert!(
        nurse()
            .get_blockers()
            .iter()
            .all(|b| !b.contains(refused_prefix.as_str())),
        "issue 17: no \"refused\" before anything was tried"
    );
    press(&shell, &en("nurse-sign-off"));
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

    // The physician's override, countersigned with the physician's PIN.
    press(&shell, &en("nurse-tab-review"));
    press(&shell, &egfr_reason.text);
    assert!(nurse().get_override_open());
    press(&shell, &en("nurse-override-physician"));
    keys(&shell, "nurse1");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("admin-pin"));
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    // The reason typed in Chinese on the pinyin keyboard (issue 18).
    press(&shell, &en("nurse-override-reason"));
    press(&shell, &en("keyboard-mode-label"));
    keys(&shell, "fengxian");
    press(&shell, "风险");
    keys(&shell, "kekong");
    press(&shell, "可控");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("nurse-override-save"));
    assert_eq!(
        nurse().get_override_error(),
        en("nurse-override-not-physician")
    );
    press(&shell, &en("nurse-override-physician"));
    press(&shell, &en("keypad-clear"));
    keys(&shell, "drli");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("admin-pin"));
    keys(&shell, "135791");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("nurse-override-save"));
    assert!(!nurse().get_override_open());
    assert_eq!(
        nurse().get_contrast_permission(),
        en("nurse-contrast-allowed")
    );
    // The log row holds the reason in characters.
    let exam = shell.engine().read().session().unwrap().id();
    let logged = shell
        .recorder()
        .unwrap()
        .with_store(move |store| async move { store.exam_entries(exam).await.unwrap() })
        .unwrap();
    assert!(
        logged
            .iter()
            .any(|e| e.payload.contains("override_recorded") && e.payload.contains("风险可控")),
        "no override row with the reason in characters"
    );

    // An aneurysm clip of unknown MR status blocks the whole exam (2.1.2).
    press_in(&shell, FACTS, &en("nurse-add-implant"));
    press(&shell, &en("implant-aneurysm_clip"));
    press(&shell, &en("mr-status-unknown"));
    press(&shell, &en("nurse-save"));
    {
        let open = shell.engine().read();
        let c = open.session().unwrap().exam().clearance();
        assert_eq!(c.status, ClearanceStatus::Blocked);
        assert!(c.has(ReasonCode::ImplantUnknown));
    }
    assert_eq!(
        nurse().get_clearance_level(),
        cmr_kiosk::ui::components::ClearanceLevel::Blocked
    );
    assert!(
        nurse()
            .get_clearance()
            .starts_with(&en("verdict-exam-contrast")),
        "{}",
        nurse().get_clearance()
    );
    assert!(
        !nurse()
            .get_reasons()
            .iter()
            .find(|r| r.text.contains(&en("reason-implant_unknown")))
            .unwrap()
            .can_override,
        "no override for an unknown implant"
    );
    press(&shell, &en("nurse-tab-prepare"));
    press(&shell, &en("nurse-sign-off"));
    // The refusal says why and that no override lifts an unknown implant.
    let notice = nurse().get_notice();
    assert!(
        notice.contains(&refused(&loc, Language::EnUs, "rejected-exam_blocked")),
        "{notice}"
    );
    assert!(notice.contains(&en("lift-resolve_finding")), "{notice}");
    // The label is found (MR Safe): the nurse records it and removes the unknown entry.
    press(&shell, &en("nurse-tab-review"));
    let unknown = nurse().get_implants().row_data(0).unwrap();
    press_in(&shell, FACTS, &unknown);
    assert_eq!(
        shell
            .engine()
            .read()
            .session()
            .unwrap()
            .exam()
            .clearance()
            .contrast,
        Permission::Allowed
    );

    // Sign-off.
    press(&shell, &en("nurse-tab-prepare"));
    assert!(nurse().get_can_sign_off());
    press(&shell, &en("nurse-sign-off"));
    assert_eq!(
        shell.engine().read().session().unwrap().exam().signed_off(),
        Some("Nurse Zhang")
    );

    // Everything is in the durable log, under the signed-in nurse.
    let log = wait_for(&url, |log| {
        log.iter().any(|e| matches!(e, ExamEvent::SignedOff { .. }))
    });
    assert!(log.iter().any(|e| matches!(
        e,
        ExamEvent::OverrideRecorded { rule: ReasonCode::EgfrBelow30, by, .. } if by == "Dr Li"
    )));
    assert!(log.iter().any(|e| matches!(
        e,
        ExamEvent::PreparationChecked {
            item: PrepItem::AnswersReviewed,
            ..
        }
    )));
    assert!(log.iter().any(|e| matches!(e, ExamEvent::SignedOff { .. })));
    assert!(log.iter().any(|e| matches!(
        e,
        ExamEvent::PatientRegistered { patient } if patient.egfr == Some(25.0)
            && patient.egfr_date.as_deref() == Some("2026-11-20")
    )));
    shell.settle();
    assert_eq!(audit_count(&url, "override"), 1);
    assert!(audit_count(&url, "login") >= 4);

    // Handing the kiosk to the patient ends the staff session.
    press(&shell, &en("back"));
    press(&shell, &en("role-patient"));
    assert_eq!(shell.app().get_screen(), Screen::Patient);
    press(&shell, &en("patient-leave"));
    press(&shell, &en("role-nurse"));
    assert!(signin().get_open(), "the patient cannot reach nurse mode");
    press(&shell, "Nurse Zhang");
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    assert!(!signin().get_open());

    // Signing out goes home; the nurse area asks again.
    press(&shell, &en("sign-out"));
    assert_eq!(shell.app().get_screen(), Screen::Home);
    press(&shell, &en("role-nurse"));
    assert!(signin().get_open());

    // While the stress drug runs, the lock screen offers to stop it without a PIN;
    // the log names the lock screen as the actor.
    {
        let baseline = cmr_kiosk::domain::Vitals {
            hr: Some(66.0),
            sbp: Some(124.0),
            ..Default::default()
        };
        shell
            .engine()
            .handle(ExamEvent::VitalsReading { vitals: baseline }, "monitor")
            .unwrap();
        shell
            .engine()
            .handle(
                ExamEvent::StressStarted {
                    drug: cmr_kiosk::domain::StressDrug::Adenosine,
                    dose: None,
                    authority: Default::default(),
                },
                "wangfang",
            )
            .unwrap();
    }
    shell.console_tick();
    assert!(
        shell
            .engine()
            .read()
            .session()
            .unwrap()
            .exam()
            .stress()
            .infusing()
    );
    press(&shell, &en("lock-stop-infusion"));
    assert!(
        !shell
            .engine()
            .read()
            .session()
            .unwrap()
            .exam()
            .stress()
            .infusing()
    );
    let rows = wait_for(&url, |log| {
        log.iter().any(|e| matches!(e, ExamEvent::StressStopped))
    });
    assert!(rows.iter().any(|e| matches!(e, ExamEvent::StressStopped)));
    let actor = with_store(&url, async |store| {
        store
            .entries_after("nurse-test", 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .rfind(|e| e.payload.contains("stress_stopped"))
            .map(|e| e.actor)
    });
    assert_eq!(
        actor.as_deref(),
        Some(cmr_kiosk::ui::shell::LOCK_SCREEN_ACTOR)
    );

    // A restart resumes the exam from the log: patient mode greets the registered
    // patient again (identity step, masked name) without a new registration.
    drop(shell);
    let mut config2 = Config::default();
    config2.database.url = url.clone();
    config2.database.device_id = "nurse-test".into();
    let mut again = Shell::new(config2, loc.clone()).unwrap();
    again.start_recorder().unwrap();
    for _ in 0..100 {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(100));
        if again.patient().name().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(again.patient().name().as_deref(), Some("Wang Xiaoming"));
    assert!(
        again.engine().read().session().is_some(),
        "the exam resumed"
    );
}
