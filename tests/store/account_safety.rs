//! Accounts that cannot be taken over (clause 5.3.3, issue 20): PINs keyed by the
//! kiosk's pepper, longer PINs for those who lift limits, the last administrator
//! kept, the first-administrator offer only on a database that never had one, an
//! account row edited outside the kiosk refused at sign-in, and an account change
//! that never lands without its log row.

use std::time::Instant as Mono;

use chrono::Utc;
use cmr_kiosk::config::Database;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::accounts::{AuditAt, verify_pin, verify_pin_with};
use cmr_kiosk::store::checkpoint::Trust;
use cmr_kiosk::store::{
    AuditAction, DeviceId, EntryKind, LoginError, NewStaff, PinGuard, Problem, Role, Store,
};

fn device() -> DeviceId {
    DeviceId::new("kiosk-acc").unwrap()
}

fn at() -> AuditAt {
    AuditAt {
        exam: None,
        at: Instant::ZERO,
        wall: Utc::now(),
    }
}

fn db_in(dir: &std::path::Path) -> Database {
    Database {
        url: format!("sqlite://{}", dir.join("kiosk.db").display()),
        device_id: "kiosk-acc".into(),
        ..Default::default()
    }
}

fn staff(u: &str, role: Role, pin: &str) -> NewStaff {
    NewStaff {
        username: u.into(),
        display_name: u.to_uppercase(),
        role,
        pin: pin.into(),
    }
}

/// Adds `username` as `role` with `pin` under this test's device.
async fn add(store: &Store, username: &str, role: Role, pin: &str) {
    store
        .add_staff(&device(), None, at(), &staff(username, role, pin))
        .await
        .unwrap();
}

#[tokio::test]
async fn clause_5_3_3_pins_are_keyed_by_the_pepper_and_privileged_pins_are_longer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_kiosk(&db_in(dir.path())).await.unwrap();
    for role in [Role::Admin, Role::Physician] {
        assert!(matches!(
            store
                .add_staff(&device(), None, at(), &staff("short", role, "13579"))
                .await,
            Err(LoginError::ShortPin(r)) if r == role
        ));
    }
    add(&store, "root", Role::Admin, "135790").await;
    add(&store, "nina", Role::Nurse, "2468").await;
    // The stored hash alone (a stolen file) does not verify the PIN: the pepper does.
    let (hash,): (String,) = sqlx::query_as("SELECT pin_hash FROM staff WHERE username = 'nina'")
        .fetch_one(&mut crate::support::keyed_connection(dir.path()).await)
        .await
        .unwrap();
    assert!(
        !verify_pin("2468", &hash),
        "the hash is testable without the pepper"
    );
    let keys = store.keys().unwrap();
    assert!(verify_pin_with("2468", &hash, Some(&keys.pepper()[..])));
    let mut guard = PinGuard::default();
    store
        .login(&device(), &mut guard, "nina", "2468", Mono::now(), at())
        .await
        .unwrap();
    // A PIN set again follows the same rules.
    assert!(matches!(
        store
            .set_pin(&device(), Some("root"), at(), "root", "1234")
            .await,
        Err(LoginError::ShortPin(Role::Admin))
    ));
}

#[tokio::test]
async fn clause_5_3_3_the_last_administrator_cannot_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_kiosk(&db_in(dir.path())).await.unwrap();
    assert!(
        store.first_admin_allowed().await.unwrap(),
        "a fresh database"
    );
    add(&store, "root", Role::Admin, "135790").await;
    assert!(!store.first_admin_allowed().await.unwrap());
    assert!(matches!(
        store
            .disable_staff(&device(), Some("root"), at(), "root")
            .await,
        Err(LoginError::LastAdmin(_))
    ));
    // With a second administrator the first can go; then the second is the last.
    store
        .add_staff(
            &device(),
            Some("root"),
            at(),
            &staff("anna", Role::Admin, "864209"),
        )
        .await
        .unwrap();
    store
        .disable_staff(&device(), Some("anna"), at(), "root")
        .await
        .unwrap();
    assert!(matches!(
        store
            .disable_staff(&device(), Some("anna"), at(), "anna")
            .await,
        Err(LoginError::LastAdmin(_))
    ));
    assert!(store.has_admin().await.unwrap());
}

#[tokio::test]
async fn clause_5_3_3_the_first_administrator_offer_never_returns_after_admins_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_kiosk(&db_in(dir.path())).await.unwrap();
    add(&store, "root", Role::Admin, "135790").await;
    // Every administrator disabled, or deleted, outside the kiosk: the offer stays
    // off (the log remembers an administrator existed) and verify reports it.
    let mut c = crate::support::keyed_connection(dir.path()).await;
    sqlx::query("UPDATE staff SET disabled = TRUE")
        .execute(&mut c)
        .await
        .unwrap();
    assert!(!store.first_admin_allowed().await.unwrap());
    sqlx::query("DELETE FROM staff")
        .execute(&mut c)
        .await
        .unwrap();
    assert!(!store.first_admin_allowed().await.unwrap());
    assert!(!store.has_admin().await.unwrap());
    let keys = store.keys().unwrap();
    let report = store
        .verify_with(None, &Trust::of_kiosk(keys, "kiosk-acc").unwrap())
        .await
        .unwrap();
    assert_eq!(
        report.first_bad.map(|b| b.problem),
        Some(Problem::AccountAltered)
    );
    // The way back is the shell procedure on the kiosk, on the record.
    let back = store
        .recover_admin(&device(), at(), &staff("chen", Role::Admin, "975310"))
        .await
        .unwrap();
    assert_eq!(back.role, Role::Admin);
    let rows = store.entries_after("kiosk-acc", 0, 100).await.unwrap();
    assert!(rows.iter().any(|r| r.payload.contains("admin_recovered")));
}

#[tokio::test]
async fn clause_5_3_3_an_account_row_edited_outside_the_kiosk_cannot_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_kiosk(&db_in(dir.path())).await.unwrap();
    add(&store, "root", Role::Admin, "135790").await;
    add(&store, "nina", Role::Nurse, "2468").await;
    // The nurse made administrator with the file open in another program.
    sqlx::query("UPDATE staff SET role = 'admin' WHERE username = 'nina'")
        .execute(&mut crate::support::keyed_connection(dir.path()).await)
        .await
        .unwrap();
    let mut guard = PinGuard::default();
    let err = store
        .login(&device(), &mut guard, "nina", "2468", Mono::now(), at())
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Tampered(_)), "{err}");
}

#[tokio::test]
async fn clause_5_3_3_an_account_is_never_added_without_its_log_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_kiosk(&db_in(dir.path())).await.unwrap();
    // The log write fails half-way through adding the account (as a kill or a full
    // disk would): nothing of the account remains.
    let mut c = crate::support::keyed_connection(dir.path()).await;
    sqlx::query(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON events WHEN NEW.kind = 'audit' \
         BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    .execute(&mut c)
    .await
    .unwrap();
    let err = store
        .add_staff(&device(), None, at(), &staff("root", Role::Admin, "135790"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(store.staff("root").await.unwrap().is_none(), "account kept");
    assert_eq!(store.count_events(None).await.unwrap(), 0, "log row kept");
    // Once the log can be written again, the same account is added with its row.
    sqlx::query("DROP TRIGGER fail_audit")
        .execute(&mut c)
        .await
        .unwrap();
    add(&store, "root", Role::Admin, "135790").await;
    let rows = store.entries_after("kiosk-acc", 0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, EntryKind::Audit.as_str());
    let event: cmr_kiosk::store::AuditEvent = serde_json::from_str(&rows[0].payload).unwrap();
    assert_eq!(event.action, AuditAction::UserAdded);
    assert_eq!(event.account.unwrap().role, Role::Admin);
}
