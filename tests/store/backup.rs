//! Issue 16: online backups of the SQLite database, verified; restore with its
//! refusals; upgrades that back up first; a database from a newer program refused.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use cmr_kiosk::config::Database;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::accounts::{AuditAction, AuditEvent};
use cmr_kiosk::store::backup::{self, BackupReason, InstanceLock};
use cmr_kiosk::store::checkpoint::Trust;
use cmr_kiosk::store::keys::{Create, KeyRing};
use cmr_kiosk::store::{DeviceId, EntryKind, ExamId, NewEntry, Store, StoreError};

const DEVICE: &str = "backup-kiosk";

fn db_in(dir: &Path) -> Database {
    Database {
        url: format!("sqlite://{}", dir.join("kiosk.db").display()),
        device_id: DEVICE.into(),
        ..Default::default()
    }
}

async fn audit_trail(store: &Store) -> Vec<AuditEvent> {
    crate::support::store::audit_trail(store, DEVICE).await
}

/// A backup now into the configured folder, the newest 14 kept.
async fn take(store: &Store, db: &Database, reason: BackupReason) -> backup::BackupRecord {
    store
        .backup(&db.backup_dir(), reason, Utc::now(), &device(), 14)
        .await
        .unwrap()
}

fn device() -> DeviceId {
    DeviceId::new(DEVICE).unwrap()
}

fn entry(exam: ExamId, kind: EntryKind, i: u64) -> NewEntry {
    NewEntry::new(
        Some(exam),
        kind,
        "nurse",
        Instant::from_millis(i * 500),
        Utc::now(),
        &serde_json::json!({"reading": i}),
    )
    .unwrap()
}

/// An exam of `rows` rows, closed unless `leave_open`.
async fn exam(store: &Store, rows: u64, leave_open: bool) -> ExamId {
    let exam = ExamId::new();
    store
        .append(&device(), &entry(exam, EntryKind::ExamOpened, 0))
        .await
        .unwrap();
    for i in 1..rows {
        store
            .append(&device(), &entry(exam, EntryKind::Decision, i))
            .await
            .unwrap();
    }
    if !leave_open {
        store
            .append(&device(), &entry(exam, EntryKind::ExamClosed, rows))
            .await
            .unwrap();
    }
    exam
}

#[tokio::test]
async fn issue_16_a_backup_is_an_encrypted_verified_copy_taken_while_the_log_grows() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    exam(&store, 300, false).await;
    let before = store.count_events(None).await.unwrap();

    // Appends go on while the backup is taken (the kiosk never stops for it).
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { exam(&store, 200, false).await })
    };
    let record = take(&store, &db, BackupReason::Manual).await;
    writer.await.unwrap();

    let check = record.check.as_ref().expect("verified after writing");
    assert!(check.ok, "the copy verifies: {}", check.summary);
    assert!(check.rows_checked >= before as u64, "{check:?}");
    let bytes = std::fs::read(&record.file).unwrap();
    assert_ne!(
        &bytes[..16],
        b"SQLite format 3\0",
        "the copy is encrypted too"
    );
    assert_eq!(record.reason, BackupReason::Manual);
    assert!(record.schema > 0);

    // Read back with the key only: a consistent copy, whatever was appended during.
    let keys = KeyRing::open(&db.effective_key_dir(), Create::Never).unwrap();
    let copy = Store::open_copy(&record.file, Some(keys.clone()))
        .await
        .unwrap();
    let copied = copy.count_events(None).await.unwrap();
    copy.close().await;
    assert!(
        copied >= before,
        "every row before the backup began: {copied}"
    );
    // Without the key it cannot be read.
    assert!(matches!(
        Store::open_copy(&record.file, None).await,
        Err(StoreError::CannotDecrypt { .. } | StoreError::Connect { .. })
    ));

    // Listed, newest first, with the verification kept beside it; the backup logged.
    let listed = backup::list(&db.backup_dir()).unwrap();
    assert_eq!(listed, vec![record.clone()]);
    let audit = audit_trail(&store).await;
    assert!(
        audit.iter().any(|a| a.action == AuditAction::Backup),
        "the backup is on the record"
    );
    store.close().await;
}

#[tokio::test]
async fn issue_16_only_the_newest_backups_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    exam(&store, 20, false).await;
    let mut made = Vec::new();
    for i in 0..5 {
        let at = Utc::now() + chrono::Duration::seconds(i);
        made.push(
            store
                .backup(&db.backup_dir(), BackupReason::Scheduled, at, &device(), 3)
                .await
                .unwrap(),
        );
    }
    store.close().await;
    let kept: Vec<_> = backup::list(&db.backup_dir())
        .unwrap()
        .into_iter()
        .map(|r| r.file)
        .collect();
    let newest: Vec<_> = made.iter().rev().take(3).map(|r| r.file.clone()).collect();
    assert_eq!(kept, newest);
    for old in &made[..2] {
        assert!(!old.file.exists(), "{} removed", old.file.display());
    }
}

#[tokio::test]
async fn issue_16_restore_is_refused_while_the_kiosk_runs_or_an_exam_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    exam(&store, 50, false).await;
    let record = take(&store, &db, BackupReason::Manual).await;
    let open = exam(&store, 10, true).await;
    let rows = store.count_events(None).await.unwrap();
    store.close().await;

    // The kiosk holds its lock: refused, nothing changed.
    let lock = InstanceLock::try_acquire(&db.state_dir()).unwrap();
    let e = backup::restore(&db, &record.file, Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the kiosk is running"), "{e}");
    drop(lock);

    // An exam is open: refused, nothing changed.
    let e = backup::restore(&db, &record.file, Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&open.to_string()), "{e}");
    let store = Store::open_kiosk(&db).await.unwrap();
    assert_eq!(store.count_events(None).await.unwrap(), rows);
    store.close().await;

    // A file that is not this kiosk's backup: refused before anything moves.
    let stranger = dir.path().join("stranger.db");
    std::fs::write(&stranger, vec![7u8; 8192]).unwrap();
    assert!(backup::restore(&db, &stranger, Utc::now()).await.is_err());
    assert!(!dir.path().read_dir().unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".replaced-")
    }));
}

#[tokio::test]
async fn issue_16_restore_keeps_the_replaced_database_and_the_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    let kept = exam(&store, 80, false).await;
    let record = take(&store, &db, BackupReason::ExamEnd).await;
    // Enough rows after the backup for checkpoints (and the witness) to move on.
    let lost = exam(&store, 300, false).await;
    store.flush_witness();
    store.close().await;
    // What the backup holds, read from the copy itself.
    let keys = KeyRing::open(&db.effective_key_dir(), Create::Never).unwrap();
    let copy = Store::open_copy(&record.file, Some(keys.clone()))
        .await
        .unwrap();
    let backed_up = copy.entries_after(DEVICE, 0, 100_000).await.unwrap();
    copy.close().await;

    let restored = backup::restore(&db, &record.file, Utc::now())
        .await
        .unwrap();
    assert!(restored.check.ok, "{}", restored.check.summary);
    assert!(restored.replaced.exists(), "the replaced database is kept");

    let store = Store::open_kiosk(&db).await.unwrap();
    assert_eq!(store.exam_entries(kept).await.unwrap().len(), 81);
    assert!(store.exam_entries(lost).await.unwrap().is_empty());
    // Exactly the backed-up rows, each as it was, then the restore's own audit row.
    let now = store.entries_after(DEVICE, 0, 100_000).await.unwrap();
    assert_eq!(now.len(), backed_up.len() + 1);
    for (a, b) in backed_up.iter().zip(&now) {
        assert_eq!(
            (a.seq, &a.kind, &a.payload, &a.hash),
            (b.seq, &b.kind, &b.payload, &b.hash)
        );
    }
    assert_eq!(now.last().unwrap().kind, EntryKind::Audit.as_str());
    // `log verify` as the kiosk runs it (with the witness) passes on the restored log,
    // and the restore is on the record.
    let report = store
        .verify_with(None, &Trust::of_kiosk(&keys, DEVICE).unwrap())
        .await
        .unwrap();
    assert!(report.is_ok(), "{report}");
    let audit = audit_trail(&store).await;
    let restore = audit
        .iter()
        .find(|a| a.action == AuditAction::Restore)
        .expect("the restore is logged");
    assert!(
        restore
            .subject
            .as_deref()
            .unwrap()
            .contains(&restored.replaced.display().to_string())
    );
    store.close().await;
    // The replaced database still opens as a copy and holds the later exam.
    let old = Store::open_copy(&restored.replaced, Some(keys))
        .await
        .unwrap();
    assert!(!old.exam_entries(lost).await.unwrap().is_empty());
    old.close().await;
}

/// Makes the kiosk's database look as an older program left it: the newest
/// migration not applied (its table dropped, its row removed).
async fn roll_back_newest_migration(db: &Database) {
    let store = Store::open_kiosk(db).await.unwrap();
    store.close().await;
    let keys = KeyRing::open(&db.effective_key_dir(), Create::Never).unwrap();
    let file = db.state_dir().join("kiosk.db");
    drop_newest_migration(&file, &keys.database_key_pragma()).await;
}

async fn drop_newest_migration(file: &Path, key: &str) {
    use sqlx::Executor as _;
    let mut conn = crate::support::store::keyed_connection(file, key).await;
    conn.execute(
        "DROP TABLE program_versions; \
         DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations);",
    )
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.unwrap();
}

async fn add_future_migration(db: &Database) {
    let keys = KeyRing::open(&db.effective_key_dir(), Create::Never).unwrap();
    crate::support::store::add_future_migration(
        &db.state_dir().join("kiosk.db"),
        &keys.database_key_pragma(),
    )
    .await;
}

#[tokio::test]
async fn issue_16_an_older_database_is_backed_up_then_migrated_forward() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    let kept = exam(&store, 40, false).await;
    store.close().await;
    roll_back_newest_migration(&db).await;

    let store = Store::open_kiosk(&db).await.unwrap();
    let up = store.upgrade().cloned().expect("migrated forward");
    assert!(up.from < up.to, "{up:?}");
    let backup = up.backup.expect("a backup first");
    assert!(
        backup
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-pre-upgrade.db")
    );
    assert_eq!(store.exam_entries(kept).await.unwrap().len(), 41);
    store.close().await;
    // The backup is the database as it was before: the older schema, every row.
    let listed = backup::list(&db.backup_dir()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].schema, up.from);
    assert_eq!(listed[0].reason, BackupReason::PreUpgrade);
    let keys = KeyRing::open(&db.effective_key_dir(), Create::Never).unwrap();
    let copy = Store::open_copy(&backup, Some(keys)).await.unwrap();
    assert_eq!(copy.exam_entries(kept).await.unwrap().len(), 41);
    copy.close().await;
    // Opened again: current, nothing more to do.
    let store = Store::open_kiosk(&db).await.unwrap();
    assert!(store.upgrade().is_none());
    store.close().await;
}

#[tokio::test]
async fn issue_16_a_database_a_newer_program_wrote_is_refused_unopened() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    exam(&store, 5, false).await;
    store.close().await;
    add_future_migration(&db).await;
    let file = db.state_dir().join("kiosk.db");
    let before = std::fs::read(&file).unwrap();

    let e = Store::open_kiosk(&db).await.expect_err("refused");
    match &e {
        StoreError::NewerDatabase {
            found, written_by, ..
        } => {
            assert_eq!(*found, crate::support::store::FUTURE_MIGRATION);
            assert_eq!(written_by.as_deref(), Some("9.9.9"));
        }
        other => panic!("{other}"),
    }
    let text = e.to_string();
    assert!(text.contains("newer cmr-kiosk (version 9.9.9)"), "{text}");
    assert!(text.contains("restore a backup"), "{text}");
    // Nothing written: no backup, the file as it was.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert!(backup::list(&db.backup_dir()).unwrap().is_empty());
}

#[tokio::test]
async fn issue_16_a_corrupt_backup_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    exam(&store, 400, false).await;
    let record = take(&store, &db, BackupReason::Manual).await;
    assert!(record.check.as_ref().unwrap().ok);
    let rows = store.count_events(None).await.unwrap();
    store.close().await;
    let keys = KeyRing::open(&db.effective_key_dir(), Create::Never).unwrap();

    // One byte flipped in a page in the middle of the (encrypted) file: SQLCipher's
    // page authentication or the log's hash chain catches it.
    let mut bytes = std::fs::read(&record.file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    let damaged = db.backup_dir().join("damaged.db");
    std::fs::write(&damaged, &bytes).unwrap();
    let checked = backup::verify_copy(&damaged, Some(&keys), DEVICE).await;
    assert!(
        checked.as_ref().map_or(true, |r| !r.is_ok()),
        "a damaged copy verified: {checked:?}"
    );
    // A truncated copy too.
    let truncated = db.backup_dir().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let checked = backup::verify_copy(&truncated, Some(&keys), DEVICE).await;
    assert!(checked.as_ref().map_or(true, |r| !r.is_ok()));

    // Restore refuses both, and the database stays as it was.
    for bad in [&damaged, &truncated] {
        let e = backup::restore(&db, bad, Utc::now()).await.unwrap_err();
        assert!(!e.to_string().is_empty());
    }
    let store = Store::open_kiosk(&db).await.unwrap();
    assert_eq!(store.count_events(None).await.unwrap(), rows);
    store.close().await;
    assert!(!dir.path().read_dir().unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".replaced-")
    }));
}
