//! No idle lock mid-stress (3.2.3): with adenosine running, a signed-in technologist
//! who touches nothing for minutes keeps the console in view; once the exam holds
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
use cmr_kiosk::store::accounts::{NewStaff, Role};
use cmr_kiosk::ui::components::{Screen, SignInAdapter};

#[test]
fn clause_3_2_3_no_idle_lock_while_adenosine_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut shell, url, loc) = english_kiosk(dir.path(), "lock-hold-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    with_store(&url, async |store| {
        store
            .add_staff(&NewStaff {
                username: "techwang".into(),
                display_name: "Tech Wang".into(),
                role: Role::Technologist,
                pin: "2580".into(),
            })
            .await
            .unwrap();
    });

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

    // Ten minutes without a touch while the drug runs: no lock (the default idle
    // lock is 120 s).
    for minute in 1..=10 {
        offset.set(Duration::from_secs(60 * minute));
        assert!(!shell.staff().tick(), "no lock at {minute} min");
        assert!(!signin().get_open());
    }

    // The exam is closed: nothing holds the lock off any more.
    shell.engine().call(Command::Install(None)).unwrap();
    offset.set(Duration::from_secs(60 * 10 + 121));
    assert!(shell.staff().tick(), "idle lock once nothing holds it");
    assert!(signin().get_open());
    assert_eq!(signin().get_title(), en("lock-title"));
}
