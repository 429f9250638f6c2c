//! Exam log benchmarks (`harness = false`): append latency with
//! `synchronous=FULL` (median, p99) on a file in a temporary directory, and the
//! time to bring back a 2-hour exam (read + verify + `Exam::replay`).

use std::time::{Duration, Instant as Mono};

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use cmr_kiosk::domain::contrast::AgentId;
use cmr_kiosk::domain::exam::{Exam, ExamEvent, LoggedEvent, ProtocolSettings};
use cmr_kiosk::domain::screening::{Patient, ScreeningAnswers, Sex};
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::{DeviceId, Store};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let appends: usize = std::env::var("CMR_BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("bench.db").display());
        let store = Store::open(&url).await.expect("open store");
        let device = DeviceId::new("bench").expect("device id");
        let base = Utc.with_ymd_and_hms(2025, 6, 1, 8, 0, 0).unwrap();

        // 1. Append latency, one durable transaction each.
        let exam = store.start_exam(&device, "tech", base).await.expect("exam");
        let mut lat = Vec::with_capacity(appends);
        for i in 0..appends as u64 {
            let ev = LoggedEvent {
                at: Instant::from_secs(i),
                event: ExamEvent::VitalsReading {
                    vitals: Vitals {
                        hr: Some(60.0 + (i % 25) as f64),
                        sbp: Some(120.0),
                        ..Default::default()
                    },
                },
            };
            let t = Mono::now();
            store
                .append_exam_event(&device, exam, "tech", &ev, base)
                .await
                .expect("append");
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "append (synchronous=FULL, WAL): n={appends} median={:.3} ms p99={:.3} ms max={:.3} ms",
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            lat.last().unwrap().as_secs_f64() * 1e3,
        );

        // 2. A 2-hour exam: a monitor reading every second plus the setup events.
        let exam = store.start_exam(&device, "tech", base).await.expect("exam");
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
        let mut events: Vec<LoggedEvent> = setup
            .into_iter()
            .map(|event| LoggedEvent {
                at: Instant::ZERO,
                event,
            })
            .collect();
        for s in 1..=7200u64 {
            events.push(LoggedEvent {
                at: Instant::from_secs(s),
                event: ExamEvent::VitalsReading {
                    vitals: Vitals {
                        hr: Some(65.0),
                        sbp: Some(118.0),
                        ..Default::default()
                    },
                },
            });
        }
        let t = Mono::now();
        for ev in &events {
            let wall = base + ChronoDuration::milliseconds(ev.at.as_millis() as i64);
            store
                .append_exam_event(&device, exam, "tech", ev, wall)
                .await
                .expect("append");
        }
        let write_time = t.elapsed();

        let t = Mono::now();
        let read = store.events_for_exam(exam).await.expect("read");
        let t_read = t.elapsed();
        let t = Mono::now();
        let report = store.verify(Some(exam)).await.expect("verify");
        assert!(report.is_ok(), "{report}");
        let t_verify = t.elapsed();
        let t = Mono::now();
        let rebuilt = Exam::replay(ProtocolSettings::default(), &read).expect("replay");
        let t_replay = t.elapsed();
        assert_eq!(rebuilt.now(), Instant::from_secs(7200));
        println!(
            "2-hour exam ({} events; written in {:.1} s): read {:.1} ms + verify {:.1} ms + replay {:.1} ms = {:.1} ms",
            read.len(),
            write_time.as_secs_f64(),
            t_read.as_secs_f64() * 1e3,
            t_verify.as_secs_f64() * 1e3,
            t_replay.as_secs_f64() * 1e3,
            (t_read + t_verify + t_replay).as_secs_f64() * 1e3,
        );
        store.close().await;
    });
}
