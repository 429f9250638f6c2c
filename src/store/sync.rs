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
        report.marks.push((device, after.max(mark)));
    }
    Ok(report)
}

/// The kiosk's background relay: every `every`, connect to `central_url` if
/// not connected and run [`sync_once`]; errors are logged and retried (the
/// kiosk works offline). Returns when `stop` turns true.
pub async fn run_relay(
    local: Store,
    central_url: String,
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
            match Store::open(&central_url).await {
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
