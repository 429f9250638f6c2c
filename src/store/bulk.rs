//! Bulk reads of the exam log from the kiosk's SQLite file, for log verification and
//! replay: a second connection (rusqlite on the same SQLCipher library, the same
//! key) whose rows are read in place on a blocking thread. sqlx hands each row over
//! through a channel from its worker thread, about 6 µs a row: 90 ms for the 15,000
//! rows of a two-hour exam, against a budget of 50 ms to verify and replay it.
//!
//! Only reads go through here; every write stays on sqlx (appends on the store's
//! appender connection, the rest on its pool). A read sees what was committed when
//! it began (WAL).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::StoreError;
use super::log::EventRow;

/// The columns of an event row, in [`EventRow`]'s order.
const COLUMNS: &str =
    "id, exam_id, device_id, seq, wall_clock, mono_ms, actor, kind, payload, prev_hash, hash";

/// The bulk reader's page cache, in KiB (SQLite's default is 2,000 KiB; a 4-hour
/// exam's rows and their index take about 20 MB). Memory is taken only as pages are
/// read.
pub const BULK_CACHE_KIB: u32 = 64 * 1024;

/// A read connection to the kiosk's SQLite file.
#[derive(Debug, Clone)]
pub(crate) struct BulkReader {
    conn: Arc<Mutex<Option<rusqlite::Connection>>>,
    file: PathBuf,
}

fn failed(op: &'static str, file: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        row: file.display().to_string(),
        reason: format!("{op}: {e}"),
    }
}

impl BulkReader {
    /// Opens `file` with the SQLCipher key `key_pragma` (as `PRAGMA key` takes it),
    /// or plain without one.
    pub(crate) fn open(file: &Path, key_pragma: Option<&str>) -> Result<BulkReader, StoreError> {
        let conn = rusqlite::Connection::open_with_flags(
            file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| failed("opening the log for reading", file, e))?;
        if let Some(key) = key_pragma {
            conn.execute_batch(&format!("PRAGMA key = {key};"))
                .map_err(|e| failed("keying the log's reader", file, e))?;
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| failed("opening the log for reading", file, e))?;
        // Only reads: a mistake here can never write. A page cache large enough for
        // a long exam: each page is decrypted (AES and an HMAC) once, not once per
        // read of it.
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA cache_size = -{BULK_CACHE_KIB};"
        ))
        .map_err(|e| failed("opening the log for reading", file, e))?;
        Ok(BulkReader {
            conn: Arc::new(Mutex::new(Some(conn))),
            file: file.to_path_buf(),
        })
    }

    /// Closes the connection (the store is closing: no SQLCipher connection may
    /// outlive it at exit).
    pub(crate) fn close(&self) {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(conn);
    }

    /// `device`'s rows after sequence `after`, at most `limit`, in sequence order.
    pub(crate) async fn rows_after(
        &self,
        device: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        self.rows_after_then(device, after, limit, Ok).await
    }

    /// [`BulkReader::rows_after`], then `finish` on the rows, on the same blocking
    /// thread (hashing them, say: the caller's runtime stays free).
    pub(crate) async fn rows_after_then<T: Send + 'static>(
        &self,
        device: &str,
        after: i64,
        limit: i64,
        finish: impl FnOnce(Vec<EventRow>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let device = device.to_string();
        self.query(
            format!(
                "SELECT {COLUMNS} FROM events WHERE device_id = ?1 AND seq > ?2 \
                 ORDER BY seq LIMIT ?3"
            ),
            move |stmt| stmt.query(rusqlite::params![device, after, limit]),
            finish,
        )
        .await
    }

    /// Every row of `exam`, in timeline order (offset, then device, then sequence),
    /// then `finish` on them on the same blocking thread.
    pub(crate) async fn exam_rows_then<T: Send + 'static>(
        &self,
        exam: String,
        finish: impl FnOnce(Vec<EventRow>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.query(
            format!(
                "SELECT {COLUMNS} FROM events WHERE exam_id = ?1 \
                 ORDER BY mono_ms, device_id, seq"
            ),
            move |stmt| stmt.query(rusqlite::params![exam]),
            finish,
        )
        .await
    }

    /// The running exam of `device`: the newest `exam_opened` with no `exam_closed`
    /// (the same query as the pool's, read into the same page cache as the exam's
    /// rows that are read next).
    pub(crate) async fn running_exam(&self, device: &str) -> Result<Option<String>, StoreError> {
        let device = device.to_string();
        self.on_conn("finding the running exam", move |conn| {
            let mut stmt = conn.prepare(
                "SELECT o.exam_id FROM events o WHERE o.device_id = ?1 \
                 AND o.kind = 'exam_opened' AND NOT EXISTS (SELECT 1 FROM events c \
                 WHERE c.exam_id = o.exam_id AND c.kind = 'exam_closed') \
                 ORDER BY o.seq DESC LIMIT 1",
            )?;
            let mut rows = stmt.query(rusqlite::params![device])?;
            match rows.next()? {
                Some(row) => Ok(Some(row.get::<_, String>(0)?)),
                None => Ok(None),
            }
        })
        .await
    }

    /// Each chain's first and last sequence number among `exam`'s rows, by device
    /// (the query of the pool's `exam_ranges`, on this reader's warm page cache).
    pub(crate) async fn exam_ranges(
        &self,
        exam: String,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        self.on_conn("finding an exam's rows", move |conn| {
            let mut stmt = conn.prepare(
                "SELECT device_id, MIN(seq), MAX(seq) FROM events WHERE exam_id = ?1 \
                 GROUP BY device_id ORDER BY device_id",
            )?;
            let rows = stmt.query_map(rusqlite::params![exam], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            rows.collect()
        })
        .await
    }

    /// `read` on the connection, on a blocking thread; `op` names it in an error.
    async fn on_conn<T: Send + 'static>(
        &self,
        op: &'static str,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let Some(conn) = guard.as_ref() else {
                return Err(failed(op, &file, "the store was closed"));
            };
            read(conn).map_err(|e| failed(op, &file, e))
        })
        .await
        .map_err(|e| failed(op, &self.file, e))?
    }

    /// Every row of `exam`, in timeline order.
    #[cfg(test)]
    pub(crate) async fn exam_rows(&self, exam: String) -> Result<Vec<EventRow>, StoreError> {
        self.exam_rows_then(exam, Ok).await
    }

    async fn query<T: Send + 'static>(
        &self,
        sql: String,
        run: impl for<'s> FnOnce(
            &'s mut rusqlite::Statement<'_>,
        ) -> rusqlite::Result<rusqlite::Rows<'s>>
        + Send
        + 'static,
        finish: impl FnOnce(Vec<EventRow>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let Some(conn) = guard.as_ref() else {
                return Err(failed("reading events", &file, "the store was closed"));
            };
            let read = |e: rusqlite::Error| failed("reading events", &file, e);
            let mut stmt = conn.prepare(&sql).map_err(read)?;
            let mut rows = run(&mut stmt).map_err(read)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(read)? {
                out.push(event_row(row).map_err(read)?);
            }
            drop(rows);
            drop(stmt);
            drop(guard);
            finish(out)
        })
        .await
        .map_err(|e| failed("reading events", &self.file, e))?
    }
}

/// One row, decoded as sqlx decodes it.
fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    let wall: String = row.get(4)?;
    let wall_clock = parse_wall(&wall).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            format!("wall_clock {wall:?} is not a date and time").into(),
        )
    })?;
    Ok(EventRow {
        id: row.get(0)?,
        exam_id: row.get(1)?,
        device_id: row.get(2)?,
        seq: row.get(3)?,
        wall_clock,
        mono_ms: row.get(5)?,
        actor: row.get(6)?,
        kind: row.get(7)?,
        payload: row.get(8)?,
        prev_hash: row.get(9)?,
        hash: row.get(10)?,
    })
}

/// A wall clock as sqlx writes `DateTime<Utc>` into SQLite (RFC 3339, or SQLite's
/// own `YYYY-MM-DD HH:MM:SS[.fff]` in UTC).
fn parse_wall(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::log::{EntryKind, NewEntry};
    use crate::store::{DeviceId, Store};

    /// The bulk reader returns exactly the rows sqlx reads (every column, the wall
    /// clock to the millisecond), on an encrypted file.
    #[test]
    fn bulk_rows_equal_the_pools_rows() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let keys = crate::store::keys::KeyRing::open(
                &dir.path().join("keys"),
                crate::store::keys::Create::IfMissing,
            )
            .unwrap();
            let url = format!("sqlite://{}", dir.path().join("k.db").display());
            let store = Store::open_with_keys(&url, Some(keys)).await.unwrap();
            let device = DeviceId::new("bulk-test").unwrap();
            let wall = chrono::DateTime::parse_from_rfc3339("2026-12-06T08:00:00.123Z")
                .unwrap()
                .with_timezone(&Utc);
            let exam = store.start_exam(&device, "护士王", wall).await.unwrap();
            for i in 0..150u64 {
                let entry = NewEntry::new(
                    (i % 3 != 0).then_some(exam),
                    EntryKind::Audit,
                    "技师 \"李\"",
                    crate::domain::Instant::from_millis(i * 500),
                    wall + chrono::Duration::milliseconds(i as i64 * 1001),
                    &serde_json::json!({"i": i, "note": "心脏磁共振 \\ \"quoted\""}),
                )
                .unwrap();
                store.append(&device, &entry).await.unwrap();
            }
            let Some(bulk) = &store.inner.bulk else {
                panic!("an SQLite file has a bulk reader");
            };
            let fast = bulk.rows_after("bulk-test", 0, 1000).await.unwrap();
            let slow: Vec<EventRow> = match &store.inner.pool {
                crate::store::Pool::Sqlite(pool) => sqlx::query_as(
                    "SELECT id, exam_id, device_id, seq, wall_clock, mono_ms, actor, kind, \
                     payload, prev_hash, hash FROM events WHERE device_id = $1 ORDER BY seq",
                )
                .bind("bulk-test")
                .fetch_all(pool)
                .await
                .unwrap(),
                crate::store::Pool::Postgres(_) => unreachable!(),
            };
            assert_eq!(fast.len(), 151);
            assert_eq!(fast.len(), slow.len());
            for (f, s) in fast.iter().zip(&slow) {
                assert!(f.same_as(s), "{f:?} != {s:?}");
                assert!(f.hash_matches());
                assert_eq!(f.wall_clock, s.wall_clock);
            }
            let by_exam = bulk.exam_rows(exam.to_string()).await.unwrap();
            assert_eq!(by_exam.len(), 1 + 100);
            store.close().await;
            assert!(bulk.rows_after("bulk-test", 0, 10).await.is_err(), "closed");
        });
    }
}
