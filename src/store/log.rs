//! The append-only exam log: hash chain, verifier, recovery of the running exam.
//!
//! Every row carries the event UUID, the exam, the device that wrote it, the
//! device's sequence number (1, 2, 3… with no gaps), the wall-clock time (UTC,
//! a label only), the monotonic offset on the exam's timeline
//! ([`Instant`] milliseconds), the actor, the kind and the JSON payload. Rows of
//! one device form a chain: `hash = SHA-256(prev_hash ‖ canonical content)`,
//! where `prev_hash` is the previous row's hash (32 zero bytes for the first)
//! and the canonical content is the JSON array
//! `["cmr-log-v1", id, exam, device, seq, wall, mono_ms, actor, kind, payload]`.
//! A `log_head` table remembers each device's last row so that a deleted tail
//! is detected too.
//!
//! Events are the source of truth: [`Store::events_for_exam`] returns the
//! [`LoggedEvent`]s that [`crate::domain::Exam::replay`] turns back into the
//! exam, timers included; [`Store::open_exam`] finds the exam that was running
//! when the kiosk stopped.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::checkpoint::{CHECKPOINT_EVERY, Checkpoint, Source, Trust, Witness};
use super::{Store, StoreError, in_write_tx, on_pool};
use crate::domain::{ExamEvent, LoggedEvent, time::Instant};

/// The `prev_hash` of a device's first row: 32 zero bytes, hex encoded.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many rows the verifier and the relay read per query.
pub const PAGE_ROWS: i64 = 1000;

/// One exam's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExamId(pub Uuid);

impl ExamId {
    /// A fresh random exam id.
    pub fn new() -> Self {
        ExamId(Uuid::new_v4())
    }
}

impl Default for ExamId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ExamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ExamId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(ExamId)
    }
}

/// The kiosk (or other writer) that appends to a chain: 1–64 characters of
/// `A-Z a-z 0-9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

impl DeviceId {
    /// Validate a device id.
    pub fn new(id: impl Into<String>) -> Result<Self, StoreError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(DeviceId(id))
        } else {
            Err(StoreError::Invalid(format!(
                "device id {id:?} must be 1-64 characters of letters, digits, '-', '_' or '.'"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeviceId {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        DeviceId::new(s)
    }
}

impl From<DeviceId> for String {
    fn from(d: DeviceId) -> String {
        d.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a log row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// An exam was opened (its monotonic origin); payload `{}` or site data.
    ExamOpened,
    /// A clinical input: payload is an [`ExamEvent`].
    ExamEvent,
    /// The exam was closed; it is no longer the running exam.
    ExamClosed,
    /// An audit event (login, lock, record view, export, override…): payload is
    /// an [`super::AuditEvent`].
    Audit,
    /// What the kiosk told staff (an alarm, a prompt, a refusal, a dose line), at the
    /// exam time it fell due: payload is a [`crate::engine::LoggedDecision`]. Replay
    /// derives decisions again, so these rows are the record, never an input.
    Decision,
}

impl EntryKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ExamOpened => "exam_opened",
            EntryKind::ExamEvent => "exam_event",
            EntryKind::ExamClosed => "exam_closed",
            EntryKind::Audit => "audit",
            EntryKind::Decision => "decision",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "exam_opened" => EntryKind::ExamOpened,
            "exam_event" => EntryKind::ExamEvent,
            "exam_closed" => EntryKind::ExamClosed,
            "audit" => EntryKind::Audit,
            "decision" => EntryKind::Decision,
            _ => return None,
        })
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry to append: everything but the chain fields, which the store fills.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Event UUID (idempotency key end to end).
    pub id: Uuid,
    /// The exam, if any.
    pub exam: Option<ExamId>,
    /// Wall-clock time, UTC, truncated to milliseconds (a label only).
    pub wall: DateTime<Utc>,
    /// Monotonic offset on the exam's timeline.
    pub at: Instant,
    /// Who did it (username, or `system`).
    pub actor: String,
    /// What it is.
    pub kind: EntryKind,
    /// The payload as compact JSON text (hashed byte for byte).
    pub payload: String,
}

impl NewEntry {
    /// A new entry with a fresh UUID; `wall` is truncated to milliseconds.
    pub fn new(
        exam: Option<ExamId>,
        kind: EntryKind,
        actor: impl Into<String>,
        at: Instant,
        wall: DateTime<Utc>,
        payload: &impl Serialize,
    ) -> Result<Self, StoreError> {
        let payload = serde_json::to_string(payload).map_err(|source| StoreError::Encode {
            what: "log payload",
            source,
        })?;
        Ok(NewEntry {
            id: Uuid::new_v4(),
            exam,
            wall: wall.trunc_subsecs(3),
            at,
            actor: actor.into(),
            kind,
            payload,
        })
    }

    /// A clinical event of `exam`.
    pub fn exam_event(
        exam: ExamId,
        actor: impl Into<String>,
        event: &LoggedEvent,
        wall: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        Self::new(
            Some(exam),
            EntryKind::ExamEvent,
            actor,
            event.at,
            wall,
            &event.event,
        )
    }
}

/// A stored row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// Event UUID.
    pub id: Uuid,
    /// The exam, if any.
    pub exam: Option<ExamId>,
    /// The writing device.
    pub device: String,
    /// Per-device sequence number.
    pub seq: i64,
    /// Wall-clock time (UTC label).
    pub wall: DateTime<Utc>,
    /// Monotonic offset on the exam's timeline.
    pub at: Instant,
    /// Who.
    pub actor: String,
    /// Stored kind name.
    pub kind: String,
    /// Payload JSON text.
    pub payload: String,
    /// The previous row's hash (hex).
    pub prev_hash: String,
    /// This row's hash (hex).
    pub hash: String,
}

/// A row as read from either backend.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: String,
    pub exam_id: Option<String>,
    pub device_id: String,
    pub seq: i64,
    pub wall_clock: DateTime<Utc>,
    pub mono_ms: i64,
    pub actor: String,
    pub kind: String,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A short alias used in entry types.
pub type LogEntry = StoredEntry;

impl EventRow {
    fn into_entry(self) -> Result<StoredEntry, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            row: format!("{} #{}", self.device_id, self.seq),
            reason,
        };
        let id = Uuid::parse_str(&self.id).map_err(|e| corrupt(format!("id: {e}")))?;
        let exam = match &self.exam_id {
            Some(e) => Some(ExamId::from_str(e).map_err(|e| corrupt(format!("exam_id: {e}")))?),
            None => None,
        };
        let at = u64::try_from(self.mono_ms)
            .map_err(|_| corrupt(format!("negative mono_ms {}", self.mono_ms)))?;
        Ok(StoredEntry {
            id,
            exam,
            device: self.device_id,
            seq: self.seq,
            wall: self.wall_clock,
            at: Instant::from_millis(at),
            actor: self.actor,
            kind: self.kind,
            payload: self.payload,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// The wall-clock label as hashed: RFC 3339, UTC, milliseconds.
/// How a row's wall clock is written into its canonical content (UTC, to the ms).
const WALL_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// `SHA-256(prev_hash ‖ content)` in hex; `None` if `prev_hash` is not 64 hex digits.
pub fn chain_hash(prev_hash: &str, content: &[u8]) -> Option<String> {
    let prev = hex::decode(prev_hash).ok().filter(|p| p.len() == 32)?;
    let mut h = Sha256::new();
    h.update(&prev);
    h.update(content);
    Some(hex::encode(h.finalize()))
}

/// Feeds what is serialised into it straight into a hash (no buffer).
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A wall clock serialised in [`WALL_FORMAT`], without a `String`.
struct WallText<'a>(&'a DateTime<Utc>);

impl serde::Serialize for WallText<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for WallText<'_> {
    /// [`WALL_FORMAT`] written field by field (chrono parses the format string on
    /// every call; verification formats every row's wall clock).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        let t = self.0;
        let nanos = t.nanosecond();
        if !(0..=9999).contains(&t.year()) || nanos >= 1_000_000_000 {
            return write!(f, "{}", t.format(WALL_FORMAT));
        }
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            nanos / 1_000_000
        )
    }
}

impl EventRow {
    /// Writes the canonical content (a JSON array of every column but the hashes)
    /// into `out`.
    fn write_canonical(&self, out: impl std::io::Write) -> serde_json::Result<()> {
        serde_json::to_writer(
            out,
            &(
                "cmr-log-v1",
                &self.id,
                &self.exam_id,
                &self.device_id,
                self.seq,
                WallText(&self.wall_clock),
                self.mono_ms,
                &self.actor,
                &self.kind,
                &self.payload,
            ),
        )
    }

    /// The canonical content: a JSON array of every column but the hashes.
    fn canonical_content(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.payload.len());
        // Writing into a Vec cannot fail.
        let _ = self.write_canonical(&mut out);
        out
    }

    pub(crate) fn computed_hash(&self) -> Option<String> {
        chain_hash(&self.prev_hash, &self.canonical_content())
    }

    /// Whether the stored hash is `SHA-256(prev_hash ‖ content)` in lower-case hex,
    /// as [`EventRow::computed_hash`] would say, but hashing as the content is
    /// serialised: no allocation per row (log verification walks every row).
    pub(crate) fn hash_matches(&self) -> bool {
        let mut prev = [0u8; 32];
        if hex::decode_to_slice(&self.prev_hash, &mut prev).is_err() {
            return false;
        }
        let mut h = Sha256::new();
        h.update(prev);
        if self.write_canonical(HashWriter(&mut h)).is_err() {
            return false;
        }
        let mut text = [0u8; 64];
        hex::encode_to_slice(h.finalize(), &mut text).is_ok() && text == self.hash.as_bytes()
    }

    /// Every column equal (the wall clock to the millisecond, as hashed).
    pub(crate) fn same_as(&self, other: &EventRow) -> bool {
        self.canonical_content() == other.canonical_content()
            && self.prev_hash == other.prev_hash
            && self.hash == other.hash
    }
}

/// What is wrong with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The row's content no longer matches its hash.
    Altered,
    /// The row with this sequence number is missing.
    Deleted,
    /// The row sits at the wrong place in the chain (its predecessor is elsewhere).
    Reordered,
    /// The chain's end does not match the recorded head.
    HeadMismatch,
    /// The chain ends before a signed checkpoint: rows were removed, or the
    /// database was rolled back to an older copy.
    Truncated,
    /// A row differs from what a signed checkpoint recorded: the chain was
    /// rewritten (its hashes recomputed).
    Rewritten,
    /// A checkpoint is missing, unsigned, or signed by another key.
    BadCheckpoint,
    /// The accounts table differs from the account changes in the log.
    AccountAltered,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Altered => "altered",
            Problem::Deleted => "deleted",
            Problem::Reordered => "reordered",
            Problem::HeadMismatch => "head mismatch",
            Problem::Truncated => "truncated",
            Problem::Rewritten => "rewritten",
            Problem::BadCheckpoint => "bad checkpoint",
            Problem::AccountAltered => "account altered",
        })
    }
}

/// The first bad row the verifier found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The device whose chain broke.
    pub device: String,
    /// The sequence number where it broke (for a deleted row: the missing one).
    pub seq: i64,
    /// The event found at that place, if any.
    pub id: Option<Uuid>,
    /// What is wrong.
    pub problem: Problem,
    /// A sentence for the operator.
    pub detail: String,
}

/// The verifier's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Rows whose hash was checked.
    pub rows_checked: u64,
    /// Chains (devices) walked.
    pub devices: Vec<String>,
    /// The first bad row, if any (devices in name order, rows in sequence order).
    pub first_bad: Option<BadRow>,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.first_bad {
            None => write!(
                f,
                "ok: {} rows in {} chain(s) verified",
                self.rows_checked,
                self.devices.len()
            ),
            Some(b) => write!(
                f,
                "FAILED at device {} seq {}{}: {} — {}",
                b.device,
                b.seq,
                b.id.map(|i| format!(" (event {i})")).unwrap_or_default(),
                b.problem,
                b.detail
            ),
        }
    }
}

/// The exam that was running when the kiosk stopped, rebuilt from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredExam {
    /// The exam.
    pub exam: ExamId,
    /// Its clinical events, in order, for [`crate::domain::Exam::replay`].
    pub events: Vec<LoggedEvent>,
    /// The latest monotonic offset logged for the exam (any kind of row).
    pub last_at: Instant,
    /// The wall-clock label of that row.
    pub last_wall: DateTime<Utc>,
    /// The `exam_opened` row's payload: the registration record (`{}` if none).
    pub opened: serde_json::Value,
}

impl RecoveredExam {
    /// Where the exam's timeline stands at wall-clock `wall_now`.
    ///
    /// A restart loses the monotonic clock, so the downtime is bridged by the
    /// wall clock between the last logged row and now (never negative). From
    /// then on the kiosk counts with [`ExamClock`] on the monotonic clock again.
    pub fn resume_at(&self, wall_now: DateTime<Utc>) -> Instant {
        let gap = (wall_now - self.last_wall).num_milliseconds().max(0);
        self.last_at + crate::domain::Duration::from_millis(gap as u64)
    }
}

/// The running exam's clock: the OS monotonic clock mapped onto the exam's
/// timeline ([`Instant`] milliseconds).
#[derive(Debug, Clone, Copy)]
pub struct ExamClock {
    origin: std::time::Instant,
    base: Instant,
}

impl ExamClock {
    /// A clock that reads `base` at the monotonic instant `origin`.
    pub fn new(origin: std::time::Instant, base: Instant) -> Self {
        ExamClock { origin, base }
    }

    /// A clock for a new exam: reads zero now.
    pub fn start() -> Self {
        Self::new(std::time::Instant::now(), Instant::ZERO)
    }

    /// A clock resuming at `at` now (after [`RecoveredExam::resume_at`]).
    pub fn resume(at: Instant) -> Self {
        Self::new(std::time::Instant::now(), at)
    }

    /// The exam time at the monotonic instant `mono` (pure).
    pub fn at(&self, mono: std::time::Instant) -> Instant {
        let ms = mono.saturating_duration_since(self.origin).as_millis();
        self.base + crate::domain::Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The exam time now.
    pub fn now(&self) -> Instant {
        self.at(std::time::Instant::now())
    }
}

/// The INSERT of one event row with all eleven columns bound; `$suffix` is appended
/// to the SQL (the relay adds `ON CONFLICT (id) DO NOTHING`).
macro_rules! insert_event {
    ($row:expr, $suffix:literal) => {
        sqlx::query(concat!(
            "INSERT INTO events (id, exam_id, device_id, seq, wall_clock, mono_ms, actor, \
             kind, payload, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            $suffix
        ))
        .bind(&$row.id)
        .bind(&$row.exam_id)
        .bind(&$row.device_id)
        .bind($row.seq)
        .bind($row.wall_clock)
        .bind($row.mono_ms)
        .bind(&$row.actor)
        .bind(&$row.kind)
        .bind(&$row.payload)
        .bind(&$row.prev_hash)
        .bind(&$row.hash)
    };
}
pub(crate) use insert_event;

/// The INSERT of one checkpoint row; `$suffix` as for [`insert_event`].
macro_rules! insert_checkpoint {
    ($cp:expr, $suffix:literal) => {
        sqlx::query(concat!(
            "INSERT INTO checkpoints (device_id, seq, hash, wall_clock, public_key, signature) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            $suffix
        ))
        .bind(&$cp.device_id)
        .bind($cp.seq)
        .bind(&$cp.hash)
        .bind($cp.wall_clock)
        .bind(&$cp.public_key)
        .bind(&$cp.signature)
    };
}
pub(crate) use insert_checkpoint;

/// `exam_opened` rows (exam, wall-clock label, payload text) parsed; a row that does
/// not parse is an error naming it.
fn opened_rows(
    rows: Vec<(Option<String>, DateTime<Utc>, String)>,
) -> Result<Vec<(ExamId, DateTime<Utc>, serde_json::Value)>, StoreError> {
    rows.into_iter()
        .map(|(exam, wall, payload)| {
            let exam = exam.unwrap_or_default();
            let corrupt = |reason: String| StoreError::Corrupt {
                row: format!("exam_opened of {exam}"),
                reason,
            };
            Ok((
                ExamId::from_str(&exam).map_err(|e| corrupt(e.to_string()))?,
                wall,
                serde_json::from_str(&payload).map_err(|e| corrupt(e.to_string()))?,
            ))
        })
        .collect()
}

/// Append `$entry` to `$device`'s chain inside the open transaction `$tx` of
/// `$store` (the caller holds the append lock and commits): evaluates to
/// `(row, new, checkpoint)` where `new` is false when the event id was already
/// stored (nothing written), and `checkpoint` is the one signed with the row when
/// it was due. Returns early with the [`StoreError`] on failure.
macro_rules! append_in_tx {
    ($store:expr, $tx:ident, $device:expr, $entry:expr) => {{
        let entry: &$crate::store::log::NewEntry = $entry;
        let device: &$crate::store::log::DeviceId = $device;
        let id = entry.id.to_string();
        let exam = entry.exam.map(|e| e.to_string());
        let mono_ms = i64::try_from(entry.at.as_millis()).map_err(|_| {
            $crate::store::StoreError::Invalid(format!("offset {} is too large", entry.at))
        })?;
        let wall = chrono::SubsecRound::trunc_subsecs(entry.wall, 3);
        let existing: Option<$crate::store::log::EventRow> = sqlx::query_as(
            "SELECT id, exam_id, device_id, seq, wall_clock, mono_ms, actor, kind, payload, \
             prev_hash, hash FROM events WHERE id = $1",
        )
        .bind(&id)
        .fetch_optional(&mut *$tx)
        .await
        .map_err($crate::store::StoreError::db("looking up an event id"))?;
        if let Some(existing) = existing {
            (existing, false, None)
        } else {
            let head: Option<(i64, String)> =
                sqlx::query_as("SELECT seq, hash FROM log_head WHERE device_id = $1")
                    .bind(device.as_str())
                    .fetch_optional(&mut *$tx)
                    .await
                    .map_err($crate::store::StoreError::db("reading the chain head"))?;
            let (prev_seq, prev_hash) =
                head.unwrap_or((0, $crate::store::log::GENESIS_HASH.to_string()));
            let mut row = $crate::store::log::EventRow {
                id: id.clone(),
                exam_id: exam.clone(),
                device_id: device.as_str().to_string(),
                seq: prev_seq + 1,
                wall_clock: wall,
                mono_ms,
                actor: entry.actor.clone(),
                kind: entry.kind.as_str().to_string(),
                payload: entry.payload.clone(),
                prev_hash,
                hash: String::new(),
            };
            row.hash = row
                .computed_hash()
                .ok_or_else(|| $crate::store::StoreError::Corrupt {
                    row: format!("log_head {device}"),
                    reason: "head hash is not 64 hex digits".into(),
                })?;
            $crate::store::log::insert_event!(row, "")
                .execute(&mut *$tx)
                .await
                .map_err($crate::store::StoreError::db("inserting an event"))?;
            sqlx::query(
                "INSERT INTO log_head (device_id, seq, hash) VALUES ($1, $2, $3) \
                 ON CONFLICT (device_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            )
            .bind(&row.device_id)
            .bind(row.seq)
            .bind(&row.hash)
            .execute(&mut *$tx)
            .await
            .map_err($crate::store::StoreError::db("advancing the chain head"))?;
            let checkpoint = $store.keys().and_then(|keys| {
                (row.seq % $crate::store::checkpoint::CHECKPOINT_EVERY == 0
                    || entry.kind == $crate::store::log::EntryKind::ExamClosed)
                    .then(|| {
                        $crate::store::checkpoint::Checkpoint::sign(
                            keys,
                            &row.device_id,
                            row.seq,
                            &row.hash,
                            wall,
                        )
                    })
            });
            if let Some(cp) = &checkpoint {
                $crate::store::log::insert_checkpoint!(cp, "")
                    .execute(&mut *$tx)
                    .await
                    .map_err($crate::store::StoreError::db("storing a checkpoint"))?;
            }
            (row, true, checkpoint)
        }
    }};
}
pub(crate) use append_in_tx;

impl Store {
    /// Append one entry to `device`'s chain; returns after the row is durable
    /// (SQLite: committed with `synchronous=FULL`; PostgreSQL: committed).
    ///
    /// Idempotent by event UUID: appending an id that is already stored returns
    /// the stored row and writes nothing (a retry after an ambiguous failure).
    pub async fn append(
        &self,
        device: &DeviceId,
        entry: &NewEntry,
    ) -> Result<StoredEntry, StoreError> {
        let mut stored = self
            .append_many(device, std::slice::from_ref(entry))
            .await?;
        stored.pop().ok_or_else(|| StoreError::Corrupt {
            row: format!("{device}"),
            reason: "an append returned no row".into(),
        })
    }

    /// Append `entries` to `device`'s chain, in order, in one transaction: one
    /// durable commit (one sync) for rows that arrived together. Returns after every
    /// row is durable, each as [`Store::append`] would return it (idempotent by
    /// UUID the same way); on an error none of them is written.
    pub async fn append_many(
        &self,
        device: &DeviceId,
        entries: &[NewEntry],
    ) -> Result<Vec<StoredEntry>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let (rows, newest) = in_write_tx!(self, "appending events", |tx| {
            let mut rows = Vec::with_capacity(entries.len());
            let mut newest = None;
            for entry in entries {
                let appended = append_in_tx!(self, tx, device, entry);
                if appended.2.is_some() {
                    newest = appended.2;
                }
                rows.push(appended.0);
            }
            (rows, newest)
        })?;
        self.count_commit();
        self.witness(newest.as_ref());
        rows.into_iter().map(EventRow::into_entry).collect()
    }

    /// After a commit: record a new checkpoint in the witness file (queued to the
    /// store's witness writer). A failure is logged (the row is durable; the next
    /// checkpoint tries again).
    pub(crate) fn witness(&self, checkpoint: Option<&Checkpoint>) {
        if let (Some(cp), Some(writer)) = (checkpoint, &self.inner.witness) {
            writer.record(cp);
        } else if let (Some(cp), Some(keys)) = (checkpoint, &self.inner.keys)
            && let Err(e) = Witness::record(keys, cp)
        {
            tracing::error!(error = %e, "the witness file could not be updated");
        }
    }

    /// Open a new exam on `device`: appends `exam_opened` at offset zero.
    pub async fn start_exam(
        &self,
        device: &DeviceId,
        actor: &str,
        wall: DateTime<Utc>,
    ) -> Result<ExamId, StoreError> {
        let exam = ExamId::new();
        let entry = NewEntry::new(
            Some(exam),
            EntryKind::ExamOpened,
            actor,
            Instant::ZERO,
            wall,
            &serde_json::json!({}),
        )?;
        self.append(device, &entry).await?;
        Ok(exam)
    }

    /// Close `exam` at offset `at`: it is no longer the running exam.
    pub async fn close_exam(
        &self,
        device: &DeviceId,
        exam: ExamId,
        actor: &str,
        at: Instant,
        wall: DateTime<Utc>,
    ) -> Result<StoredEntry, StoreError> {
        let entry = NewEntry::new(
            Some(exam),
            EntryKind::ExamClosed,
            actor,
            at,
            wall,
            &serde_json::json!({}),
        )?;
        self.append(device, &entry).await
    }

    /// Append one clinical event of `exam`.
    pub async fn append_exam_event(
        &self,
        device: &DeviceId,
        exam: ExamId,
        actor: &str,
        event: &LoggedEvent,
        wall: DateTime<Utc>,
    ) -> Result<StoredEntry, StoreError> {
        let entry = NewEntry::exam_event(exam, actor, event, wall)?;
        self.append(device, &entry).await
    }

    /// Every row of `exam`, in timeline order (offset, then device, then sequence).
    pub async fn exam_entries(&self, exam: ExamId) -> Result<Vec<StoredEntry>, StoreError> {
        let exam = exam.to_string();
        if let Some(bulk) = &self.inner.bulk {
            return bulk
                .exam_rows_then(exam, |rows| {
                    rows.into_iter().map(EventRow::into_entry).collect()
                })
                .await;
        }
        let rows: Vec<EventRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, exam_id, device_id, seq, wall_clock, mono_ms, actor, kind, payload, \
                 prev_hash, hash FROM events WHERE exam_id = $1 \
                 ORDER BY mono_ms, device_id, seq",
            )
            .bind(&exam)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("reading an exam"))?
        });
        rows.into_iter().map(EventRow::into_entry).collect()
    }

    /// The clinical events of `exam`, ready for [`crate::domain::Exam::replay`].
    /// A payload that does not parse is an error naming the row, never skipped.
    pub async fn events_for_exam(&self, exam: ExamId) -> Result<Vec<LoggedEvent>, StoreError> {
        if let Some(bulk) = &self.inner.bulk {
            // Read and parsed on the reader's blocking thread (and its helper).
            return bulk
                .exam_rows_then(exam.to_string(), |rows| {
                    let entries = rows
                        .into_iter()
                        .map(EventRow::into_entry)
                        .collect::<Result<Vec<_>, _>>()?;
                    entries_to_events(&entries)
                })
                .await;
        }
        let entries = self.exam_entries(exam).await?;
        entries_to_events(&entries)
    }

    /// The exam's rows verified ([`Store::verify_with`], scoped to the exam) and its
    /// clinical events ready for replay, the two at once: what a kiosk resuming or
    /// reviewing an exam it must be able to trust does.
    ///
    /// With the bulk reader, each chain's stretch is read once: the same rows are
    /// hashed, walked and parsed into the events (on both cores, off the runtime).
    pub async fn verified_events(
        &self,
        exam: ExamId,
        trust: &Trust,
    ) -> Result<(VerifyReport, Vec<LoggedEvent>), StoreError> {
        let Some(bulk) = &self.inner.bulk else {
            let (report, events) = tokio::join!(
                self.verify_with(Some(exam), trust),
                self.events_for_exam(exam)
            );
            return Ok((report?, events?));
        };
        let mut report = VerifyReport::default();
        // (mono_ms, device, seq, event): the timeline order of `events_for_exam`
        // (the devices come in name order, so their index orders as their name).
        let mut timeline: Vec<(i64, usize, i64, LoggedEvent)> = Vec::new();
        let wanted = exam.to_string();
        let ranges = self.exam_ranges(exam).await?;
        for (d, (device, from, until)) in ranges.into_iter().enumerate() {
            report.devices.push(device.clone());
            // The anchor row (when there is one), the exam's stretch, the row after it.
            let start = if from > 1 { from - 1 } else { 1 };
            let limit = until + 2 - start;
            let wanted = wanted.clone();
            // The rows are read (one core, inside SQLite) while the checkpoints'
            // signatures are checked, which needs none of them.
            let (read, signed) = tokio::join!(
                bulk.rows_after_then(&device, start - 1, limit, move |rows| {
                    let page = check_hashes(rows);
                    let events = exam_events_of(&page, &wanted)?;
                    Ok((page, events))
                }),
                self.signed_checkpoints(&device, trust, Some((from, until)))
            );
            let (page, events) = read?;
            let signed = signed?;
            timeline.extend(events.into_iter().map(|(at, seq, e)| (at, d, seq, e)));
            let mut bad = self
                .verify_chain_from(
                    &device,
                    from,
                    Some(until),
                    &mut report.rows_checked,
                    Some((page, limit)),
                )
                .await?;
            if bad.is_none() {
                bad = self
                    .checkpoints_match(&device, trust, Some((from, until)), signed)
                    .await?;
            }
            if bad.is_some() {
                report.first_bad = bad;
                break;
            }
        }
        timeline.sort_by_key(|t| (t.0, t.1, t.2));
        Ok((report, timeline.into_iter().map(|t| t.3).collect()))
    }

    /// The running exam of `device` (opened, not closed; the latest if several),
    /// with its events, or `None`.
    pub async fn open_exam(&self, device: &DeviceId) -> Result<Option<RecoveredExam>, StoreError> {
        let found: Option<(String,)> = if let Some(bulk) = &self.inner.bulk {
            bulk.running_exam(device.as_str()).await?.map(|e| (e,))
        } else {
            on_pool!(self, |pool| {
                sqlx::query_as(
                "SELECT o.exam_id FROM events o WHERE o.device_id = $1 AND o.kind = 'exam_opened' \
                 AND NOT EXISTS (SELECT 1 FROM events c WHERE c.exam_id = o.exam_id \
                                 AND c.kind = 'exam_closed') \
                 ORDER BY o.seq DESC LIMIT 1",
            )
            .bind(device.as_str())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("finding the running exam"))?
            })
        };
        let Some((exam,)) = found else {
            return Ok(None);
        };
        let exam = ExamId::from_str(&exam).map_err(|e| StoreError::Corrupt {
            row: format!("exam_opened of {exam}"),
            reason: e.to_string(),
        })?;
        let entries = self.exam_entries(exam).await?;
        let last = entries
            .iter()
            .max_by_key(|e| (e.at, e.seq))
            .ok_or_else(|| StoreError::Corrupt {
                row: format!("exam {exam}"),
                reason: "opened but no rows".into(),
            })?;
        let opened = entries
            .iter()
            .find(|e| e.kind == EntryKind::ExamOpened.as_str())
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        Ok(Some(RecoveredExam {
            exam,
            opened,
            last_at: last.at,
            last_wall: last.wall,
            events: entries_to_events(&entries)?,
        }))
    }

    /// The `exam_opened` rows of `device` written at or after `since`, newest first:
    /// (exam, wall-clock time, payload). The registration desk's "today's list".
    pub async fn opened_since(
        &self,
        device: &DeviceId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(ExamId, DateTime<Utc>, serde_json::Value)>, StoreError> {
        let rows: Vec<(Option<String>, DateTime<Utc>, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT exam_id, wall_clock, payload FROM events WHERE device_id = $1 \
                 AND kind = 'exam_opened' AND wall_clock >= $2 ORDER BY seq DESC",
            )
            .bind(device.as_str())
            .bind(since)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("listing today's exams"))?
        });
        opened_rows(rows)
    }

    /// The `exam_opened` rows of every device with a wall-clock label in
    /// `[since, until)`, oldest first: (exam, wall-clock time, payload). What
    /// `cmr-kiosk report --list` prints.
    pub async fn opened_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(ExamId, DateTime<Utc>, serde_json::Value)>, StoreError> {
        let rows: Vec<(Option<String>, DateTime<Utc>, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT exam_id, wall_clock, payload FROM events WHERE kind = 'exam_opened' \
                 AND wall_clock >= $1 AND wall_clock < $2 ORDER BY wall_clock, device_id, seq",
            )
            .bind(since)
            .bind(until)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("listing exams"))?
        });
        opened_rows(rows)
    }

    /// Up to `limit` rows of `device` with a sequence number above `after`, in order.
    pub async fn entries_after(
        &self,
        device: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        self.rows_after(device, after, limit)
            .await?
            .into_iter()
            .map(EventRow::into_entry)
            .collect()
    }

    pub(crate) async fn rows_after(
        &self,
        device: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        if let Some(bulk) = &self.inner.bulk {
            return bulk.rows_after(device, after, limit).await;
        }
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, exam_id, device_id, seq, wall_clock, mono_ms, actor, kind, payload, \
                 prev_hash, hash FROM events WHERE device_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
            )
            .bind(device)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("reading events"))?
        }))
    }

    /// [`Store::rows_after`] with each row's hash checked ([`EventRow::hash_matches`]),
    /// on the bulk reader's blocking thread when there is one, both cores sharing the
    /// page.
    pub(crate) async fn rows_after_checked(
        &self,
        device: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(EventRow, bool)>, StoreError> {
        if let Some(bulk) = &self.inner.bulk {
            return bulk
                .rows_after_then(device, after, limit, |rows| Ok(check_hashes(rows)))
                .await;
        }
        Ok(check_hashes(self.rows_after(device, after, limit).await?))
    }

    /// Every device with rows in this store, in name order.
    pub async fn devices(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT DISTINCT device_id FROM events ORDER BY device_id")
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("listing devices"))?
        });
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Number of rows of `device` (all devices when `None`).
    pub async fn count_events(&self, device: Option<&str>) -> Result<i64, StoreError> {
        let n: (i64,) = on_pool!(self, |pool| {
            match device {
                Some(d) => {
                    sqlx::query_as("SELECT COUNT(*) FROM events WHERE device_id = $1")
                        .bind(d)
                        .fetch_one(pool)
                        .await
                }
                None => {
                    sqlx::query_as("SELECT COUNT(*) FROM events")
                        .fetch_one(pool)
                        .await
                }
            }
            .map_err(StoreError::db("counting events"))?
        });
        Ok(n.0)
    }

    async fn head(&self, device: &str) -> Result<Option<(i64, String)>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as("SELECT seq, hash FROM log_head WHERE device_id = $1")
                .bind(device)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("reading the chain head"))?
        }))
    }

    async fn seq_with_hash(&self, device: &str, hash: &str) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT seq FROM events WHERE device_id = $1 AND hash = $2 LIMIT 1")
                .bind(device)
                .bind(hash)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("looking up a hash"))?
        });
        Ok(row.map(|r| r.0))
    }

    /// Verify the hash chains with no key or outside checkpoint to compare with:
    /// [`Store::verify_with`] and an empty [`Trust`].
    pub async fn verify(&self, exam: Option<ExamId>) -> Result<VerifyReport, StoreError> {
        self.verify_with(exam, &Trust::default()).await
    }

    /// Verify the hash chains: every chain when `exam` is `None`, otherwise the
    /// stretch of each chain that holds the exam's rows (with one row either
    /// side, so a deleted first or last row of the exam is found too); then each
    /// chain against its signed checkpoints, those in the database and those
    /// `trust` brings from outside it (the witness file, the central copy).
    ///
    /// The chains walked are every device named by a row, by `log_head`, by a
    /// checkpoint or by `trust`, so an emptied log is a finding, not "0 rows".
    /// Reports the first altered, deleted, reordered, truncated or rewritten row,
    /// or a checkpoint that is missing or not signed by the trusted key.
    pub async fn verify_with(
        &self,
        exam: Option<ExamId>,
        trust: &Trust,
    ) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        // (device, first seq to check, last seq of interest or None for the whole chain)
        let ranges: Vec<(String, i64, Option<i64>)> = match exam {
            None => self
                .chain_names(trust)
                .await?
                .into_iter()
                .map(|d| (d, 1, None))
                .collect(),
            Some(exam) => self
                .exam_ranges(exam)
                .await?
                .into_iter()
                .map(|(d, from, until)| (d, from, Some(until)))
                .collect(),
        };
        for (device, from, until) in ranges {
            report.devices.push(device.clone());
            let mut bad = self
                .verify_chain(&device, from, until, &mut report.rows_checked)
                .await?;
            if bad.is_none() {
                let scope = until.map(|u| (from, u));
                bad = self.check_checkpoints(&device, trust, scope).await?;
            }
            if bad.is_some() {
                report.first_bad = bad;
                break;
            }
        }
        if report.first_bad.is_none()
            && exam.is_none()
            && trust.accounts
            && let Some(detail) = self.verify_accounts().await?
        {
            report.first_bad = Some(BadRow {
                device: "accounts".to_string(),
                seq: 0,
                id: None,
                problem: Problem::AccountAltered,
                detail,
            });
        }
        Ok(report)
    }

    /// The stretch of each chain that holds `exam`'s rows, with the row before it
    /// (so a deleted first row is found): (device, first seq, last seq), by device.
    async fn exam_ranges(&self, exam: ExamId) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let rows: Vec<(String, i64, i64)> = if let Some(bulk) = &self.inner.bulk {
            bulk.exam_ranges(exam.to_string()).await?
        } else {
            on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT device_id, MIN(seq), MAX(seq) FROM events WHERE exam_id = $1 \
                     GROUP BY device_id ORDER BY device_id",
                )
                .bind(exam.to_string())
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("finding an exam's rows"))?
            })
        };
        Ok(rows
            .into_iter()
            .map(|(d, lo, hi)| (d, (lo - 1).max(1), hi))
            .collect())
    }

    /// Every chain this store or `trust` knows of: devices with rows, with a
    /// head, with a checkpoint, or named by `trust`.
    async fn chain_names(&self, trust: &Trust) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT device_id FROM events UNION SELECT device_id FROM log_head \
                 UNION SELECT device_id FROM checkpoints",
            )
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("listing chains"))?
        });
        let mut names: std::collections::BTreeSet<String> = rows.into_iter().map(|r| r.0).collect();
        names.extend(trust.keys.keys().cloned());
        names.extend(trust.outside.iter().map(|(_, c)| c.device_id.clone()));
        if let Some(only) = &trust.only {
            names.retain(|n| only.contains(n));
        }
        Ok(names.into_iter().collect())
    }

    /// The signed checkpoints of `device` in this store, in sequence order.
    pub async fn checkpoints(&self, device: &str) -> Result<Vec<Checkpoint>, StoreError> {
        self.checkpoints_after(device, 0).await
    }

    /// The signed checkpoints of `device` for rows after `after`, in sequence order
    /// (the relays read only what is new since their mark).
    pub async fn checkpoints_after(
        &self,
        device: &str,
        after: i64,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT device_id, seq, hash, wall_clock, public_key, signature FROM checkpoints \
                 WHERE device_id = $1 AND seq > $2 ORDER BY seq",
            )
            .bind(device)
            .bind(after)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("reading checkpoints"))?
        }))
    }

    /// `device`'s checkpoints for rows `lo..=hi` and its newest one, in sequence
    /// order.
    async fn checkpoints_scoped(
        &self,
        device: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT device_id, seq, hash, wall_clock, public_key, signature FROM checkpoints \
                 WHERE device_id = $1 AND (seq BETWEEN $2 AND $3 OR seq = \
                      (SELECT MAX(seq) FROM checkpoints WHERE device_id = $1)) ORDER BY seq",
            )
            .bind(device)
            .bind(lo)
            .bind(hi)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("reading checkpoints"))?
        }))
    }

    /// The row of `device`'s newest checkpoint (0 when none).
    pub async fn last_checkpoint_seq(&self, device: &str) -> Result<i64, StoreError> {
        let row: (Option<i64>,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT MAX(seq) FROM checkpoints WHERE device_id = $1")
                .bind(device)
                .fetch_one(pool)
                .await
                .map_err(StoreError::db("reading the newest checkpoint"))?
        });
        Ok(row.0.unwrap_or(0))
    }

    /// The hash of `device`'s row `seq`, if present.
    async fn hash_at(&self, device: &str, seq: i64) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT hash FROM events WHERE device_id = $1 AND seq = $2")
                .bind(device)
                .bind(seq)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("reading a row's hash"))?
        });
        Ok(row.map(|r| r.0))
    }

    /// The hashes of `device`'s rows that its checkpoints in this store name, by
    /// sequence number, in one query.
    async fn checkpointed_hashes(
        &self,
        device: &str,
        lo: i64,
        hi: i64,
    ) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        let rows: Vec<(i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT e.seq, e.hash FROM checkpoints c JOIN events e \
                 ON e.device_id = c.device_id AND e.seq = c.seq WHERE c.device_id = $1 \
                 AND (c.seq BETWEEN $2 AND $3 OR c.seq = \
                      (SELECT MAX(seq) FROM checkpoints WHERE device_id = $1))",
            )
            .bind(device)
            .bind(lo)
            .bind(hi)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("reading the checkpointed rows"))?
        });
        Ok(rows.into_iter().collect())
    }

    /// `device`'s chain (already walked and whole) against its checkpoints: each
    /// signed by the trusted key (or, without one, by the key it names); none
    /// beyond the chain's end; each matching its row's hash; and, with a trusted
    /// key, one at every [`CHECKPOINT_EVERY`]th row.
    ///
    /// With `scope` (the rows of one exam, `from..=until`), only the checkpoints
    /// inside it and the newest one (which shows the chain is not truncated) are
    /// checked: verifying an exam costs the exam's rows, not the kiosk's history.
    async fn check_checkpoints(
        &self,
        device: &str,
        trust: &Trust,
        scope: Option<(i64, i64)>,
    ) -> Result<Option<BadRow>, StoreError> {
        let signed = self.signed_checkpoints(device, trust, scope).await?;
        self.checkpoints_match(device, trust, scope, signed).await
    }

    /// The first half of [`Store::check_checkpoints`], which needs no row of the
    /// chain (an exam's verification runs it while the rows are read): the
    /// checkpoints in `scope` (the database's and `trust`'s), the hashes of their
    /// rows, and the first one not signed by the key it should be.
    async fn signed_checkpoints(
        &self,
        device: &str,
        trust: &Trust,
        scope: Option<(i64, i64)>,
    ) -> Result<SignedCheckpoints, StoreError> {
        let (lo, hi) = scope.unwrap_or((1, i64::MAX));
        let local = self.checkpoints_scoped(device, lo, hi).await?;
        let hashes = self.checkpointed_hashes(device, lo, hi).await?;
        let trusted = trust.keys.get(device);
        let mut all: Vec<(Source, Checkpoint)> =
            local.iter().cloned().map(|c| (Source::Local, c)).collect();
        let outside_newest = trust
            .outside
            .iter()
            .filter(|(_, c)| c.device_id == device)
            .map(|(_, c)| c.seq)
            .max();
        all.extend(
            trust
                .outside
                .iter()
                .filter(|(_, c)| c.device_id == device)
                .filter(|(_, c)| {
                    scope.is_none_or(|(from, until)| {
                        (from..=until).contains(&c.seq) || Some(c.seq) == outside_newest
                    })
                })
                .cloned(),
        );
        // A signature check costs about 50 µs: an exam's few hundred on both cores.
        let (mut signed, rest) = on_both_cores(&all, SIGNATURES_PARALLEL_FROM, |part| {
            part.iter()
                .map(|(_, cp)| match trusted {
                    Some(key) => cp.is_signed_by(key),
                    None => cp.named_key().is_some_and(|k| cp.is_signed_by(&k)),
                })
                .collect::<Vec<bool>>()
        });
        signed.extend(rest.unwrap_or_default());
        let unsigned =
            all.iter()
                .zip(signed)
                .find(|(_, signed)| !signed)
                .map(|((source, cp), _)| BadRow {
                    device: device.to_string(),
                    seq: cp.seq,
                    id: None,
                    problem: Problem::BadCheckpoint,
                    detail: format!(
                        "the checkpoint for #{} in {source} is not signed by {}",
                        cp.seq,
                        if trusted.is_some() {
                            "this kiosk's key"
                        } else {
                            "the key it names"
                        }
                    ),
                });
        Ok(SignedCheckpoints {
            all,
            local,
            hashes,
            unsigned,
        })
    }

    /// The second half of [`Store::check_checkpoints`], once the chain is walked
    /// and whole: every checkpoint signed, none beyond the chain's end, each matching
    /// its row's hash, and (with a trusted key) one at every [`CHECKPOINT_EVERY`]th
    /// row.
    async fn checkpoints_match(
        &self,
        device: &str,
        trust: &Trust,
        scope: Option<(i64, i64)>,
        signed: SignedCheckpoints,
    ) -> Result<Option<BadRow>, StoreError> {
        let SignedCheckpoints {
            mut all,
            local,
            hashes,
            unsigned,
        } = signed;
        if unsigned.is_some() {
            return Ok(unsigned);
        }
        let trusted = trust.keys.get(device);
        let bad = |seq: i64, problem: Problem, detail: String| BadRow {
            device: device.to_string(),
            seq,
            id: None,
            problem,
            detail,
        };
        let label = |c: &Checkpoint| c.wall_clock.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let end = self.max_seq(device).await?;
        all.sort_by(|a, b| b.1.seq.cmp(&a.1.seq).then(a.0.cmp(&b.0)));
        for (source, cp) in &all {
            if cp.seq > end {
                return Ok(Some(bad(
                    end + 1,
                    Problem::Truncated,
                    format!(
                        "the checkpoint signed {} in {source} records row #{}, but the chain \
                         ends at #{end}: rows were removed or the database is an older copy",
                        label(cp),
                        cp.seq
                    ),
                )));
            }
            let row_hash = match hashes.get(&cp.seq) {
                Some(h) => Some(h.clone()),
                None => self.hash_at(device, cp.seq).await?,
            };
            if row_hash.as_deref() != Some(cp.hash.as_str()) {
                return Ok(Some(bad(
                    cp.seq,
                    Problem::Rewritten,
                    format!(
                        "row #{} is not the row the checkpoint signed {} in {source} records: \
                         the chain was rewritten",
                        cp.seq,
                        label(cp)
                    ),
                )));
            }
        }
        if trusted.is_some() && trust.require_every {
            let have: std::collections::BTreeSet<i64> = local.iter().map(|c| c.seq).collect();
            let (first, last) = scope.unwrap_or((1, end));
            // The first multiple of the period at or after `first` (rows count from 1).
            let mut k =
                ((first.max(1) + CHECKPOINT_EVERY - 1) / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
            while k <= last.min(end) {
                if !have.contains(&k) {
                    return Ok(Some(bad(
                        k,
                        Problem::BadCheckpoint,
                        format!(
                            "no signed checkpoint for row #{k} (one is signed every \
                             {CHECKPOINT_EVERY} rows): checkpoints were removed"
                        ),
                    )));
                }
                k += CHECKPOINT_EVERY;
            }
        }
        Ok(None)
    }

    /// Walk `device`'s chain from sequence `from`; stop after the first row past
    /// `until` (or at the end, then compare with the head).
    async fn verify_chain(
        &self,
        device: &str,
        from: i64,
        until: Option<i64>,
        checked: &mut u64,
    ) -> Result<Option<BadRow>, StoreError> {
        self.verify_chain_from(device, from, until, checked, None)
            .await
    }

    /// [`Store::verify_chain`], starting from `first`, already read and checked:
    /// rows after `from - 2` (or from 1), at most `limit` of them, as
    /// [`Store::rows_after_checked`] reads them.
    async fn verify_chain_from(
        &self,
        device: &str,
        from: i64,
        until: Option<i64>,
        checked: &mut u64,
        first: Option<(Vec<(EventRow, bool)>, i64)>,
    ) -> Result<Option<BadRow>, StoreError> {
        let mut prev_seq = from - 1;
        let mut prev_hash = GENESIS_HASH.to_string();
        // The first page, and whether it ended the chain (fewer rows than asked for).
        let mut first = first.map(|(page, limit)| {
            let end = (page.len() as i64) < limit;
            (page.into_iter(), end)
        });
        if from > 1 {
            // Anchor on the row before the range (not itself checked).
            let anchor = match &mut first {
                Some((page, _)) => page.next().map(|(row, _)| row),
                None => self
                    .rows_after(device, from - 2, 1)
                    .await?
                    .into_iter()
                    .next(),
            };
            match anchor {
                Some(anchor) if anchor.seq == from - 1 => prev_hash = anchor.hash,
                found => {
                    return Ok(Some(BadRow {
                        device: device.to_string(),
                        seq: from - 1,
                        id: None,
                        problem: Problem::Deleted,
                        detail: format!(
                            "row #{} is missing (next row found: {})",
                            from - 1,
                            found.map_or("none".to_string(), |r| format!("#{}", r.seq))
                        ),
                    }));
                }
            }
        }
        // The rows walked are freed on another thread: a page of an exam is a
        // hundred thousand small strings, and the caller waits for the walk.
        let mut walked: Vec<EventRow> = Vec::new();
        loop {
            let (page, end_of_chain) = match first.take() {
                Some(first) => first,
                None => {
                    let page = self.rows_after_checked(device, prev_seq, PAGE_ROWS).await?;
                    let end = (page.len() as i64) < PAGE_ROWS;
                    (page.into_iter(), end)
                }
            };
            walked.reserve(page.len());
            for (row, hash_ok) in page {
                if let Some(bad) = self
                    .check_row(device, &row, hash_ok, prev_seq, &prev_hash)
                    .await?
                {
                    return Ok(Some(bad));
                }
                *checked += 1;
                prev_seq = row.seq;
                prev_hash.clear();
                prev_hash.push_str(&row.hash);
                walked.push(row);
                if until.is_some_and(|u| prev_seq > u) {
                    free_elsewhere(walked);
                    return Ok(None);
                }
            }
            if end_of_chain {
                break;
            }
        }
        free_elsewhere(walked);
        let head = self.head(device).await?;
        // The kiosk may be writing while we read: rows appended after the walk are
        // under a newer head. Walk on to the head before calling anything missing.
        while let Some((seq, _)) = head
            && seq > prev_seq
        {
            let page = self
                .rows_after_checked(device, prev_seq, (seq - prev_seq).min(PAGE_ROWS))
                .await?;
            if page.is_empty() {
                break;
            }
            for (row, hash_ok) in page {
                if let Some(bad) = self
                    .check_row(device, &row, hash_ok, prev_seq, &prev_hash)
                    .await?
                {
                    return Ok(Some(bad));
                }
                *checked += 1;
                prev_seq = row.seq;
                prev_hash = row.hash;
            }
        }
        match head {
            Some((seq, _)) if seq > prev_seq => Ok(Some(BadRow {
                device: device.to_string(),
                seq: prev_seq + 1,
                id: None,
                problem: Problem::Deleted,
                detail: format!(
                    "the chain ends at #{prev_seq} but its head records #{seq}: rows #{}..#{seq} are missing",
                    prev_seq + 1
                ),
            })),
            Some((seq, hash_at_head)) if seq < prev_seq || hash_at_head != prev_hash => {
                Ok(Some(BadRow {
                    device: device.to_string(),
                    seq: prev_seq,
                    id: None,
                    problem: Problem::HeadMismatch,
                    detail: format!(
                        "the chain ends at #{prev_seq} but its head records #{seq} with another hash ({hash})",
                        hash = &hash_at_head[..hash_at_head.len().min(12)]
                    ),
                }))
            }
            _ => Ok(None),
        }
    }

    async fn check_row(
        &self,
        device: &str,
        row: &EventRow,
        self_consistent: bool,
        prev_seq: i64,
        prev_hash: &str,
    ) -> Result<Option<BadRow>, StoreError> {
        let bad = |seq: i64, problem: Problem, detail: String| BadRow {
            device: device.to_string(),
            seq,
            id: if seq == row.seq {
                Uuid::parse_str(&row.id).ok()
            } else {
                None
            },
            problem,
            detail,
        };
        if row.seq != prev_seq + 1 {
            return Ok(Some(bad(
                prev_seq + 1,
                Problem::Deleted,
                format!(
                    "row #{} is missing: #{} follows #{}",
                    prev_seq + 1,
                    row.seq,
                    prev_seq
                ),
            )));
        }
        if row.prev_hash == prev_hash {
            if self_consistent {
                return Ok(None);
            }
            return Ok(Some(bad(
                row.seq,
                Problem::Altered,
                "its content no longer matches its hash".to_string(),
            )));
        }
        // The link to the predecessor is broken: is the real predecessor elsewhere?
        let elsewhere = self.seq_with_hash(device, &row.prev_hash).await?;
        Ok(Some(match elsewhere {
            Some(other) if other != row.seq => bad(
                row.seq,
                Problem::Reordered,
                format!("its predecessor is now at #{other}, not #{prev_seq}"),
            ),
            _ if self_consistent => bad(
                row.seq,
                Problem::Deleted,
                format!("its predecessor is not #{prev_seq} and is missing from the chain"),
            ),
            _ => bad(
                row.seq,
                Problem::Altered,
                "its content and its link no longer match its hash".to_string(),
            ),
        }))
    }
}

/// Rows a page is split at for two threads (a short page is not worth a thread).
const PARALLEL_FROM: usize = 512;

/// Checkpoints whose signatures are checked on two threads (each check is long).
const SIGNATURES_PARALLEL_FROM: usize = 16;

/// `f` over `items`, the two halves on two threads when there are at least `from`.
fn on_both_cores<I: Sync, O: Send>(
    items: &[I],
    from: usize,
    f: impl Fn(&[I]) -> O + Sync,
) -> (O, Option<O>) {
    if items.len() < from {
        return (f(items), None);
    }
    let (a, b) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        let first = s.spawn(|| f(a));
        let second = f(b);
        // A thread that could not run (or panicked): the same work here.
        let first = first.join().unwrap_or_else(|_| f(a));
        (first, Some(second))
    })
}

/// What [`Store::signed_checkpoints`] found, for [`Store::checkpoints_match`].
struct SignedCheckpoints {
    /// The checkpoints in scope: the database's, then `trust`'s.
    all: Vec<(Source, Checkpoint)>,
    /// The database's.
    local: Vec<Checkpoint>,
    /// The hash of each checkpointed row in scope, by sequence number.
    hashes: std::collections::HashMap<i64, String>,
    /// The first checkpoint not signed by the key it should be.
    unsigned: Option<BadRow>,
}

/// Frees `rows` on a thread of their own (here, if none can start: a spawn that
/// fails drops its closure, and the rows with it).
fn free_elsewhere(rows: Vec<EventRow>) {
    if rows.len() < PARALLEL_FROM {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("log-free".into())
        .spawn(move || drop(rows));
}

/// Each row with whether its stored hash is its content's ([`EventRow::hash_matches`]).
fn check_hashes(rows: Vec<EventRow>) -> Vec<(EventRow, bool)> {
    let (mut flags, rest) = on_both_cores(&rows, PARALLEL_FROM, |part| {
        part.iter()
            .map(EventRow::hash_matches)
            .collect::<Vec<bool>>()
    });
    flags.extend(rest.unwrap_or_default());
    rows.into_iter().zip(flags).collect()
}

fn entries_to_events(entries: &[StoredEntry]) -> Result<Vec<LoggedEvent>, StoreError> {
    let (first, rest) = on_both_cores(entries, PARALLEL_FROM, entries_to_events_here);
    let mut events = first?;
    events.extend(rest.transpose()?.unwrap_or_default());
    Ok(events)
}

/// The clinical events of `exam` among `rows` (one chain's, in sequence order), each
/// with its offset and sequence number for the timeline order; parsed on both
/// cores. A payload that does not parse is an error naming the row.
fn exam_events_of(
    rows: &[(EventRow, bool)],
    exam: &str,
) -> Result<Vec<(i64, i64, LoggedEvent)>, StoreError> {
    let mine: Vec<&EventRow> = rows
        .iter()
        .map(|(row, _)| row)
        .filter(|row| {
            row.exam_id.as_deref() == Some(exam) && row.kind == EntryKind::ExamEvent.as_str()
        })
        .collect();
    let parse = |part: &[&EventRow]| -> Result<Vec<(i64, i64, LoggedEvent)>, StoreError> {
        part.iter()
            .map(|row| {
                let corrupt = |reason: String| StoreError::Corrupt {
                    row: format!("{} #{} (event {})", row.device_id, row.seq, row.id),
                    reason,
                };
                let at = u64::try_from(row.mono_ms)
                    .map_err(|_| corrupt(format!("negative mono_ms {}", row.mono_ms)))?;
                let event: ExamEvent = serde_json::from_str(&row.payload)
                    .map_err(|err| corrupt(format!("payload is not an exam event: {err}")))?;
                Ok((
                    row.mono_ms,
                    row.seq,
                    LoggedEvent {
                        at: Instant::from_millis(at),
                        event,
                    },
                ))
            })
            .collect()
    };
    let (first, rest) = on_both_cores(&mine, PARALLEL_FROM, parse);
    let mut events = first?;
    events.extend(rest.transpose()?.unwrap_or_default());
    Ok(events)
}

fn entries_to_events_here(entries: &[StoredEntry]) -> Result<Vec<LoggedEvent>, StoreError> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::ExamEvent.as_str())
        .map(|e| {
            let event: ExamEvent =
                serde_json::from_str(&e.payload).map_err(|err| StoreError::Corrupt {
                    row: format!("{} #{} (event {})", e.device, e.seq, e.id),
                    reason: format!("payload is not an exam event: {err}"),
                })?;
            Ok(LoggedEvent { at: e.at, event })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_is_written_as_chrono_writes_it() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 8_000_000_000) as i64 - 1_000_000_000;
            let nanos = (x >> 40) as u32 % 1_000_000_000;
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            assert_eq!(
                WallText(&t).to_string(),
                t.format(WALL_FORMAT).to_string(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn canonical_hash_is_stable() {
        let wall = DateTime::parse_from_rfc3339("2025-06-01T08:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let row = EventRow {
            id: "a".into(),
            exam_id: None,
            device_id: "kiosk-1".into(),
            seq: 1,
            wall_clock: wall,
            mono_ms: 5,
            actor: "ann".into(),
            kind: "audit".into(),
            payload: "{}".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let c = row.canonical_content();
        assert_eq!(
            String::from_utf8(c.clone()).unwrap(),
            r#"["cmr-log-v1","a",null,"kiosk-1",1,"2025-06-01T08:00:00.123Z",5,"ann","audit","{}"]"#
        );
        let h = chain_hash(GENESIS_HASH, &c).unwrap();
        assert_eq!(h.len(), 64);
        assert_eq!(chain_hash(GENESIS_HASH, &c).unwrap(), h);
        assert!(chain_hash("zz", &c).is_none());
        // The streamed check agrees with the hash of the buffered content.
        let mut row = row;
        row.hash = h.clone();
        assert!(row.hash_matches());
        row.hash = h.to_uppercase();
        assert!(!row.hash_matches(), "only the lower-case hex as written");
        row.hash = h;
        row.payload = "{\"a\":1}".into();
        assert!(!row.hash_matches(), "an altered payload");
    }

    #[test]
    fn device_ids_are_checked() {
        assert!(DeviceId::new("kiosk-1.room_3").is_ok());
        assert!(DeviceId::new("").is_err());
        assert!(DeviceId::new("a b").is_err());
        assert!(DeviceId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn exam_clock_maps_monotonic_time() {
        let origin = std::time::Instant::now();
        let clock = ExamClock::new(origin, Instant::from_secs(100));
        assert_eq!(
            clock.at(origin + std::time::Duration::from_millis(1500)),
            Instant::from_millis(101_500)
        );
        assert_eq!(clock.at(origin), Instant::from_secs(100));
    }
}
