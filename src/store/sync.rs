//! The outbox relay: the kiosk's SQLite log → the central PostgreSQL.
//!
//! At least once and idempotent: rows go in sequence order, one batch per
//! transaction, inserted with `ON CONFLICT (id) DO NOTHING` on the event UUID,
//! so a batch resent after a crash, a kill or a lost acknowledgement changes
//! nothing. The kiosk keeps a high-water mark per target and device
//! (`sync_marks`) and moves it only after the central commit. A relay starts
//! from the lower of its mark and the central's highest sequence number for
//! the device, so the central never has a gap per device sequence, even after
//! it was restored from an older backup. Offline, [`sync_once`] fails and the
//! kiosk keeps working on SQLite; the next successful run catches up.

use std::time::Duration;

use chrono::Utc;
use thiserror::Error;

use super::log::{EventRow, PAGE_ROWS};
use super::{Store, StoreError, on_pool};

/// Why a relay run stopped.
#[derive(Debug, Error)]
pub enum SyncError {
    /// Reading the local log or writing the mark failed.
    #[error("local store: {0}")]
    Local(#[source] StoreError),
    /// The central database failed (offline, refused, conflict).
    #[error("central store: {0}")]
    Central(#[source] StoreError),
    /// The local log has a gap: it was tampered with; nothing past it is sent.
    #[error(
        "local log of device {device} jumps from #{after} to #{found}: run `cmr-kiosk log verify`"
    )]
    Gap {
        /// Device.
        device: String,
        /// Last sequence number sent.
        after: i64,
        /// The next one found.
        found: i64,
    },
}

/// What one relay run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Rows sent to the central database.
    pub sent: u64,
    /// Rows the central database did not have.
    pub inserted: u64,
    /// Rows it already had (duplicate delivery, ignored).
    pub duplicates: u64,
    /// High-water mark per device after the run.
    pub marks: Vec<(String, i64)>,
    /// Signed checkpoints the central database did not have.
    pub checkpoints: u64,
}

/// The name a central store's marks are kept under (its redacted URL).
pub fn target_name(central: &Store) -> String {
    central.url().redacted()
}

impl Store {
    /// The relay's high-water mark for `device` towards `target` (0 = nothing sent).
    pub async fn sync_mark(&self, target: &str, device: &str) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT seq FROM sync_marks WHERE target = $1 AND device_id = $2")
                .bind(target)
                .bind(device)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("reading a sync mark"))?
        });
        Ok(row.map_or(0, |r| r.0))
    }

    /// Set the relay's high-water mark (lowering it makes the relay resend;
    /// harmless, since delivery is idempotent).
    pub async fn set_sync_mark(
        &self,
        target: &str,
        device: &str,
        seq: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sync_marks (target, device_id, seq, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (target, device_id) DO UPDATE SET seq = excluded.seq, \
                 updated_at = excluded.updated_at",
            )
            .bind(target)
            .bind(device)
            .bind(seq)
            .bind(Utc::now())
            .execute(pool)
            .await
            .map_err(StoreError::db("writing a sync mark"))?;
        });
        Ok(())
    }

    /// The highest sequence number stored for `device` (0 if none).
    pub async fn max_seq(&self, device: &str) -> Result<i64, StoreError> {
        let row: (Option<i64>,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT MAX(seq) FROM events WHERE device_id = $1")
                .bind(device)
                .fetch_one(pool)
                .await
                .map_err(StoreError::db("reading the highest sequence number"))?
        });
        Ok(row.0.unwrap_or(0))
    }

    /// Insert relayed rows in one transaction, ignoring ids already present.
    /// Returns how many were new.
    pub(crate) async fn insert_relayed(&self, rows: &[EventRow]) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("starting a relay batch"))?;
            let mut inserted = 0;
            for row in rows {
                inserted += super::log::insert_event!(row, " ON CONFLICT (id) DO NOTHING")
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("inserting a relayed event"))?
                    .rows_affected();
            }
            tx.commit()
                .await
                .map_err(StoreError::db("committing a relay batch"))?;
            inserted
        }))
    }
}

/// Send everything `local` holds that `central` lacks, in batches of `batch`
/// rows (at least 1). Safe to interrupt at any point and to run again.
pub async fn sync_once(
    local: &Store,
    central: &Store,
    batch: i64,
) -> Result<SyncReport, SyncError> {
    let batch = batch.clamp(1, PAGE_ROWS * 10);
    let target = target_name(central);
    let mut report = SyncReport::default();
    for device in local.devices().await.map_err(SyncError::Local)? {
        let mark = local
            .sync_mark(&target, &device)
            .await
            .map_err(SyncError::Local)?;
        let central_max = central.max_seq(&device).await.map_err(SyncError::Central)?;
        let mut after = mark.min(central_max);
        loop {
            let rows = local
                .rows_after(&device, after, batch)
                .await
                .map_err(SyncError::Local)?;
            if rows.is_empty() {
                break;
            }
            // Send the contiguous prefix; a gap (tampering) stops the relay after it.
            let contiguous = rows
                .iter()
                .enumerate()
                .take_while(|(i, r)| r.seq == after + 1 + *i as i64)
                .count();
            let gap = rows.get(contiguous).map(|r| SyncError::Gap {
                device: device.clone(),
                after: after + contiguous as i64,
                found: r.seq,
            });
            let rows = &rows[..contiguous];
            if rows.is_empty() {
                return Err(gap.unwrap_or(SyncError::Gap {
                    device: device.clone(),
                    after,
                    found: after,
                }));
            }
            let inserted = central
                .insert_relayed(rows)
                .await
                .map_err(SyncError::Central)?;
            let n = rows.len() as u64;
            report.sent += n;
            report.inserted += inserted;
            report.duplicates += n - inserted;
            after = rows.last().map_or(after, |r| r.seq);
            local
                .set_sync_mark(&target, &device, after)
                .await
                .map_err(SyncError::Local)?;
            if let Some(gap) = gap {
                return Err(gap);
            }
        }
        let sent_to = after.max(mark);
        report.checkpoints += relay_checkpoints(local, central, &device, sent_to).await?;
        report.marks.push((device, sent_to));
    }
    Ok(report)
}

/// Send `device`'s signed checkpoints up to row `upto` that the central copy
/// lacks (the witness the central database keeps for `log verify`).
async fn relay_checkpoints(
    local: &Store,
    central: &Store,
    device: &str,
    upto: i64,
) -> Result<u64, SyncError> {
    let have = central
        .last_checkpoint_seq(device)
        .await
        .map_err(SyncError::Central)?;
    let new: Vec<_> = local
        .checkpoints_after(device, have)
        .await
        .map_err(SyncError::Local)?
        .into_iter()
        .filter(|c| c.seq <= upto)
        .collect();
    if new.is_empty() {
        return Ok(0);
    }
    Ok(on_pool!(central, |pool| {
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| SyncError::Central(StoreError::db("starting a checkpoint batch")(e)))?;
        let mut n = 0;
        for cp in &new {
            n += super::log::insert_checkpoint!(cp, " ON CONFLICT (device_id, seq) DO NOTHING")
                .execute(&mut *tx)
                .await
                .map_err(|e| SyncError::Central(StoreError::db("relaying a checkpoint")(e)))?
                .rows_affected();
        }
        tx.commit()
            .await
            .map_err(|e| SyncError::Central(StoreError::db("committing checkpoints")(e)))?;
        n
    }))
}

/// The kiosk's background relay: every `every`, connect to `central_url` if
/// not connected and run [`sync_once`]; errors are logged and retried (the
/// kiosk works offline). Returns when `stop` turns true.
pub async fn run_relay(
    local: Store,
    (central_url, allow_unverified): (String, bool),
    every: Duration,
    batch: i64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut central: Option<Store> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if central.is_none() {
            match Store::open_central(&central_url, allow_unverified).await {
                Ok(s) => central = Some(s),
                Err(e) => tracing::warn!(error = %e, "central database unreachable; will retry"),
            }
        }
        if let Some(c) = &central {
            match sync_once(&local, c, batch).await {
                Ok(r) if r.inserted > 0 => {
                    tracing::info!(sent = r.sent, inserted = r.inserted, "relayed events")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "relay run failed; will retry");
                    if matches!(e, SyncError::Central(_)) {
                        central = None;
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One difference between the local log and the central copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The device's chain.
    pub device: String,
    /// The first row that differs (or is missing on one side).
    pub seq: i64,
    /// What differs.
    pub detail: String,
}

/// The result of [`compare`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Rows compared column by column.
    pub rows_compared: u64,
    /// Local rows not relayed yet (normal while the relay catches up).
    pub pending: u64,
    /// The first difference per device.
    pub differences: Vec<Difference>,
    /// The central copy's own verification (its chains and checkpoints).
    pub central: super::log::VerifyReport,
}

impl Comparison {
    /// Both copies agree and the central copy verifies.
    pub fn is_ok(&self) -> bool {
        self.differences.is_empty() && self.central.is_ok()
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "central copy: {}", self.central)?;
        if self.differences.is_empty() {
            write!(
                f,
                "central comparison ok: {} rows identical, {} not relayed yet",
                self.rows_compared, self.pending
            )
        } else {
            write!(
                f,
                "central comparison FAILED: {} chain(s) differ",
                self.differences.len()
            )?;
            for d in &self.differences {
                write!(f, "\n  device {} from #{}: {}", d.device, d.seq, d.detail)?;
            }
            Ok(())
        }
    }
}

/// Compare `local`'s log with `central`'s copy row by row for every chain the
/// local store holds: every column of every row both have must be equal; the
/// central copy must not hold rows the local log lacks (a truncated or
/// rolled-back local log), and must hold every row the relay marked as sent.
/// The central copy is also verified on its own, against the local kiosk's key.
pub async fn compare(local: &Store, central: &Store) -> Result<Comparison, SyncError> {
    let target = target_name(central);
    let mut out = Comparison::default();
    let mut trust = super::checkpoint::Trust::default();
    if let Some(keys) = local.keys() {
        for device in local.devices().await.map_err(SyncError::Local)? {
            if local
                .last_checkpoint_seq(&device)
                .await
                .map_err(SyncError::Local)?
                > 0
            {
                trust.keys.insert(device, keys.verifying_key());
            }
        }
    }
    let mut devices = local.devices().await.map_err(SyncError::Local)?;
    for device in trust.keys.keys() {
        if !devices.contains(device) {
            devices.push(device.clone());
        }
    }
    for device in devices.clone().iter() {
        let local_max = local.max_seq(device).await.map_err(SyncError::Local)?;
        let central_max = central.max_seq(device).await.map_err(SyncError::Central)?;
        let mark = local
            .sync_mark(&target, device)
            .await
            .map_err(SyncError::Local)?;
        let mut differ = |seq: i64, detail: String| {
            out.differences.push(Difference {
                device: device.clone(),
                seq,
                detail,
            })
        };
        let mut after = 0;
        let mut found = false;
        while after < local_max.min(central_max) && !found {
            let mine = local
                .rows_after(device, after, PAGE_ROWS)
                .await
                .map_err(SyncError::Local)?;
            let theirs = central
                .rows_after(device, after, PAGE_ROWS)
                .await
                .map_err(SyncError::Central)?;
            if mine.is_empty() || theirs.is_empty() {
                break;
            }
            for (a, b) in mine.iter().zip(theirs.iter()) {
                if a.seq != b.seq {
                    differ(
                        a.seq.min(b.seq),
                        format!(
                            "row #{} is missing {}",
                            a.seq.min(b.seq),
                            if a.seq < b.seq {
                                "from the central copy"
                            } else {
                                "here"
                            }
                        ),
                    );
                    found = true;
                    break;
                }
                if !a.same_as(b) {
                    differ(
                        a.seq,
                        format!(
                            "row #{} differs between this kiosk and the central copy",
                            a.seq
                        ),
                    );
                    found = true;
                    break;
                }
                out.rows_compared += 1;
                after = a.seq;
            }
            if mine.len() != theirs.len() && !found {
                break;
            }
        }
        if found {
            continue;
        }
        if central_max > local_max {
            differ(
                local_max + 1,
                format!(
                    "the central copy holds rows #{}..#{central_max} that are missing here: \
                     the local log was truncated or rolled back",
                    local_max + 1
                ),
            );
        } else if mark > central_max {
            differ(
                central_max + 1,
                format!(
                    "rows up to #{mark} were relayed but the central copy ends at #{central_max}"
                ),
            );
        } else {
            out.pending += u64::try_from(local_max - central_max).unwrap_or(0);
        }
    }
    trust.only = Some(devices);
    out.central = central
        .verify_with(None, &trust)
        .await
        .map_err(SyncError::Central)?;
    Ok(out)
}
