//! The exam record: a durable, tamper-evident store behind one interface.
//!
//! Imperative shell around [`crate::domain`]. [`Store`] is picked from the
//! database URL, atuin-style: `sqlite:` opens (and creates) an SQLite file in WAL
//! mode with `synchronous=FULL`, foreign keys on and a busy timeout — the kiosk's
//! embedded default; `postgres://` opens the central PostgreSQL a hospital runs.
//! Each backend has its own migrations (`migrations/sqlite/`,
//! `migrations/postgres/`), applied when the store opens; an applied migration is
//! never edited.
//!
//! Submodules and what each owns:
//! * [`log`]: the append-only exam log with its SHA-256 hash chain, the
//!   verifier and crash recovery of the running exam.
//! * [`durable`]: the in-memory queue that keeps events a failed write could not
//!   store, and the technical alarm it raises.
//! * [`accounts`]: staff accounts, PIN hashing and lockout, role permissions,
//!   idle auto-lock and audit events.
//! * [`sync`]: the outbox relay from the kiosk's SQLite to the central PostgreSQL.
//!
//! Invariants: rows of `events` are never updated or deleted through this module
//! (triggers refuse it too); [`Store::append`](Store::append) returns only after
//! the row is durable; passwords never appear in `Debug` or error messages.

pub mod accounts;
pub mod backup;
mod bulk;
pub mod checkpoint;
pub mod durable;
mod encrypt;
pub mod keys;
pub mod log;
pub mod outbox;
pub mod schema;
pub mod sync;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use sqlx::migrate::MigrateError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use thiserror::Error;

pub use accounts::{
    AuditAction, AuditEvent, AuditOutcome, IdleLock, LockView, LoginError, NewStaff, Permission,
    PinGuard, Role, StaffAccount,
};
pub use durable::{DurableLog, StoreAlarm, Submitted};
pub use log::{
    BadRow, DeviceId, EntryKind, ExamClock, ExamId, LogEntry, NewEntry, Problem, RecoveredExam,
    StoredEntry, VerifyReport,
};
pub use sync::{SyncError, SyncReport};

/// How long a connection waits for a lock held by another connection.
pub const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// A database URL whose password never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wrap a URL.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(url.into())
    }

    /// The URL with its password, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replace the password in `scheme://user:password@host/...` (and any
/// `password=` query parameter) with `***`.
fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|kv| {
                if kv.to_ascii_lowercase().starts_with("password=") {
                    "password=***".to_string()
                } else {
                    kv.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{base}{query}");
    }
    out
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file on the kiosk.
    Sqlite,
    /// The central PostgreSQL.
    Postgres,
}

/// Why the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The URL names no backend this store knows.
    #[error("database URL {url} must start with `sqlite:` or `postgres://`")]
    UnsupportedUrl {
        /// The URL, password redacted.
        url: String,
    },
    /// The URL could not be parsed.
    #[error("database URL {url} is invalid: {reason}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// An `sslmode` that may silently fall back to plaintext.
    #[error(
        "database URL {url} asks for sslmode={mode}, which may silently fall back to plaintext; \
         use sslmode=verify-full (or verify-ca, require; disable only for a local server)"
    )]
    InsecureSslMode {
        /// The URL, password redacted.
        url: String,
        /// The refused mode.
        mode: String,
    },
    /// Connecting failed.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Creating the directory of the SQLite file failed.
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Applying migrations failed.
    #[error("cannot apply {backend:?} migrations: {source}")]
    Migrate {
        /// Which migration set.
        backend: Backend,
        /// The migrator's error.
        #[source]
        source: MigrateError,
    },
    /// A statement failed.
    #[error("database error while {op}: {source}")]
    Database {
        /// What the store was doing.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A stored row could not be read back.
    #[error("stored row {row} is unreadable: {reason}")]
    Corrupt {
        /// Which row (event id or device/seq).
        row: String,
        /// What was wrong.
        reason: String,
    },
    /// A payload could not be turned into JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The request itself was wrong (empty device id, unknown exam...).
    #[error("{0}")]
    Invalid(String),
    /// TLS settings that do not verify the server of a remote database.
    #[error("database URL {url} is refused: {reason}")]
    InsecureTls {
        /// The URL, password redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// The key folder could not be used.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// The SQLite file cannot be read: it is encrypted and no key (or another
    /// kiosk's key) was given.
    #[error(
        "{path} cannot be read: {}",
        if *with_key {
            "the kiosk's database key does not open it (is this another kiosk's key folder?)"
        } else {
            "it is encrypted; open it with the kiosk's key folder (database.key_dir)"
        }
    )]
    CannotDecrypt {
        /// The database file.
        path: String,
        /// Whether a key was given.
        with_key: bool,
    },
    /// The database was migrated by a newer cmr-kiosk: this program refuses to open
    /// it rather than write rows a newer schema does not expect.
    #[error(
        "{path} was upgraded by a newer cmr-kiosk{} (schema {found}); this program \
         (version {program}) knows schema {known} and will not open it. Install that \
         version again, or restore a backup made before the upgrade \
         (cmr-kiosk backup list)",
        written_by.as_ref().map(|v| format!(" (version {v})")).unwrap_or_default()
    )]
    NewerDatabase {
        /// The database (file or URL, password redacted).
        path: String,
        /// The newest migration the database has.
        found: i64,
        /// The newest migration this program knows.
        known: i64,
        /// The program version that migrated it, when recorded.
        written_by: Option<String>,
        /// This program's version.
        program: String,
    },
    /// A backup could not be made, read or restored.
    #[error("backup: {0}")]
    Backup(String),
}

impl StoreError {
    /// A `map_err` helper naming the operation.
    pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { op, source }
    }
}

/// The connection pool of one backend.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run the same sqlx code against whichever pool the store holds.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.inner.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Runs `$body` inside a write transaction `$tx` and commits it, holding the store's
/// appender: one appending transaction at a time per process. On an SQLite file the
/// transaction runs on the appender's own connection, whose page cache no other
/// connection's commit empties, so an append reads (and decrypts) no pages again; on
/// PostgreSQL or an in-memory database it runs on the pool. A failure closes that
/// connection, and the next append opens it again.
macro_rules! in_write_tx {
    ($store:expr, $what:literal, |$tx:ident| $body:expr) => {{
        let mut appender = $store.appender().await;
        let outcome = match appender.conn.as_mut() {
            Some(conn) => {
                let done = $crate::store::committed!(
                    sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE"),
                    $what,
                    |$tx| $body
                );
                if done.is_err() {
                    appender.broken().await;
                }
                done
            }
            None => $crate::store::on_pool!($store, |pool| {
                $crate::store::committed!(
                    pool.begin_with($crate::store::WriteBegin::write_begin(pool)),
                    $what,
                    |$tx| $body
                )
            }),
        };
        drop(appender);
        outcome
    }};
}

/// The transaction `$begin` opens, `$body` run in it as `$tx`, committed: what
/// [`in_write_tx!`] does on either connection.
macro_rules! committed {
    ($begin:expr, $what:literal, |$tx:ident| $body:expr) => {
        async {
            let mut $tx = $begin.await.map_err($crate::store::StoreError::db($what))?;
            let out = $body;
            $tx.commit()
                .await
                .map_err($crate::store::StoreError::db($what))?;
            Ok::<_, $crate::store::StoreError>(out)
        }
        .await
    };
}
pub(crate) use committed;
pub(crate) use in_write_tx;

/// The connection appending transactions run on (SQLite files), and how to open it
/// again after a failure.
pub(crate) struct Appender {
    /// The open connection (`None`: the pool is used, or the last one failed).
    pub(crate) conn: Option<SqliteConnection>,
    /// How to open it (`None`: PostgreSQL or an in-memory database, on the pool).
    options: Option<SqliteConnectOptions>,
}

impl Appender {
    /// Appending transactions on the pool.
    pub(crate) fn on_pool() -> Appender {
        Appender {
            conn: None,
            options: None,
        }
    }

    /// Closes a connection that failed; the next append opens a new one.
    pub(crate) async fn broken(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = sqlx::Connection::close(conn).await;
        }
    }
}

/// How each backend starts a transaction that reads and then writes. SQLite needs
/// `BEGIN IMMEDIATE`: a deferred transaction that reads first and then writes fails
/// at once with "database is locked" (no busy wait) when another connection — the
/// relay recording its mark, say — committed in between.
pub(crate) trait WriteBegin {
    /// The statement that opens such a transaction.
    fn write_begin(&self) -> &'static str;
}

impl WriteBegin for SqlitePool {
    fn write_begin(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }
}

impl WriteBegin for PgPool {
    fn write_begin(&self) -> &'static str {
        "BEGIN"
    }
}

struct Inner {
    url: DatabaseUrl,
    pool: Pool,
    /// One appender at a time per process: the chain head is read and
    /// advanced in one transaction, on the appender's own connection (SQLite).
    appender: tokio::sync::Mutex<Appender>,
    /// The kiosk's keys: with them every [`checkpoint::CHECKPOINT_EVERY`]th row and
    /// every exam's end is signed, and an SQLite file is encrypted.
    keys: Option<keys::KeyRing>,
    /// Writes the newest checkpoint to the witness file off the append path.
    witness: Option<checkpoint::WitnessWriter>,
    /// Appending transactions committed through this handle (each one durable
    /// commit, however many rows it held).
    commits: std::sync::atomic::AtomicU64,
    /// Bulk reads of the log (verification, replay) on an SQLite file.
    bulk: Option<bulk::BulkReader>,
    /// What opening did to the schema: migrated forward from an older one (and the
    /// backup made first), or nothing.
    upgrade: Option<Upgrade>,
}

/// A database migrated forward when it was opened (issue 16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The newest migration before.
    pub from: i64,
    /// The newest migration after.
    pub to: i64,
    /// The backup taken before migrating (an SQLite file opened by the kiosk with a
    /// backup folder; `None` otherwise).
    pub backup: Option<std::path::PathBuf>,
}

/// The exam record store: one handle, cheap to clone, over either backend.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("url", &self.inner.url)
            .finish()
    }
}

/// The `sslmode` given in a PostgreSQL URL, if any.
fn url_ssl_mode(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        let k = k.to_ascii_lowercase();
        (k == "sslmode" || k == "ssl-mode").then(|| v.to_ascii_lowercase())
    })
}

/// Whether a PostgreSQL host is this machine (loopback or a Unix socket).
fn is_local_host(host: &str) -> bool {
    host == "localhost"
        || host.starts_with('/')
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a PostgreSQL URL's TLS settings are refused, if they are (pure): `prefer` and
/// `allow` always (they fall back to plaintext silently); `require` (encrypted but
/// the server unverified) and `disable` (plaintext) for any host that is not this
/// machine, unless `allow_unverified` — the configuration's loudly named
/// `database.insecure_allow_unverified_tls` — says so.
pub fn postgres_tls_refusal(url: &str, allow_unverified: bool) -> Option<String> {
    let mode = url_ssl_mode(url);
    if let Some(m @ ("prefer" | "allow")) = mode.as_deref() {
        return Some(format!(
            "sslmode={m} may silently fall back to plaintext; use sslmode=verify-full"
        ));
    }
    let host = PgConnectOptions::from_str(url)
        .map(|o| o.get_host().to_string())
        .unwrap_or_default();
    match mode.as_deref() {
        Some(m @ ("require" | "disable")) if !is_local_host(&host) && !allow_unverified => {
            Some(format!(
                "sslmode={m} to {host} does not verify the server ({}); use sslmode=verify-full \
                 with the hospital's CA (sslrootcert=…), or set \
                 database.insecure_allow_unverified_tls = true to accept the risk",
                if m == "require" {
                    "anyone in the path can pose as it"
                } else {
                    "exam data would travel in plaintext"
                }
            ))
        }
        _ => None,
    }
}

/// Parse and check a PostgreSQL URL's TLS settings.
///
/// `verify-full`, `verify-ca` and `require` are taken as given (the first two
/// verify the server certificate against the web PKI roots or `sslrootcert`).
/// `prefer` and `allow` are refused: they fall back to plaintext silently.
/// Without `sslmode`, a loopback host connects in plaintext and any other host
/// gets `verify-full`: a URL never silently travels unencrypted over a network.
pub fn postgres_options(url: &DatabaseUrl) -> Result<PgConnectOptions, StoreError> {
    postgres_options_with(url, false)
}

/// [`postgres_options`], with unverified TLS (`require`) or plaintext (`disable`) to
/// another machine accepted when `allow_unverified` (loudly logged at every connect).
pub fn postgres_options_with(
    url: &DatabaseUrl,
    allow_unverified: bool,
) -> Result<PgConnectOptions, StoreError> {
    // `prefer`/`allow` are refused below with their own error.
    let fallback = matches!(
        url_ssl_mode(url.expose()).as_deref(),
        Some("prefer" | "allow")
    );
    if !fallback && let Some(reason) = postgres_tls_refusal(url.expose(), allow_unverified) {
        return Err(StoreError::InsecureTls {
            url: url.redacted(),
            reason,
        });
    }
    let mut options =
        PgConnectOptions::from_str(url.expose()).map_err(|e| StoreError::InvalidUrl {
            url: url.redacted(),
            reason: redact(&e.to_string()),
        })?;
    let mode = url_ssl_mode(url.expose());
    match mode.as_deref() {
        Some("prefer") | Some("allow") => {
            return Err(StoreError::InsecureSslMode {
                url: url.redacted(),
                mode: mode.unwrap_or_default(),
            });
        }
        Some("disable") => {
            if !is_local_host(options.get_host()) {
                tracing::warn!(
                    url = %url,
                    "INSECURE (database.insecure_allow_unverified_tls): sslmode=disable, \
                     exam data travels in plaintext"
                );
            }
            options = options.ssl_mode(PgSslMode::Disable);
        }
        Some("require") => {
            if !is_local_host(options.get_host()) {
                tracing::warn!(
                    url = %url,
                    "INSECURE (database.insecure_allow_unverified_tls): sslmode=require, \
                     the server's certificate is not verified"
                );
            }
            options = options.ssl_mode(PgSslMode::Require);
        }
        Some("verify-ca") => options = options.ssl_mode(PgSslMode::VerifyCa),
        Some("verify-full") => options = options.ssl_mode(PgSslMode::VerifyFull),
        Some(other) => {
            return Err(StoreError::InvalidUrl {
                url: url.redacted(),
                reason: format!("unknown sslmode={other}"),
            });
        }
        None if is_local_host(options.get_host()) => {
            options = options.ssl_mode(PgSslMode::Disable);
        }
        None => options = options.ssl_mode(PgSslMode::VerifyFull),
    }
    Ok(options)
}

/// Parse an SQLite URL into options: file created if missing, WAL,
/// `synchronous=FULL`, foreign keys on, busy timeout.
pub fn sqlite_options(url: &DatabaseUrl) -> Result<SqliteConnectOptions, StoreError> {
    let options =
        SqliteConnectOptions::from_str(url.expose()).map_err(|e| StoreError::InvalidUrl {
            url: url.redacted(),
            reason: e.to_string(),
        })?;
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // The WAL is copied back into the database by a passive checkpoint the store
        // runs beside the appends every `WAL_CHECKPOINT_EVERY` commits, not inside a
        // commit (SQLite's automatic checkpoint, at its default 1000 pages, costs the
        // commit that crosses it a sync of the whole database). The automatic one is
        // kept, far out, for a WAL that never goes quiet enough to start over.
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string()))
}

/// SQLite's own checkpoint runs inside the commit that takes the WAL past this many
/// pages (40 MB): only when the passive checkpoints beside the appends cannot keep up
/// (a WAL starts over only when a commit finds it wholly copied back).
pub const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// An SQLite store runs a passive WAL checkpoint, beside the appends, after this many
/// appending commits (each commit writes a handful of pages: the WAL stays under two
/// megabytes).
pub const WAL_CHECKPOINT_EVERY: u64 = 64;

impl Store {
    /// Open the store named by `url` and apply its migrations.
    ///
    /// `sqlite:/var/lib/cmr-kiosk/exams.db` (created with its directory if
    /// missing) or `postgres://user:password@host/db?sslmode=verify-full`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Self::open_with_keys(url, None).await
    }

    /// Open the kiosk's own database as configured, with its keys (the key folder is
    /// created on first use, owner-only; one open to others is refused).
    /// A database an older program wrote is backed up into
    /// [`crate::config::Database::backup_dir`] before it is migrated forward; one a
    /// newer program migrated is refused ([`StoreError::NewerDatabase`]).
    pub async fn open_kiosk(db: &crate::config::Database) -> Result<Store, StoreError> {
        let keys = keys::KeyRing::open(&db.effective_key_dir(), keys::Create::IfMissing)?;
        Self::open_inner(
            &db.effective_url(),
            Some(keys),
            false,
            Some(&db.backup_dir()),
        )
        .await
    }

    /// Open a store: as [`Store::open`], and with `keys` every
    /// [`checkpoint::CHECKPOINT_EVERY`]th row and every exam's end is signed.
    pub async fn open_with_keys(
        url: &str,
        keys: Option<keys::KeyRing>,
    ) -> Result<Store, StoreError> {
        Self::open_inner(url, keys, false, None).await
    }

    /// [`Store::open_with_keys`], and a database an older program wrote is backed up
    /// into `backup_dir` before it is migrated forward (what the kiosk's recorder
    /// does at start).
    pub async fn open_upgrading(
        url: &str,
        keys: keys::KeyRing,
        backup_dir: &std::path::Path,
    ) -> Result<Store, StoreError> {
        Self::open_inner(url, Some(keys), false, Some(backup_dir)).await
    }

    /// Open the central PostgreSQL database: as [`Store::open`], with unverified TLS
    /// or plaintext to another machine accepted only when `allow_unverified`
    /// (`database.insecure_allow_unverified_tls`).
    pub async fn open_central(url: &str, allow_unverified: bool) -> Result<Store, StoreError> {
        Self::open_inner(url, None, allow_unverified, None).await
    }

    /// What opening did to the schema (`None`: it was current, or new).
    pub fn upgrade(&self) -> Option<&Upgrade> {
        self.inner.upgrade.as_ref()
    }

    async fn open_inner(
        url: &str,
        keys: Option<keys::KeyRing>,
        allow_unverified: bool,
        upgrade_backups: Option<&std::path::Path>,
    ) -> Result<Store, StoreError> {
        let mut upgrade = None;
        let url = DatabaseUrl::new(url);
        let lower = url.expose().to_ascii_lowercase();
        let mut bulk = None;
        let mut appender = Appender::on_pool();
        let pool = if lower.starts_with("sqlite:") {
            let mut options = sqlite_options(&url)?;
            let file = options.get_filename().to_path_buf();
            if let Some(dir) = file.parent()
                && !dir.as_os_str().is_empty()
                && !dir.exists()
            {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            if let Some(keys) = &keys {
                encrypt::prepare(&file, keys).await?;
                options = options.pragma("key", keys.database_key_pragma());
            }
            let encrypted = keys.is_some();
            let not_a_database = |e: &sqlx::Error| {
                e.as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "26")
            };
            let refused = |source: sqlx::Error| {
                if not_a_database(&source) {
                    StoreError::CannotDecrypt {
                        path: file.display().to_string(),
                        with_key: encrypted,
                    }
                } else {
                    StoreError::Connect {
                        url: url.redacted(),
                        source,
                    }
                }
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.clone())
                .await
                .map_err(refused)?;
            let state = match schema::inspect_sqlite(&pool).await {
                Err(StoreError::Database { source, .. }) if not_a_database(&source) => {
                    return Err(StoreError::CannotDecrypt {
                        path: file.display().to_string(),
                        with_key: encrypted,
                    });
                }
                other => other?,
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
            if state.is_upgrade() {
                let from = state.newest_applied().unwrap_or(0);
                let backup = match upgrade_backups {
                    Some(dir) => Some(
                        backup::snapshot(
                            &pool,
                            dir,
                            backup::BackupReason::PreUpgrade,
                            chrono::Utc::now(),
                        )
                        .await?,
                    ),
                    None => None,
                };
                upgrade = Some(Upgrade {
                    from,
                    to: state.newest_known(),
                    backup,
                });
            }
            schema::SQLITE
                .run(&pool)
                .await
                .map_err(|source| match source {
                    MigrateError::Execute(e) if not_a_database(&e) => StoreError::CannotDecrypt {
                        path: file.display().to_string(),
                        with_key: encrypted,
                    },
                    source => StoreError::Migrate {
                        backend: Backend::Sqlite,
                        source,
                    },
                })?;
            let in_memory = file.as_os_str() == ":memory:" || lower.contains("mode=memory");
            if !in_memory {
                // Opened at the first append.
                appender.options = Some(options.clone());
                let key = keys.as_ref().map(|k| k.database_key_pragma());
                match bulk::BulkReader::open(&file, key.as_deref()) {
                    Ok(b) => bulk = Some(b),
                    // Read through the pool instead (slower, same rows).
                    Err(e) => tracing::warn!("no bulk reader for the log: {e}"),
                }
            }
            Pool::Sqlite(pool)
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let options = postgres_options_with(&url, allow_unverified)?;
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(StdDuration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(|source| StoreError::Connect {
                    url: url.redacted(),
                    source,
                })?;
            schema::POSTGRES
                .run(&pool)
                .await
                .map_err(|source| match source {
                    MigrateError::VersionMissing(found) => StoreError::NewerDatabase {
                        path: url.redacted(),
                        found,
                        known: schema::known(&schema::POSTGRES)
                            .last()
                            .copied()
                            .unwrap_or(0),
                        written_by: None,
                        program: env!("CARGO_PKG_VERSION").to_string(),
                    },
                    source => StoreError::Migrate {
                        backend: Backend::Postgres,
                        source,
                    },
                })?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl {
                url: url.redacted(),
            });
        };
        let witness =
            keys.as_ref()
                .and_then(|k| match checkpoint::WitnessWriter::start(k.clone()) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        // Written on the append path instead.
                        tracing::warn!("no witness writer thread: {e}");
                        None
                    }
                });
        Store {
            inner: Arc::new(Inner {
                url,
                pool,
                appender: tokio::sync::Mutex::new(appender),
                keys,
                witness,
                commits: std::sync::atomic::AtomicU64::new(0),
                bulk,
                upgrade,
            }),
        }
        .recorded_version()
        .await
    }

    /// Records this program's version and the schema it left the database at
    /// (`program_versions`), once per version.
    async fn recorded_version(self) -> Result<Store, StoreError> {
        let schema = match self.inner.pool {
            Pool::Sqlite(_) => schema::known(&schema::SQLITE),
            Pool::Postgres(_) => schema::known(&schema::POSTGRES),
        }
        .last()
        .copied()
        .unwrap_or(0);
        let version = env!("CARGO_PKG_VERSION");
        let now = chrono::Utc::now();
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO program_versions (version, schema_version, first_opened) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(version)
            .bind(schema)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(StoreError::db("recording the program version"))
        })?;
        Ok(self)
    }

    /// The kiosk's keys, when the store was opened with them.
    pub fn keys(&self) -> Option<&keys::KeyRing> {
        self.inner.keys.as_ref()
    }

    /// Appending transactions this handle has committed (rows that arrived together
    /// share one).
    pub fn commits(&self) -> u64 {
        self.inner
            .commits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts one committed appending transaction; every
    /// [`WAL_CHECKPOINT_EVERY`]th starts a passive WAL checkpoint on another
    /// connection, not awaited (the append returns as soon as its row is durable).
    pub(crate) fn count_commit(&self) {
        let n = self
            .inner
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if n.is_multiple_of(WAL_CHECKPOINT_EVERY)
            && let Pool::Sqlite(pool) = &self.inner.pool
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let pool = pool.clone();
            rt.spawn(async move {
                // PASSIVE never waits for readers or writers; what it cannot copy
                // now, the next one copies.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!("WAL checkpoint: {e}");
                }
            });
        }
    }

    /// Waits until the newest checkpoint is in the witness file (it is written off
    /// the append path; `close` waits too).
    pub fn flush_witness(&self) {
        if let Some(w) = &self.inner.witness {
            w.flush();
        }
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.inner.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL, password redacted.
    pub fn url(&self) -> &DatabaseUrl {
        &self.inner.url
    }

    /// SQLite's `PRAGMA integrity_check` (`"ok"` when healthy); PostgreSQL has
    /// no equivalent and answers `"ok"` once a query succeeds.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        match &self.inner.pool {
            Pool::Sqlite(pool) => {
                let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
                    .fetch_all(pool)
                    .await
                    .map_err(StoreError::db("running integrity_check"))?;
                Ok(rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n"))
            }
            Pool::Postgres(pool) => {
                sqlx::query("SELECT 1")
                    .execute(pool)
                    .await
                    .map_err(StoreError::db("checking the connection"))?;
                Ok("ok".to_string())
            }
        }
    }

    /// Close every connection (waits for running statements). A command-line run
    /// closes its store before it exits: a process that exits with SQLCipher
    /// connections still open on their threads can crash in the library teardown.
    pub async fn close(&self) {
        {
            let mut a = self.inner.appender.lock().await;
            a.options = None;
            if let Some(conn) = a.conn.take() {
                let _ = sqlx::Connection::close(conn).await;
            }
        }
        self.flush_witness();
        if let Some(b) = &self.inner.bulk {
            b.close();
        }
        match &self.inner.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// SQLite's `(journal_mode, synchronous, foreign_keys)` as a connection of
    /// the pool sees them (`("wal", 2, 1)` expected); `None` on PostgreSQL.
    pub async fn sqlite_settings(&self) -> Result<Option<(String, i64, i64)>, StoreError> {
        let Pool::Sqlite(pool) = &self.inner.pool else {
            return Ok(None);
        };
        let mut conn = pool
            .acquire()
            .await
            .map_err(StoreError::db("reading SQLite settings"))?;
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::db("reading journal_mode"))?;
        let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::db("reading synchronous"))?;
        let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::db("reading foreign_keys"))?;
        Ok(Some((mode, sync, fk)))
    }

    /// The appender, locked; its connection opened again if the last one failed.
    pub(crate) async fn appender(&self) -> tokio::sync::MutexGuard<'_, Appender> {
        let mut a = self.inner.appender.lock().await;
        if a.conn.is_none()
            && let Some(options) = &a.options
        {
            match sqlx::ConnectOptions::connect(options).await {
                Ok(conn) => a.conn = Some(conn),
                // On the pool until it opens.
                Err(e) => tracing::warn!("the appender's connection did not open: {e}"),
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_redacted_from_debug_and_display() {
        let url = DatabaseUrl::new("postgres://cmr:s3cret@db.example/cmr?sslmode=verify-full");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!url.to_string().contains("s3cret"));
        assert_eq!(
            url.redacted(),
            "postgres://cmr:***@db.example/cmr?sslmode=verify-full"
        );
        let q = DatabaseUrl::new("postgres://db/cmr?user=a&password=s3cret");
        assert!(!q.redacted().contains("s3cret"));
    }

    #[test]
    fn prefer_and_allow_are_refused() {
        for mode in ["prefer", "allow", "PREFER"] {
            let url = DatabaseUrl::new(format!("postgres://u:p@db.example/cmr?sslmode={mode}"));
            let err = postgres_options(&url).unwrap_err();
            assert!(matches!(err, StoreError::InsecureSslMode { .. }), "{err}");
            assert!(!err.to_string().contains(":p@"));
        }
    }

    #[test]
    fn verify_full_is_kept_and_remote_default_verifies() {
        let url = DatabaseUrl::new("postgres://u:p@db.example/cmr?sslmode=verify-full");
        assert!(matches!(
            postgres_options(&url).unwrap().get_ssl_mode(),
            PgSslMode::VerifyFull
        ));
        let url = DatabaseUrl::new("postgres://u:p@db.example/cmr");
        assert!(matches!(
            postgres_options(&url).unwrap().get_ssl_mode(),
            PgSslMode::VerifyFull
        ));
        let url = DatabaseUrl::new("postgres://u:p@127.0.0.1:5432/cmr");
        assert!(matches!(
            postgres_options(&url).unwrap().get_ssl_mode(),
            PgSslMode::Disable
        ));
    }

    /// An SQLite file's appends run on the appender's own connection: they go on
    /// while every connection of the pool is taken (a long report, say), and after
    /// that connection fails the next append opens a new one (issue 22).
    #[test]
    fn issue_22_appends_do_not_wait_for_the_pool_and_reopen_after_a_failure() {
        use crate::store::log::{EntryKind, NewEntry};
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let keys =
                keys::KeyRing::open(&dir.path().join("keys"), keys::Create::IfMissing).unwrap();
            let url = format!("sqlite://{}", dir.path().join("k.db").display());
            let store = Store::open_with_keys(&url, Some(keys)).await.unwrap();
            let device = DeviceId::new("appender-test").unwrap();
            let wall = chrono::Utc::now();
            let entry = |i: u64| {
                NewEntry::new(
                    None,
                    EntryKind::Audit,
                    "test",
                    crate::domain::Instant::from_millis(i),
                    wall,
                    &serde_json::json!({ "i": i }),
                )
                .unwrap()
            };
            let Pool::Sqlite(pool) = &store.inner.pool else {
                panic!("an SQLite store");
            };
            let mut held = Vec::new();
            for _ in 0..pool.options().get_max_connections() {
                held.push(pool.acquire().await.unwrap());
            }
            for i in 0..5 {
                tokio::time::timeout(StdDuration::from_secs(5), store.append(&device, &entry(i)))
                    .await
                    .expect("an append does not wait for the pool")
                    .unwrap();
            }
            drop(held);
            assert!(store.inner.appender.lock().await.conn.is_some());
            store.inner.appender.lock().await.broken().await;
            assert!(store.inner.appender.lock().await.conn.is_none());
            store.append(&device, &entry(5)).await.unwrap();
            assert!(
                store.inner.appender.lock().await.conn.is_some(),
                "opened again"
            );
            assert_eq!(store.commits(), 6);
            assert!(store.verify(None).await.unwrap().is_ok());
            store.close().await;
            assert!(store.inner.appender.lock().await.conn.is_none(), "closed");
        });
    }
}
