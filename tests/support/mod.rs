//! Helpers shared by the integration test binaries; each binary uses a part of them.
#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod hostile_dicom;
pub mod mwl;
pub mod pg_tls;
pub mod recorder;
pub mod store;
pub mod ui;

/// The libtest name of the test function `name` in the module `module_path`
/// (`module_path!()` of the caller): the path without the crate's name, as
/// `--exact` wants it when a test re-runs its own binary as a child.
pub fn test_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_owned(),
    }
}

/// The device test set-up writes accounts under (its own chain in the kiosk's file).
pub fn support_device() -> cmr_kiosk::store::DeviceId {
    cmr_kiosk::store::DeviceId::new("test-setup").unwrap()
}

/// "Now", outside any exam, for set-up audit rows.
pub fn support_at() -> cmr_kiosk::store::accounts::AuditAt {
    cmr_kiosk::store::accounts::AuditAt {
        exam: None,
        at: cmr_kiosk::domain::time::Instant::ZERO,
        wall: chrono::Utc::now(),
    }
}

/// A raw connection to the kiosk database `kiosk.db` in `dir`, opened with the
/// database key from `dir/keys` (as an administrator, or an attacker who has the
/// key, would open it).
pub async fn keyed_connection(dir: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    let keys = cmr_kiosk::store::keys::KeyRing::open(
        &dir.join("keys"),
        cmr_kiosk::store::keys::Create::Never,
    )
    .unwrap();
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("kiosk.db"))
        .pragma("key", keys.database_key_pragma())
        .connect()
        .await
        .unwrap()
}

/// The PostgreSQL URL the store tests use (`CMR_TEST_POSTGRES_URL`), or `None` (the
/// test is skipped, saying so) outside CI; on CI a missing URL fails the test.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("CMR_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CMR_TEST_POSTGRES_URL is not set but CI is: start PostgreSQL with \
             scripts/postgres-test-server.sh and export its URL"
        ),
        _ => {
            eprintln!("NOTICE: {test} skipped: CMR_TEST_POSTGRES_URL is not set");
            None
        }
    }
}
