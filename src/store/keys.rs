//! The kiosk's secrets, kept outside the database in one owner-only folder.
//!
//! * `signing.key`: the kiosk's Ed25519 signing key (a 32-byte seed, hex). It
//!   signs the log's checkpoints ([`super::checkpoint`]); whoever holds it can
//!   sign a rewritten log, so it never leaves the kiosk.
//! * `pin-pepper`: 32 random bytes mixed into every PIN hash (Argon2's secret
//!   input) and keying the accounts table's row MACs: a stolen database alone
//!   gives an offline attacker nothing to test PINs against.
//! * `database.key`: the SQLite database's encryption key (SQLCipher).
//! * `witness.json`: the newest signed checkpoint of this kiosk's chain, so a
//!   database rolled back to an older copy, or emptied, is noticed.
//!
//! Every file is created at first start with mode 0600 in a folder of mode
//! 0700; a key file or folder that group or others may read is refused
//! ([`KeyError::TooOpen`]) and the kiosk does not start. Losing the folder
//! loses the database (it cannot be decrypted) and every PIN (they must be set
//! again): back it up apart from the database (README, "Keys").

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use ed25519_dalek::{SigningKey, VerifyingKey};
use thiserror::Error;

/// The signing key's file name in the key folder.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// The PIN pepper's file name.
pub const PEPPER_FILE: &str = "pin-pepper";
/// The database key's file name.
pub const DATABASE_KEY_FILE: &str = "database.key";
/// The witness's file name (the newest signed checkpoint).
pub const WITNESS_FILE: &str = "witness.json";
/// Largest key or witness file read (bytes): anything bigger is not ours.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
/// Permission bits a key file or the key folder must not have (group, others).
pub const FORBIDDEN_MODE_BITS: u32 = 0o077;

/// Why the key folder could not be used.
#[derive(Debug, Error)]
pub enum KeyError {
    /// Group or others may read or write a key file or the folder.
    #[error(
        "{path} has mode {mode:o}: key files must be readable by their owner only \
         (chmod 600 for files, 700 for the folder); the kiosk does not start"
    )]
    TooOpen {
        /// The file or folder.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file is not what this kiosk wrote.
    #[error("{path} is not a valid key file: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A key file is missing and may not be created here.
    #[error("{path} is missing: restore the key folder from its backup (README, \"Keys\")")]
    Missing {
        /// The file.
        path: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The kiosk's keys, read from (or first created in) the key folder.
#[derive(Clone)]
pub struct KeyRing {
    dir: PathBuf,
    signing: SigningKey,
    pepper: [u8; 32],
    database: [u8; 32],
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

/// How [`KeyRing::open`] treats missing files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Create the folder and any missing key (the kiosk's first start).
    IfMissing,
    /// Every key must exist already (tools run on an existing database).
    Never,
}

impl KeyRing {
    /// The key folder that goes with an SQLite database file: `<file>.keys`
    /// beside it (the configured `database.key_dir` wins when set).
    pub fn folder_for(database_file: &Path) -> PathBuf {
        let mut name = database_file.as_os_str().to_os_string();
        name.push(".keys");
        PathBuf::from(name)
    }

    /// Open the key folder `dir`, creating what is missing when `create` allows.
    pub fn open(dir: &Path, create: Create) -> Result<KeyRing, KeyError> {
        if !dir.exists() {
            if create == Create::Never {
                return Err(KeyError::Missing {
                    path: dir.display().to_string(),
                });
            }
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        }
        check_mode(dir)?;
        // Keys are created together or not at all: in a folder that holds some of
        // them, a missing one was lost (restore it), never silently replaced — a new
        // pepper would void every PIN, a new database key would not open the file.
        let create = if [SIGNING_KEY_FILE, PEPPER_FILE, DATABASE_KEY_FILE]
            .iter()
            .any(|f| dir.join(f).exists())
        {
            Create::Never
        } else {
            create
        };
        let signing = SigningKey::from_bytes(&secret(&dir.join(SIGNING_KEY_FILE), create)?);
        let pepper = secret(&dir.join(PEPPER_FILE), create)?;
        let database = secret(&dir.join(DATABASE_KEY_FILE), create)?;
        Ok(KeyRing {
            dir: dir.to_path_buf(),
            signing,
            pepper,
            database,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The public half of the signing key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key, hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.verifying_key().as_bytes())
    }

    /// The PIN pepper.
    pub fn pepper(&self) -> &[u8; 32] {
        &self.pepper
    }

    /// The database key as SQLCipher's raw-key literal (`"x'…'"`).
    pub fn database_key_pragma(&self) -> String {
        format!("\"x'{}'\"", hex::encode(self.database))
    }

    /// The witness file's path.
    pub fn witness_path(&self) -> PathBuf {
        self.dir.join(WITNESS_FILE)
    }

    /// Write `text` as the witness: a temporary file, synced, renamed over the
    /// old one (a crash leaves the old or the new witness, never half of one).
    pub fn write_witness(&self, text: &str) -> Result<(), KeyError> {
        let path = self.witness_path();
        let tmp = self.dir.join(format!("{WITNESS_FILE}.tmp"));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The witness's text, if one was written.
    pub fn read_witness(&self) -> Result<Option<String>, KeyError> {
        let path = self.witness_path();
        if !path.exists() {
            return Ok(None);
        }
        check_mode(&path)?;
        read_bounded(&path).map(Some)
    }
}

fn check_mode(path: &Path) -> Result<(), KeyError> {
    let mode = fs::metadata(path).map_err(io(path))?.permissions().mode() & 0o777;
    if mode & FORBIDDEN_MODE_BITS != 0 {
        return Err(KeyError::TooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

fn read_bounded(path: &Path) -> Result<String, KeyError> {
    let len = fs::metadata(path).map_err(io(path))?.len();
    if len > MAX_KEY_FILE_BYTES {
        return Err(KeyError::Invalid {
            path: path.display().to_string(),
            reason: format!("{len} bytes (at most {MAX_KEY_FILE_BYTES})"),
        });
    }
    fs::read_to_string(path).map_err(io(path))
}

/// A 32-byte secret from `path` (hex), created with fresh random bytes when
/// missing and `create` allows.
fn secret(path: &Path, create: Create) -> Result<[u8; 32], KeyError> {
    if !path.exists() {
        if create == Create::Never {
            return Err(KeyError::Missing {
                path: path.display().to_string(),
            });
        }
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?;
        f.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
            .map_err(io(path))?;
        f.sync_all().map_err(io(path))?;
        return Ok(bytes);
    }
    check_mode(path)?;
    let text = read_bounded(path)?;
    let invalid = |reason: String| KeyError::Invalid {
        path: path.display().to_string(),
        reason,
    };
    let bytes = hex::decode(text.trim()).map_err(|e| invalid(e.to_string()))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| invalid(format!("{} bytes, expected 32", b.len())))
}
