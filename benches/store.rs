//! Exam log benchmarks (`harness = false`; `scripts/bench` runs them all), on the
//! kiosk's real store: an encrypted SQLite file with its key folder, WAL,
//! `synchronous=FULL`, signed checkpoints and the witness file.
//!
//! * **Append latency** of one row at the live feed's pace (a row every 500 ms;
//!   `CMR_BENCH_APPEND_GAP_MS` changes it), each paired with a raw `O_DSYNC` write of
//!   the same size into a file on the same file system half a gap later, so both meet
//!   the disk in the same state (median, p99). Durability figures are refused on
//!   tmpfs: a sync there proves nothing. The folder is `$CMR_BENCH_DIR` or
//!   `target/bench-data`.
//! * **Rows arriving together**: 8 rows through the recorder's batching path
//!   (`DurableLog::submit_many`), per row.
//! * **A 2-hour exam at the live feed's rate** (two rows a second: ≈ 15,000 rows):
//!   read + verify (the kiosk's key and witness as trust) + `Exam::replay`.
//! * **Recovery before the first window**: opening the store and finding and
//!   replaying the running exam, against the same on an empty store.
//!
//! Lines starting with `@bench` are the table `scripts/bench` prints:
//! measure, figure, baseline, ratio.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant as Mono};

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use cmr_kiosk::config::Database;
use cmr_kiosk::domain::contrast::AgentId;
use cmr_kiosk::domain::exam::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::domain::screening::{Patient, ScreeningAnswers, Sex};
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::checkpoint::Trust;
use cmr_kiosk::store::{DeviceId, DurableLog, EntryKind, NewEntry, Store};

/// Appends timed one by one.
const APPENDS: usize = 400;
/// The live feed's pace: a row every 500 ms (two a second).
const LIVE_GAP_MS: u64 = 500;
/// Rows of the long exam: two a second for a little over two hours.
const EXAM_ROWS: u64 = 15_000;
/// Rows that arrive together in the batching run.
const TOGETHER: usize = 8;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One row of `scripts/bench`'s table.
fn table(measure: &str, figure: String, baseline: String, ratio: Option<f64>) {
    println!(
        "@bench\t{measure}\t{figure}\t{baseline}\t{}",
        ratio.map_or_else(|| "–".to_string(), |r| format!("{r:.2}×"))
    );
}

/// The data folder and whether it is tmpfs (no durability figures there).
fn data_dir() -> (PathBuf, bool) {
    let base = std::env::var_os("CMR_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"));
    std::fs::create_dir_all(&base).expect("the bench folder");
    let tmpfs = nix::sys::statfs::statfs(&base)
        .map(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
        .unwrap_or(false);
    (base, tmpfs)
}

fn db_in(dir: &Path) -> Database {
    Database {
        url: format!("sqlite://{}", dir.join("kiosk.db").display()),
        device_id: "bench".into(),
        ..Database::default()
    }
}

fn reading(i: u64) -> ExamEvent {
    ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(60.0 + (i % 25) as f64),
            sbp: i.is_multiple_of(120).then_some(118.0),
            dbp: i.is_multiple_of(120).then_some(74.0),
            spo2: Some(98.0),
            ..Default::default()
        },
    }
}

fn entry(exam: cmr_kiosk::store::ExamId, i: u64, wall: chrono::DateTime<Utc>) -> NewEntry {
    NewEntry::new(
        Some(exam),
        EntryKind::ExamEvent,
        "monitor",
        Instant::from_millis(i * 500),
        wall,
        &reading(i),
    )
    .expect("an entry")
}

/// A file in `dir` written with `O_DSYNC`: the baseline an append is compared with.
struct RawDsync {
    path: PathBuf,
    file: std::fs::File,
}

impl RawDsync {
    fn new(dir: &Path) -> RawDsync {
        let path = dir.join("raw-dsync.bin");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .custom_flags(nix::libc::O_DSYNC)
            .open(&path)
            .expect("a raw file");
        RawDsync { path, file }
    }

    /// One `O_DSYNC` write of `bytes`, timed.
    fn write(&mut self, bytes: &[u8]) -> Duration {
        let t = Mono::now();
        self.file.write_all(bytes).expect("write");
        t.elapsed()
    }
}

impl Drop for RawDsync {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The pause between one append and the next: the live feed's 500 ms unless
/// `CMR_BENCH_APPEND_GAP_MS` says otherwise.
fn append_gap() -> Duration {
    let ms = std::env::var("CMR_BENCH_APPEND_GAP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LIVE_GAP_MS);
    Duration::from_millis(ms)
}

fn main() {
    let (base, tmpfs) = data_dir();
    let dir = tempfile::tempdir_in(&base).expect("a bench folder");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let db = db_in(dir.path());
        let store = Store::open_kiosk(&db).await.expect("open store");
        let device = DeviceId::new("bench").expect("device id");
        let base_wall = Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap();

        // 1. Append latency, one row per durable commit, paced like the live feed.
        let exam = store
            .start_exam(&device, "tech", base_wall)
            .await
            .expect("exam");
        // Each append is paired with a raw write of the same size, half a gap
        // later, so both meet the disk in the same state.
        let gap = append_gap();
        let mut raw_file = RawDsync::new(dir.path());
        let mut lat = Vec::with_capacity(APPENDS);
        let mut raw = Vec::with_capacity(APPENDS);
        let mut row_bytes = 0usize;
        for i in 0..APPENDS as u64 {
            let e = entry(
                exam,
                i,
                base_wall + ChronoDuration::milliseconds(i as i64 * 500),
            );
            row_bytes = row_bytes.max(e.payload.len() + 200);
            let t = Mono::now();
            store.append(&device, &e).await.expect("append");
            lat.push(t.elapsed());
            std::thread::sleep(gap / 2);
            raw.push(raw_file.write(&vec![0x5Au8; row_bytes]));
            std::thread::sleep(gap / 2);
        }
        lat.sort();
        raw.sort();
        drop(raw_file);
        println!(
            "append ({} on {}, one every {} ms): n={APPENDS} median {:.3} ms p99 {:.3} ms max {:.3} ms; \
             raw O_DSYNC write of {row_bytes} B: median {:.3} ms p99 {:.3} ms",
            if tmpfs { "tmpfs" } else { "disk" },
            base.display(),
            gap.as_millis(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            ms(*lat.last().unwrap()),
            ms(percentile(&raw, 0.5)),
            ms(percentile(&raw, 0.99)),
        );
        if tmpfs {
            table(
                "append p99",
                "refused: tmpfs".into(),
                "set CMR_BENCH_DIR to a disk".into(),
                None,
            );
        } else {
            for (name, p) in [("append p50", 0.5), ("append p99", 0.99)] {
                let (a, r) = (percentile(&lat, p), percentile(&raw, p));
                table(
                    name,
                    format!("{:.3} ms", ms(a)),
                    format!("O_DSYNC {row_bytes} B {:.3} ms", ms(r)),
                    Some(a.as_secs_f64() / r.as_secs_f64()),
                );
            }
        }

        // 2. Rows arriving together: one commit for the group.
        let mut log = DurableLog::new(store.clone(), device.clone());
        let mut per_row = Vec::new();
        for g in 0..100u64 {
            let group: Vec<NewEntry> = (0..TOGETHER as u64)
                .map(|k| entry(exam, 10_000 + g * 16 + k, base_wall))
                .collect();
            let t = Mono::now();
            let out = log.submit_many(group).await;
            per_row.push(t.elapsed() / TOGETHER as u32);
            assert!(
                out.iter()
                    .all(|o| matches!(o, cmr_kiosk::store::Submitted::Written(_)))
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        per_row.sort();
        table(
            &format!("append, {TOGETHER} rows together, per row p99"),
            format!("{:.3} ms", ms(percentile(&per_row, 0.99))),
            format!("one at a time {:.3} ms", ms(percentile(&lat, 0.99))),
            Some(percentile(&per_row, 0.99).as_secs_f64() / percentile(&lat, 0.99).as_secs_f64()),
        );
        store.close().await;
    });

    // 3. A 2-hour exam at the live feed's rate, in a database of its own.
    let exam_dir = tempfile::tempdir_in(&base).expect("a bench folder");
    let empty_dir = tempfile::tempdir_in(&base).expect("a bench folder");
    rt.block_on(async {
        let db = db_in(exam_dir.path());
        let store = Store::open_kiosk(&db).await.expect("open store");
        let device = DeviceId::new("bench").expect("device id");
        let base_wall = Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap();
        let exam = store.start_exam(&device, "tech", base_wall).await.expect("exam");
        let setup = [
            ExamEvent::PatientRegistered {
                patient: Patient {
                    weight_kg: 75.0,
                    height_cm: Some(172.0),
                    sex: Sex::Female,
                    age_years: 55,
                    egfr: Some(80.0),
                    egfr_date: None,
                },
            },
            ExamEvent::ScreeningAnswered {
                answers: ScreeningAnswers::default(),
            },
            ExamEvent::AgentSelected {
                agent: AgentId::Gadobutrol,
            },
        ];
        let mut log = DurableLog::new(store.clone(), device.clone());
        let mut rows: Vec<NewEntry> = setup
            .iter()
            .map(|event| {
                NewEntry::new(
                    Some(exam),
                    EntryKind::ExamEvent,
                    "nurse",
                    Instant::ZERO,
                    base_wall,
                    event,
                )
                .expect("an entry")
            })
            .collect();
        rows.extend((1..=EXAM_ROWS - 4).map(|i| {
            entry(exam, i, base_wall + ChronoDuration::milliseconds(i as i64 * 500))
        }));
        let t = Mono::now();
        for chunk in rows.chunks(256) {
            log.submit_many(chunk.to_vec()).await;
        }
        let written = t.elapsed();
        assert_eq!(log.pending(), 0);
        store.close().await;

        let keys = cmr_kiosk::store::keys::KeyRing::open(
            &db.effective_key_dir(),
            cmr_kiosk::store::keys::Create::Never,
        )
        .expect("the key folder");
        let store = Store::open_kiosk(&db).await.expect("open store");
        let trust = Trust::of_kiosk(&keys, "bench").expect("the witness");
        let runs = 5;
        let (mut best_read, mut best_verify, mut best_replay) =
            (Duration::MAX, Duration::MAX, Duration::MAX);
        let mut count = 0;
        for _ in 0..runs {
            let t = Mono::now();
            let events = store.events_for_exam(exam).await.expect("read");
            let t_read = t.elapsed();
            let t = Mono::now();
            let report = store.verify_with(Some(exam), &trust).await.expect("verify");
            assert!(report.is_ok(), "{report}");
            let t_verify = t.elapsed();
            let t = Mono::now();
            let rebuilt = Exam::replay(ProtocolSettings::default(), &events).expect("replay");
            let t_replay = t.elapsed();
            assert!(rebuilt.now() >= Instant::from_millis((EXAM_ROWS - 5) * 500));
            count = report.rows_checked;
            best_read = best_read.min(t_read);
            best_verify = best_verify.min(t_verify);
            best_replay = best_replay.min(t_replay);
        }
        println!(
            "2-hour exam at the live rate ({count} rows checked; written in {:.1} s): \
             one after the other: read {:.1} ms + verify {:.1} ms + replay {:.1} ms = {:.1} ms (best of {runs})",
            written.as_secs_f64(),
            ms(best_read),
            ms(best_verify),
            ms(best_replay),
            ms(best_read + best_verify + best_replay),
        );
        // As the kiosk does it: the exam verified while its events are read; the
        // first run on a store just opened (every page decrypted once), then warm.
        store.close().await;
        let store = Store::open_kiosk(&db).await.expect("open store");
        let mut best_together = Duration::MAX;
        let mut cold = None;
        for _ in 0..runs {
            let t = Mono::now();
            let (report, events) = store.verified_events(exam, &trust).await.expect("verify");
            assert!(report.is_ok(), "{report}");
            let rebuilt = Exam::replay(ProtocolSettings::default(), &events).expect("replay");
            cold.get_or_insert(t.elapsed());
            best_together = best_together.min(t.elapsed());
            assert!(rebuilt.now() >= Instant::from_millis((EXAM_ROWS - 5) * 500));
        }
        let total = best_together;
        let cold = cold.unwrap_or_default();
        println!(
            "  verified_events + replay: first on a store just opened {:.1} ms, best of {runs} {:.1} ms",
            ms(cold),
            ms(total)
        );
        table(
            &format!("verify + replay, {EXAM_ROWS} rows, store just opened"),
            format!("{:.1} ms", ms(cold)),
            "target 50 ms".into(),
            Some(ms(cold) / 50.0),
        );
        table(
            &format!("verify + replay, {EXAM_ROWS} rows"),
            format!("{:.1} ms", ms(total)),
            "target 50 ms".into(),
            Some(ms(total) / 50.0),
        );

        // 4. Recovery before the first window: open, find the running exam, replay.
        let recover = |db: Database| async move {
            let t = Mono::now();
            let store = Store::open_kiosk(&db).await.expect("open store");
            let found = store
                .open_exam(&DeviceId::new("bench").expect("device id"))
                .await
                .expect("look for the running exam");
            if let Some(r) = &found {
                Exam::replay(ProtocolSettings::default(), &r.events).expect("replay");
            }
            let dt = t.elapsed();
            store.close().await;
            (dt, found.is_some())
        };
        store.close().await;
        let empty = db_in(empty_dir.path());
        // The empty store's first open creates its keys and schema: not timed.
        let _ = recover(empty.clone()).await;
        let (mut best_empty, mut best_full) = (Duration::MAX, Duration::MAX);
        for _ in 0..runs {
            let (e, found) = recover(empty.clone()).await;
            assert!(!found);
            best_empty = best_empty.min(e);
            let (f, found) = recover(db.clone()).await;
            assert!(found, "the running exam is found");
            best_full = best_full.min(f);
        }
        println!(
            "recovery (open + running exam + replay): empty store {:.1} ms, {EXAM_ROWS}-row exam {:.1} ms",
            ms(best_empty),
            ms(best_full)
        );
        table(
            &format!("recovery, {EXAM_ROWS}-row exam"),
            format!("{:.1} ms", ms(best_full)),
            format!("empty start {:.1} ms + 50", ms(best_empty)),
            Some(ms(best_full) / (ms(best_empty) + 50.0)),
        );
    });
}
