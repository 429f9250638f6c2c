//! The technologist's console under Slint's testing backend: a technologist starts
//! adenosine by touch, rising HR brings "image now", a hypotensive reading raises a
//! high-priority alarm that is acknowledged by touch, stress perfusion acquired brings
//! "stop infusion", and every action and acknowledgement lands in the exam log.
//! (The testing backend can be initialised once per process: one test function.)

mod common;
use common::*;

use std::rc::Rc;
use std::time::Duration;

use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::domain::contrast::AgentId;
use cmr_kiosk::domain::output::AlarmCode;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::session::ExamSession;
use cmr_kiosk::shell::Shell;
use cmr_kiosk::store::Store;
use cmr_kiosk::ui::Screen;

fn vitals(shell: &Shell, hr: f64, sbp: Option<f64>) {
    let rec = shell.recorder().unwrap().clone();
    let mut open = shell.session().borrow_mut();
    let v = Vitals {
        hr: Some(hr),
        sbp,
        dbp: sbp.map(|_| 76.0),
        ..Default::default()
    };
    open.as_mut()
        .unwrap()
        .handle(ExamEvent::VitalsReading { vitals: v }, "monitor", &rec)
        .unwrap();
}

#[test]
fn technologist_runs_adenosine_stress_by_touch() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("kiosk.db").display());
    config.database.device_id = "console-test".into();
    let loc = Rc::new(Localizer::embedded().unwrap());
    let tr = |k: &str| loc.tr(Language::ZhCn, k);
    let mut shell = Shell::new(config.clone(), loc.clone()).unwrap();
    shell.start_recorder().unwrap();

    // An exam registered with a 70 kg patient and a resting baseline, 20 s in.
    let mut exam = Exam::new(ProtocolSettings::default());
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Female,
        age_years: 55,
        egfr: Some(90.0),
        egfr_date: None,
    };
    exam.handle(
        ExamEvent::PatientRegistered { patient },
        Instant::from_secs(0),
    )
    .unwrap();
    exam.handle(
        ExamEvent::AgentSelected {
            agent: AgentId::Gadoterate,
        },
        Instant::from_secs(0),
    )
    .unwrap();
    exam.handle(
        ExamEvent::VitalsReading {
            vitals: Vitals {
                hr: Some(64.0),
                sbp: Some(126.0),
                dbp: Some(78.0),
                ..Default::default()
            },
        },
        Instant::from_secs(10),
    )
    .unwrap();
    let id = {
        let s = ExamSession::preview(exam, Instant::from_secs(20));
        let id = s.id();
        *shell.session().borrow_mut() = Some(s);
        id
    };
    shell.start_console();
    shell.app().set_screen(Screen::Technologist);
    shell.console_tick();

    // Start adenosine by touch: the infusion runs.
    tap(&shell, &tr("console-start-adenosine"));
    assert!(
        shell
            .session()
            .borrow()
            .as_ref()
            .unwrap()
            .exam()
            .stress()
            .infusing()
    );
    shell.console_tick();
    assert!(!has_label(&shell, &tr("prompt-image_now")));

    // HR +12: "image now" appears on the next update.
    vitals(&shell, 76.0, None);
    shell.console_tick();
    assert!(
        has_label(&shell, &tr("prompt-image_now")),
        "image-now prompt shown"
    );

    // SBP 84 during stress: a high-priority alarm with its marker, acknowledged by touch.
    vitals(&shell, 80.0, Some(84.0));
    shell.console_tick();
    let alarm_text = format!("*** {}", tr("alarm-sbp_low"));
    assert!(has_label(&shell, &alarm_text), "high alarm shown with ***");
    tap(&shell, &tr("console-acknowledge"));
    shell.console_tick();
    assert!(!has_label(&shell, &alarm_text));
    let acked: Vec<_> = shell
        .session()
        .borrow()
        .as_ref()
        .unwrap()
        .exam()
        .acknowledged()
        .iter()
        .map(|a| a.1)
        .collect();
    assert_eq!(acked, [AlarmCode::SbpLow]);

    // Stress perfusion acquired: stop the infusion, then stop it by touch.
    tap(&shell, &tr("console-stress-acquired"));
    shell.console_tick();
    assert!(has_label(&shell, &tr("prompt-stop_infusion")));
    tap(&shell, &tr("console-stop-infusion"));
    shell.console_tick();
    assert!(
        !shell
            .session()
            .borrow()
            .as_ref()
            .unwrap()
            .exam()
            .stress()
            .infusing()
    );
    assert!(
        !has_label(&shell, &tr("prompt-stop_infusion")),
        "the done step's prompt leaves"
    );

    // The rest injection by one touch: 0.05 mmol/kg of gadoterate (0.5 mmol/mL) for
    // 70 kg is 7 mL, recorded in the ledger.
    let mut args = fluent::FluentArgs::new();
    args.set("purpose", tr("purpose-rest_perfusion"));
    args.set("dose", "0.05");
    args.set("ml", "7");
    tap(
        &shell,
        &loc.tr_args(Language::ZhCn, "console-inject", &args),
    );
    shell.console_tick();
    {
        let open = shell.session().borrow();
        let ledger = open.as_ref().unwrap().exam().ledger().unwrap();
        assert_eq!(ledger.injections().len(), 1);
        assert!((ledger.cumulative_ml() - 7.0).abs() < 1e-9);
    }

    // Every action and acknowledgement is in the log.
    drop(shell);
    std::thread::sleep(Duration::from_millis(200));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let events = rt.block_on(async {
        let store = Store::open(&config.database.effective_url()).await.unwrap();
        store.events_for_exam(id).await.unwrap()
    });
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            serde_json::to_value(&e.event).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for k in [
        "stress_started",
        "alarm_acknowledged",
        "series_acquired",
        "stress_stopped",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} logged: {kinds:?}");
    }
}
