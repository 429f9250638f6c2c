//! No lock screen mid-stress (3.2.3): with adenosine running, a signed-in technologist
//! who touches nothing for minutes keeps the console in view under the view-only lock
//! (only stop infusion, acknowledge, pause audio and sign in answer); once the exam holds
//! nothing (no drug, no alarm, no countdown), the idle lock comes down as before.

use crate::support::ui as common;
use common::*;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use slint::ComponentHandle;

use cmr_kiosk::config::Language;
use cmr_kiosk::domain::exam::LockHold;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{Exam, ExamEvent, ExamType, ProtocolSettings};
use cmr_kiosk::engine::Command;
use cmr_kiosk::engine::session::ExamSession;
use cmr_kiosk::store::accounts::Role;
use cmr_kiosk::ui::components::{Screen, SignInAdapter, ViewOnly};

#[test]
fn clause_3_2_3_no_idle_lock_while_adenosine_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut shell, url, loc) = english_kiosk(dir.path(), "lock-hold-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    add_staff(&url, "techwang", "Tech Wang", Role::Technologist, "2580");

    // Adenosine started at 30 s for a 70 kg patient.
    let mut e = Exam::new(ProtocolSettings::default());
    for (at, ev) in [
        (
            0,
            ExamEvent::PatientRegistered {
                patient: Patient {
                    weight_kg: 70.0,
                    height_cm: None,
                    sex: Sex::Male,
                    age_years: 61,
                    egfr: Some(88.0),
                    egfr_date: None,
                },
            },
        ),
        (
            0,
            ExamEvent::ExamTypeChosen {
                exam_type: ExamType::AdenosineStress,
            },
        ),
        (
            20,
            ExamEvent::VitalsReading {
                vitals: Vitals {
                    hr: Some(68.0),
                    sbp: Some(124.0),
                    ..Default::default()
                },
            },
        ),
        (
            30,
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: None,
                authority: Default::default(),
            },
        ),
    ] {
        e.handle(ev, Instant::from_secs(at)).unwrap();
    }
    assert_eq!(
        e.lock_hold(Instant::from_secs(60)),
        Some(LockHold::StressDrug)
    );
    let s = ExamSession::preview(e, Instant::from_secs(60));
    shell
        .engine()
        .call(Command::Install(Some(Box::new(s))))
        .unwrap();
    shell.start_console();

    let base = std::time::Instant::now();
    let offset = Rc::new(Cell::new(Duration::ZERO));
    let o = offset.clone();
    shell.staff().set_clock(Rc::new(move || base + o.get()));
    let signin = || shell.app().global::<SignInAdapter>();

    press(&shell, &en("role-technologist"));
    assert_eq!(shell.app().get_screen(), Screen::Technologist);
    press(&shell, "Tech Wang");
    keys(&shell, "2580");
    press(&shell, &en("keypad-ok"));
    shell.settle();
    assert!(!signin().get_open(), "signed in");

    // Turning the console's pages is a touch like any other: it restarts the idle
    // countdown (a technologist watching the trend is not idle).
    offset.set(Duration::from_secs(100));
    shell.console_tick();
    press(&shell, &en("console-tab-contrast"));
    offset.set(Duration::from_secs(200));
    assert!(
        !shell.staff().tick(),
        "a touch on a page tab restarts the idle countdown"
    );
    press(&shell, &en("console-tab-stress"));

    // Idle while the drug runs: no lock screen over the console — the view-only lock
    // (issue 17): signed out, the console in view, input refused except the essential
    // buttons, for as long as the drug acts.
    offset.set(Duration::from_secs(200 + 121));
    assert!(shell.staff().tick(), "the view-only lock comes down");
    let view_only = || shell.app().global::<ViewOnly>().get_active();
    assert!(view_only());
    assert!(!signin().get_open(), "the console stays in view");
    assert_eq!(shell.app().get_screen(), Screen::Technologist);
    assert_eq!(shell.staff().actor(), None, "signed out");
    for minute in 6..=10 {
        offset.set(Duration::from_secs(60 * minute));
        assert!(!shell.staff().tick(), "still view-only at {minute} min");
        assert!(view_only() && !signin().get_open());
    }
    // Input is refused: "Back" does nothing; the running exam's data stays.
    shell.console_tick();
    assert!(has_label(&shell, &en("console-view-only")));
    press(&shell, &en("back"));
    assert_eq!(shell.app().get_screen(), Screen::Technologist);
    assert!(
        !has_label(&shell, &en("console-note-criterion")) || {
            press(&shell, &en("console-note-criterion"));
            !shell
                .app()
                .global::<cmr_kiosk::ui::components::ConsoleAdapter>()
                .get_criteria_open()
        }
    );
    // Stop infusion still works, logged as done from the lock screen.
    press(&shell, &en("console-stop-infusion"));
    shell.settle();
    {
        let published = shell.engine().read();
        let exam = published.session().unwrap().exam();
        assert!(
            !exam.stress().infusing(),
            "stopped from the view-only console"
        );
    }
    // Signing in lifts it.
    press(&shell, &en("console-view-only-sign-in"));
    assert!(signin().get_open(), "the sign-in over the console");
    assert_eq!(signin().get_title(), en("lock-title"));
    // Who is on the table, on the lock screen too (masked: see tests/ui/confirm.rs).
    let banner = signin().get_patient_banner().to_string();
    assert!(
        banner.contains(&en("sex-male")) && banner.contains("61") && banner.contains("70 kg"),
        "{banner}"
    );
    press(&shell, "Tech Wang");
    keys(&shell, "2580");
    press(&shell, &en("keypad-ok"));
    shell.settle();
    assert!(!signin().get_open());
    assert!(!view_only(), "signed in: the whole console answers");
    assert_eq!(shell.staff().actor().as_deref(), Some("techwang"));

    // Idle again with the exam still holding the console (observation after the
    // drug): view-only again; then the exam is closed and nothing holds it: the full
    // lock replaces the view-only one.
    offset.set(Duration::from_secs(60 * 10 + 121));
    assert!(shell.staff().tick());
    assert!(view_only());
    shell.engine().call(Command::Install(None)).unwrap();
    offset.set(Duration::from_secs(60 * 10 + 130));
    assert!(shell.staff().tick(), "idle lock once nothing holds it");
    assert!(!view_only());
    assert!(signin().get_open());
    assert_eq!(signin().get_title(), en("lock-title"));
}
