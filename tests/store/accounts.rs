//! Staff accounts: wrong-PIN lockout, role limits, idle auto-lock, audit trail.

use std::time::{Duration, Instant as Mono};

use chrono::Utc;
use cmr_kiosk::domain::exam::ExamEvent;
use cmr_kiosk::domain::screening::ReasonCode;
use cmr_kiosk::domain::stress::StressDrug;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::accounts::{AuditAt, LockoutPolicy, permission_for};
use cmr_kiosk::store::{
    AuditAction, AuditEvent, AuditOutcome, DeviceId, IdleLock, LoginError, NewStaff, Permission,
    PinGuard, Role, Store,
};
use rstest::rstest;

fn device() -> DeviceId {
    DeviceId::new("kiosk-1").unwrap()
}

fn at() -> AuditAt {
    AuditAt {
        exam: None,
        at: Instant::ZERO,
        wall: Utc::now(),
    }
}

async fn store_with(dir: &tempfile::TempDir) -> Store {
    let store = Store::open(&format!("sqlite:{}", dir.path().join("a.db").display()))
        .await
        .unwrap();
    for (u, role) in [
        ("nina", Role::Nurse),
        ("phil", Role::Physician),
        ("root", Role::Admin),
    ] {
        store
            .add_staff(
                &crate::support::support_device(),
                None,
                crate::support::support_at(),
                &NewStaff {
                    username: u.into(),
                    display_name: u.to_uppercase(),
                    role,
                    pin: if role == Role::Nurse {
                        "2468"
                    } else {
                        "246813"
                    }
                    .into(),
                },
            )
            .await
            .unwrap();
    }
    store
}

async fn audit_trail(store: &Store) -> Vec<AuditEvent> {
    crate::support::store::audit_trail(store, "kiosk-1").await
}

#[tokio::test]
async fn wrong_pins_lock_the_account_for_the_site_time_and_every_attempt_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir).await;
    let policy = LockoutPolicy {
        max_attempts: 3,
        lock_for: Duration::from_secs(300),
    };
    let mut guard = PinGuard::new(policy);
    let t0 = Mono::now();
    for left in [2, 1, 0] {
        let err = store
            .login(&device(), &mut guard, "nina", "0000", t0, at())
            .await
            .unwrap_err();
        assert!(
            matches!(err, LoginError::WrongPin { remaining } if remaining == left),
            "{err}"
        );
    }
    // Locked: even the right PIN is refused until the time has passed.
    let err = store
        .login(
            &device(),
            &mut guard,
            "nina",
            "2468",
            t0 + Duration::from_secs(299),
            at(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::LockedOut { .. }), "{err}");
    assert_eq!(store.staff("nina").await.unwrap().unwrap().failed_pins, 3);
    // A restart does not reset the lock: a fresh guard seeds from the store.
    let mut fresh = PinGuard::new(policy);
    let t1 = t0 + Duration::from_secs(299);
    assert!(matches!(
        store
            .login(&device(), &mut fresh, "nina", "2468", t1, at())
            .await,
        Err(LoginError::LockedOut { .. })
    ));
    let ok = store
        .login(
            &device(),
            &mut fresh,
            "nina",
            "2468",
            t1 + Duration::from_secs(301),
            at(),
        )
        .await
        .unwrap();
    assert_eq!(ok.role, Role::Nurse);
    assert_eq!(store.staff("nina").await.unwrap().unwrap().failed_pins, 0);

    let trail = audit_trail(&store).await;
    assert_eq!(trail.len(), 7);
    // The lock running out is on the record before the next attempt is counted.
    assert_eq!(trail[5].action, AuditAction::LockoutEnded);
    assert!(
        trail
            .iter()
            .enumerate()
            .all(|(i, a)| i == 5 || a.action == AuditAction::Login)
    );
    assert_eq!(trail.last().unwrap().outcome, AuditOutcome::Success);
    assert!(
        matches!(&trail[2].outcome, AuditOutcome::Failure { reason } if reason.contains("locked"))
    );
    // The PIN is never written anywhere in the log.
    for e in store.entries_after("kiosk-1", 0, 1000).await.unwrap() {
        assert!(!e.payload.contains("2468") && !e.payload.contains("0000"));
    }
}

#[tokio::test]
async fn unknown_users_and_disabled_accounts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir).await;
    let mut guard = PinGuard::new(LockoutPolicy::default());
    let now = Mono::now();
    assert!(matches!(
        store
            .login(&device(), &mut guard, "nobody", "2468", now, at())
            .await,
        Err(LoginError::WrongPin { .. })
    ));
    store
        .disable_staff(&device(), Some("root"), at(), "phil")
        .await
        .unwrap();
    assert!(matches!(
        store
            .login(&device(), &mut guard, "phil", "246813", now, at())
            .await,
        Err(LoginError::Disabled(_))
    ));
    assert!(matches!(
        store
            .disable_staff(&device(), Some("root"), at(), "nobody")
            .await,
        Err(LoginError::NoSuchUser(_))
    ));
    let list = store.list_staff().await.unwrap();
    assert_eq!(
        list.iter()
            .map(|a| (a.username.as_str(), a.disabled))
            .collect::<Vec<_>>(),
        [("nina", false), ("phil", true), ("root", false)]
    );
    assert!(store.has_admin().await.unwrap());
}

#[tokio::test]
async fn account_input_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir).await;
    let new = |u: &str, pin: &str| NewStaff {
        username: u.into(),
        display_name: "X".into(),
        role: Role::Nurse,
        pin: pin.into(),
    };
    assert!(matches!(
        store
            .add_staff(&device(), Some("root"), at(), &new("nina", "1234"))
            .await,
        Err(LoginError::Exists(_))
    ));
    assert!(matches!(
        store
            .add_staff(&device(), Some("root"), at(), &new("Bad Name", "1234"))
            .await,
        Err(LoginError::BadUsername(_))
    ));
    assert!(matches!(
        store
            .add_staff(&device(), Some("root"), at(), &new("tom", "12"))
            .await,
        Err(LoginError::BadPin)
    ));
    store
        .set_pin(&device(), Some("root"), at(), "nina", "13579")
        .await
        .unwrap();
    let mut guard = PinGuard::default();
    store
        .login(&device(), &mut guard, "nina", "13579", Mono::now(), at())
        .await
        .unwrap();
}

#[rstest]
#[case::nurse_cannot_start_stress(Role::Nurse, Permission::StartStress, false)]
#[case::nurse_can_stop_stress(Role::Nurse, Permission::StopStress, true)]
#[case::nurse_cannot_override(Role::Nurse, Permission::Override, false)]
#[case::technologist_cannot_override(Role::Technologist, Permission::Override, false)]
#[case::technologist_starts_stress(Role::Technologist, Permission::StartStress, true)]
#[case::physician_overrides(Role::Physician, Permission::Override, true)]
#[case::physician_starts_stress(Role::Physician, Permission::StartStress, true)]
#[case::admin_manages_users(Role::Admin, Permission::ManageUsers, true)]
#[case::physician_does_not_manage_users(Role::Physician, Permission::ManageUsers, false)]
#[case::admin_does_not_inject(Role::Admin, Permission::Inject, false)]
#[case::admin_does_not_override(Role::Admin, Permission::Override, false)]
#[case::everyone_sees_timers(Role::Nurse, Permission::ViewTimers, true)]
fn role_limits(#[case] role: Role, #[case] p: Permission, #[case] allowed: bool) {
    assert_eq!(role.allows(p), allowed);
}

#[test]
fn exam_events_map_to_permissions() {
    let start = ExamEvent::StressStarted {
        drug: StressDrug::Adenosine,
        dose: None,
        authority: Default::default(),
    };
    assert!(!Role::Nurse.allows(permission_for(&start)));
    assert!(Role::Physician.allows(permission_for(&start)));
    let ovr = ExamEvent::OverrideRecorded {
        rule: ReasonCode::SevereClaustrophobia,
        by: "phil".into(),
        reason: "sedated".into(),
    };
    for role in Role::ALL {
        assert_eq!(role.allows(permission_for(&ovr)), role == Role::Physician);
    }
    assert!(Role::Nurse.allows(permission_for(&ExamEvent::StressStopped)));
}

#[test]
fn idle_auto_lock_keeps_timers_but_hides_identity() {
    let t0 = Mono::now();
    let mut lock = IdleLock::new(Duration::from_secs(120));
    assert!(lock.view().locked);
    assert!(lock.poll_timeout().is_none());
    lock.unlock("nina", Role::Nurse, t0);
    assert!(lock.view().show_patient_identity);
    assert!(lock.allows(Permission::RecordVitals));
    assert_eq!(lock.poll_timeout(), Some(t0 + Duration::from_secs(120)));
    lock.activity(t0 + Duration::from_secs(100));
    assert_eq!(lock.handle_timeout(t0 + Duration::from_secs(200)), None);
    let fired = lock.handle_timeout(t0 + Duration::from_secs(220)).unwrap();
    assert_eq!(fired.user, "nina");
    let view = lock.view();
    assert!(view.locked && view.show_timers && view.show_alarms);
    assert!(!view.show_patient_identity);
    assert_eq!(view.user, None);
    assert!(lock.allows(Permission::ViewTimers));
    assert!(!lock.allows(Permission::RecordVitals));
    assert_eq!(lock.handle_timeout(t0 + Duration::from_secs(999)), None);
    lock.unlock("phil", Role::Physician, t0 + Duration::from_secs(300));
    assert_eq!(lock.lock().as_deref(), Some("phil"));
}

#[tokio::test]
async fn lock_record_view_export_and_override_are_audited_with_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir).await;
    let exam = store
        .start_exam(&device(), "phil", Utc::now())
        .await
        .unwrap();
    let here = AuditAt {
        exam: Some(exam),
        at: Instant::from_secs(5),
        wall: Utc::now(),
    };
    for (action, outcome) in [
        (AuditAction::RecordView, AuditOutcome::Success),
        (
            AuditAction::Export,
            AuditOutcome::Failure {
                reason: "USB stick removed".into(),
            },
        ),
        (AuditAction::Override, AuditOutcome::Success),
        (AuditAction::AutoLock, AuditOutcome::Success),
        (AuditAction::Logout, AuditOutcome::Success),
    ] {
        store
            .audit(
                &device(),
                here,
                &AuditEvent::new(action, Some("phil".into()), Some(exam.to_string()), outcome),
            )
            .await
            .unwrap();
    }
    let trail = audit_trail(&store).await;
    assert_eq!(trail.len(), 5);
    assert_eq!(trail[1].action, AuditAction::Export);
    assert!(matches!(trail[1].outcome, AuditOutcome::Failure { .. }));
    assert_eq!(store.exam_entries(exam).await.unwrap().len(), 6);
    assert!(store.verify(Some(exam)).await.unwrap().is_ok());
}
