//! `cmr-kiosk status` and the service screen's facts that do not need the running
//! kiosk: version, database, disk, backups, clock.

use std::path::PathBuf;

use serde::Serialize;

use super::clock::{self, ClockSync};
use super::disk::{self, DiskLevel, DiskSpace};
use crate::config::Config;
use crate::store::backup::{self, BackupRecord};
use crate::store::schema::{self, DatabaseFacts};

/// The program's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    /// This program's version.
    pub version: String,
    /// The database (`None` inside: not created yet, or PostgreSQL).
    pub database: DatabaseStatus,
    /// The data folder's file system.
    pub disk: DiskStatus,
    /// The backup folder.
    pub backups: BackupsStatus,
    /// The wall clock's source.
    pub clock: ClockSync,
}

/// The database part.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseStatus {
    /// The URL (password redacted).
    pub url: String,
    /// What was read, when it could be.
    #[serde(flatten)]
    pub facts: Option<DatabaseFactsOut>,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// The database facts as printed.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseFactsOut {
    /// The file.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Newest migration applied and known.
    pub schema: SchemaOut,
    /// The newest program version that opened it.
    pub written_by: Option<String>,
}

/// Newest migration applied and known, and what that means.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaOut {
    /// Newest applied.
    pub applied: Option<i64>,
    /// Newest this program knows.
    pub known: i64,
    /// `current`, `older` (will be migrated at the next start, after a backup) or
    /// `newer` (refused).
    pub state: &'static str,
}

impl From<DatabaseFacts> for DatabaseFactsOut {
    fn from(f: DatabaseFacts) -> Self {
        let state = if !f.schema.unknown().is_empty() {
            "newer"
        } else if !f.schema.pending().is_empty() {
            "older"
        } else {
            "current"
        };
        DatabaseFactsOut {
            file: f.file,
            bytes: f.bytes,
            schema: SchemaOut {
                applied: f.schema.newest_applied(),
                known: f.schema.newest_known(),
                state,
            },
            written_by: f.written_by,
        }
    }
}

/// The disk part.
#[derive(Debug, Clone, Serialize)]
pub struct DiskStatus {
    /// The folder measured (the database's).
    pub path: PathBuf,
    /// Free and total, when measured.
    pub space: Option<DiskSpace>,
    /// What it means.
    pub level: Option<DiskLevel>,
    /// Why it could not be measured.
    pub error: Option<String>,
}

/// The backups part.
#[derive(Debug, Clone, Serialize)]
pub struct BackupsStatus {
    /// The folder.
    pub dir: PathBuf,
    /// How many backups it holds.
    pub count: usize,
    /// The newest.
    pub last: Option<BackupRecord>,
    /// Why it could not be listed.
    pub error: Option<String>,
}

/// Measures the data folder's disk.
pub fn disk_status(config: &Config) -> DiskStatus {
    let path = config.database.state_dir();
    match disk::measure(&path) {
        Ok(space) => DiskStatus {
            path,
            space: Some(space),
            level: Some(DiskLevel::of(space)),
            error: None,
        },
        Err(e) => DiskStatus {
            path,
            space: None,
            level: None,
            error: Some(e.to_string()),
        },
    }
}

/// Lists the backup folder.
pub fn backups_status(config: &Config) -> BackupsStatus {
    let dir = config.database.backup_dir();
    match backup::list(&dir) {
        Ok(all) => BackupsStatus {
            count: all.len(),
            last: all.into_iter().next(),
            dir,
            error: None,
        },
        Err(e) => BackupsStatus {
            dir,
            count: 0,
            last: None,
            error: Some(e.to_string()),
        },
    }
}

/// Gathers every fact (reads only; the database is opened read-only).
pub async fn gather(config: &Config) -> ServiceStatus {
    let url = crate::store::DatabaseUrl::new(config.database.effective_url()).redacted();
    let database = match schema::inspect_kiosk(&config.database).await {
        Ok(facts) => DatabaseStatus {
            url,
            facts: facts.map(Into::into),
            error: None,
        },
        Err(e) => DatabaseStatus {
            url,
            facts: None,
            error: Some(e.to_string()),
        },
    };
    ServiceStatus {
        version: VERSION.to_string(),
        database,
        disk: disk_status(config),
        backups: backups_status(config),
        clock: clock::query().await,
    }
}
