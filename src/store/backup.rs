//! Online backups of the kiosk's SQLite database (issue 16).
//!
//! A backup is `VACUUM INTO` a new file beside the others: SQLite writes a
//! consistent copy from one read transaction while the kiosk goes on appending (a
//! file copy of a live WAL database could miss committed rows or tear a page). On
//! an encrypted store the copy is encrypted with the same key (SQLCipher attaches
//! the target with the main database's key). The copy is written under a hidden
//! name, synced, renamed and its folder synced; then it is opened read-only and its
//! log verified as `log verify` would, and the result kept beside it (`.json`). The
//! oldest backups beyond the configured number are removed.
//!
//! Restoring ([`restore`]) verifies the backup first, refuses while the kiosk runs
//! or an exam is open, keeps the database it replaces beside it, re-anchors the
//! witness on the restored log (the old witness kept too) and logs what was done.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::checkpoint::{Trust, Witness};
use super::keys::{Create, KeyRing};
use super::{DatabaseUrl, Store, StoreError, schema};
use crate::store::accounts::AuditAt;
use crate::store::{AuditAction, AuditEvent, AuditOutcome, DeviceId};

/// Backups listed at most from one folder (newest first); files beyond are ignored.
pub const MAX_BACKUPS_LISTED: usize = 1000;

/// The largest record file (`.json` beside a backup) read.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// Backup files' names start with this.
pub const FILE_PREFIX: &str = "kiosk-";

/// The lock file the running kiosk holds in its data folder.
pub const LOCK_FILE: &str = "kiosk.lock";

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackupReason {
    /// The schedule (`database.backup_every_hours`).
    Scheduled,
    /// An exam was finished.
    ExamEnd,
    /// Asked for (`backup now`, the service screen).
    Manual,
    /// Before migrating a database an older program wrote.
    PreUpgrade,
}

impl BackupReason {
    /// The word in file names and lists.
    pub fn slug(self) -> &'static str {
        match self {
            BackupReason::Scheduled => "scheduled",
            BackupReason::ExamEnd => "exam-end",
            BackupReason::Manual => "manual",
            BackupReason::PreUpgrade => "pre-upgrade",
        }
    }
}

/// A backup's log, verified after it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupCheck {
    /// Whether the copy's log verified.
    pub ok: bool,
    /// Rows whose hash was checked.
    pub rows_checked: u64,
    /// The verification's own summary.
    pub summary: String,
}

/// One backup: its file and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// The backup file (in the backup folder).
    pub file: PathBuf,
    /// Why it was taken.
    pub reason: BackupReason,
    /// When (wall clock, a label).
    pub taken_at: DateTime<Utc>,
    /// Its size.
    pub bytes: u64,
    /// The newest migration it holds.
    pub schema: i64,
    /// The verification after writing (`None`: not verified, e.g. taken before an
    /// upgrade by a program that then migrated the original).
    pub check: Option<BackupCheck>,
}

fn io_err(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(format!("{what} {}: {e}", path.display()))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("syncing folder", dir, e))
}

/// Creates `dir` owner-only when missing.
fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| io_err("creating", dir, e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io_err("restricting", dir, e))?;
    }
    Ok(())
}

/// Writes a consistent copy of the database behind `pool` into `dir` (created
/// owner-only when missing) and returns its path: `VACUUM INTO` a hidden name, the
/// file synced and made owner-only, renamed, the folder synced. The record beside it
/// says it is not verified; [`Store::backup`] verifies and records it.
pub async fn snapshot(
    pool: &SqlitePool,
    dir: &Path,
    reason: BackupReason,
    wall: DateTime<Utc>,
) -> Result<PathBuf, StoreError> {
    ensure_dir(dir)?;
    let name = format!(
        "{FILE_PREFIX}{}-{}.db",
        wall.format("%Y%m%dT%H%M%S%.3fZ"),
        reason.slug()
    );
    let target = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    let mut conn = pool
        .acquire()
        .await
        .map_err(StoreError::db("taking a connection for the backup"))?;
    sqlx::query("VACUUM INTO $1")
        .bind(partial.display().to_string())
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            StoreError::Backup(format!("writing {}: {e}", partial.display()))
        })?;
    drop(conn);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .open(&partial)
        .map_err(|e| io_err("opening", &partial, e))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err("restricting", &partial, e))?;
    file.sync_all()
        .map_err(|e| io_err("syncing", &partial, e))?;
    std::fs::rename(&partial, &target).map_err(|e| io_err("renaming", &partial, e))?;
    sync_dir(dir)?;
    let schema = schema::inspect_sqlite(pool)
        .await?
        .newest_applied()
        .unwrap_or(0);
    let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    write_record(&BackupRecord {
        file: target.clone(),
        reason,
        taken_at: wall,
        bytes,
        schema,
        check: None,
    })?;
    Ok(target)
}

fn record_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".json");
    PathBuf::from(p)
}

fn write_record(r: &BackupRecord) -> Result<(), StoreError> {
    let path = record_path(&r.file);
    let tmp = path.with_extension("json.partial");
    let text = serde_json::to_string_pretty(r).map_err(|source| StoreError::Encode {
        what: "a backup record",
        source,
    })?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_err("writing", &tmp, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("writing", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err("renaming", &tmp, e))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The backups in `dir`, newest first (at most [`MAX_BACKUPS_LISTED`]). A backup
/// whose record is missing or unreadable is listed as not verified, with its
/// file's time.
pub fn list(dir: &Path) -> Result<Vec<BackupRecord>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("reading", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(FILE_PREFIX) && name.ends_with(".db")) {
            continue;
        }
        let file = dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&file) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let from_record = read_record(&file).filter(|r| r.file == file);
        out.push(from_record.unwrap_or_else(|| {
            BackupRecord {
                file: file.clone(),
                reason: reason_from_name(name),
                taken_at: meta
                    .modified()
                    .map(DateTime::<Utc>::from)
                    .unwrap_or_default(),
                bytes: meta.len(),
                schema: 0,
                check: None,
            }
        }));
        if out.len() >= MAX_BACKUPS_LISTED {
            break;
        }
    }
    out.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then(b.file.cmp(&a.file)));
    Ok(out)
}

fn reason_from_name(name: &str) -> BackupReason {
    [
        BackupReason::Scheduled,
        BackupReason::ExamEnd,
        BackupReason::PreUpgrade,
    ]
    .into_iter()
    .find(|r| name.ends_with(&format!("-{}.db", r.slug())))
    .unwrap_or(BackupReason::Manual)
}

fn read_record(file: &Path) -> Option<BackupRecord> {
    let path = record_path(file);
    let meta = std::fs::metadata(&path).ok()?;
    if meta.len() > MAX_RECORD_BYTES {
        return None;
    }
    serde_json::from_slice(&std::fs::read(&path).ok()?).ok()
}

/// Opens a backup copy read-only (never migrated, never written) and verifies its
/// log with the kiosk's key for `device`: every chain, every checkpoint signature,
/// the accounts table against the logged account changes. A copy made by a newer
/// program is refused like the database itself.
pub async fn verify_copy(
    file: &Path,
    keys: Option<&KeyRing>,
    device: &str,
) -> Result<super::log::VerifyReport, StoreError> {
    let store = Store::open_copy(file, keys.cloned()).await?;
    let trust = Trust {
        keys: keys
            .map(|k| [(device.to_string(), k.verifying_key())].into())
            .unwrap_or_default(),
        outside: Vec::new(),
        require_every: keys.is_some(),
        accounts: keys.is_some(),
        only: None,
    };
    let report = store.verify_with(None, &trust).await;
    store.close().await;
    report
}

impl Store {
    /// Opens an SQLite file read-only (a backup): no migration, no witness, nothing
    /// written; refused when a newer program migrated it.
    pub async fn open_copy(file: &Path, keys: Option<KeyRing>) -> Result<Store, StoreError> {
        let url = DatabaseUrl::new(format!("sqlite://{}", file.display()));
        if !file.is_file() {
            return Err(StoreError::Backup(format!(
                "{} is not a file",
                file.display()
            )));
        }
        let mut options = SqliteConnectOptions::from_str(url.expose())
            .map_err(|e| StoreError::InvalidUrl {
                url: url.redacted(),
                reason: e.to_string(),
            })?
            .read_only(true)
            .immutable(true);
        if let Some(k) = &keys {
            options = options.pragma("key", k.database_key_pragma());
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                url: url.redacted(),
                source,
            })?;
        let state = match schema::inspect_sqlite(&pool).await {
            Ok(s) => s,
            Err(e) => {
                pool.close().await;
                return Err(match e {
                    StoreError::Database { source, .. }
                        if source
                            .as_database_error()
                            .and_then(|d| d.code())
                            .is_some_and(|c| c == "26") =>
                    {
                        StoreError::CannotDecrypt {
                            path: file.display().to_string(),
                            with_key: keys.is_some(),
                        }
                    }
                    e => e,
                });
            }
        };
        if let Some(&found) = state.unknown().last() {
            let written_by = schema::written_by_sqlite(&pool).await;
            pool.close().await;
            return Err(StoreError::NewerDatabase {
                path: file.display().to_string(),
                found,
                known: state.newest_known(),
                written_by,
                program: env!("CARGO_PKG_VERSION").to_string(),
            });
        }
        let key = keys.as_ref().map(|k| k.database_key_pragma());
        let bulk = super::bulk::BulkReader::open(file, key.as_deref()).ok();
        Ok(Store {
            inner: std::sync::Arc::new(super::Inner {
                url,
                pool: super::Pool::Sqlite(pool),
                appender: tokio::sync::Mutex::new(super::Appender::on_pool()),
                keys,
                witness: None,
                commits: std::sync::atomic::AtomicU64::new(0),
                bulk,
                upgrade: None,
            }),
        })
    }

    /// Backs the SQLite database up into `dir` (see the module), verifies the copy
    /// with this store's key for `device`, records the result beside it and keeps
    /// the newest `keep` backups. The backup is logged (an audit row); a failure too,
    /// and is returned.
    pub async fn backup(
        &self,
        dir: &Path,
        reason: BackupReason,
        wall: DateTime<Utc>,
        device: &DeviceId,
        keep: usize,
    ) -> Result<BackupRecord, StoreError> {
        let result = self.backup_inner(dir, reason, wall, device, keep).await;
        let (subject, outcome) = match &result {
            Ok(r) => (
                format!(
                    "{} ({}, {} bytes): {}",
                    r.file.display(),
                    reason.slug(),
                    r.bytes,
                    r.check.as_ref().map(|c| c.summary.as_str()).unwrap_or("")
                ),
                match &r.check {
                    Some(c) if c.ok => AuditOutcome::Success,
                    _ => AuditOutcome::Failure {
                        reason: "the backup's log did not verify".into(),
                    },
                },
            ),
            Err(e) => (
                format!("{} ({})", dir.display(), reason.slug()),
                AuditOutcome::Failure {
                    reason: e.to_string(),
                },
            ),
        };
        let event = AuditEvent::new(AuditAction::Backup, None, Some(subject), outcome);
        let at = AuditAt {
            exam: None,
            at: crate::domain::time::Instant::ZERO,
            wall,
        };
        if let Err(e) = self.audit(device, at, &event).await {
            tracing::error!(error = %e, "the backup could not be logged");
        }
        result
    }

    async fn backup_inner(
        &self,
        dir: &Path,
        reason: BackupReason,
        wall: DateTime<Utc>,
        device: &DeviceId,
        keep: usize,
    ) -> Result<BackupRecord, StoreError> {
        let super::Pool::Sqlite(pool) = &self.inner.pool else {
            return Err(StoreError::Backup(
                "only the kiosk's own SQLite database is backed up here (PostgreSQL has its own tools)"
                    .into(),
            ));
        };
        let file = snapshot(pool, dir, reason, wall).await?;
        let report = verify_copy(&file, self.keys(), device.as_str()).await?;
        let mut record = read_record(&file).ok_or_else(|| {
            StoreError::Backup(format!(
                "the record beside {} is unreadable",
                file.display()
            ))
        })?;
        record.check = Some(BackupCheck {
            ok: report.is_ok(),
            rows_checked: report.rows_checked,
            summary: report.to_string(),
        });
        write_record(&record)?;
        prune(dir, keep.max(1), &file)?;
        Ok(record)
    }
}

/// Removes the oldest backups beyond `keep` (never `just_made`).
fn prune(dir: &Path, keep: usize, just_made: &Path) -> Result<(), StoreError> {
    let all = list(dir)?;
    for old in all.iter().skip(keep) {
        if old.file == just_made {
            continue;
        }
        std::fs::remove_file(&old.file).map_err(|e| io_err("removing", &old.file, e))?;
        let _ = std::fs::remove_file(record_path(&old.file));
    }
    sync_dir(dir)
}

/// Held by the running kiosk on its data folder: a restore (or a second kiosk on
/// the same database) is refused while it is held. Released when dropped.
#[derive(Debug)]
pub struct InstanceLock {
    _file: std::fs::File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock in `dir`, or says who holds it.
    pub fn try_acquire(dir: &Path) -> Result<InstanceLock, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("creating", dir, e))?;
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Backup(format!(
                "the kiosk is running on this database ({} is held); stop it first \
                 (systemctl stop cmr-kiosk)",
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(io_err("locking", &path, e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The database file now in use.
    pub database: PathBuf,
    /// Where the database it replaced was kept.
    pub replaced: PathBuf,
    /// The restored log's verification.
    pub check: BackupCheck,
}

/// Restores the kiosk's SQLite database from `backup`: refused unless the backup
/// verifies with the kiosk's key, no kiosk runs on the database ([`InstanceLock`]),
/// and no exam is open in it. The database it replaces (with its WAL) is renamed
/// beside it (`.replaced-<time>`), the backup copied in (synced, renamed), the
/// witness re-anchored on the restored log (the old one kept beside it as
/// `witness.replaced-<time>.json`), the database migrated forward as at any start,
/// and the restore logged.
pub async fn restore(
    db: &crate::config::Database,
    backup: &Path,
    wall: DateTime<Utc>,
) -> Result<Restored, StoreError> {
    let url = DatabaseUrl::new(db.effective_url());
    if !url.expose().starts_with("sqlite:") {
        return Err(StoreError::Backup(
            "only the kiosk's own SQLite database is restored here".into(),
        ));
    }
    let live = super::sqlite_options(&url)?.get_filename().to_path_buf();
    let keys = KeyRing::open(&db.effective_key_dir(), Create::Never)?;
    let device = DeviceId::new(db.effective_device_id())?;
    let report = verify_copy(backup, Some(&keys), device.as_str()).await?;
    if !report.is_ok() {
        return Err(StoreError::Backup(format!(
            "{} does not verify, nothing was changed: {report}",
            backup.display()
        )));
    }
    let _lock = InstanceLock::try_acquire(&db.state_dir())?;
    if live.exists() {
        let store = Store::open_with_keys(url.expose(), Some(keys.clone())).await?;
        let open = store.open_exam(&device).await;
        store.close().await;
        if let Some(exam) = open? {
            return Err(StoreError::Backup(format!(
                "exam {} is open in the database; finish it on the console first, nothing was changed",
                exam.exam
            )));
        }
    }
    let stamp = wall.format("%Y%m%dT%H%M%SZ").to_string();
    let with_suffix = |p: &Path, suffix: &str| {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let replaced = with_suffix(&live, &format!(".replaced-{stamp}"));
    if live.exists() {
        std::fs::rename(&live, &replaced).map_err(|e| io_err("keeping", &live, e))?;
        for side in ["-wal", "-shm"] {
            let from = with_suffix(&live, side);
            if from.exists() {
                std::fs::rename(&from, with_suffix(&replaced, side))
                    .map_err(|e| io_err("keeping", &from, e))?;
            }
        }
    }
    let incoming = with_suffix(&live, ".restoring");
    std::fs::copy(backup, &incoming).map_err(|e| io_err("copying", backup, e))?;
    let f = std::fs::File::open(&incoming).map_err(|e| io_err("opening", &incoming, e))?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err("restricting", &incoming, e))?;
    f.sync_all().map_err(|e| io_err("syncing", &incoming, e))?;
    std::fs::rename(&incoming, &live).map_err(|e| io_err("renaming", &incoming, e))?;
    if let Some(dir) = live.parent() {
        sync_dir(dir)?;
    }
    // The witness names the replaced log's newest checkpoint, which the restored
    // log lacks: kept beside, and the restored log's newest written instead.
    if let Some(old) = keys.read_witness()? {
        let kept = keys.dir().join(format!("witness.replaced-{stamp}.json"));
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&kept)
            .and_then(|mut f| f.write_all(old.as_bytes()).and_then(|()| f.sync_all()))
            .map_err(|e| io_err("keeping", &kept, e))?;
    }
    let store = Store::open_kiosk(db).await?;
    let mut witness = Witness::default();
    if let Some(cp) = store.checkpoints(device.as_str()).await?.into_iter().last() {
        witness.newest.insert(device.as_str().to_string(), cp);
    }
    let text = serde_json::to_string_pretty(&witness).map_err(|source| StoreError::Encode {
        what: "the witness",
        source,
    })?;
    keys.write_witness(&text)?;
    let event = AuditEvent::new(
        AuditAction::Restore,
        None,
        Some(format!(
            "restored from {} ({} rows verified); the replaced database kept as {}",
            backup.display(),
            report.rows_checked,
            replaced.display()
        )),
        AuditOutcome::Success,
    );
    let at = AuditAt {
        exam: None,
        at: crate::domain::time::Instant::ZERO,
        wall,
    };
    let logged = store.audit(&device, at, &event).await;
    let after = store
        .verify_with(None, &Trust::of_kiosk(&keys, device.as_str())?)
        .await;
    store.close().await;
    logged?;
    let after = after?;
    Ok(Restored {
        database: live,
        replaced,
        check: BackupCheck {
            ok: after.is_ok(),
            rows_checked: after.rows_checked,
            summary: after.to_string(),
        },
    })
}

/// Whether a database file is still there to restore over (for messages).
pub fn database_file(db: &crate::config::Database) -> Option<PathBuf> {
    let url = DatabaseUrl::new(db.effective_url());
    super::sqlite_options(&url)
        .ok()
        .map(|o| o.get_filename().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_a_backup_folder_is_read_within_its_bounds() {
        let dir = tempfile::tempdir().unwrap();
        // More files than are ever listed: the listing stops at the bound.
        for i in 0..=MAX_BACKUPS_LISTED {
            std::fs::write(
                dir.path().join(format!("{FILE_PREFIX}{i:05}-scheduled.db")),
                b"x",
            )
            .unwrap();
        }
        // Not backups: other names, a folder, a symbolic link.
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        std::fs::create_dir(dir.path().join(format!("{FILE_PREFIX}folder.db"))).unwrap();
        std::os::unix::fs::symlink(
            "/etc/passwd",
            dir.path().join(format!("{FILE_PREFIX}link.db")),
        )
        .unwrap();
        let listed = list(dir.path()).unwrap();
        assert_eq!(listed.len(), MAX_BACKUPS_LISTED);
        assert!(listed.iter().all(|b| b.reason == BackupReason::Scheduled
            && b.check.is_none()
            && b.file.to_string_lossy().ends_with("-scheduled.db")));
    }

    #[test]
    fn issue_16_a_record_over_its_bound_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir
            .path()
            .join(format!("{FILE_PREFIX}20261207T000000Z-manual.db"));
        std::fs::write(&file, b"x").unwrap();
        let record = BackupRecord {
            file: file.clone(),
            reason: BackupReason::ExamEnd,
            taken_at: Utc::now(),
            bytes: 1,
            schema: 1,
            check: Some(BackupCheck {
                ok: true,
                rows_checked: 1,
                summary: String::new(),
            }),
        };
        write_record(&record).unwrap();
        assert_eq!(list(dir.path()).unwrap()[0].reason, BackupReason::ExamEnd);
        // The same record padded past MAX_RECORD_BYTES: ignored, the file's name speaks.
        let mut json = serde_json::to_vec(&record).unwrap();
        json.truncate(json.len() - 1);
        json.extend(std::iter::repeat_n(b' ', MAX_RECORD_BYTES as usize));
        json.push(b'}');
        std::fs::write(record_path(&file), &json).unwrap();
        let listed = list(dir.path()).unwrap();
        assert_eq!(listed[0].reason, BackupReason::Manual);
        assert!(listed[0].check.is_none());
    }
}
