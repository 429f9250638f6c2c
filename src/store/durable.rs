//! Never lose an event: a write that fails is queued in memory and retried.
//!
//! [`DurableLog`] wraps a [`Store`] for one device. [`DurableLog::submit`]
//! appends at once when it can; when the database refuses (disk full, I/O
//! error, a locked or read-only file) the entry stays in an in-memory queue,
//! in order, and [`DurableLog::alarm`] exposes a technical alarm for the UI
//! until [`DurableLog::flush`] (called every [`RETRY_INTERVAL`] by the shell)
//! has written the whole queue. Entries behind a queued one wait their turn, so
//! the chain order is the order of submission. Retries are idempotent: each
//! entry keeps its UUID, and [`Store::append`] ignores an id already stored.
//!
//! The UI must show an entry as saved only for [`Submitted::Written`].

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::log::{DeviceId, NewEntry, StoredEntry};
use super::{Store, StoreError};

/// At most this many rows go into one durable commit (rows that arrived together,
/// or the queue written after a failure).
pub const MAX_BATCH: usize = 256;

/// How often the shell should call [`DurableLog::flush`] while entries wait.
pub const RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// What happened to a submitted entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Durable in the store.
    Written(StoredEntry),
    /// Kept in memory; the technical alarm is on.
    Queued {
        /// Entries waiting, this one included.
        pending: usize,
    },
}

/// The technical alarm raised while entries cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreAlarm {
    /// Wall-clock label of the first failure.
    pub since: DateTime<Utc>,
    /// Entries waiting in memory.
    pub pending: usize,
    /// The latest error, for the technical log and the alarm's detail line.
    pub last_error: String,
}

/// One device's writer: the store plus the queue of entries not yet written.
#[derive(Debug)]
pub struct DurableLog {
    store: Store,
    device: DeviceId,
    queue: VecDeque<NewEntry>,
    alarm: Option<StoreAlarm>,
}

impl DurableLog {
    /// A writer for `device`.
    pub fn new(store: Store, device: DeviceId) -> Self {
        DurableLog {
            store,
            device,
            queue: VecDeque::new(),
            alarm: None,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The device.
    pub fn device(&self) -> &DeviceId {
        &self.device
    }

    /// Write `entry`, or keep it queued if the store fails (never dropped).
    pub async fn submit(&mut self, entry: NewEntry) -> Submitted {
        let mut outcome = self.submit_many(vec![entry]).await;
        outcome.pop().unwrap_or(Submitted::Queued {
            pending: self.queue.len(),
        })
    }

    /// Write `entries` (rows that arrived together) behind any queued ones, up to
    /// [`MAX_BATCH`] rows per durable commit, or keep them queued if the store fails.
    /// One outcome per entry, in order: `Written` only once the row is durable.
    pub async fn submit_many(&mut self, entries: Vec<NewEntry>) -> Vec<Submitted> {
        let ids: Vec<uuid::Uuid> = entries.iter().map(|e| e.id).collect();
        self.queue.extend(entries);
        let mut written: std::collections::HashMap<uuid::Uuid, StoredEntry> =
            std::collections::HashMap::new();
        let result = self
            .write_queue(|stored| {
                if ids.contains(&stored.id) {
                    written.insert(stored.id, stored);
                }
            })
            .await;
        if result.is_ok() {
            self.alarm = None;
        }
        let pending = self.queue.len();
        ids.iter()
            .map(|id| match written.remove(id) {
                Some(stored) => Submitted::Written(stored),
                None => Submitted::Queued { pending },
            })
            .collect()
    }

    /// Writes the queue front to back in batches; each written row goes to `done`.
    /// Stops at the first failure (the alarm raised, the rest kept).
    async fn write_queue(
        &mut self,
        mut done: impl FnMut(StoredEntry),
    ) -> Result<usize, StoreError> {
        let mut written = 0;
        while !self.queue.is_empty() {
            let n = self.queue.len().min(MAX_BATCH);
            let batch = &self.queue.make_contiguous()[..n];
            match self.store.append_many(&self.device, batch).await {
                Ok(stored) => {
                    self.queue.drain(..n);
                    written += stored.len();
                    stored.into_iter().for_each(&mut done);
                }
                Err(e) => {
                    self.raise(&e);
                    return Err(e);
                }
            }
        }
        Ok(written)
    }

    /// Retry the queue; returns how many entries were written. Clears the
    /// alarm once the queue is empty; on failure the alarm stays with the new
    /// error and the rest stays queued.
    pub async fn flush(&mut self) -> Result<usize, StoreError> {
        let written = self.write_queue(|_| {}).await?;
        self.alarm = None;
        Ok(written)
    }

    /// Entries waiting in memory.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// The entries waiting, oldest first (for display; they are not yet saved).
    pub fn queued(&self) -> impl Iterator<Item = &NewEntry> {
        self.queue.iter()
    }

    /// The technical alarm, while entries wait.
    pub fn alarm(&self) -> Option<&StoreAlarm> {
        self.alarm.as_ref()
    }

    fn raise(&mut self, error: &StoreError) {
        tracing::error!(%error, pending = self.queue.len(), "exam log write failed; entry kept in memory");
        let since = self.alarm.as_ref().map_or_else(Utc::now, |a| a.since);
        self.alarm = Some(StoreAlarm {
            since,
            pending: self.queue.len(),
            last_error: error.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::log::EntryKind;

    /// More rows than [`MAX_BATCH`] arriving together are written in batches of at
    /// most `MAX_BATCH` rows each, every one acknowledged as written, in order.
    #[test]
    fn rows_beyond_max_batch_are_split_into_bounded_commits() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let url = format!("sqlite://{}", dir.path().join("b.db").display());
            let store = Store::open(&url).await.unwrap();
            let device = DeviceId::new("batch-test").unwrap();
            let mut log = DurableLog::new(store.clone(), device);
            let n = MAX_BATCH * 2 + 1;
            let entries: Vec<NewEntry> = (0..n)
                .map(|i| {
                    NewEntry::new(
                        None,
                        EntryKind::Audit,
                        "tech",
                        crate::domain::Instant::ZERO,
                        Utc::now(),
                        &serde_json::json!({ "i": i }),
                    )
                    .unwrap()
                })
                .collect();
            let before = store.commits();
            let out = log.submit_many(entries).await;
            assert_eq!(store.commits() - before, 3, "{n} rows in 3 commits");
            let seqs: Vec<i64> = out
                .iter()
                .map(|o| match o {
                    Submitted::Written(s) => s.seq,
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(seqs, (1..=n as i64).collect::<Vec<_>>());
            store.close().await;
        });
    }
}
