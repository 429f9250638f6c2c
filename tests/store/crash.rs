//! SIGKILL during a stream of writes, many times: every acknowledged event is
//! present after the restart, the hash chain verifies and SQLite's
//! `PRAGMA integrity_check` is ok.
//!
//! The test binary re-runs itself as the writer: with `CMR_CRASH_WRITER_DB`
//! set, `crash_writer_child` appends events in a loop and prints
//! `ACK <seq> <uuid>` after each append returned; the parent kills it with
//! SIGKILL (`Child::kill`) at a pseudo-random moment and checks the file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant as StdInstant};

use chrono::Utc;
use cmr_kiosk::domain::exam::{ExamEvent, LoggedEvent};
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::{DeviceId, ExamClock, Store};

const CHILD_ENV: &str = "CMR_CRASH_WRITER_DB";
const ROUNDS: usize = 25;

fn device() -> DeviceId {
    DeviceId::new("kiosk-crash").unwrap()
}

/// The writer (runs only in the child process).
#[test]
fn crash_writer_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return; // normal test run: nothing to do
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let store = Store::open(&format!("sqlite:{path}")).await.unwrap();
        let (exam, clock) = match store.open_exam(&device()).await.unwrap() {
            Some(r) => (r.exam, ExamClock::resume(r.resume_at(Utc::now()))),
            None => (
                store
                    .start_exam(&device(), "tech", Utc::now())
                    .await
                    .unwrap(),
                ExamClock::start(),
            ),
        };
        let mut i: u64 = 0;
        loop {
            i += 1;
            let ev = LoggedEvent {
                at: clock.now(),
                event: ExamEvent::VitalsReading {
                    vitals: Vitals {
                        hr: Some(60.0 + (i % 30) as f64),
                        sbp: Some(118.0),
                        ..Default::default()
                    },
                },
            };
            let stored = store
                .append_exam_event(&device(), exam, "tech", &ev, Utc::now())
                .await
                .unwrap();
            // Acknowledged only now that append returned (the row is durable).
            println!("ACK {} {}", stored.seq, stored.id);
        }
    });
}

/// xorshift64: the kill moments vary without a rand dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_writes_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(std::process::id());
    let mut acked: Vec<(i64, String)> = Vec::new();
    let mut rounds_with_acks = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                &crate::support::test_name(module_path!(), "crash_writer_child"),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<(i64, String)>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split_whitespace();
                if parts.next() == Some("ACK")
                    && let (Some(seq), Some(id)) = (parts.next(), parts.next())
                    && let Ok(seq) = seq.parse()
                {
                    let _ = tx.send((seq, id.to_string()));
                }
            }
        });
        // Wait for the writer to be running, then kill it 0–150 ms later.
        let started = StdInstant::now();
        let mut got = Vec::new();
        if let Ok(first) = rx.recv_timeout(Duration::from_secs(30)) {
            got.push(first);
        }
        std::thread::sleep(Duration::from_millis(next(&mut seed) % 150));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        got.extend(rx.try_iter());
        assert!(
            !got.is_empty(),
            "round {round}: the writer acknowledged nothing in {:?}",
            started.elapsed()
        );
        rounds_with_acks += 1;

        // Restart: every acknowledged row is there, chain and file are sound.
        let store = Store::open(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        assert_eq!(
            store.integrity_check().await.unwrap(),
            "ok",
            "round {round}"
        );
        let report = store.verify(None).await.unwrap();
        assert!(report.is_ok(), "round {round}: {report}");
        acked.extend(got);
        let max_acked = acked.iter().map(|a| a.0).max().unwrap_or(0);
        let rows = store
            .entries_after(device().as_str(), 0, i64::MAX)
            .await
            .unwrap();
        assert!(rows.len() as i64 >= max_acked, "round {round}");
        for (seq, id) in &acked {
            let row = &rows[(*seq - 1) as usize];
            assert_eq!(row.seq, *seq);
            assert_eq!(
                &row.id.to_string(),
                id,
                "round {round}: acknowledged #{seq} lost"
            );
        }
        // The running exam is still found and replays.
        let rec = store
            .open_exam(&device())
            .await
            .unwrap()
            .expect("running exam");
        assert!(rec.last_at >= Instant::ZERO);
        cmr_kiosk::domain::Exam::replay(Default::default(), &rec.events).unwrap();
        store.close().await;
    }
    assert_eq!(rounds_with_acks, ROUNDS);
    eprintln!(
        "crash test: {ROUNDS} SIGKILLs, {} acknowledged events all present",
        acked.len()
    );
}
