//! Verifying the log while the kiosk is writing to it: rows appended during the walk
//! (under a newer head) are followed, never reported as deleted; a real deletion still
//! is. (Found by running `log verify` against a kiosk in the middle of an exam.)

use chrono::{TimeZone, Utc};
use cmr_kiosk::domain::exam::{ExamEvent, LoggedEvent};
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::Store;
use cmr_kiosk::store::log::DeviceId;

fn event(i: u64) -> LoggedEvent {
    LoggedEvent {
        at: Instant::from_secs(i),
        event: ExamEvent::VitalsReading {
            vitals: Vitals {
                hr: Some(60.0 + (i % 20) as f64),
                ..Default::default()
            },
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_during_writes_follows_the_growing_chain() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("kiosk.db").display());
    let store = Store::open(&url).await.unwrap();
    let device = DeviceId::new("kiosk-live").unwrap();
    let base = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
    let exam = store.start_exam(&device, "ann", base).await.unwrap();
    for i in 1..=600 {
        store
            .append_exam_event(&device, exam, "monitor", &event(i), base)
            .await
            .unwrap();
    }
    let writer = {
        let (store, device) = (store.clone(), device.clone());
        tokio::spawn(async move {
            for i in 601..=1800 {
                store
                    .append_exam_event(&device, exam, "monitor", &event(i), base)
                    .await
                    .unwrap();
            }
        })
    };
    let mut verified = 0;
    while !writer.is_finished() {
        let report = store.verify(None).await.unwrap();
        assert!(
            report.first_bad.is_none(),
            "a live chain is not damaged: {:?}",
            report.first_bad
        );
        verified += 1;
    }
    writer.await.unwrap();
    assert!(verified >= 2, "verified while writing ({verified} passes)");
    let report = store.verify(None).await.unwrap();
    assert!(report.first_bad.is_none());
    assert_eq!(report.rows_checked, 1801);
}
