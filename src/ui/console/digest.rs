//! What the console derives from the session's journal, followed row by row.
//!
//! The journal is append-only while an exam runs, so each redraw reads only the rows
//! logged since the last one: the trend chart's readings and breaks, the stop
//! criteria noted and the series acquired. A redraw then costs the same five minutes
//! or four hours into an exam. Another exam, or a journal that does not continue the
//! rows already read (a recovered or replaced session), starts the digest again.

use crate::domain::ExamEvent;
use crate::engine::session::JournalRow;
use crate::store::ExamId;
use crate::ui::console::chart::TrendIndex;

/// The console's running digest of one exam's journal.
#[derive(Debug, Clone, Default)]
pub struct JournalDigest {
    exam: Option<ExamId>,
    seen: usize,
    last: Option<JournalRow>,
    rows_read: u64,
    /// Readings and markers of the trend chart, with each series' breaks.
    pub trend: TrendIndex,
    /// The rows noting a stop criterion, in log order.
    pub criteria: Vec<JournalRow>,
    /// The rows logging an acquired series, in log order.
    pub series: Vec<JournalRow>,
    /// Indices into the journal of the rows with a line in the event log.
    pub log_rows: Vec<usize>,
}

impl JournalDigest {
    /// Reads the rows of `journal` (exam `exam`) not read yet; returns how many.
    pub fn follow(&mut self, exam: ExamId, journal: &[JournalRow]) -> usize {
        let continues = self.exam == Some(exam)
            && journal.len() >= self.seen
            && (self.seen == 0 || journal.get(self.seen - 1) == self.last.as_ref());
        if !continues {
            let rows_read = self.rows_read;
            *self = JournalDigest {
                exam: Some(exam),
                rows_read,
                ..JournalDigest::default()
            };
        }
        let new = &journal[self.seen..];
        if new.is_empty() {
            return 0;
        }
        self.trend.extend(new);
        for (i, row) in new.iter().enumerate() {
            if crate::ui::console::log::is_shown(row) {
                self.log_rows.push(self.seen + i);
            }
            if let JournalRow::Event { event, .. } = row {
                match event {
                    ExamEvent::StopCriterionNoted { .. } => self.criteria.push(row.clone()),
                    ExamEvent::SeriesAcquired { .. } => self.series.push(row.clone()),
                    _ => {}
                }
            }
        }
        self.seen = journal.len();
        self.last = journal.last().cloned();
        self.rows_read += new.len() as u64;
        new.len()
    }

    /// The newest `n` rows with a line in the event log, newest first.
    pub fn newest_log_rows<'j>(
        &self,
        journal: &'j [JournalRow],
        n: usize,
    ) -> impl Iterator<Item = &'j JournalRow> {
        self.log_rows
            .iter()
            .rev()
            .take(n)
            .filter_map(move |&i| journal.get(i))
    }

    /// Rows of the journal read so far.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Rows read since the console started, over every exam (a console that re-read
    /// the journal on each redraw would show this growing with the square of the
    /// exam's length).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }
}
