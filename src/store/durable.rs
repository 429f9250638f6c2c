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
        self.queue.push_back(entry);
        let queued_id = self.queue.back().map(|e| e.id);
        let mut last = None;
        while let Some(front) = self.queue.front() {
            match self.store.append(&self.device, front).await {
                Ok(stored) => {
                    self.queue.pop_front();
                    last = Some(stored);
                }
                Err(e) => {
                    self.raise(&e);
                    return Submitted::Queued {
                        pending: self.queue.len(),
                    };
                }
            }
        }
        self.alarm = None;
        match last {
            Some(stored) if Some(stored.id) == queued_id => Submitted::Written(stored),
            _ => Submitted::Queued {
                pending: self.queue.len(),
            },
        }
    }

    /// Retry the queue; returns how many entries were written. Clears the
    /// alarm once the queue is empty; on failure the alarm stays with the new
    /// error and the rest stays queued.
    pub async fn flush(&mut self) -> Result<usize, StoreError> {
        let mut written = 0;
        while let Some(front) = self.queue.front() {
            match self.store.append(&self.device, front).await {
                Ok(_) => {
                    self.queue.pop_front();
                    written += 1;
                }
                Err(e) => {
                    self.raise(&e);
                    return Err(e);
                }
            }
        }
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
