//! The report to the RIS: a durable outbox of ORU^R01 messages and the MLLP sender.
//!
//! [`enqueue`] builds the message ([`super::hl7::build_oru`]) and keeps it in the
//! kiosk's store (`ris_outbox`, [`crate::store::outbox`]) before anything is sent, so
//! a restart loses nothing. [`send_pending_once`] sends the pending rows, oldest
//! first, over one TCP connection to the RIS and waits for each one's ACK (the one
//! whose MSA-2 is the row's control id):
//!
//! * AA: the row is marked sent and never sent again;
//! * AE: the row stays pending (attempt counted, the RIS's text kept); later rows of
//!   the same exam wait for it, other exams' rows go on;
//! * AR: the row is marked failed with the RIS's reason, never retried;
//! * no connection, a lost connection or no ACK within [`ACK_TIMEOUT`]: the row stays
//!   pending and the run stops (the connection's state is unknown).
//!
//! [`run`] repeats that, every [`POLL_INTERVAL`] when all went through and after a
//! growing delay ([`retry_delay`]) when something must be retried.
//!
//! No duplicates: one row per exam and kind (a second [`enqueue`] for the same exam
//! keeps the first message; a changed report is sent only by an explicit
//! [`enqueue_correction`], result status `C`), and the control id (MSH-10) is fixed
//! when the row is made — derived from the exam and kind — so a message resent after
//! a lost ACK or a restart carries the same id and a RIS that already has it can
//! discard the repeat.

use std::collections::HashSet;
use std::time::Duration;

use bytes::BytesMut;
use chrono::NaiveDateTime;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::{Encoder, FramedRead};

use super::hl7::{OruSettings, RisReport, build_oru};
use crate::config::RisConfig;
use crate::monitor::hl7::{AckCode, MAX_MLLP_FRAME, MllpCodec, parse_ack};
use crate::store::outbox::{NewOutboxRow, OutboxRow};
use crate::store::{ExamId, Store, StoreError};

/// How long connecting to the RIS (name lookup included) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the RIS has to take a message and acknowledge it.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest acknowledgement frame read (an ACK is a few hundred bytes).
pub const MAX_ACK_FRAME: usize = 64 * 1024;

/// The sender's bounds: the named constants unless a test or an installer's check
/// asks for shorter ones ([`send_pending_once_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// How long connecting may take.
    pub connect: Duration,
    /// How long one message's exchange (send, then its ACK) may take.
    pub ack: Duration,
    /// The largest ACK frame read.
    pub max_ack_frame: usize,
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits {
            connect: CONNECT_TIMEOUT,
            ack: ACK_TIMEOUT,
            max_ack_frame: MAX_ACK_FRAME,
        }
    }
}
/// Pending rows one run takes at most.
pub const BATCH_ROWS: i64 = 100;
/// How often [`run`] looks for new rows when nothing waits for a retry.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// The delay after the first run that left something to retry.
pub const RETRY_FIRST: Duration = Duration::from_secs(5);
/// The longest delay between retries.
pub const RETRY_MAX: Duration = Duration::from_secs(10 * 60);
/// The kind of the report's first message for an exam.
pub const REPORT_KIND: &str = "report";
/// The prefix of a correction's kind (`correction-1`, `correction-2`...).
pub const CORRECTION_KIND: &str = "correction-";
/// Control ids start with this; 17 hex digits follow (20 characters, HL7 2.5.1's
/// MSH-10 length).
pub const CONTROL_ID_PREFIX: &str = "CMR";

/// Why a message could not be queued or a run could not proceed.
#[derive(Debug, Error)]
pub enum RisError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The message is larger than an MLLP frame may be.
    #[error("the HL7 message of {bytes} bytes exceeds the MLLP limit of {max} bytes")]
    TooLarge {
        /// The message's size.
        bytes: usize,
        /// [`MAX_MLLP_FRAME`].
        max: usize,
    },
    /// A correction was asked for an exam whose report was never queued.
    #[error("exam {0} has no report to correct")]
    NoOriginal(ExamId),
}

/// What [`enqueue`] found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The exam's row of that kind.
    pub row: OutboxRow,
    /// Whether it was made now (false: it already existed and was kept as it was).
    pub new: bool,
}

/// What one [`send_pending_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Rows the RIS accepted (AA).
    pub sent: u64,
    /// Rows left pending for a retry (AE, no connection, no ACK).
    pub retried: u64,
    /// Rows the RIS rejected (AR), now failed permanently.
    pub failed: u64,
    /// The last problem met, for the log.
    pub last_error: Option<String>,
}

impl SendReport {
    /// Whether something waits for a retry.
    pub fn must_retry(&self) -> bool {
        self.retried > 0
    }
}

/// The control id (MSH-10) of `exam`'s message of `kind`: [`CONTROL_ID_PREFIX`] and
/// the first 17 hex digits of SHA-256 of both — the same id every time it is made.
pub fn control_id(exam: ExamId, kind: &str) -> String {
    let digest = Sha256::digest(format!("{exam}|{kind}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
    format!("{CONTROL_ID_PREFIX}{}", &hex[..17])
}

/// The wall-clock label stored with a row.
fn label(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn enqueue_kind(
    store: &Store,
    report: &RisReport,
    kind: String,
    correction: bool,
    now: NaiveDateTime,
) -> Result<Enqueued, RisError> {
    let exam = ExamId(report.exam_id);
    let control = control_id(exam, &kind);
    let mut report = report.clone();
    report.correction = correction;
    let message = build_oru(&report, &control, now);
    if message.len() > MAX_MLLP_FRAME {
        return Err(RisError::TooLarge {
            bytes: message.len(),
            max: MAX_MLLP_FRAME,
        });
    }
    let (row, new) = store
        .outbox_enqueue(&NewOutboxRow {
            exam_id: exam,
            kind,
            accession: report.accession.clone(),
            control_id: control,
            message,
            created_at: label(now),
        })
        .await?;
    Ok(Enqueued { row, new })
}

/// Queues the exam's report for the RIS, built at `now` (MSH-7, and the row's
/// label). Once per exam: when the exam already has its report queued (pending,
/// sent or failed), that row is kept unchanged and returned with `new: false`.
pub async fn enqueue(
    store: &Store,
    report: &RisReport,
    now: NaiveDateTime,
) -> Result<Enqueued, RisError> {
    enqueue_kind(store, report, REPORT_KIND.to_string(), false, now).await
}

/// Queues a correction of the exam's report (result status `C`), asked for
/// explicitly: a new row with its own control id, sent after the exam's earlier
/// messages.
pub async fn enqueue_correction(
    store: &Store,
    report: &RisReport,
    now: NaiveDateTime,
) -> Result<Enqueued, RisError> {
    let exam = ExamId(report.exam_id);
    let rows = store.outbox_rows(exam).await?;
    if !rows.iter().any(|r| r.kind == REPORT_KIND) {
        return Err(RisError::NoOriginal(exam));
    }
    let n = rows
        .iter()
        .filter(|r| r.kind.starts_with(CORRECTION_KIND))
        .count()
        + 1;
    enqueue_kind(store, report, format!("{CORRECTION_KIND}{n}"), true, now).await
}

/// How one message fared.
enum Outcome {
    Accepted,
    ApplicationError(String),
    Rejected(String),
    /// The connection cannot be used any more.
    Broken(String),
}

async fn connect(address: &str, within: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(within, TcpStream::connect(address)).await {
        Ok(Ok(s)) => {
            // Small messages, one at a time: no Nagle delay before each.
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(format!("cannot connect to the RIS at {address}: {e}")),
        Err(_) => Err(format!(
            "cannot connect to the RIS at {address} within {} ms",
            within.as_millis()
        )),
    }
}

type AckReader = FramedRead<tokio::net::tcp::OwnedReadHalf, MllpCodec>;

/// Sends `row`'s message and waits for its ACK, all within [`ACK_TIMEOUT`].
async fn exchange(
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    reader: &mut AckReader,
    row: &OutboxRow,
    within: Duration,
) -> Outcome {
    let mut frame = BytesMut::new();
    if let Err(e) = MllpCodec::new().encode(row.message.as_bytes(), &mut frame) {
        // Checked at enqueue; a row edited in the database could still fail here.
        return Outcome::Rejected(format!("the stored message cannot be framed: {e}"));
    }
    let exchange = async {
        if let Err(e) = writer.write_all(&frame).await {
            return Outcome::Broken(format!("sending to the RIS failed: {e}"));
        }
        loop {
            match reader.next().await {
                None => {
                    return Outcome::Broken(
                        "the RIS closed the connection before acknowledging".into(),
                    );
                }
                Some(Err(e)) => return Outcome::Broken(format!("reading the RIS's ACK: {e}")),
                // A damaged or oversize frame: not our ACK; keep waiting.
                Some(Ok(Err(fault))) => {
                    tracing::warn!(?fault, "unreadable frame from the RIS");
                }
                Some(Ok(Ok(bytes))) => match parse_ack(&bytes) {
                    Ok(ack) if ack.acknowledged_id == row.control_id => {
                        let text = ack.text.unwrap_or_default();
                        return match ack.code {
                            AckCode::Accept => Outcome::Accepted,
                            AckCode::Error => Outcome::ApplicationError(format!("AE: {text}")),
                            AckCode::Reject => Outcome::Rejected(format!("AR: {text}")),
                        };
                    }
                    // An ACK for another message (a late one) or not an ACK at all.
                    Ok(_) | Err(_) => {}
                },
            }
        }
    };
    match tokio::time::timeout(within, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Broken(format!(
            "no ACK for {} within {} ms",
            row.control_id,
            within.as_millis()
        )),
    }
}

/// One pass over the outbox: the pending rows, oldest first (at most
/// [`BATCH_ROWS`]), sent to the RIS at `address` (`host:port`) over one connection.
/// Only a store failure is an error; what the RIS or the network did is in the
/// report and in the rows.
pub async fn send_pending_once(store: &Store, address: &str) -> Result<SendReport, RisError> {
    send_pending_once_with(store, address, &SendLimits::default()).await
}

/// [`send_pending_once`] within `limits`.
pub async fn send_pending_once_with(
    store: &Store,
    address: &str,
    limits: &SendLimits,
) -> Result<SendReport, RisError> {
    let mut report = SendReport::default();
    let rows = store.outbox_pending(BATCH_ROWS).await?;
    let mut connection: Option<(tokio::net::tcp::OwnedWriteHalf, AckReader)> = None;
    // Exams with a message waiting for a retry: their later messages wait too.
    let mut held: HashSet<ExamId> = HashSet::new();
    for row in rows {
        if held.contains(&row.exam_id) {
            continue;
        }
        let (writer, reader) = match &mut connection {
            Some((w, r)) => (w, r),
            None => match connect(address, limits.connect).await {
                Ok(stream) => {
                    let (rd, wr) = stream.into_split();
                    let reader =
                        FramedRead::new(rd, MllpCodec::with_max_frame(limits.max_ack_frame));
                    let (w, r) = connection.insert((wr, reader));
                    (w, r)
                }
                Err(e) => {
                    store.outbox_mark_retry(row.id, &e).await?;
                    report.retried += 1;
                    report.last_error = Some(e);
                    break;
                }
            },
        };
        match exchange(writer, reader, &row, limits.ack).await {
            Outcome::Accepted => {
                let at = label(chrono::Local::now().naive_local());
                store.outbox_mark_sent(row.id, &at).await?;
                report.sent += 1;
            }
            Outcome::ApplicationError(e) => {
                store.outbox_mark_retry(row.id, &e).await?;
                report.retried += 1;
                report.last_error = Some(e);
                held.insert(row.exam_id);
            }
            Outcome::Rejected(e) => {
                store.outbox_mark_failed(row.id, &e).await?;
                report.failed += 1;
                report.last_error = Some(e);
            }
            Outcome::Broken(e) => {
                store.outbox_mark_retry(row.id, &e).await?;
                report.retried += 1;
                report.last_error = Some(e);
                break;
            }
        }
    }
    Ok(report)
}

/// The delay before the next run after `failures` runs in a row left something to
/// retry: [`RETRY_FIRST`] doubled each time, at most [`RETRY_MAX`].
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    RETRY_FIRST.saturating_mul(1u32 << doublings).min(RETRY_MAX)
}

impl OruSettings {
    /// The message choices of the `[ris]` section.
    pub fn from_config(config: &RisConfig) -> OruSettings {
        OruSettings {
            sending_application: config.sending_application.clone(),
            sending_facility: config.sending_facility.clone(),
            receiving_application: config.receiving_application.clone(),
            receiving_facility: config.receiving_facility.clone(),
            order_key: config.order_key,
            text: config.text,
        }
    }
}

/// The kiosk's background sender: runs [`send_pending_once`] against
/// `config.address` until `shutdown` turns true (or its sender is dropped). Returns
/// at once when no RIS is configured. Store failures are logged and retried.
pub async fn run(
    store: Store,
    config: RisConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if config.address.is_empty() {
        tracing::info!("no RIS configured (ris.address): nothing is sent");
        return;
    }
    let mut failures: u32 = 0;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let delay = match send_pending_once(&store, &config.address).await {
            Ok(r) if r.must_retry() => {
                failures = failures.saturating_add(1);
                tracing::warn!(
                    sent = r.sent,
                    retried = r.retried,
                    failed = r.failed,
                    error = r.last_error.as_deref().unwrap_or(""),
                    "RIS messages left for a retry"
                );
                retry_delay(failures)
            }
            Ok(r) => {
                failures = 0;
                if r.failed > 0 {
                    tracing::error!(
                        failed = r.failed,
                        error = r.last_error.as_deref().unwrap_or(""),
                        "the RIS rejected messages"
                    );
                }
                if r.sent + r.failed > 0 {
                    tracing::info!(sent = r.sent, "RIS messages delivered");
                    // More may be queued than one run takes.
                    Duration::ZERO
                } else {
                    POLL_INTERVAL
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, "RIS outbox unavailable; will retry");
                retry_delay(failures)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_id_is_stable_and_twenty_characters() {
        let exam = ExamId(uuid::Uuid::nil());
        let a = control_id(exam, REPORT_KIND);
        assert_eq!(a.len(), 20);
        assert_eq!(a, control_id(exam, REPORT_KIND));
        assert_ne!(a, control_id(exam, "correction-1"));
    }

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        assert_eq!(retry_delay(1), RETRY_FIRST);
        assert_eq!(retry_delay(2), RETRY_FIRST * 2);
        assert_eq!(retry_delay(100), RETRY_MAX);
    }
}
