//! Alarms are state (issue 13): a kiosk killed (SIGKILL) while a high-priority SBP
//! alarm is active shows that alarm again after recovery, with its original start,
//! sounding; it leaves only when acknowledged as the domain says.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cmr_kiosk::alarms::AlarmBoard;
use cmr_kiosk::config::Database;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDose, StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{AlarmCode, AlarmPriority, Decision, ExamEvent, Output, ProtocolSettings};

use cmr_kiosk::session::ExamSession;

const CHILD_ENV: &str = "CMR_ALARM_RESTART_CHILD_DB";

#[path = "support/recorder.rs"]
mod recorder_support;
use recorder_support::{opened, start};

fn db(path: &str) -> Database {
    recorder_support::db(std::path::Path::new(path), "alarm-restart")
}

fn vitals(sbp: f64) -> ExamEvent {
    ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(88.0),
            sbp: Some(sbp),
            dbp: Some(50.0),
            ..Default::default()
        },
    }
}

/// The kiosk side, run as a child process: an adenosine exam whose SBP falls to 72;
/// prints the alarm's start once every row is durable, then waits to be killed.
#[test]
fn alarm_restart_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cfg = db(&path);
    let (rec, rx) = start(&cfg);
    assert!(opened(&rx).is_none());
    let mut s = ExamSession::open(ProtocolSettings::default(), &rec, "nurse");
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: Some(170.0),
        sex: Sex::Male,
        age_years: 66,
        egfr: Some(80.0),
        egfr_date: None,
    };
    s.handle(ExamEvent::PatientRegistered { patient }, "nurse", &rec)
        .unwrap();
    s.handle(vitals(124.0), "monitor", &rec).unwrap();
    s.handle(
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: Some(StressDose::UgKgMin(140.0)),
        },
        "tech",
        &rec,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.handle(vitals(72.0), "monitor", &rec).unwrap();
    let raised: Vec<_> = s.exam().unacknowledged_alarms();
    let sbp = raised
        .iter()
        .find(|(_, c, _)| *c == AlarmCode::SbpLow)
        .expect("SBP low raised");
    // A store job runs after every row submitted before it: the rows are durable.
    rec.with_store(|_| async {}).expect("the store answers");
    println!("ALARM {}", sbp.0.as_millis());
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn clause_3_2_3_an_active_sbp_alarm_survives_a_kill_with_its_original_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db").display().to_string();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "alarm_restart_child",
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
        // libtest prints "test alarm_restart_child ... " first on the same line.
        if let Some((_, ms)) = line.split_once("ALARM ") {
            raised_ms = Some(ms.trim().parse::<u64>().unwrap());
            break;
        }
    }
    let raised_ms = raised_ms.expect("the child raised the alarm");
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();

    // The kiosk starts again: the running exam is recovered from the log.
    let cfg = db(&path);
    let (rec, rx) = start(&cfg);
    let recovered = opened(&rx).expect("the running exam is found");
    let mut s = ExamSession::recover(ProtocolSettings::default(), &recovered).unwrap();
    let active = s.exam().unacknowledged_alarms();
    let sbp = active
        .iter()
        .find(|(_, c, _)| *c == AlarmCode::SbpLow)
        .expect("SBP low is active again after the restart");
    assert_eq!(
        sbp.0,
        Instant::from_millis(raised_ms),
        "with its original start"
    );
    assert_eq!(sbp.2, AlarmPriority::High);

    // The console's board, built from that state, shows it and sounds it.
    let mut board = AlarmBoard::default();
    for (at, code, priority) in &active {
        board.on_output(&Output {
            at: *at,
            decision: Decision::Alarm {
                code: *code,
                priority: *priority,
            },
        });
    }
    let sounding = board.sounding(s.now()).expect("an alarm sounds");
    assert_eq!(sounding.priority, AlarmPriority::High);
    assert_eq!(sounding.raised_at, Instant::from_millis(raised_ms));

    // SBP recovering does not silently clear a latched high alarm; acknowledging does.
    s.handle(vitals(118.0), "monitor", &rec).unwrap();
    assert!(
        s.exam()
            .unacknowledged_alarms()
            .iter()
            .any(|(_, c, _)| *c == AlarmCode::SbpLow)
    );
    s.handle(
        ExamEvent::AlarmAcknowledged {
            code: AlarmCode::SbpLow,
            by: "tech".into(),
        },
        "tech",
        &rec,
    )
    .unwrap();
    assert!(
        !s.exam()
            .unacknowledged_alarms()
            .iter()
            .any(|(_, c, _)| *c == AlarmCode::SbpLow),
        "acknowledged: off the board"
    );
    // A new fall after the acknowledgement is a new alarm with a new start.
    s.handle(vitals(70.0), "monitor", &rec).unwrap();
    let again = s.exam().unacknowledged_alarms();
    let sbp = again
        .iter()
        .find(|(_, c, _)| *c == AlarmCode::SbpLow)
        .expect("raised again");
    assert!(sbp.0 > Instant::from_millis(raised_ms));
}
