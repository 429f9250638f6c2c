//! The record at rest (clause 5.3.3): the key folder is owner-only and refused
//! otherwise; the SQLite file is encrypted (no patient name on disk), refuses to
//! open without the kiosk's key with a clear message, and works as before with it;
//! a plain file from before encryption is encrypted in place.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chrono::Utc;
use cmr_kiosk::config::Database;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::store::keys::{Create, KeyError, KeyRing};
use cmr_kiosk::store::{DeviceId, EntryKind, NewEntry, Store, StoreError};

const NAME: &str = "Wang Xiaoming";
const NAME_ZH: &str = "王小明";

fn db_in(dir: &Path) -> Database {
    Database {
        url: format!("sqlite://{}", dir.join("kiosk.db").display()),
        device_id: "at-rest".into(),
        ..Default::default()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Registers a patient the way the kiosk does: the exam's opening row carries
/// the registration record.
async fn register(store: &Store) {
    let device = DeviceId::new("at-rest").unwrap();
    let entry = NewEntry::new(
        Some(cmr_kiosk::store::ExamId::new()),
        EntryKind::ExamOpened,
        "nurse",
        Instant::ZERO,
        Utc::now(),
        &serde_json::json!({"patient": {"name": NAME, "name_zh": NAME_ZH, "id": "P0012345"}}),
    )
    .unwrap();
    store.append(&device, &entry).await.unwrap();
}

fn bytes_on_disk(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            all.extend(std::fs::read(p).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn clause_5_3_3_the_database_file_holds_no_plaintext_patient_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let store = Store::open_kiosk(&db).await.unwrap();
    register(&store).await;
    // Written through to the file (and its WAL) before looking at the bytes.
    assert_eq!(store.count_events(None).await.unwrap(), 1);
    let disk = bytes_on_disk(dir.path());
    assert!(disk.len() > 4096, "the database was written");
    assert!(
        !contains(&disk, NAME.as_bytes()),
        "the name in clear on disk"
    );
    assert!(
        !contains(&disk, NAME_ZH.as_bytes()),
        "the Chinese name in clear"
    );
    assert!(!contains(&disk, b"P0012345"), "the patient id in clear");
    assert!(
        !contains(&disk, b"SQLite format 3"),
        "a plain SQLite header"
    );
    // Owner-only: the database, its WAL and the key folder.
    assert_eq!(mode(&dir.path().join("kiosk.db")), 0o600);
    let wal = dir.path().join("kiosk.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    let keys = db.effective_key_dir();
    assert_eq!(mode(&keys), 0o700);
    for f in ["signing.key", "pin-pepper", "database.key"] {
        assert_eq!(mode(&keys.join(f)), 0o600, "{f}");
    }
    drop(store);

    // Without the key: refused, with a sentence that says why.
    let err = Store::open(&db.effective_url()).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::CannotDecrypt {
                with_key: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("encrypted"), "{err}");
    // With another kiosk's keys: refused too.
    let other = tempfile::tempdir().unwrap();
    let foreign = KeyRing::open(&other.path().join("keys"), Create::IfMissing).unwrap();
    let err = Store::open_with_keys(&db.effective_url(), Some(foreign))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CannotDecrypt { with_key: true, .. }),
        "{err}"
    );
    // With the kiosk's key: as before.
    let store = Store::open_kiosk(&db).await.unwrap();
    let rows = store.entries_after("at-rest", 0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].payload.contains(NAME));
    assert!(store.verify(None).await.unwrap().is_ok());
}

#[tokio::test]
async fn clause_5_3_3_a_plain_database_from_before_encryption_is_encrypted_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let plain = Store::open(&db.effective_url()).await.unwrap();
    register(&plain).await;
    drop(plain);
    assert!(contains(&bytes_on_disk(dir.path()), NAME.as_bytes()));

    let store = Store::open_kiosk(&db).await.unwrap();
    assert_eq!(store.count_events(None).await.unwrap(), 1, "rows kept");
    assert!(store.verify(None).await.unwrap().is_ok());
    drop(store);
    let disk = bytes_on_disk(dir.path());
    assert!(!contains(&disk, NAME.as_bytes()), "still in clear");
    assert!(!contains(&disk, b"SQLite format 3"));
}

#[test]
fn clause_5_3_3_a_key_folder_others_may_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("keys");
    KeyRing::open(&folder, Create::IfMissing).unwrap();
    // A world-readable key file.
    std::fs::set_permissions(
        folder.join("signing.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let err = KeyRing::open(&folder, Create::IfMissing).unwrap_err();
    assert!(
        matches!(err, KeyError::TooOpen { mode: 0o644, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("owner only"), "{err}");
    // The kiosk's recorder (and so the kiosk) does not start on it.
    let db = Database {
        url: format!("sqlite://{}", dir.path().join("kiosk.db").display()),
        device_id: "at-rest".into(),
        key_dir: folder.display().to_string(),
        ..Default::default()
    };
    assert!(cmr_kiosk::engine::recorder::Recorder::start(&db, |_| {}).is_err());
    // A folder others may enter is refused too.
    std::fs::set_permissions(
        folder.join("signing.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(matches!(
        KeyRing::open(&folder, Create::IfMissing),
        Err(KeyError::TooOpen { .. })
    ));
    // A lost key is never silently replaced (a new pepper would void every PIN).
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_file(folder.join("pin-pepper")).unwrap();
    for create in [Create::IfMissing, Create::Never] {
        assert!(matches!(
            KeyRing::open(&folder, create),
            Err(KeyError::Missing { .. })
        ));
    }
}

/// A key file larger than any key the kiosk writes is refused, not read
/// (`MAX_KEY_FILE_BYTES`).
#[test]
fn clause_5_3_3_an_oversized_key_file_is_refused() {
    use cmr_kiosk::store::keys::MAX_KEY_FILE_BYTES;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("keys");
    KeyRing::open(&folder, Create::IfMissing).unwrap();
    let key = folder.join("signing.key");
    std::fs::write(&key, "0".repeat(MAX_KEY_FILE_BYTES as usize + 1)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = KeyRing::open(&folder, Create::Never).unwrap_err();
    assert!(matches!(err, KeyError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("at most"), "{err}");
}
