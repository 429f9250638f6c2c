//! The kiosk's recorder: the durable exam log on its own tokio runtime thread.
//!
//! The UI thread submits [`NewEntry`] rows; the recorder writes them through a
//! [`DurableLog`] (kept in memory with a technical alarm while the store fails, retried
//! every [`RETRY_INTERVAL`]), finds the running exam at start for recovery, and runs
//! the relay to the central database when one is configured. It reports back through
//! a callback, which the shell forwards to the Slint event loop.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::config::Database;
use crate::store::backup::BackupReason;
use crate::store::durable::{MAX_BATCH, RETRY_INTERVAL};
use crate::store::keys::{Create, KeyError, KeyRing};
use crate::store::log::{DeviceId, EntryKind, NewEntry, RecoveredExam};
use crate::store::{DurableLog, Store, StoreAlarm, Submitted, sync};

/// When the recorder backs the database up (issue 16), from `[database]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPolicy {
    /// The backup folder.
    pub dir: std::path::PathBuf,
    /// Backups kept.
    pub keep: usize,
    /// Time between scheduled backups (`None`: none).
    pub every: Option<Duration>,
    /// A backup after each exam's closing row is durable.
    pub at_exam_end: bool,
}

impl BackupPolicy {
    /// The policy `db` configures (`None` for a database that is not an SQLite file).
    pub fn of(db: &Database) -> Option<BackupPolicy> {
        if !db.effective_url().starts_with("sqlite:") {
            return None;
        }
        Some(BackupPolicy {
            dir: db.backup_dir(),
            keep: db.backups_kept.max(1) as usize,
            every: (db.backup_every_hours > 0)
                .then(|| Duration::from_secs(u64::from(db.backup_every_hours) * 3600)),
            at_exam_end: db.backup_at_exam_end,
        })
    }

    /// How long after a start at `now` the first scheduled backup is due, given the
    /// newest backup in the folder (wall clock: the only clock that spans restarts).
    /// None yet: one interval from now. Overdue (or a newest one dated in the
    /// future, a clock set back): [`BACKUP_OVERDUE_DELAY`]. Otherwise what is left of
    /// the interval, never less than that delay.
    pub fn first_due(
        &self,
        newest: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Duration {
        let Some(every) = self.every else {
            return BACKUP_OVERDUE_DELAY;
        };
        let Some(newest) = newest else {
            return every;
        };
        match (now - newest).to_std() {
            Ok(since) if since < every => (every - since).max(BACKUP_OVERDUE_DELAY),
            _ => BACKUP_OVERDUE_DELAY,
        }
    }
}

/// How long after start an overdue scheduled backup waits (the kiosk settles first).
pub const BACKUP_OVERDUE_DELAY: Duration = Duration::from_secs(60);

/// Takes the scheduled and exam-end backups on the recorder's runtime (the copy
/// itself runs on the database's worker thread; appends go on meanwhile).
async fn run_backups(
    store: Store,
    device: DeviceId,
    policy: BackupPolicy,
    mut exam_ends: mpsc::UnboundedReceiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    // The first scheduled backup counts from the newest one in the folder, so a
    // kiosk restarted more often than `every` (a nightly reboot, the watchdog)
    // still backs up on time.
    let newest = {
        let dir = policy.dir.clone();
        tokio::task::spawn_blocking(move || {
            crate::store::backup::list(&dir)
                .ok()
                .and_then(|l| l.first().map(|b| b.taken_at))
        })
        .await
        .ok()
        .flatten()
    };
    // Without a schedule the branch below is disabled; the interval is never read.
    let every = policy.every.unwrap_or(BACKUP_OVERDUE_DELAY);
    let first = policy.first_due(newest, chrono::Utc::now());
    let mut schedule = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
    schedule.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let reason = tokio::select! {
            _ = schedule.tick(), if policy.every.is_some() => BackupReason::Scheduled,
            end = exam_ends.recv() => match end {
                Some(()) => {
                    // Several exams closed together: one backup.
                    while exam_ends.try_recv().is_ok() {}
                    BackupReason::ExamEnd
                }
                None => return,
            },
            _ = stop.changed() => return,
        };
        match store
            .backup(
                &policy.dir,
                reason,
                chrono::Utc::now(),
                &device,
                policy.keep,
            )
            .await
        {
            Ok(r) if r.check.as_ref().is_some_and(|c| c.ok) => {
                tracing::info!(file = %r.file.display(), reason = reason.slug(), "database backed up and verified");
            }
            Ok(r) => tracing::error!(
                file = %r.file.display(),
                "technical: the database backup did not verify: {}",
                r.check.map(|c| c.summary).unwrap_or_default()
            ),
            Err(e) => tracing::error!("technical: the database backup failed: {e}"),
        }
    }
}

/// How often the background relay runs.
pub const RELAY_INTERVAL: Duration = Duration::from_secs(30);

/// What the recorder tells the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum RecorderReport {
    /// The store is open; `recovered` is the exam that was running when the kiosk
    /// last stopped, if any.
    Opened {
        /// The store's redacted URL.
        store: String,
        /// The running exam's events, for `Exam::replay`.
        recovered: Option<RecoveredExam>,
    },
    /// The store could not be opened; entries are kept in memory and the recorder
    /// retries.
    OpenFailed(String),
    /// The technical alarm: `Some` while entries wait in memory, `None` once all are
    /// written.
    Alarm(Option<StoreAlarm>),
}

/// Work to run against the open store on the recorder's thread.
type StoreJob = Box<
    dyn FnOnce(Store) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send,
>;

enum Command {
    Submit(NewEntry, Option<oneshot::Sender<Submitted>>),
    Run(StoreJob),
}

/// The recorder's handle; dropping it writes what it can and stops the thread.
pub struct Recorder {
    tx: mpsc::UnboundedSender<Command>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    device: DeviceId,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// Why the recorder could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The configured device id is not valid.
    #[error("database.device_id: {0}")]
    Device(String),
    /// The key folder is missing, unreadable or open to others.
    #[error("{0}")]
    Keys(#[from] crate::store::keys::KeyError),
    /// The runtime thread could not be started.
    #[error("the recorder thread could not start: {0}")]
    Thread(#[from] std::io::Error),
}

impl Recorder {
    /// Starts the recorder for the configured database.
    pub fn start(
        db: &Database,
        report: impl Fn(RecorderReport) + Send + 'static,
    ) -> Result<Recorder, RecorderError> {
        Self::start_with_audit(db, None, report)
    }

    /// Starts the recorder, and with `audit` the relay of the audit trail to the
    /// hospital's collector (the log is its outbox).
    pub fn start_with_audit(
        db: &Database,
        audit: Option<crate::audit::relay::Collector>,
        report: impl Fn(RecorderReport) + Send + 'static,
    ) -> Result<Recorder, RecorderError> {
        Self::start_with_services(db, audit, None, report)
    }

    /// [`Recorder::start_with_audit`], and with `ris` the HL7 outbox's sender to the
    /// hospital RIS (issue 15), on the recorder's runtime with the same store.
    pub fn start_with_services(
        db: &Database,
        audit: Option<crate::audit::relay::Collector>,
        ris: Option<crate::config::RisConfig>,
        report: impl Fn(RecorderReport) + Send + 'static,
    ) -> Result<Recorder, RecorderError> {
        let device = DeviceId::new(db.effective_device_id())
            .map_err(|e| RecorderError::Device(e.to_string()))?;
        let url = db.effective_url();
        // A key folder others may read, or a key that is not ours, stops the kiosk
        // here; a folder that cannot be written yet (a missing disk) is retried
        // with the store, rows kept in memory meanwhile.
        let key_dir = db.effective_key_dir();
        let keys = match KeyRing::open(&key_dir, Create::IfMissing) {
            Ok(k) => Some(k),
            Err(KeyError::Io { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let central = (db.central_url.clone(), db.insecure_allow_unverified_tls);
        let backups = BackupPolicy::of(db);
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let dev = device.clone();
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || {
                rt.block_on(run(
                    (url, backups),
                    (key_dir, keys),
                    (central, audit, ris),
                    dev,
                    rx,
                    stop_rx,
                    report,
                ))
            })?;
        Ok(Recorder {
            tx,
            stop,
            thread: Some(thread),
            device,
        })
    }

    /// The device id rows are written under.
    pub fn device(&self) -> &DeviceId {
        &self.device
    }

    /// Submits a row; it is written, or kept in memory until it can be.
    pub fn submit(&self, entry: NewEntry) {
        let _ = self.tx.send(Command::Submit(entry, None));
    }

    /// Submits a row and waits for the outcome. Only [`Submitted::Written`] may be
    /// shown to staff as saved. Blocks: not for the UI thread's hot path.
    pub fn submit_and_wait(&self, entry: NewEntry) -> Option<Submitted> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Submit(entry, Some(reply))).ok()?;
        rx.blocking_recv().ok()
    }
}

impl Recorder {
    /// Runs `job` against the open store on the recorder's thread, after every row
    /// submitted before it, and waits for its result. `None` while the store is not
    /// open (or the recorder stopped). Blocks: for short staff actions (sign-in,
    /// accounts, today's list), never for the exam's hot path.
    pub fn with_store<T, F, Fut>(&self, job: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: StoreJob = Box::new(move |store| {
            Box::pin(async move {
                let _ = reply.send(job(store).await);
            })
        });
        self.tx.send(Command::Run(job)).ok()?;
        rx.blocking_recv().ok()
    }
}

impl Recorder {
    /// Runs `job` against the open store on the recorder's thread, after every row
    /// submitted before it, without waiting for it (an audit row written from a touch
    /// handler). The job itself reports its failures.
    pub fn spawn_store<F, Fut>(&self, job: F)
    where
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let job: StoreJob = Box::new(move |store| Box::pin(job(store)));
        if self.tx.send(Command::Run(job)).is_err() {
            tracing::error!("the recorder has stopped: a store job was dropped");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn run(
    (url, backups): (String, Option<BackupPolicy>),
    (key_dir, mut keys): (std::path::PathBuf, Option<KeyRing>),
    (central, audit, ris): (
        (String, bool),
        Option<crate::audit::relay::Collector>,
        Option<crate::config::RisConfig>,
    ),
    device: DeviceId,
    mut rx: mpsc::UnboundedReceiver<Command>,
    mut stop: watch::Receiver<bool>,
    report: impl Fn(RecorderReport),
) {
    // Rows submitted before the store opens wait here (never dropped).
    let mut early: VecDeque<(NewEntry, Option<oneshot::Sender<Submitted>>)> = VecDeque::new();
    let mut log: Option<DurableLog> = None;
    let mut last_alarm: Option<StoreAlarm> = None;
    let mut tick = tokio::time::interval(RETRY_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut relay_stop: Option<watch::Sender<bool>> = None;
    let mut audit_stop: Option<watch::Sender<bool>> = None;
    let mut ris_stop: Option<watch::Sender<bool>> = None;
    let mut backup_stop: Option<watch::Sender<bool>> = None;
    // Tells the backup task an exam's closing row is durable.
    let mut exam_end: Option<mpsc::UnboundedSender<()>> = None;
    // A command taken from the queue while gathering rows, handled next.
    let mut held: Option<Command> = None;

    loop {
        if log.is_none() && keys.is_none() {
            match KeyRing::open(&key_dir, Create::IfMissing) {
                Ok(k) => keys = Some(k),
                Err(e) => report(RecorderReport::OpenFailed(e.to_string())),
            }
        }
        if log.is_none()
            && let Some(keys) = &keys
        {
            let opened = match &backups {
                // A database an older program wrote is backed up before it is
                // migrated; one a newer program wrote is refused (an alarm, retried).
                Some(b) => Store::open_upgrading(&url, keys.clone(), &b.dir).await,
                None => Store::open_with_keys(&url, Some(keys.clone())).await,
            };
            match opened {
                Ok(store) => {
                    if let Some(up) = store.upgrade() {
                        tracing::info!(from = up.from, to = up.to, backup = ?up.backup, "database migrated forward");
                    }
                    if let Some(policy) = backups.clone() {
                        let (tx, rx) = watch::channel(false);
                        let (ends, ends_rx) = mpsc::unbounded_channel();
                        tokio::spawn(run_backups(
                            store.clone(),
                            device.clone(),
                            policy,
                            ends_rx,
                            rx,
                        ));
                        backup_stop = Some(tx);
                        exam_end = Some(ends);
                    }
                    let recovered = match store.open_exam(&device).await {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::error!("could not look for a running exam: {e}");
                            None
                        }
                    };
                    report(RecorderReport::Opened {
                        store: store.url().redacted(),
                        recovered,
                    });
                    if !central.0.is_empty() {
                        let (tx, rx) = watch::channel(false);
                        tokio::spawn(sync::run_relay(
                            store.clone(),
                            central.clone(),
                            RELAY_INTERVAL,
                            500,
                            rx,
                        ));
                        relay_stop = Some(tx);
                    }
                    if let Some(collector) = &audit {
                        let (tx, rx) = watch::channel(false);
                        tokio::spawn(crate::audit::relay::run_audit_relay(
                            store.clone(),
                            device.as_str().to_string(),
                            collector.clone(),
                            crate::audit::relay::RELAY_INTERVAL,
                            rx,
                        ));
                        audit_stop = Some(tx);
                    }
                    if let Some(ris) = ris.as_ref().filter(|r| !r.address.is_empty()) {
                        let (tx, rx) = watch::channel(false);
                        tokio::spawn(crate::report::ris::run(store.clone(), ris.clone(), rx));
                        ris_stop = Some(tx);
                    }
                    let mut durable = DurableLog::new(store, device.clone());
                    while let Some((entry, reply)) = early.pop_front() {
                        let outcome = durable.submit(entry).await;
                        if let Some(reply) = reply {
                            let _ = reply.send(outcome);
                        }
                    }
                    log = Some(durable);
                }
                Err(e) => {
                    report(RecorderReport::OpenFailed(e.to_string()));
                }
            }
        }

        let alarm = match &log {
            Some(l) => l.alarm().cloned(),
            None if early.is_empty() => None,
            None => Some(StoreAlarm {
                since: chrono::Utc::now(),
                pending: early.len(),
                last_error: "the exam record could not be opened".into(),
            }),
        };
        if alarm.as_ref().map(|a| (a.pending, &a.last_error))
            != last_alarm.as_ref().map(|a| (a.pending, &a.last_error))
        {
            report(RecorderReport::Alarm(alarm.clone()));
            last_alarm = alarm;
        }

        let cmd = match held.take() {
            Some(cmd) => cmd,
            None => tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => cmd,
                    None => break,
                },
                _ = tick.tick() => {
                    if let Some(l) = log.as_mut().filter(|l| l.pending() > 0)
                        && let Err(e) = l.flush().await
                    {
                        tracing::warn!("exam record still not writable: {e}");
                    }
                    continue;
                }
                _ = stop.changed() => break,
            },
        };
        match cmd {
            Command::Submit(entry, reply) => match log.as_mut() {
                Some(l) => {
                    // Rows that arrived while the last commit ran go into one
                    // commit together (each acknowledged only once durable); a
                    // command that is not a row waits for the next turn.
                    let mut batch = vec![(entry, reply)];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(Command::Submit(entry, reply)) => batch.push((entry, reply)),
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let (entries, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                    let closes = entries.iter().any(|e| e.kind == EntryKind::ExamClosed);
                    let outcomes = l.submit_many(entries).await;
                    if closes
                        && backups.as_ref().is_some_and(|b| b.at_exam_end)
                        && let Some(ends) = &exam_end
                    {
                        let _ = ends.send(());
                    }
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        if let Some(reply) = reply {
                            let _ = reply.send(outcome);
                        }
                    }
                }
                None => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Submitted::Queued {
                            pending: early.len() + 1,
                        });
                    }
                    early.push_back((entry, None));
                }
            },
            Command::Run(job) => {
                if let Some(l) = log.as_ref() {
                    job(l.store().clone()).await;
                }
            }
        }
    }

    // Shutting down: one last attempt for anything still waiting.
    if let Some(l) = log.as_mut() {
        if let Some(Command::Submit(entry, _)) = held.take() {
            l.submit(entry).await;
        }
        while let Ok(cmd) = rx.try_recv() {
            if let Command::Submit(entry, _) = cmd {
                l.submit(entry).await;
            }
        }
        if l.pending() > 0 && l.flush().await.is_err() {
            tracing::error!(
                "{} exam-record rows could not be written before shutdown",
                l.pending()
            );
        }
    }
    for s in [relay_stop, audit_stop, ris_stop, backup_stop]
        .into_iter()
        .flatten()
    {
        let _ = s.send(true);
    }
    // Every connection closed before the thread ends (SQLCipher's teardown must not
    // race open connections at process exit).
    if let Some(l) = &log {
        l.store().close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(hours: u64) -> BackupPolicy {
        BackupPolicy {
            dir: "backups".into(),
            keep: 14,
            every: Some(Duration::from_secs(hours * 3600)),
            at_exam_end: true,
        }
    }

    #[test]
    fn issue_16_the_schedule_resumes_from_the_newest_backup_across_restarts() {
        let p = policy(24);
        let now = chrono::Utc::now();
        let h = |n: i64| chrono::Duration::hours(n);
        // No backup yet: a whole interval.
        assert_eq!(p.first_due(None, now), Duration::from_secs(24 * 3600));
        // Taken 20 h ago (the kiosk restarted since): due in the 4 h left.
        assert_eq!(
            p.first_due(Some(now - h(20)), now),
            Duration::from_secs(4 * 3600)
        );
        // Overdue, or dated after now (a clock set back): soon after start.
        assert_eq!(p.first_due(Some(now - h(30)), now), BACKUP_OVERDUE_DELAY);
        assert_eq!(p.first_due(Some(now + h(5)), now), BACKUP_OVERDUE_DELAY);
    }

    proptest! {
        /// Never sooner than the start-up delay, never later than one interval.
        #[test]
        fn issue_16_first_due_within_the_delay_and_one_interval(
            hours in 1u64..=168,
            ago_s in -1_000_000i64..2_000_000,
        ) {
            let p = policy(hours);
            let now = chrono::Utc::now();
            let due = p.first_due(Some(now - chrono::Duration::seconds(ago_s)), now);
            prop_assert!(due >= BACKUP_OVERDUE_DELAY);
            prop_assert!(due <= Duration::from_secs(hours * 3600).max(BACKUP_OVERDUE_DELAY));
        }
    }
}
