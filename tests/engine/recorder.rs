//! The kiosk's recorder and running-exam session: events are written durably, a
//! restart finds the running exam and every timer resumes; an unwritable store raises
//! the technical alarm and keeps the rows in memory.

use std::time::Duration;

use cmr_kiosk::config::Database;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDose, StressDrug, Vitals};
use cmr_kiosk::domain::{ExamEvent, ProtocolSettings};
use cmr_kiosk::engine::recorder::RecorderReport;
use cmr_kiosk::engine::session::ExamSession;
use cmr_kiosk::store::Store;

use crate::support::recorder as recorder_support;
use recorder_support::{opened, start};

fn db(path: &std::path::Path) -> Database {
    recorder_support::db(path, "recorder-test")
}

/// An exam opened by the nurse with a 70 kg patient registered.
fn registered_session(rec: &cmr_kiosk::engine::recorder::Recorder) -> ExamSession {
    let mut session = ExamSession::open(ProtocolSettings::default(), rec, "nurse-wang");
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: Some(170.0),
        sex: Sex::Female,
        age_years: 58,
        egfr: Some(85.0),
        egfr_date: None,
    };
    session
        .handle(ExamEvent::PatientRegistered { patient }, "nurse-wang", rec)
        .unwrap();
    session
}

#[test]
fn a_restarted_kiosk_resumes_the_running_exam_and_its_timers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = db(&dir.path().join("kiosk.db"));

    let (rec, rx) = start(&cfg);
    assert!(opened(&rx).is_none(), "a fresh store has no running exam");
    let mut session = registered_session(&rec);
    let vitals = Vitals {
        hr: Some(64.0),
        sbp: Some(126.0),
        dbp: Some(78.0),
        ..Default::default()
    };
    session
        .handle(ExamEvent::VitalsReading { vitals }, "monitor", &rec)
        .unwrap();
    session
        .handle(
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: Some(StressDose::UgKgMin(140.0)),
                authority: Default::default(),
            },
            "tech-li",
            &rec,
        )
        .unwrap();
    let deadline = session
        .exam()
        .poll_timeout()
        .expect("the 240 s stress deadline is set");
    let id = session.id();
    drop(rec); // the kiosk stops (the rows were submitted; drop writes what waits)

    std::thread::sleep(Duration::from_millis(300));
    let (rec, rx) = start(&cfg);
    let recovered = opened(&rx).expect("the running exam is found after a restart");
    assert_eq!(recovered.exam, id);
    assert_eq!(recovered.events.len(), 3);
    let resumed = ExamSession::recover(ProtocolSettings::default(), &recovered).unwrap();
    assert_eq!(
        resumed.exam().poll_timeout(),
        Some(deadline),
        "same deadline after replay"
    );
    let lag = resumed
        .now()
        .saturating_since(session.now())
        .as_millis()
        .max(session.now().saturating_since(resumed.now()).as_millis());
    assert!(
        lag < 1000,
        "the resumed clock is within 1 s of the truth: {lag} ms"
    );
    drop(rec);

    // The rows form an intact chain.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        Store::open_kiosk(&cfg)
            .await
            .unwrap()
            .verify(None)
            .await
            .unwrap()
    });
    assert!(report.is_ok(), "{report}");
}

#[test]
fn an_unopenable_store_keeps_rows_in_memory_and_raises_the_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"file").unwrap();
    // The database would live inside a "directory" that is a file: it cannot open.
    let cfg = db(&blocker.join("kiosk.db"));
    let (rec, rx) = start(&cfg);
    let mut failed = false;
    let _session = ExamSession::open(ProtocolSettings::default(), &rec, "nurse-wang");
    let mut alarm_pending = 0;
    for _ in 0..50 {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(RecorderReport::OpenFailed(e)) => {
                failed = true;
                assert!(!e.is_empty());
            }
            Ok(RecorderReport::Alarm(Some(a))) => {
                alarm_pending = a.pending;
                break;
            }
            Ok(_) => {}
            Err(_) => {}
        }
    }
    assert!(failed, "the failure to open is reported");
    assert_eq!(
        alarm_pending, 1,
        "the exam_opened row waits in memory with the alarm on"
    );
}

#[test]
fn clause_2_2_3_the_best_breath_hold_reaches_the_exam_log_through_the_patient_sink() {
    use cmr_kiosk::domain::breathing::BreathHoldPhase;
    use cmr_kiosk::engine::session::SessionSink;
    use cmr_kiosk::engine::{Command, Engine};
    use cmr_kiosk::ui::patient::model::ExamSink;

    let dir = tempfile::tempdir().unwrap();
    let cfg = db(&dir.path().join("kiosk.db"));
    let (rec, rx) = start(&cfg);
    let rec = std::sync::Arc::new(rec);
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachRecorder(rec.clone())).unwrap();
    let sink = SessionSink::new(engine.clone(), "patient-self-report");
    let practice = ExamEvent::BreathHoldPracticed {
        best_hold_s: 17.3,
        phase: BreathHoldPhase::EndExpiration,
        holds: 2,
    };
    sink.record(practice.clone()); // no exam open: not recorded, no panic
    engine
        .call(Command::Open {
            settings: ProtocolSettings::default(),
            actor: "nurse-wang".into(),
            record: serde_json::json!({}),
        })
        .unwrap();
    sink.record(practice);
    let best = engine
        .read()
        .session()
        .unwrap()
        .exam()
        .breath_hold()
        .map(|b| b.best_hold_s);
    assert_eq!(best, Some(17.3));
    assert!(opened(&rx).is_none());
    drop(sink);
    drop(engine);
    drop(std::sync::Arc::try_unwrap(rec).unwrap());

    let (rec, rx) = start(&cfg);
    let recovered = opened(&rx).expect("the exam is running");
    drop(rec);
    // The engine records the site's values and dates the exam at opening (2.3.1);
    // then the practice.
    assert!(matches!(
        recovered.events.as_slice(),
        [
            cmr_kiosk::domain::LoggedEvent {
                event: ExamEvent::SettingsRecorded { .. },
                ..
            },
            cmr_kiosk::domain::LoggedEvent {
                event: ExamEvent::ExamDated { .. },
                ..
            },
            cmr_kiosk::domain::LoggedEvent {
                event: ExamEvent::BreathHoldPracticed { holds: 2, .. },
                ..
            }
        ]
    ));
}

#[test]
fn a_monitor_reading_counts_from_when_it_arrived_not_from_when_the_screen_took_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = db(&dir.path().join("kiosk.db"));
    let (rec, rx) = start(&cfg);
    assert!(opened(&rx).is_none());
    let mut session = registered_session(&rec);
    let registered = session.exam().now();
    // The reading arrives now; the screen (blocked) takes it 1.5 s later.
    let received = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let vitals = Vitals {
        hr: Some(71.0),
        ..Default::default()
    };
    session
        .handle_received(
            ExamEvent::VitalsReading { vitals },
            "monitor",
            &rec,
            received,
        )
        .unwrap();
    let handled_at = session.exam().now();
    let lag = handled_at.saturating_since(registered).as_millis();
    assert!(
        lag < 100,
        "handled at its arrival, {lag} ms after registration"
    );
    assert!(
        session.now().saturating_since(handled_at).as_millis() >= 1400,
        "not at the moment the screen took it"
    );
    // A reading received before the last event handled is taken at that event's time:
    // the exam's time never runs backwards.
    let stale = received
        .checked_sub(Duration::from_secs(60))
        .unwrap_or(received);
    session
        .handle_received(ExamEvent::VitalsReading { vitals }, "monitor", &rec, stale)
        .unwrap();
    assert_eq!(session.exam().now(), handled_at);
}

/// Issue 22 (append latency): rows that reach the recorder while a commit runs are
/// written together in one durable commit, in the order submitted, each acknowledged
/// only once it is durable; the chain verifies.
#[test]
fn issue_22_rows_arriving_together_share_one_durable_commit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = db(&dir.path().join("kiosk.db"));
    let (rec, rx) = start(&cfg);
    assert!(opened(&rx).is_none());
    let mut session = registered_session(&rec);
    const ROWS: usize = 400;
    for i in 0..ROWS {
        let vitals = Vitals {
            hr: Some(60.0 + (i % 40) as f64),
            ..Default::default()
        };
        session
            .handle(ExamEvent::VitalsReading { vitals }, "monitor", &rec)
            .unwrap();
    }
    // A last row, waited for: written only once durable, after every row before it.
    let last = cmr_kiosk::store::NewEntry::new(
        None,
        cmr_kiosk::store::EntryKind::Audit,
        "tech",
        cmr_kiosk::domain::Instant::ZERO,
        chrono::Utc::now(),
        &serde_json::json!({"note": "last"}),
    )
    .unwrap();
    let outcome = rec.submit_and_wait(last).expect("an outcome");
    assert!(
        matches!(outcome, cmr_kiosk::store::Submitted::Written(_)),
        "{outcome:?}"
    );
    let exam = session.id();
    let (commits, events, verified) = rec
        .with_store(move |store| async move {
            let events = store.events_for_exam(exam).await.unwrap();
            let report = store.verify(None).await.unwrap();
            (store.commits(), events, report.is_ok())
        })
        .unwrap();
    assert!(verified, "the chain verifies");
    let hr: Vec<f64> = events
        .iter()
        .filter_map(|e| match &e.event {
            ExamEvent::VitalsReading { vitals } => vitals.hr,
            _ => None,
        })
        .collect();
    let expected: Vec<f64> = (0..ROWS).map(|i| 60.0 + (i % 40) as f64).collect();
    assert_eq!(hr, expected, "every row, in the order submitted");
    assert!(
        (commits as usize) < ROWS,
        "{ROWS} rows submitted back to back took {commits} commits"
    );
}

/// Issue 16: once an exam's closing row is durable, the recorder backs the database
/// up (online, verified) into the configured folder; a kiosk configured without
/// exam-end backups takes none.
#[test]
fn issue_16_an_exam_end_is_followed_by_a_verified_backup() {
    use cmr_kiosk::store::backup::{self, BackupReason};
    for at_exam_end in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = db(&dir.path().join("kiosk.db"));
        cfg.backup_at_exam_end = at_exam_end;
        let backups = cfg.backup_dir();
        let (rec, rx) = start(&cfg);
        assert!(opened(&rx).is_none());
        let session = registered_session(&rec);
        session.close(&rec, "tech-li");
        let until = std::time::Instant::now() + Duration::from_secs(20);
        let mut found = Vec::new();
        while std::time::Instant::now() < until {
            found = backup::list(&backups).unwrap_or_default();
            if !found.is_empty() || !at_exam_end {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !at_exam_end {
            // Given the time a backup would have taken.
            std::thread::sleep(Duration::from_secs(2));
            assert!(backup::list(&backups).unwrap_or_default().is_empty());
            continue;
        }
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].reason, BackupReason::ExamEnd);
        assert!(found[0].check.as_ref().is_some_and(|c| c.ok), "{found:#?}");
        // The backup holds the closed exam.
        drop(rec);
        let keys = cmr_kiosk::store::keys::KeyRing::open(
            &cfg.effective_key_dir(),
            cmr_kiosk::store::keys::Create::Never,
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let closed = rt.block_on(async {
            let copy = Store::open_copy(&found[0].file, Some(keys)).await.unwrap();
            let rows = copy
                .entries_after("recorder-test", 0, 10_000)
                .await
                .unwrap();
            copy.close().await;
            rows.iter().any(|r| r.kind == "exam_closed")
        });
        assert!(closed, "the backup was taken after the closing row");
    }
}
