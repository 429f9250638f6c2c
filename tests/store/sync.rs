//! The outbox relay against a real PostgreSQL: an offline period, a relay
//! killed mid-batch, duplicate delivery — the central count equals the local
//! count, no duplicates, no gaps per device sequence, chains verify centrally.

use std::time::Duration;

use chrono::Utc;
use cmr_kiosk::domain::exam::{ExamEvent, LoggedEvent};
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::sync::{run_relay, sync_once, target_name};
use cmr_kiosk::store::{DeviceId, ExamId, Store, SyncError};

use crate::support::postgres_url;

fn unique_device(prefix: &str) -> DeviceId {
    DeviceId::new(format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ))
    .unwrap()
}

async fn write(store: &Store, device: &DeviceId, exam: ExamId, from: u64, n: u64) {
    for i in from..from + n {
        let ev = LoggedEvent {
            at: Instant::from_secs(i),
            event: ExamEvent::VitalsReading {
                vitals: Vitals {
                    hr: Some(70.0),
                    ..Default::default()
                },
            },
        };
        store
            .append_exam_event(device, exam, "tech", &ev, Utc::now())
            .await
            .unwrap();
    }
}

/// Central holds exactly the local rows of `device`: same count, ids and
/// hashes, sequence 1..=n with no gap or duplicate, and the chain verifies.
async fn assert_mirrored(local: &Store, central: &Store, device: &DeviceId) {
    let l = local
        .entries_after(device.as_str(), 0, i64::MAX)
        .await
        .unwrap();
    let c = central
        .entries_after(device.as_str(), 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(
        central.count_events(Some(device.as_str())).await.unwrap(),
        local.count_events(Some(device.as_str())).await.unwrap()
    );
    assert_eq!(c.len(), l.len());
    for (i, (a, b)) in l.iter().zip(&c).enumerate() {
        assert_eq!(b.seq, i as i64 + 1, "gap in central sequence");
        assert_eq!((a.id, &a.hash), (b.id, &b.hash));
    }
    let exams: std::collections::BTreeSet<_> = c.iter().filter_map(|e| e.exam).collect();
    for exam in exams {
        let r = central.verify(Some(exam)).await.unwrap();
        assert!(r.is_ok(), "{r}");
    }
}

#[tokio::test]
async fn offline_period_then_catch_up() {
    let Some(url) = postgres_url("offline_period_then_catch_up") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(&format!("sqlite:{}", dir.path().join("k.db").display()))
        .await
        .unwrap();
    let device = unique_device("offline");
    let exam = local.start_exam(&device, "tech", Utc::now()).await.unwrap();
    write(&local, &device, exam, 1, 10).await;

    // Offline: nothing listens on this port; the kiosk keeps logging.
    let offline = Store::open("postgres://cmr:x@127.0.0.1:9/cmr_test").await;
    assert!(offline.is_err());
    write(&local, &device, exam, 11, 30).await;

    let central = Store::open(&url).await.unwrap();
    let r = sync_once(&local, &central, 7).await.unwrap();
    assert_eq!(r.sent, 41);
    assert_eq!(r.inserted, 41);
    assert_eq!(r.duplicates, 0);
    assert_eq!(r.marks, vec![(device.to_string(), 41)]);
    assert_mirrored(&local, &central, &device).await;

    // More events, another run: only the new ones travel.
    write(&local, &device, exam, 41, 5).await;
    let r = sync_once(&local, &central, 100).await.unwrap();
    assert_eq!((r.sent, r.inserted), (5, 5));
    assert_mirrored(&local, &central, &device).await;
}

#[tokio::test]
async fn duplicate_delivery_changes_nothing() {
    let Some(url) = postgres_url("duplicate_delivery_changes_nothing") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(&format!("sqlite:{}", dir.path().join("k.db").display()))
        .await
        .unwrap();
    let central = Store::open(&url).await.unwrap();
    let device = unique_device("dup");
    let exam = local.start_exam(&device, "tech", Utc::now()).await.unwrap();
    write(&local, &device, exam, 1, 20).await;
    sync_once(&local, &central, 50).await.unwrap();
    // The acknowledgement was lost: the mark goes back and everything is resent.
    local
        .set_sync_mark(&target_name(&central), device.as_str(), 0)
        .await
        .unwrap();
    let r = sync_once(&local, &central, 50).await.unwrap();
    assert_eq!((r.sent, r.inserted, r.duplicates), (21, 0, 21));
    assert_mirrored(&local, &central, &device).await;
}

#[tokio::test]
async fn relay_killed_mid_batch_loses_and_duplicates_nothing() {
    let Some(url) = postgres_url("relay_killed_mid_batch_loses_and_duplicates_nothing") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(&format!("sqlite:{}", dir.path().join("k.db").display()))
        .await
        .unwrap();
    let central = Store::open(&url).await.unwrap();
    let device = unique_device("kill");
    let exam = local.start_exam(&device, "tech", Utc::now()).await.unwrap();
    write(&local, &device, exam, 1, 300).await;
    // Abort the relay task at varying moments: mid-batch, between the central
    // commit and the mark, before it started.
    for delay_ms in [0u64, 1, 2, 3, 5, 8, 13, 21] {
        let (l, c) = (local.clone(), central.clone());
        let task = tokio::spawn(async move { sync_once(&l, &c, 3).await });
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        task.abort();
        let _ = task.await;
        // The aborted task's COMMIT may still be in flight on the server: read until
        // count and highest sequence agree twice in a row (two separate queries can
        // straddle that commit), then require no gap and no duplicate.
        let mut last = (-1, -1);
        for _ in 0..100 {
            let n = central.count_events(Some(device.as_str())).await.unwrap();
            let max = central.max_seq(device.as_str()).await.unwrap();
            if (n, max) == last {
                break;
            }
            last = (n, max);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            last.0, last.1,
            "central has a gap or a duplicate after an abort"
        );
    }
    let r = sync_once(&local, &central, 3).await.unwrap();
    assert!(r.sent >= r.inserted);
    assert_mirrored(&local, &central, &device).await;
}

#[tokio::test]
async fn background_relay_catches_up_and_stops() {
    let Some(url) = postgres_url("background_relay_catches_up_and_stops") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(&format!("sqlite:{}", dir.path().join("k.db").display()))
        .await
        .unwrap();
    let device = unique_device("bg");
    let exam = local.start_exam(&device, "tech", Utc::now()).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(run_relay(
        local.clone(),
        (url.clone(), false),
        Duration::from_millis(50),
        100,
        stop_rx,
    ));
    write(&local, &device, exam, 1, 15).await;
    let central = Store::open(&url).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while central.count_events(Some(device.as_str())).await.unwrap() < 16 {
        assert!(
            std::time::Instant::now() < deadline,
            "relay did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), relay)
        .await
        .expect("relay stops")
        .unwrap();
    assert_mirrored(&local, &central, &device).await;
}

#[tokio::test]
async fn a_gap_in_the_local_log_stops_the_relay() {
    let Some(url) = postgres_url("a_gap_in_the_local_log_stops_the_relay") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let local = Store::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let device = unique_device("gap");
    let exam = local.start_exam(&device, "tech", Utc::now()).await.unwrap();
    write(&local, &device, exam, 1, 5).await;
    let mut conn = <sqlx::sqlite::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite:{}",
        path.display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TRIGGER events_no_delete")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM events WHERE seq = 3")
        .execute(&mut conn)
        .await
        .unwrap();
    let central = Store::open(&url).await.unwrap();
    let err = sync_once(&local, &central, 100).await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Gap {
                after: 2,
                found: 4,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        central.count_events(Some(device.as_str())).await.unwrap(),
        2
    );
}
