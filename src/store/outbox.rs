//! The RIS outbox table (`ris_outbox`): HL7 messages the kiosk owes the RIS.
//!
//! One row per exam and kind (`UNIQUE (exam_id, kind)`): enqueueing the same kind
//! for an exam again keeps the first row (its message and control id) and inserts
//! nothing. A row is `pending` until the RIS accepts it (`sent`) or rejects it
//! (`failed`); only pending rows change state, so a row marked sent is never sent
//! again. The sender itself is [`crate::report::ris`].

use uuid::Uuid;

use super::{ExamId, Store, StoreError, on_pool};

/// Longest error text kept in `last_error` (characters).
pub const MAX_ERROR_CHARS: usize = 500;

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Not yet accepted by the RIS: sent by the next run.
    Pending,
    /// Accepted (AA): never sent again.
    Sent,
    /// Rejected (AR): never sent again; `last_error` says why.
    Failed,
}

impl OutboxState {
    /// The value stored in `state`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<OutboxState> {
        match s {
            "pending" => Some(OutboxState::Pending),
            "sent" => Some(OutboxState::Sent),
            "failed" => Some(OutboxState::Failed),
            _ => None,
        }
    }
}

/// A message to keep until the RIS has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxRow {
    /// The exam.
    pub exam_id: ExamId,
    /// What the message is for this exam (`report`, `correction-1`...).
    pub kind: String,
    /// The accession number (the order key).
    pub accession: String,
    /// MSH-10, unique across the table.
    pub control_id: String,
    /// The HL7 message text.
    pub message: String,
    /// Wall-clock label of the enqueue.
    pub created_at: String,
}

/// A stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Row id: the sending order.
    pub id: i64,
    /// The exam.
    pub exam_id: ExamId,
    /// What the message is for this exam.
    pub kind: String,
    /// The accession number.
    pub accession: String,
    /// MSH-10.
    pub control_id: String,
    /// The HL7 message text.
    pub message: String,
    /// Where it stands.
    pub state: OutboxState,
    /// Sending attempts so far (a connection that failed counts for the row it was for).
    pub attempts: i64,
    /// Why the last attempt did not succeed.
    pub last_error: Option<String>,
    /// Wall-clock label of the enqueue.
    pub created_at: String,
    /// Wall-clock label of the RIS's acceptance.
    pub sent_at: Option<String>,
}

type RawRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    Option<String>,
);

const COLUMNS: &str = "id, exam_id, kind, accession, control_id, message, state, attempts, \
                       last_error, created_at, sent_at";

fn decode(r: RawRow) -> Result<OutboxRow, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        row: format!("ris_outbox #{}", r.0),
        reason,
    };
    let exam = Uuid::parse_str(&r.1).map_err(|e| corrupt(format!("exam_id: {e}")))?;
    let state = OutboxState::parse(&r.6).ok_or_else(|| corrupt(format!("state {:?}", r.6)))?;
    Ok(OutboxRow {
        id: r.0,
        exam_id: ExamId(exam),
        kind: r.2,
        accession: r.3,
        control_id: r.4,
        message: r.5,
        state,
        attempts: r.7,
        last_error: r.8,
        created_at: r.9,
        sent_at: r.10,
    })
}

fn clip(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

impl Store {
    /// Keeps `row` unless the exam already has a row of that kind; returns the
    /// exam's row of that kind and whether it was inserted now.
    pub async fn outbox_enqueue(
        &self,
        row: &NewOutboxRow,
    ) -> Result<(OutboxRow, bool), StoreError> {
        let exam = row.exam_id.to_string();
        let inserted = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO ris_outbox (exam_id, kind, accession, control_id, message, state, \
                 attempts, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&exam)
            .bind(&row.kind)
            .bind(&row.accession)
            .bind(&row.control_id)
            .bind(&row.message)
            .bind(&row.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db("enqueueing an RIS message"))?
            .rows_affected()
        });
        let sql = format!("SELECT {COLUMNS} FROM ris_outbox WHERE exam_id = $1 AND kind = $2");
        let found: Option<RawRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&exam)
                .bind(&row.kind)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("reading an RIS outbox row"))?
        });
        let found = found.ok_or_else(|| {
            StoreError::Invalid(format!(
                "control id {} is already used by another RIS message",
                row.control_id
            ))
        })?;
        Ok((decode(found)?, inserted > 0))
    }

    /// Up to `limit` pending rows, oldest first.
    pub async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM ris_outbox WHERE state = 'pending' ORDER BY id LIMIT $1"
        );
        let rows: Vec<RawRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("reading pending RIS messages"))?
        });
        rows.into_iter().map(decode).collect()
    }

    /// Every row of `exam`, oldest first.
    pub async fn outbox_rows(&self, exam: ExamId) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM ris_outbox WHERE exam_id = $1 ORDER BY id");
        let rows: Vec<RawRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(exam.to_string())
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("reading an exam's RIS messages"))?
        });
        rows.into_iter().map(decode).collect()
    }

    /// The RIS accepted row `id` at `at`: one more attempt, state `sent`. False when
    /// the row was not pending (nothing changed).
    pub async fn outbox_mark_sent(&self, id: i64, at: &str) -> Result<bool, StoreError> {
        self.outbox_update(
            id,
            OutboxState::Sent,
            None,
            Some(at),
            "marking an RIS message sent",
        )
        .await
    }

    /// An attempt at row `id` failed in a way worth retrying: one more attempt, the
    /// error kept, still pending.
    pub async fn outbox_mark_retry(&self, id: i64, error: &str) -> Result<bool, StoreError> {
        self.outbox_update(
            id,
            OutboxState::Pending,
            Some(error),
            None,
            "counting an RIS attempt",
        )
        .await
    }

    /// The RIS rejected row `id`: one more attempt, state `failed`, the reason kept.
    pub async fn outbox_mark_failed(&self, id: i64, error: &str) -> Result<bool, StoreError> {
        self.outbox_update(
            id,
            OutboxState::Failed,
            Some(error),
            None,
            "marking an RIS message failed",
        )
        .await
    }

    async fn outbox_update(
        &self,
        id: i64,
        state: OutboxState,
        error: Option<&str>,
        sent_at: Option<&str>,
        op: &'static str,
    ) -> Result<bool, StoreError> {
        let error = error.map(clip);
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE ris_outbox SET state = $1, attempts = attempts + 1, last_error = $2, \
                 sent_at = $3 WHERE id = $4 AND state = 'pending'",
            )
            .bind(state.as_str())
            .bind(&error)
            .bind(sent_at)
            .bind(id)
            .execute(pool)
            .await
            .map_err(StoreError::db(op))?
            .rows_affected()
        });
        Ok(n > 0)
    }
}
