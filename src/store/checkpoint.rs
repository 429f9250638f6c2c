//! Signed checkpoints: the kiosk's signature over its chain's head.
//!
//! A checkpoint says "device D's chain had row #seq with hash H at time T",
//! signed with the kiosk's Ed25519 key ([`super::keys`]). The kiosk signs one
//! every [`CHECKPOINT_EVERY`] rows and at every exam's end, stores it in the
//! `checkpoints` table (relayed to the central database with the rows) and
//! writes the newest to the witness file beside the key. A chain that no longer
//! holds row #seq with hash H was truncated, rolled back or rewritten, whatever
//! `log_head` says: recomputing hashes needs no key, a valid signature does.
//!
//! What this does not protect against: an attacker who holds the signing key
//! (a copy of the key folder) can sign a rewritten chain; rows written after
//! the newest checkpoint that has left the kiosk (central copy) can be removed
//! or changed together with the local checkpoints and witness by someone with
//! write access to both the database and the key folder.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::keys::KeyRing;

/// Rows between two checkpoints of one chain.
pub const CHECKPOINT_EVERY: i64 = 64;

/// Where a checkpoint was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The database's `checkpoints` table.
    Local,
    /// The witness file beside the key.
    Witness,
    /// The central database.
    Central,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Local => "the database",
            Source::Witness => "the witness file",
            Source::Central => "the central database",
        })
    }
}

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Checkpoint {
    /// The device whose chain it covers.
    pub device_id: String,
    /// The row it covers.
    pub seq: i64,
    /// That row's hash (hex).
    pub hash: String,
    /// When it was signed (a label).
    pub wall_clock: DateTime<Utc>,
    /// The signer's Ed25519 public key (hex).
    pub public_key: String,
    /// The signature over [`Checkpoint::message`] (hex).
    pub signature: String,
}

impl Checkpoint {
    /// The signed bytes: `["cmr-checkpoint-v1", device, seq, hash, wall]` as JSON.
    pub fn message(device: &str, seq: i64, hash: &str, wall: &DateTime<Utc>) -> Vec<u8> {
        serde_json::json!([
            "cmr-checkpoint-v1",
            device,
            seq,
            hash,
            wall.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        ])
        .to_string()
        .into_bytes()
    }

    /// Sign `device`'s row `seq` with hash `hash` at `wall`.
    pub fn sign(keys: &KeyRing, device: &str, seq: i64, hash: &str, wall: DateTime<Utc>) -> Self {
        use chrono::SubsecRound;
        let wall = wall.trunc_subsecs(3);
        let signature = keys
            .signing_key()
            .sign(&Self::message(device, seq, hash, &wall));
        Checkpoint {
            device_id: device.to_string(),
            seq,
            hash: hash.to_string(),
            wall_clock: wall,
            public_key: keys.public_key_hex(),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Whether the signature is valid under `key` (and the checkpoint names it).
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        if self.public_key != hex::encode(key.as_bytes()) {
            return false;
        }
        let Some(sig) = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        key.verify(
            &Self::message(&self.device_id, self.seq, &self.hash, &self.wall_clock),
            &Signature::from_bytes(&sig),
        )
        .is_ok()
    }

    /// The key it names, if that is a valid Ed25519 public key.
    pub fn named_key(&self) -> Option<VerifyingKey> {
        let bytes = <[u8; 32]>::try_from(hex::decode(&self.public_key).ok()?).ok()?;
        VerifyingKey::from_bytes(&bytes).ok()
    }
}

/// The witness file's content: the newest checkpoint per device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witness {
    /// Newest checkpoint per device.
    pub newest: BTreeMap<String, Checkpoint>,
}

impl Witness {
    /// Read the witness beside `keys` (empty if none was written yet; an
    /// unreadable witness is an error, never silently empty).
    pub fn read(keys: &KeyRing) -> Result<Witness, super::keys::KeyError> {
        match keys.read_witness()? {
            None => Ok(Witness::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| super::keys::KeyError::Invalid {
                path: keys.witness_path().display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Record `cp` if it is newer than what the witness holds for its device.
    pub fn record(keys: &KeyRing, cp: &Checkpoint) -> Result<(), super::keys::KeyError> {
        let mut w = Witness::read(keys).unwrap_or_default();
        if w.newest
            .get(&cp.device_id)
            .is_some_and(|old| old.seq >= cp.seq)
        {
            return Ok(());
        }
        w.newest.insert(cp.device_id.clone(), cp.clone());
        let text = serde_json::to_string_pretty(&w).unwrap_or_default();
        keys.write_witness(&text)
    }
}

/// Keys a verifier trusts, per device, and checkpoints found outside the
/// database being verified (the witness file, the central copy).
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Public keys per device (this kiosk's own, from its key folder).
    pub keys: BTreeMap<String, VerifyingKey>,
    /// Checkpoints from elsewhere, with where each was found.
    pub outside: Vec<(Source, Checkpoint)>,
    /// Whether every [`CHECKPOINT_EVERY`]th row of a trusted device's chain must
    /// have its checkpoint in the store verified (true on the kiosk itself, which
    /// signs them in the row's own transaction; a relayed copy may lag).
    pub require_every: bool,
    /// Whether the accounts table is checked against the account changes in the
    /// log (on the kiosk; the central copy holds no accounts table).
    pub accounts: bool,
    /// Verify only these chains (all when `None`): a central copy holds every
    /// kiosk's chains and a kiosk answers for its own.
    pub only: Option<Vec<String>>,
}

impl Trust {
    /// Trust this kiosk's key for `device` and take its witness.
    pub fn of_kiosk(keys: &KeyRing, device: &str) -> Result<Trust, super::keys::KeyError> {
        let witness = Witness::read(keys)?;
        Ok(Trust {
            keys: BTreeMap::from([(device.to_string(), keys.verifying_key())]),
            outside: witness
                .newest
                .into_values()
                .map(|c| (Source::Witness, c))
                .collect(),
            require_every: true,
            accounts: true,
            only: None,
        })
    }
}

/// Writes the witness file off the append path: an append commits its row (and its
/// checkpoint, in the same transaction) and returns; the newest checkpoint is then
/// written to the witness by this writer's thread. Writing the witness takes two
/// file-system syncs (the file, then its folder), which on the append path cost every
/// 64th row its own latency. The witness may lag the database by the checkpoint being
/// written — it then records an older row, never a row the database lacks, so a lag
/// is never taken for a truncated log. [`WitnessWriter::flush`] waits for it (the
/// store's `close` does).
#[derive(Debug)]
pub struct WitnessWriter {
    shared: std::sync::Arc<(std::sync::Mutex<WitnessQueue>, std::sync::Condvar)>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct WitnessQueue {
    /// The newest checkpoint per device not yet written.
    pending: BTreeMap<String, Checkpoint>,
    /// A write in progress.
    writing: bool,
    stop: bool,
}

impl WitnessWriter {
    /// Starts the writer for the witness beside `keys`.
    pub fn start(keys: KeyRing) -> std::io::Result<WitnessWriter> {
        let shared = std::sync::Arc::new((
            std::sync::Mutex::new(WitnessQueue::default()),
            std::sync::Condvar::new(),
        ));
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("witness".into())
            .spawn(move || {
                let (lock, cv) = &*s;
                loop {
                    let batch = {
                        let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
                        while q.pending.is_empty() && !q.stop {
                            q = cv.wait(q).unwrap_or_else(|p| p.into_inner());
                        }
                        if q.pending.is_empty() {
                            return;
                        }
                        q.writing = true;
                        std::mem::take(&mut q.pending)
                    };
                    for cp in batch.values() {
                        if let Err(e) = Witness::record(&keys, cp) {
                            tracing::error!(error = %e, "the witness file could not be updated");
                        }
                    }
                    lock.lock().unwrap_or_else(|p| p.into_inner()).writing = false;
                    cv.notify_all();
                }
            })?;
        Ok(WitnessWriter {
            shared,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Queues `cp` (a newer one for the same device replaces it).
    pub fn record(&self, cp: &Checkpoint) {
        let (lock, cv) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
        if q.pending
            .get(&cp.device_id)
            .is_none_or(|old| old.seq < cp.seq)
        {
            q.pending.insert(cp.device_id.clone(), cp.clone());
        }
        cv.notify_all();
    }

    /// Waits until every queued checkpoint is in the witness file.
    pub fn flush(&self) {
        let (lock, cv) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !q.pending.is_empty() || q.writing {
            q = cv.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for WitnessWriter {
    fn drop(&mut self) {
        {
            let (lock, cv) = &*self.shared;
            lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
            cv.notify_all();
        }
        // What was queued is written before the thread ends.
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}
