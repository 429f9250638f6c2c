//! The SQLite file at rest (clause 5.3.3): encrypted with SQLCipher under the
//! kiosk's database key, readable by its owner only.
//!
//! Before the kiosk opens its database: a missing file is created empty with
//! mode 0600 (SQLite gives the WAL and shared-memory files the database file's
//! mode); an existing file is made owner-only; a file still in plain SQLite
//! format (written before encryption) is encrypted in place — exported into an
//! encrypted copy with `sqlcipher_export`, which then replaces it.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::StoreError;
use super::keys::KeyRing;

/// The first 16 bytes of a plain (unencrypted) SQLite file.
pub const PLAIN_SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::CreateDir {
        path: path.display().to_string(),
        source,
    }
}

/// Make `file` ready to be opened with `keys`: created owner-only when missing,
/// made owner-only, encrypted in place when it is a plain SQLite file.
pub(super) async fn prepare(file: &Path, keys: &KeyRing) -> Result<(), StoreError> {
    if !file.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(file)
            .map_err(|e| io(file, e))?;
        return Ok(());
    }
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io(file, e))?;
    let mut head = [0u8; 16];
    let plain = {
        use std::io::Read;
        let mut f = std::fs::File::open(file).map_err(|e| io(file, e))?;
        f.read_exact(&mut head).is_ok() && &head == PLAIN_SQLITE_HEADER
    };
    if plain {
        encrypt_in_place(file, keys).await?;
    }
    Ok(())
}

async fn encrypt_in_place(file: &Path, keys: &KeyRing) -> Result<(), StoreError> {
    let db = |op| StoreError::db(op);
    let tmp = file.with_extension("encrypting");
    let _ = std::fs::remove_file(&tmp);
    // Created empty and owner-only first: the connection may not create files.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    let mut plain = SqliteConnectOptions::new()
        .filename(file)
        .connect()
        .await
        .map_err(db("opening the plain database to encrypt it"))?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut plain)
        .await
        .map_err(db("checkpointing the plain database"))?;
    let path = tmp.display().to_string().replace('\'', "''");
    // The path is quoted above and the key is hex digits: nothing else is spliced in.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ATTACH DATABASE '{path}' AS encrypted KEY {}",
        keys.database_key_pragma()
    )))
    .execute(&mut plain)
    .await
    .map_err(db("creating the encrypted copy"))?;
    sqlx::query("SELECT sqlcipher_export('encrypted')")
        .execute(&mut plain)
        .await
        .map_err(db("encrypting the database"))?;
    sqlx::query("DETACH DATABASE encrypted")
        .execute(&mut plain)
        .await
        .map_err(db("closing the encrypted copy"))?;
    plain
        .close()
        .await
        .map_err(db("closing the plain database"))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, file).map_err(|e| io(file, e))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = file.as_os_str().to_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    tracing::info!(file = %file.display(), "the exam database was encrypted in place");
    Ok(())
}
