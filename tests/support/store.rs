//! Store helpers shared by the store, CLI and UI tests: the audit trail as the log
//! holds it, and a database made to look as a newer program left it.

use cmr_kiosk::store::accounts::AuditEvent;
use cmr_kiosk::store::{EntryKind, Store};

/// Every audit row `device` logged, oldest first.
pub async fn audit_trail(store: &Store, device: &str) -> Vec<AuditEvent> {
    store
        .entries_after(device, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Audit.as_str())
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

/// The migration a newer program would have applied (issue 16's refusal tests).
pub const FUTURE_MIGRATION: i64 = 99991231000001;

/// Records in the SQLite `file` (opened with `key_pragma`) a migration no program
/// knows, applied by cmr-kiosk 9.9.9: a database a newer program wrote.
pub async fn add_future_migration(file: &std::path::Path, key_pragma: &str) {
    let mut conn = keyed_connection(file, key_pragma).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (?, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 1)",
    )
    .bind(FUTURE_MIGRATION)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO program_versions (version, schema_version, first_opened) \
         VALUES ('9.9.9', ?, '2099-01-01T00:00:00Z')",
    )
    .bind(FUTURE_MIGRATION)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.unwrap();
}

/// A connection of its own to the SQLite `file`, opened with `key_pragma` (a test
/// changing the file behind the store's back).
pub async fn keyed_connection(
    file: &std::path::Path,
    key_pragma: &str,
) -> sqlx::sqlite::SqliteConnection {
    use sqlx::ConnectOptions as _;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .pragma("key", key_pragma.to_owned())
        .connect()
        .await
        .unwrap()
}
