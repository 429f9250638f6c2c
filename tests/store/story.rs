//! One story, two backends (atuin style): the same sequence on SQLite and on
//! PostgreSQL — accounts, login, an exam with stress, a restart, replay,
//! verification, tampering refused by the database.
//!
//! PostgreSQL comes from `CMR_TEST_POSTGRES_URL` (see
//! `scripts/postgres-test-server.sh`). Unset: the test fails when `CI` is set,
//! and is skipped with a notice otherwise.

use std::time::Instant as Mono;

use crate::support::postgres_url;
use chrono::{Duration as ChronoDuration, Utc};
use cmr_kiosk::domain::exam::{Exam, ExamEvent, LoggedEvent, ProtocolSettings};
use cmr_kiosk::domain::screening::{Patient, ScreeningAnswers, Sex};
use cmr_kiosk::domain::stress::StressDrug;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::accounts::AuditAt;
use cmr_kiosk::store::{Backend, DeviceId, LoginError, NewStaff, PinGuard, Role, Store};

fn patient() -> Patient {
    Patient {
        weight_kg: 82.0,
        height_cm: Some(178.0),
        sex: Sex::Male,
        age_years: 61,
        egfr: Some(75.0),
        egfr_date: Some("2025-05-30".into()),
    }
}

async fn story(url: &str) {
    // Unique names: the PostgreSQL test database is shared between runs.
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let device = DeviceId::new(format!("story-{tag}")).unwrap();
    let user = format!("phys{tag}");
    let store = Store::open(url).await.unwrap();
    assert!(!format!("{store:?}").contains("cmr-test-only"));

    store
        .add_staff(
            &crate::support::support_device(),
            None,
            crate::support::support_at(),
            &NewStaff {
                username: user.clone(),
                display_name: "Dr Story".into(),
                role: Role::Physician,
                pin: "112358".into(),
            },
        )
        .await
        .unwrap();
    let mut guard = PinGuard::default();
    let wall0 = Utc::now();
    let here = AuditAt {
        exam: None,
        at: Instant::ZERO,
        wall: wall0,
    };
    assert!(matches!(
        store
            .login(&device, &mut guard, &user, "000000", Mono::now(), here)
            .await,
        Err(LoginError::WrongPin { .. })
    ));
    let me = store
        .login(&device, &mut guard, &user, "112358", Mono::now(), here)
        .await
        .unwrap();
    assert_eq!(me.role, Role::Physician);

    let exam = store.start_exam(&device, &user, wall0).await.unwrap();
    let log = [
        (0, ExamEvent::PatientRegistered { patient: patient() }),
        (
            0,
            ExamEvent::ScreeningAnswered {
                answers: ScreeningAnswers::default(),
            },
        ),
        (
            10_000,
            ExamEvent::VitalsReading {
                vitals: cmr_kiosk::domain::Vitals {
                    hr: Some(66.0),
                    sbp: Some(124.0),
                    ..Default::default()
                },
            },
        ),
        (
            20_000,
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: None,
                authority: Default::default(),
            },
        ),
    ];
    let mut live = Exam::new(ProtocolSettings::default());
    for (ms, event) in log {
        let ev = LoggedEvent {
            at: Instant::from_millis(ms),
            event,
        };
        live.handle(ev.event.clone(), ev.at).unwrap();
        store
            .append_exam_event(
                &device,
                exam,
                &user,
                &ev,
                wall0 + ChronoDuration::milliseconds(ms as i64),
            )
            .await
            .unwrap();
    }

    // Restart: a new handle finds the running exam and rebuilds its timers.
    drop(store);
    let store = Store::open(url).await.unwrap();
    let rec = store
        .open_exam(&device)
        .await
        .unwrap()
        .expect("running exam");
    assert_eq!(rec.exam, exam);
    assert_eq!(rec.events.len(), 4);
    let rebuilt = Exam::replay(ProtocolSettings::default(), &rec.events).unwrap();
    assert_eq!(rebuilt.poll_timeout(), live.poll_timeout());
    assert!(rebuilt.poll_timeout().is_some());
    let resumed = rec.resume_at(wall0 + ChronoDuration::milliseconds(45_000));
    assert_eq!(resumed, Instant::from_millis(45_000));

    // 2 login audits + opened + 4 events.
    assert_eq!(store.count_events(Some(device.as_str())).await.unwrap(), 7);
    let report = store.verify(Some(exam)).await.unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(store.integrity_check().await.unwrap(), "ok");

    store
        .close_exam(&device, exam, &user, Instant::from_secs(60), Utc::now())
        .await
        .unwrap();
    assert!(store.open_exam(&device).await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn story_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("story.db").display());
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    story(&url).await;
}

#[tokio::test]
async fn story_on_postgres() {
    let Some(url) = postgres_url("story_on_postgres") else {
        return;
    };
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    story(&url).await;
}

#[tokio::test]
async fn postgres_refuses_updates_to_the_log() {
    let Some(url) = postgres_url("postgres_refuses_updates_to_the_log") else {
        return;
    };
    let store = Store::open(&url).await.unwrap();
    let device = DeviceId::new(format!(
        "ro-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ))
    .unwrap();
    store.start_exam(&device, "x", Utc::now()).await.unwrap();
    let mut conn = <sqlx::postgres::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let err = sqlx::query("UPDATE events SET actor = 'mallory' WHERE device_id = $1")
        .bind(device.as_str())
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[tokio::test]
async fn plaintext_fallback_is_refused_before_connecting() {
    let err = Store::open("postgres://cmr:hunter2@db.invalid/cmr?sslmode=prefer")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("sslmode=prefer"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let err = Store::open("mysql://x").await.unwrap_err();
    assert!(err.to_string().contains("sqlite:"));
}
