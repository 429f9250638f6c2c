//! Issue 15: the technologist finishes the exam by touch on the console. The confirm
//! panel lists what is still open; the end is logged with it and closes the exam; the
//! report is read back from the log and shown; "Print" writes the PDF sheet into the
//! configured print folder.

use crate::support::ui as common;
use common::*;

use slint::{ComponentHandle, Model};

use cmr_kiosk::config::Language;
use cmr_kiosk::domain::ExamEvent;
use cmr_kiosk::domain::ProtocolSettings;
use cmr_kiosk::domain::exam::Outstanding;
use cmr_kiosk::domain::protocol::ExamType;
use cmr_kiosk::domain::screening::{Patient, ScreeningAnswers, Sex};
use cmr_kiosk::engine::Command;
use cmr_kiosk::ui::components::{ConsoleAdapter, ConsoleTab, Screen};

fn registration() -> serde_json::Value {
    serde_json::json!({
        "name": "李娜", "patient_id": "P0099", "sex": "female",
        "birth_date": "1980-05-01", "weight_kg": 60.0, "height_cm": 165.0,
        "department": "心内科", "question": "心肌炎随访",
        "exam_type": "contrast",
        "order": {"accession": "ACC0099", "study_uid": "1.2.826.0.1.3680043.10.99",
                  "requested_procedure": "心脏磁共振增强"}
    })
}

#[test]
fn issue_15_finish_by_touch_logs_the_end_shows_the_report_and_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let print_dir = dir.path().join("print");
    let folder = print_dir.clone();
    // dcmtk's storescp stands in for the PACS the SR goes to.
    let pacs_dir = dir.path().join("pacs");
    std::fs::create_dir_all(&pacs_dir).unwrap();
    let pacs_port = crate::support::mwl::free_port();
    let mut pacs = crate::support::mwl::tool("storescp")
        .args(["-aet", "PACS", "-od"])
        .arg(&pacs_dir)
        .arg(pacs_port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::support::mwl::wait_listening(pacs_port);
    let (mut shell, url, loc) = english_kiosk_with(dir.path(), "finish-test", move |c| {
        c.dicom.pacs.address = format!("PACS@127.0.0.1:{pacs_port}");
        c.report.print_folder = folder.display().to_string();
        c.institution.name = "Example Hospital".into();
        // A RIS that is not there: the message waits in the outbox.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        c.ris.address = format!("127.0.0.1:{port}");
    });
    let en = |k: &str| loc.tr(Language::EnUs, k);
    let engine = shell.engine().clone();
    engine
        .call(Command::Open {
            settings: ProtocolSettings::default(),
            actor: "nurse.zhao".into(),
            record: registration(),
        })
        .unwrap();
    for event in [
        ExamEvent::PatientRegistered {
            patient: Patient {
                weight_kg: 60.0,
                height_cm: Some(165.0),
                sex: Sex::Female,
                age_years: 46,
                egfr: Some(90.0),
                egfr_date: None,
            },
        },
        ExamEvent::ScreeningAnswered {
            answers: ScreeningAnswers::default(),
        },
        ExamEvent::ExamTypeChosen {
            exam_type: ExamType::Contrast,
        },
    ] {
        engine.handle(event, "nurse.zhao").unwrap();
    }
    let exam = engine.read().session().unwrap().id();
    shell.start_console();
    shell.app().set_screen(Screen::Technologist);
    let console = || shell.app().global::<ConsoleAdapter>();
    console().set_tab(ConsoleTab::Technique);
    shell.console_tick();

    // The panel lists what is open: no sign-off, every required step.
    press(&shell, &en("console-finish-exam"));
    assert!(console().get_confirm_open());
    assert_eq!(console().get_confirm_title(), en("confirm-title-finish"));
    let open: Vec<String> = console()
        .get_confirm_rows()
        .iter()
        .map(|r| r.value.to_string())
        .collect();
    assert!(open.contains(&en("outstanding-not_signed_off")), "{open:?}");
    assert!(open.iter().any(|v| v.contains("not acquired")), "{open:?}");
    // Cancelled: the exam goes on.
    press(&shell, &en("keypad-cancel"));
    assert!(engine.read().session().is_some());

    // Confirmed: the end is logged and the exam closes.
    press(&shell, &en("console-finish-exam"));
    confirm_step(&shell);
    assert!(engine.read().session().is_none(), "the exam is closed");
    shell.settle();
    shell.console_tick();
    assert!(console().get_report_open());
    let lines: Vec<String> = console()
        .get_report_lines()
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert_eq!(lines[0], "Example Hospital Cardiac MR Report", "{lines:?}");
    assert!(lines.contains(&"Name: 李娜".to_string()), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("Exam finished:")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("not signed off by the nurse"))
    );

    // The language toggle words the report again.
    shell.set_language(Language::ZhCn);
    shell.console_tick();
    let zh: Vec<String> = console()
        .get_report_lines()
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(zh.contains(&"姓名：李娜".to_string()), "{zh:?}");
    shell.set_language(Language::EnUs);
    shell.console_tick();

    // Print: the PDF lands in the print folder; the panel says where.
    press(&shell, &en("console-report-print"));
    shell.settle();
    shell.console_tick();
    let printed: Vec<_> = std::fs::read_dir(&print_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(std::fs::read(&printed[0]).unwrap().starts_with(b"%PDF-"));
    assert!(
        console()
            .get_report_status()
            .contains(&*printed[0].to_string_lossy()),
        "{}",
        console().get_report_status()
    );
    press(&shell, &en("console-report-close"));
    shell.console_tick();
    assert!(!console().get_report_open());
    // The log holds the end with what was open, then the closing row.
    let record = shell
        .recorder()
        .unwrap()
        .with_store(move |store| async move {
            cmr_kiosk::report::record::ExamRecord::load(
                &store,
                exam,
                &cmr_kiosk::store::checkpoint::Trust::default(),
            )
            .await
            .unwrap()
        })
        .unwrap();
    let finished = record.replayed.finished().expect("the end is logged");
    assert!(finished.outstanding.contains(&Outstanding::NotSignedOff));
    assert!(record.closed.is_some());
    // Finishing queued the technique section for the RIS, once, under the order.
    let queued = shell
        .recorder()
        .unwrap()
        .with_store(move |store| async move { store.outbox_rows(exam).await.unwrap() })
        .unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].accession, "ACC0099");
    assert!(queued[0].message.contains("李娜"));
    // And the imaging-agent SR reached the PACS, in the order's study.
    let kept: Vec<_> = std::fs::read_dir(&pacs_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let _ = pacs.kill();
    let _ = pacs.wait();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let sr = std::fs::read(&kept[0]).unwrap();
    assert!(
        sr.windows(b"1.2.826.0.1.3680043.10.99".len())
            .any(|w| w == b"1.2.826.0.1.3680043.10.99"),
        "the SR names the order's study"
    );
    let _ = url;
}
