//! The database's schema against this program's (issue 16): which migrations a
//! database has had, which this program knows, and what opening it would do.
//!
//! A database migrated by a newer program is refused before anything is applied
//! ([`super::StoreError::NewerDatabase`]): an older program must not write rows a
//! newer schema does not expect. A database behind this program is backed up
//! before it is migrated forward when the kiosk opens it (`Store::open_kiosk`).

use serde::Serialize;
use sqlx::SqlitePool;

use super::StoreError;

/// The migrations this program applies to an SQLite database (embedded at build
/// time from `migrations/sqlite`).
pub(crate) static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The migrations this program applies to a PostgreSQL database.
pub(crate) static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A database's migrations beside this program's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaState {
    /// Versions applied to the database, oldest first.
    pub applied: Vec<i64>,
    /// Versions this program knows, oldest first.
    pub known: Vec<i64>,
}

impl SchemaState {
    /// The newest version applied (`None` for a database never migrated).
    pub fn newest_applied(&self) -> Option<i64> {
        self.applied.last().copied()
    }

    /// The newest version this program knows.
    pub fn newest_known(&self) -> i64 {
        self.known.last().copied().unwrap_or(0)
    }

    /// Applied versions this program does not know: a newer program migrated it.
    pub fn unknown(&self) -> Vec<i64> {
        self.applied
            .iter()
            .filter(|v| !self.known.contains(v))
            .copied()
            .collect()
    }

    /// Known versions not yet applied.
    pub fn pending(&self) -> Vec<i64> {
        self.known
            .iter()
            .filter(|v| !self.applied.contains(v))
            .copied()
            .collect()
    }

    /// Whether opening it would migrate a database that already holds data (as
    /// opposed to creating a new one).
    pub fn is_upgrade(&self) -> bool {
        !self.applied.is_empty() && !self.pending().is_empty()
    }
}

/// The versions `migrator` knows.
pub(crate) fn known(migrator: &sqlx::migrate::Migrator) -> Vec<i64> {
    let mut v: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    v.sort_unstable();
    v
}

/// Reads an SQLite database's applied migrations (none when it was never migrated).
pub(crate) async fn inspect_sqlite(pool: &SqlitePool) -> Result<SchemaState, StoreError> {
    let table: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("reading the schema version"))?;
    let applied = if table.is_some() {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("reading the schema version"))?;
        rows.into_iter().map(|r| r.0).collect()
    } else {
        Vec::new()
    };
    Ok(SchemaState {
        applied,
        known: known(&SQLITE),
    })
}

/// The newest program version recorded in an SQLite database's
/// `program_versions` (absent before that migration): who migrated it last.
pub(crate) async fn written_by_sqlite(pool: &SqlitePool) -> Option<String> {
    sqlx::query_as::<_, (String,)>(
        "SELECT version FROM program_versions ORDER BY schema_version DESC, first_opened DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()
    .map(|r| r.0)
}

/// The kiosk's SQLite database as it is, without migrating or writing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseFacts {
    /// The database file.
    pub file: std::path::PathBuf,
    /// Its size (the WAL not counted).
    pub bytes: u64,
    /// Its migrations beside this program's.
    pub schema: SchemaState,
    /// The newest program version that opened it, when recorded.
    pub written_by: Option<String>,
}

/// Reads the kiosk's SQLite database read-only with its key: size, schema, who
/// wrote it. `Ok(None)` when it does not exist yet or is not SQLite.
pub async fn inspect_kiosk(
    db: &crate::config::Database,
) -> Result<Option<DatabaseFacts>, StoreError> {
    use std::str::FromStr as _;
    let url = super::DatabaseUrl::new(db.effective_url());
    if !url.expose().starts_with("sqlite:") {
        return Ok(None);
    }
    let file = super::sqlite_options(&url)?.get_filename().to_path_buf();
    let Ok(meta) = std::fs::metadata(&file) else {
        return Ok(None);
    };
    let keys = super::keys::KeyRing::open(&db.effective_key_dir(), super::keys::Create::Never)?;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url.expose())
        .map_err(|e| StoreError::InvalidUrl {
            url: url.redacted(),
            reason: e.to_string(),
        })?
        .read_only(true)
        .pragma("key", keys.database_key_pragma());
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect {
            url: url.redacted(),
            source,
        })?;
    let state = inspect_sqlite(&pool).await;
    let written_by = written_by_sqlite(&pool).await;
    pool.close().await;
    Ok(Some(DatabaseFacts {
        file,
        bytes: meta.len(),
        schema: state?,
        written_by,
    }))
}
