//! The exam engine (issue 13): clinical timing never waits for the screen, and an
//! alarm active when the kiosk was killed is back after the restart.

use std::io::{BufRead, BufReader};
use std::process::{Command as Process, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use cmr_kiosk::config::{Config, Database};
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDose, StressDrug};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{AlarmCode, AlarmPriority, Decision, ExamEvent, ProtocolSettings};
use cmr_kiosk::engine::alarm_board::Prompt;
use cmr_kiosk::engine::session::JournalRow;
use cmr_kiosk::engine::{Command, Engine, LoggedDecision};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::monitor::link::{LinkEvent, ReceivedReading};
use cmr_kiosk::monitor::{Measure, Reading, Unit};
use cmr_kiosk::ui::components::ConsoleAdapter;
use cmr_kiosk::ui::shell::Shell;
use slint::{ComponentHandle, Model};

use crate::support::recorder as recorder_support;
use recorder_support::{opened, start};

const CHILD_ENV: &str = "CMR_ENGINE_RESTART_CHILD_DB";

/// How far from its due time the engine may handle a decision (the issue's ± 50 ms).
const ON_TIME_MS: u64 = 50;

fn patient() -> Patient {
    Patient {
        weight_kg: 70.0,
        height_cm: Some(170.0),
        sex: Sex::Male,
        age_years: 66,
        egfr: Some(80.0),
        egfr_date: None,
    }
}

/// A monitor reading as the link hands it over, received now.
fn reading(measure: Measure, value: f64) -> LinkEvent {
    let unit = match measure {
        Measure::Spo2 => Unit::Percent,
        Measure::Hr | Measure::PulseRate => Unit::PerMinute,
        _ => Unit::MmHg,
    };
    LinkEvent::Reading(ReceivedReading {
        reading: Reading::checked(measure, value, unit, None).unwrap(),
        received_at: chrono::Utc::now(),
        received_instant: tokio::time::Instant::now(),
    })
}

/// Opens an exam for a 70 kg patient with a resting baseline and starts adenosine.
fn adenosine_running(engine: &Engine) -> Instant {
    engine
        .call(Command::Open {
            settings: ProtocolSettings::default(),
            actor: "nurse".into(),
            record: serde_json::json!({}),
        })
        .unwrap();
    engine
        .handle(ExamEvent::PatientRegistered { patient: patient() }, "nurse")
        .unwrap();
    for (m, v) in [
        (Measure::Hr, 70.0),
        (Measure::NibpSys, 124.0),
        (Measure::NibpDia, 76.0),
    ] {
        engine.sender().reading(reading(m, v));
    }
    engine.sync();
    engine
        .handle(
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: Some(StressDose::UgKgMin(140.0)),
                authority: Default::default(),
            },
            "tech",
        )
        .unwrap();
    let published = engine.read();
    published
        .session()
        .unwrap()
        .exam()
        .stress()
        .current()
        .unwrap()
        .started_at
}

fn decisions(engine: &Engine) -> Vec<(Instant, Instant, Decision)> {
    engine
        .read()
        .session()
        .unwrap()
        .journal()
        .iter()
        .filter_map(|r| match r {
            JournalRow::Decision {
                at,
                handled,
                output,
            } => Some((*at, *handled, output.decision.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn clause_3_2_3_image_now_and_an_sbp_alarm_are_raised_on_time_while_the_ui_thread_is_blocked() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    let db = dir.path().join("kiosk.db");
    config.database.url = format!("sqlite://{}", db.display());
    config.database.device_id = "engine-test".into();
    let loc = Rc::new(Localizer::embedded().unwrap());
    let mut shell = Shell::new(config, loc.clone()).unwrap();
    shell.start_recorder().unwrap();
    shell.start_console();
    let engine = shell.engine().clone();
    let started = adenosine_running(&engine);
    let image_due = started + cmr_kiosk::domain::Duration::from_secs(240);

    // 238 s into the infusion; then the UI thread (this one) is blocked for 5 s.
    engine
        .call(Command::ResumeAt(
            started + cmr_kiosk::domain::Duration::from_secs(238),
        ))
        .unwrap();
    shell.console_tick();
    let monitor = engine.sender();
    let sbp_at = std::thread::spawn(move || {
        // The monitor sends SBP 72 three seconds into the block (241 s).
        std::thread::sleep(Duration::from_secs(3));
        monitor.reading(reading(Measure::NibpSys, 72.0));
    });
    std::thread::sleep(Duration::from_secs(5));
    sbp_at.join().unwrap();

    // Both were raised by the engine while the screen was blocked, each handled
    // within 50 ms of the exam time it fell due.
    let rows = decisions(&engine);
    let (at, handled, _) = rows
        .iter()
        .find(|(_, _, d)| matches!(d, Decision::StressImagingDue { .. }))
        .expect("image now was raised during the block");
    assert_eq!(*at, image_due, "image now falls due at 240 s");
    assert!(
        handled.saturating_since(*at).as_millis() <= ON_TIME_MS,
        "image now handled {} ms late",
        handled.saturating_since(*at).as_millis()
    );
    let (sbp_due, handled, _) = rows
        .iter()
        .find(|(_, _, d)| {
            matches!(
                d,
                Decision::Alarm {
                    code: AlarmCode::SbpLow,
                    ..
                }
            )
        })
        .expect("SBP low was raised during the block");
    let into_infusion = sbp_due.saturating_since(started).as_millis();
    assert!(
        (240_500..242_500).contains(&into_infusion),
        "SBP low at its reading's arrival (241 s), not later: {into_infusion} ms"
    );
    assert!(handled.saturating_since(*sbp_due).as_millis() <= ON_TIME_MS);
    // The board was raised by the engine before anything was drawn.
    {
        let published = engine.read();
        assert!(published.board().prompts().any(|p| p == Prompt::ImageNow));
        assert!(
            published
                .board()
                .alarms()
                .iter()
                .any(|a| a.code == AlarmCode::SbpLow && a.raised_at == *sbp_due)
        );
    }

    // Both are in the durable log as decision rows at the time they fell due.
    let id = engine.read().session().unwrap().id();
    let url = format!("sqlite://{}", db.display());
    let logged = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let store = crate::support::ui::kiosk_store(&url).await;
            let rows: Vec<LoggedDecision> = store
                .exam_entries(id)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == "decision")
                .map(|e| serde_json::from_str(&e.payload).unwrap())
                .collect();
            if rows.len() >= 2 || std::time::Instant::now() > deadline {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(logged.iter().any(|d| d.output.at == image_due
        && matches!(d.output.decision, Decision::StressImagingDue { .. })
        && d.handled_ms - image_due.as_millis() <= ON_TIME_MS));
    assert!(logged.iter().any(|d| d.output.at == *sbp_due
        && matches!(
            d.output.decision,
            Decision::Alarm {
                code: AlarmCode::SbpLow,
                priority: AlarmPriority::High
            }
        )));

    // The screen shows both as soon as it draws again.
    shell.console_tick();
    let a = shell.app().global::<ConsoleAdapter>();
    let alarm_text = loc.tr(cmr_kiosk::config::Language::ZhCn, "alarm-sbp_low");
    assert!(
        a.get_alarms()
            .iter()
            .any(|r| r.text.starts_with(alarm_text.as_str())),
        "the SBP alarm is on screen"
    );
    // "Image now" is due on the engine's board, but the screen does not offer it while
    // the high-priority SBP alarm (a stop criterion) holds during the infusion.
    assert!(
        shell
            .engine()
            .read()
            .board()
            .prompts()
            .any(|p| p == cmr_kiosk::engine::alarm_board::Prompt::ImageNow)
    );
    assert!(a.get_stop_criterion());
    let prompt_text = loc.tr(cmr_kiosk::config::Language::ZhCn, "prompt-image_now");
    assert!(
        !a.get_prompts().iter().any(|p| p == prompt_text),
        "image now is not offered during a stop criterion"
    );
}

/// The kiosk side, run as a child process: the engine with its recorder runs an
/// adenosine exam whose SBP falls to 72; prints the alarm's start once every row is
/// durable, then waits to be killed.
#[test]
fn engine_restart_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cfg = db(&path);
    let (rec, rx) = start(&cfg);
    assert!(opened(&rx).is_none());
    let rec = Arc::new(rec);
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachRecorder(rec.clone())).unwrap();
    adenosine_running(&engine);
    std::thread::sleep(Duration::from_millis(50));
    engine.sender().reading(reading(Measure::NibpSys, 72.0));
    engine.sync();
    let raised = engine
        .read()
        .board()
        .alarms()
        .iter()
        .find(|a| a.code == AlarmCode::SbpLow)
        .map(|a| a.raised_at)
        .expect("SBP low raised");
    // A store job runs after every row submitted before it: the rows are durable.
    rec.with_store(|_| async {}).expect("the store answers");
    println!("ALARM {}", raised.as_millis());
    std::thread::sleep(Duration::from_secs(600));
}

fn db(path: &str) -> Database {
    recorder_support::db(std::path::Path::new(path), "engine-restart")
}

#[test]
fn clause_3_2_3_an_alarm_active_at_a_kill_is_back_with_its_original_start_and_sounding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db").display().to_string();
    let mut child = Process::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &crate::support::test_name(module_path!(), "engine_restart_child"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut raised_ms = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some((_, ms)) = line.split_once("ALARM ") {
            raised_ms = Some(ms.trim().parse::<u64>().unwrap());
            break;
        }
    }
    let raised = Instant::from_millis(raised_ms.expect("the child raised the alarm"));
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();

    // The kiosk starts again: the recorder finds the running exam, the engine replays it.
    let (rec, rx) = start(&db(&path));
    let recovered = opened(&rx).expect("the running exam is found");
    let rec = Arc::new(rec);
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachRecorder(rec.clone())).unwrap();
    engine
        .call(Command::Recovered(Box::new(recovered)))
        .unwrap();
    {
        let published = engine.read();
        let now = published.session().unwrap().now();
        let board = published.board();
        let alarm = board
            .alarms()
            .iter()
            .find(|a| a.code == AlarmCode::SbpLow)
            .expect("SBP low is on the board again");
        assert_eq!(alarm.raised_at, raised, "with its original start");
        assert_eq!(alarm.priority, AlarmPriority::High);
        let sounding = board.sounding(now).expect("an alarm sounds");
        assert_eq!(sounding.code, AlarmCode::SbpLow);
    }

    // SBP recovering does not silently clear the latched high alarm.
    engine.sender().reading(reading(Measure::NibpSys, 118.0));
    engine.sync();
    assert!(
        engine
            .read()
            .board()
            .alarms()
            .iter()
            .any(|a| a.code == AlarmCode::SbpLow)
    );
    // Acknowledging it does, and the acknowledgement is logged.
    engine
        .call(Command::Acknowledge {
            code: AlarmCode::SbpLow,
            actor: "tech".into(),
        })
        .unwrap();
    {
        let published = engine.read();
        assert!(
            !published
                .board()
                .alarms()
                .iter()
                .any(|a| a.code == AlarmCode::SbpLow)
        );
        assert!(
            published
                .session()
                .unwrap()
                .journal()
                .iter()
                .any(|r| matches!(
                    r,
                    JournalRow::Event {
                        event: ExamEvent::AlarmAcknowledged {
                            code: AlarmCode::SbpLow,
                            ..
                        },
                        ..
                    }
                ))
        );
    }
    // A new fall is a new alarm with a new start.
    engine.sender().reading(reading(Measure::NibpSys, 70.0));
    engine.sync();
    let again = engine
        .read()
        .board()
        .alarms()
        .iter()
        .find(|a| a.code == AlarmCode::SbpLow)
        .map(|a| a.raised_at)
        .expect("raised again");
    assert!(again > raised);
}

#[test]
fn a_full_engine_queue_drops_readings_and_counts_them_without_blocking_the_monitor() {
    use cmr_kiosk::engine::ENGINE_QUEUE;
    let engine = Engine::start().unwrap();
    let sender = engine.sender();
    let extra = 10;
    {
        // A screen holds the published state: the engine cannot take its inputs.
        let held = engine.read();
        for _ in 0..ENGINE_QUEUE + extra {
            sender.reading(reading(Measure::Hr, 70.0));
        }
        drop(held);
    }
    engine.sync();
    // The engine may have taken one input before it waited for the state.
    let dropped = engine.read().readings_dropped();
    assert!(
        (extra as u64 - 1..=extra as u64).contains(&dropped),
        "{dropped} readings dropped past ENGINE_QUEUE"
    );
}

#[test]
fn practice_the_sites_clinical_values_are_logged_at_opening_and_win_at_recovery() {
    use cmr_kiosk::domain::settings::ClinicalSettings;
    use cmr_kiosk::domain::technique::Scanner;
    use cmr_kiosk::engine::SiteFacts;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db").display().to_string();
    let site = |observation_s: u64| SiteFacts {
        clinical: ClinicalSettings {
            min_infusion_s: 0,
            observation_s,
            ..Default::default()
        },
        scanner: Some(Scanner {
            vendor: "Siemens".into(),
            model: "MAGNETOM Vida".into(),
            field_strength_t: 3.0,
        }),
        audio_pause: None,
    };
    let (rec, _rx) = start(&db(&path));
    let rec = Arc::new(rec);
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachRecorder(rec.clone())).unwrap();
    engine
        .call(Command::Configure(Box::new(site(1200))))
        .unwrap();
    let settings = engine.read().site().clinical.to_protocol();
    engine
        .call(Command::Open {
            settings,
            actor: "nurse-wang".into(),
            record: serde_json::json!({}),
        })
        .unwrap();
    {
        let published = engine.read();
        let exam = published.session().unwrap().exam();
        assert_eq!(exam.settings().stress.observation.as_millis(), 1_200_000);
        assert_eq!(exam.scanner().map(|s| s.field_strength_t), Some(3.0));
        assert!(exam.exam_date().is_some(), "dated at opening (2.3.1)");
    }
    drop(engine);
    drop(Arc::try_unwrap(rec).unwrap());

    // The configuration changes before the restart: the exam keeps the values it was
    // opened with (they are in its log), so its timers come back the same.
    let (rec, rx) = start(&db(&path));
    let recovered = opened(&rx).expect("the running exam is found");
    assert!(matches!(
        recovered.events.first().map(|e| &e.event),
        Some(ExamEvent::SettingsRecorded { .. })
    ));
    let rec = Arc::new(rec);
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachRecorder(rec.clone())).unwrap();
    engine
        .call(Command::Configure(Box::new(site(600))))
        .unwrap();
    engine
        .call(Command::Recovered(Box::new(recovered)))
        .unwrap();
    let published = engine.read();
    let exam = published.session().unwrap().exam();
    assert_eq!(exam.settings().stress.min_infusion.as_millis(), 0);
    assert_eq!(exam.settings().stress.observation.as_millis(), 1_200_000);
    assert_eq!(exam.scanner().map(|s| s.field_strength_t), Some(3.0));
}
