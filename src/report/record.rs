//! One exam's record read back from the log (issue 15): its rows, their verification
//! and the exam rebuilt by replay. Every output (report text and JSON, the PDF sheet,
//! the SR, the HL7 message) is produced from this, so any of them can be produced
//! again at any time for any past exam, and two of them never disagree.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::exam::ProtocolSettings;
use crate::domain::exam::{Exam, ExamEvent, LoggedEvent};
use crate::domain::time::Instant;
use crate::engine::LoggedDecision;
use crate::engine::session::JournalRow;
use crate::store::checkpoint::Trust;
use crate::store::{AuditEvent, EntryKind, ExamId, Store, StoreError, StoredEntry, VerifyReport};
use crate::ui::nurse::registration::Registration;

/// Most rows one exam's record holds: a day of readings twice a second with room to
/// spare. A longer exam is refused with a reason rather than read into memory.
pub const MAX_RECORD_ROWS: usize = 400_000;

/// The key in an `exam_opened` payload that marks a rehearsal exam (`cmr-kiosk
/// simulate --record`): never a patient's, marked in every output, left out of QC.
pub const TRAINING_KEY: &str = "training";

/// The actor of a training exam's rows (`simulate --record`).
pub const TRAINING_ACTOR: &str = "training";

/// Why an exam's record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No row names this exam.
    #[error("no exam {0} in the log")]
    NotFound(String),
    /// More rows than [`MAX_RECORD_ROWS`].
    #[error("exam {exam} has {rows} rows; at most {max} are read")]
    TooLong {
        /// The exam.
        exam: String,
        /// Its rows.
        rows: usize,
        /// The bound ([`MAX_RECORD_ROWS`]).
        max: usize,
    },
    /// A logged event the domain does not take on replay.
    #[error("exam {exam} does not replay: {reason}")]
    Replay {
        /// The exam.
        exam: String,
        /// Why.
        reason: String,
    },
}

/// One row of the record: where it sits on the exam's time line, its wall-clock
/// label, who and what.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// Exam time.
    pub at: Instant,
    /// Wall-clock label (UTC).
    pub wall: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What, as the console's journal holds it (`None` for the opening and closing
    /// rows).
    pub row: Option<JournalRow>,
}

/// One exam as the log holds it.
#[derive(Debug, Clone)]
pub struct ExamRecord {
    /// The exam.
    pub exam: ExamId,
    /// The device that opened it.
    pub device: String,
    /// A rehearsal exam, never a patient's.
    pub training: bool,
    /// The registration the exam was opened with, if it was registered on the kiosk.
    pub registration: Option<Registration>,
    /// The `exam_opened` payload as logged.
    pub opened_payload: serde_json::Value,
    /// Wall-clock label of the opening.
    pub opened: DateTime<Utc>,
    /// Wall-clock label of the closing row, once closed.
    pub closed: Option<DateTime<Utc>>,
    /// Wall-clock label of the row that finished the exam, once finished.
    pub finished_wall: Option<DateTime<Utc>>,
    /// The exam rebuilt by replaying every clinical event.
    pub replayed: Exam,
    /// The exam time of its last row.
    pub end: Instant,
    /// Every row in timeline order.
    pub rows: Vec<RecordRow>,
    /// The verification of the exam's rows (their chains and checkpoints).
    pub verification: VerifyReport,
    /// The hash of the exam's newest row: it seals every row before it.
    pub head_hash: String,
}

impl ExamRecord {
    /// Reads, verifies and replays `exam` from `store`.
    pub async fn load(store: &Store, exam: ExamId, trust: &Trust) -> Result<Self, RecordError> {
        let entries = store.exam_entries(exam).await?;
        let verification = store.verify_with(Some(exam), trust).await?;
        Self::from_entries(exam, entries, verification)
    }

    /// Builds the record from the exam's rows (timeline order) and their verification.
    pub fn from_entries(
        exam: ExamId,
        entries: Vec<StoredEntry>,
        verification: VerifyReport,
    ) -> Result<Self, RecordError> {
        Self::from_entries_at_most(exam, entries, verification, MAX_RECORD_ROWS)
    }

    /// [`ExamRecord::from_entries`] refusing more than `max_rows` rows.
    pub fn from_entries_at_most(
        exam: ExamId,
        entries: Vec<StoredEntry>,
        verification: VerifyReport,
        max_rows: usize,
    ) -> Result<Self, RecordError> {
        if entries.is_empty() {
            return Err(RecordError::NotFound(exam.to_string()));
        }
        if entries.len() > max_rows {
            return Err(RecordError::TooLong {
                exam: exam.to_string(),
                rows: entries.len(),
                max: max_rows,
            });
        }
        let replay_error = |reason: String| RecordError::Replay {
            exam: exam.to_string(),
            reason,
        };
        let opened_row = entries
            .iter()
            .find(|e| e.kind == EntryKind::ExamOpened.as_str());
        let opened_payload: serde_json::Value = opened_row
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        let training = opened_payload
            .get(TRAINING_KEY)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let registration = Registration::from_json(&opened_payload);
        let device = opened_row.unwrap_or(&entries[0]).device.clone();
        let opened = opened_row.unwrap_or(&entries[0]).wall;
        let closed = entries
            .iter()
            .find(|e| e.kind == EntryKind::ExamClosed.as_str())
            .map(|e| e.wall);
        let head_hash = entries
            .iter()
            .filter(|e| e.device == device)
            .max_by_key(|e| e.seq)
            .map(|e| e.hash.clone())
            .unwrap_or_default();

        let mut rows = Vec::with_capacity(entries.len());
        let mut events = Vec::new();
        let mut finished_wall = None;
        for e in &entries {
            let row = match EntryKind::parse(&e.kind) {
                Some(EntryKind::ExamEvent) => {
                    let event: ExamEvent = serde_json::from_str(&e.payload)
                        .map_err(|err| replay_error(format!("row {}: {err}", e.seq)))?;
                    if matches!(event, ExamEvent::ExamFinished { .. }) {
                        finished_wall = Some(e.wall);
                    }
                    events.push(LoggedEvent {
                        at: e.at,
                        event: event.clone(),
                    });
                    Some(JournalRow::Event {
                        at: e.at,
                        actor: Some(e.actor.clone()),
                        event,
                    })
                }
                Some(EntryKind::Audit) => serde_json::from_str::<AuditEvent>(&e.payload)
                    .ok()
                    .map(|event| JournalRow::Audit { at: e.at, event }),
                Some(EntryKind::Decision) => serde_json::from_str::<LoggedDecision>(&e.payload)
                    .ok()
                    .map(|d| JournalRow::Decision {
                        at: e.at,
                        handled: Instant::from_millis(d.handled_ms),
                        output: d.output,
                    }),
                _ => None,
            };
            rows.push(RecordRow {
                at: e.at,
                wall: e.wall,
                actor: e.actor.clone(),
                row,
            });
        }
        let replayed = Exam::replay(ProtocolSettings::default(), &events)
            .map_err(|err| replay_error(err.to_string()))?;
        let end = entries.iter().map(|e| e.at).max().unwrap_or(Instant::ZERO);
        Ok(ExamRecord {
            exam,
            device,
            training,
            registration,
            opened_payload,
            opened,
            closed,
            finished_wall,
            replayed,
            end,
            rows,
            verification,
            head_hash,
        })
    }

    /// The clinical events in timeline order.
    pub fn events(&self) -> impl Iterator<Item = (&RecordRow, &ExamEvent)> {
        self.rows.iter().filter_map(|r| match &r.row {
            Some(JournalRow::Event { event, .. }) => Some((r, event)),
            _ => None,
        })
    }

    /// The wall-clock label of exam time `at`: the opening's label plus the offset.
    pub fn wall_at(&self, at: Instant) -> DateTime<Utc> {
        self.opened + chrono::Duration::milliseconds(i64::try_from(at.as_millis()).unwrap_or(0))
    }
}

/// One exam in the list `cmr-kiosk report --list` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExamListing {
    /// The exam.
    pub exam: String,
    /// Wall-clock label of its opening (UTC).
    pub opened: DateTime<Utc>,
    /// A rehearsal exam.
    pub training: bool,
    /// Patient ID, when registered on the kiosk.
    pub patient_id: Option<String>,
    /// Patient name, when registered on the kiosk.
    pub name: Option<String>,
    /// Accession number, when the exam came from the worklist.
    pub accession: Option<String>,
}

impl ExamListing {
    /// The listing of an `exam_opened` row.
    pub fn of(exam: ExamId, opened: DateTime<Utc>, payload: &serde_json::Value) -> Self {
        let reg = Registration::from_json(payload);
        ExamListing {
            exam: exam.to_string(),
            opened,
            training: payload
                .get(TRAINING_KEY)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            patient_id: reg.as_ref().map(|r| r.patient_id.clone()),
            name: reg.as_ref().map(|r| r.name.clone()),
            accession: reg
                .as_ref()
                .and_then(|r| r.order.as_ref())
                .map(|o| o.accession.clone()),
        }
    }
}
