//! A limit stops the step before it happens (3.1.3.2), by touch on the console under
//! Slint's testing backend against a real SQLite record: a signed-in technologist
//! records 0.3 mmol/kg in one injection, is refused with the reason and what lifts it;
//! a technologist's own PIN cannot countersign; a physician's PIN does, for that step
//! only, and the audit row names both. A dose typed into the mL field is refused until
//! the technologist confirms that check by name.

use crate::support::ui as common;
use common::*;

use slint::{ComponentHandle, Model};

use cmr_kiosk::config::Language;
use cmr_kiosk::domain::contrast::AgentId;
use cmr_kiosk::domain::protocol::ExamType;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::engine::Command;
use cmr_kiosk::engine::session::ExamSession;
use cmr_kiosk::store::accounts::{NewStaff, Role};
use cmr_kiosk::ui::components::{ConsoleAdapter, Screen, SignInAdapter};
use cmr_kiosk::ui::shell::Shell;

/// Presses the button labelled `label` and redraws the console.
fn touch(shell: &Shell, label: &str) {
    press(shell, label);
    shell.console_tick();
}

/// Types on the keypad or keyboard and redraws the console.
fn type_in(shell: &Shell, text: &str) {
    keys(shell, text);
    shell.console_tick();
}

/// A 70 kg patient with a current eGFR.
fn patient() -> Patient {
    Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Male,
        age_years: 61,
        egfr: Some(88.0),
        egfr_date: None,
    }
}

/// The audit rows of `action`, as JSON payloads, once the recorder has written them.
fn audits(url: &str, action: &str) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let rows: Vec<serde_json::Value> = with_store(url, async |store| {
            store
                .entries_after("countersign-test", 0, 10_000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == "audit")
                .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.payload).ok())
                .filter(|p| p["action"] == action)
                .collect()
        });
        if !rows.is_empty() {
            return rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Vec::new()
}

/// A fresh registered exam with gadobutrol selected, its clock at `secs`, drawn.
fn fresh_exam(shell: &Shell, secs: u64) {
    let mut e = Exam::new(ProtocolSettings::default());
    for ev in [
        ExamEvent::PatientRegistered { patient: patient() },
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    ] {
        e.handle(ev, Instant::ZERO).unwrap();
    }
    let session = ExamSession::preview(e, Instant::from_secs(secs));
    shell
        .engine()
        .call(Command::Install(Some(Box::new(session))))
        .unwrap();
    shell.console_tick();
}

fn injections(shell: &Shell) -> Vec<f64> {
    shell
        .engine()
        .read()
        .session()
        .unwrap()
        .exam()
        .ledger()
        .unwrap()
        .injections()
        .iter()
        .map(|i| i.mmol_kg)
        .collect()
}

#[test]
fn clause_3_1_3_2_an_over_limit_injection_is_refused_and_a_physician_countersigns_it_by_pin() {
    let dir = tempfile::tempdir().unwrap();
    let (mut shell, url, loc) = english_kiosk(dir.path(), "countersign-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    with_store(&url, async |store| {
        for (u, name, role, pin) in [
            ("techwang", "Tech Wang", Role::Technologist, "2580"),
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

    // A contrast exam for a 70 kg patient with gadobutrol (1.0 mmol/mL).
    let mut e = Exam::new(ProtocolSettings::default());
    let t0 = Instant::ZERO;
    for ev in [
        ExamEvent::PatientRegistered { patient: patient() },
        ExamEvent::ExamTypeChosen {
            exam_type: ExamType::Contrast,
        },
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    ] {
        e.handle(ev, t0).unwrap();
    }
    let s = ExamSession::preview(e, Instant::from_secs(60));
    shell
        .engine()
        .call(Command::Install(Some(Box::new(s))))
        .unwrap();
    shell.start_console();

    // The technologist signs in on the console.
    touch(&shell, &en("role-technologist"));
    assert_eq!(shell.app().get_screen(), Screen::Technologist);
    assert!(shell.app().global::<SignInAdapter>().get_open());
    tap(&shell, "Tech Wang");
    shell.console_tick();
    type_in(&shell, "2580");
    touch(&shell, &en("keypad-ok"));
    assert!(!shell.app().global::<SignInAdapter>().get_open());
    let console = || shell.app().global::<ConsoleAdapter>();

    // 0.3 mmol/kg in one injection: refused before it is recorded, with the reason and
    // what lifts it.
    tap(&shell, &en("console-tab-contrast"));
    touch(&shell, &en("purpose-single"));
    touch(&shell, &en("console-field-dose"));
    touch(&shell, &en("keypad-clear"));
    type_in(&shell, "0");
    touch(&shell, &en("keypad-point-label"));
    type_in(&shell, "3");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("console-inject-entered"));
    confirm_step(&shell);
    assert!(injections(&shell).is_empty(), "nothing was given");
    assert_eq!(
        console().get_refusal(),
        refused(&loc, Language::EnUs, "rejected-dose_above_max")
    );
    assert_eq!(console().get_refusal_lift(), en("lift-countersign"));
    assert_eq!(
        console().get_refusal_action(),
        en("console-countersign-action")
    );
    assert!(has_label(
        &shell,
        &refused(&loc, Language::EnUs, "rejected-dose_above_max")
    ));

    // The countersign dialog: the technologist's own PIN does not lift a hard limit.
    touch(&shell, &en("console-countersign-action"));
    assert!(console().get_countersign_open());
    touch(&shell, &en("nurse-override-physician"));
    type_in(&shell, "techwang");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("admin-pin"));
    type_in(&shell, "2580");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("nurse-override-reason"));
    type_in(&shell, "needed");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("console-countersign-save"));
    assert_eq!(
        console().get_countersign_error(),
        en("nurse-override-not-physician")
    );
    assert!(injections(&shell).is_empty());

    // The physician's own name and PIN lift it for this step only.
    touch(&shell, &en("nurse-override-physician"));
    touch(&shell, &en("keypad-clear"));
    type_in(&shell, "drli");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("admin-pin"));
    type_in(&shell, "135791");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("console-countersign-save"));
    assert!(!console().get_countersign_open());
    assert_eq!(console().get_refusal(), "");
    assert_eq!(injections(&shell), vec![0.3]);
    {
        let published = shell.engine().read();
        let journal = published.session().unwrap().journal();
        let given = journal.iter().rev().find_map(|r| match r {
            cmr_kiosk::engine::session::JournalRow::Event {
                event: ExamEvent::Injected(req),
                ..
            } => Some(req.clone()),
            _ => None,
        });
        let sign = given.unwrap().authority.countersign.expect("countersigned");
        assert_eq!(sign.by, "Dr Li");
        assert_eq!(sign.reason, "needed");
    }
    let rows = audits(&url, "countersign");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["user"], "techwang", "who gave the step");
    let subject = rows[0]["subject"].as_str().unwrap();
    assert!(
        subject.contains("drli") && subject.contains("dose_above_max"),
        "{subject}"
    );

    // The next step above the maximum is refused again: a countersign is for one step.
    touch(&shell, &en("purpose-top_up"));
    touch(&shell, &en("console-field-dose"));
    touch(&shell, &en("keypad-clear"));
    type_in(&shell, "0");
    touch(&shell, &en("keypad-point-label"));
    type_in(&shell, "02");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("console-inject-entered"));
    confirm_step(&shell);
    assert_eq!(
        console().get_refusal(),
        refused(&loc, Language::EnUs, "rejected-dose_above_max")
    );
    assert_eq!(injections(&shell).len(), 1);
    touch(&shell, &en("console-refusal-dismiss"));
    assert_eq!(console().get_refusal(), "");

    // A soft check: 0.5 mL typed where a dose was meant is refused until the
    // technologist confirms that check by name (no countersign: a second touch).
    fresh_exam(&shell, 60);
    touch(&shell, &en("purpose-single"));
    touch(&shell, &en("console-by-volume"));
    touch(&shell, &en("console-field-volume"));
    touch(&shell, &en("keypad-clear"));
    type_in(&shell, "0");
    touch(&shell, &en("keypad-point-label"));
    type_in(&shell, "5");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("console-inject-entered"));
    confirm_step(&shell);
    assert_eq!(
        console().get_refusal(),
        refused(&loc, Language::EnUs, "rejected-dose_implausible")
    );
    assert_eq!(console().get_refusal_lift(), en("lift-confirmation"));
    assert!(injections(&shell).is_empty());
    let confirm = console().get_refusal_action().to_string();
    assert!(confirm.contains(&en("check-dose_implausible")), "{confirm}");
    touch(&shell, &confirm);
    assert_eq!(console().get_refusal(), "");
    assert_eq!(injections(&shell).len(), 1);
    let rows = audits(&url, "confirmation");
    assert!(
        rows.iter().any(|r| r["user"] == "techwang"
            && r["subject"]
                .as_str()
                .is_some_and(|s| s.contains("dose_implausible"))),
        "{rows:?}"
    );

    // Issue 17: a double tap on "record" records one injection; the second touch is
    // refused as a likely double entry.
    touch(&shell, &en("console-field-volume"));
    touch(&shell, &en("keypad-clear"));
    type_in(&shell, "7");
    touch(&shell, &en("keypad-ok"));
    touch(&shell, &en("purpose-top_up"));
    fresh_exam(&shell, 90);
    touch(&shell, &en("purpose-single"));
    // The double tap opens one confirm panel; the second touch finds it open and
    // the confirm button unarmed (it arms after CONFIRM_ARM_DELAY).
    touch(&shell, &en("console-inject-entered"));
    touch(&shell, &en("console-inject-entered"));
    assert!(console().get_confirm_open());
    assert!(!console().get_confirm_armed(), "not armed at once");
    let record = console().get_confirm_action().to_string();
    touch(&shell, &record);
    assert!(
        injections(&shell).is_empty(),
        "an unarmed confirm records nothing"
    );
    // What will be recorded is on the panel: weight, volume, dose.
    let rows: Vec<(String, String)> = console()
        .get_confirm_rows()
        .iter()
        .map(|r| (r.label.to_string(), r.value.to_string()))
        .collect();
    assert!(
        rows.contains(&(en("confirm-weight"), "70 kg".into())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&(en("confirm-volume"), "7 mL".into())),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(l, v)| *l == en("confirm-dose") && v.starts_with("0.1 mmol/kg")),
        "{rows:?}"
    );
    confirm_step(&shell);
    assert!(!console().get_confirm_open(), "the panel closes");
    assert!(!has_label(&shell, &record), "no second confirm to touch");
    assert_eq!(injections(&shell), vec![0.1], "one injection recorded");
    // Entered again within the minute and confirmed: refused as a likely double entry.
    touch(&shell, &en("console-inject-entered"));
    confirm_step(&shell);
    assert_eq!(injections(&shell), vec![0.1], "still one injection");
    assert_eq!(
        console().get_refusal(),
        refused(&loc, Language::EnUs, "rejected-possible_duplicate")
    );
    touch(&shell, &en("console-refusal-dismiss"));

    // Voided with a reason: off the ledger, kept on the record and the screen.
    touch(&shell, &en("console-void"));
    type_in(&shell, "wrong patient");
    touch(&shell, &en("keypad-ok"));
    assert!(injections(&shell).is_empty(), "voided");
    {
        let published = shell.engine().read();
        let exam = published.session().unwrap().exam();
        let voided = exam.ledger().unwrap().voided();
        assert_eq!(voided.len(), 1);
        assert_eq!(voided[0].by, "techwang");
        assert_eq!(voided[0].reason, "wrong patient");
        assert!(exam.lge().window().is_none(), "no injection, no LGE window");
    }
    assert!(
        console()
            .get_injection_list()
            .iter()
            .any(|r| r.voided && r.text.contains("wrong patient")),
        "the voided entry stays listed"
    );
}
