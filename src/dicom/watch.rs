//! Watching the incoming folder during an exam: the scanner (or a DICOM node) writes
//! files there; each file is read once its size and modification time have held still
//! for one poll, and a series is reported once it has had no new file for one poll.
//!
//! Polling (not inotify) so the folder may be a network share. Bad files are reported
//! once each and skipped; the watch goes on.
//!
//! Hostile files: every read is bounded ([`super::bounds`]) and runs inside
//! `catch_unwind`, so one file cannot take the kiosk down. With a [`SkipLedger`],
//! a skipped file is remembered (path, size, modification time) and never read
//! again after a restart; the file being read is marked on disk first, so a file
//! that killed the process is found at the next start and remembered too.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::domain::protocol::ProtocolStep;
use crate::domain::screening::SeriesSafety;
use crate::domain::{Acquisition, ExamEvent};

use super::classify::{Classification, Rules};
use super::header::{DicomHeader, read_header};
use super::scan::{
    Listing, ScanOptions, SeriesReport, SkipReason, SkippedFile, TechniqueOffer, build_report,
    list_files,
};

/// A file's identity for the ledger: path, size and modification time (ns).
type FileKey = (PathBuf, u64, i128);

fn key_of(path: &Path, meta: &std::fs::Metadata) -> FileKey {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    (path.to_path_buf(), meta.len(), mtime)
}

/// Files the watch refused, remembered across restarts in a small text file
/// (`path<TAB>size<TAB>mtime_ns<TAB>reason` per line), plus the in-flight marker:
/// the file being read right now, so a file that killed the process is known at
/// the next start.
#[derive(Debug)]
pub struct SkipLedger {
    path: PathBuf,
    entries: HashMap<FileKey, String>,
}

/// The most lines read from a ledger file (older ones beyond are ignored).
pub const MAX_LEDGER_LINES: usize = 100_000;

impl SkipLedger {
    /// Opens the ledger at `path` (missing: empty). A marker left by a read that
    /// never finished becomes an entry with the reason `crashed_reader`, returned
    /// so the caller can report it.
    pub fn open(path: impl Into<PathBuf>) -> (SkipLedger, Option<SkippedFile>) {
        let path = path.into();
        let mut entries = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines().take(MAX_LEDGER_LINES) {
                if let Some((key, reason)) = parse_line(line) {
                    entries.insert(key, reason);
                }
            }
        }
        let mut ledger = SkipLedger { path, entries };
        let crashed = std::fs::read_to_string(ledger.marker_path())
            .ok()
            .and_then(|t| parse_line(t.lines().next()?));
        let _ = std::fs::remove_file(ledger.marker_path());
        let report = crashed.map(|(key, _)| {
            ledger.remember(&key, "crashed_reader");
            SkippedFile {
                file: key.0.clone(),
                reason: SkipReason::Unreadable,
                detail: format!(
                    "{}: the kiosk stopped while reading this file; it is not read again",
                    key.0.display()
                ),
            }
        });
        (ledger, report)
    }

    fn marker_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".reading");
        PathBuf::from(p)
    }

    /// The reason a file was refused before, if it is in the ledger unchanged.
    pub fn reason(&self, key: &FileKey) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Remembers a refused file (appended to the file at once).
    pub fn remember(&mut self, key: &FileKey, reason: &str) {
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect();
        if self.entries.insert(key.clone(), reason.clone()).is_some() {
            return;
        }
        let line = format_line(key, &reason);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::warn!("DICOM skip ledger {}: {e}", self.path.display());
        }
    }

    /// Marks `key` as being read (overwrites the marker).
    fn begin(&self, key: &FileKey) {
        if let Err(e) = std::fs::write(self.marker_path(), format_line(key, "reading")) {
            tracing::warn!("DICOM read marker: {e}");
        }
    }

    /// The read of the marked file finished (well or badly, but the process lives).
    fn end(&self) {
        let _ = std::fs::remove_file(self.marker_path());
    }
}

fn format_line(key: &FileKey, reason: &str) -> String {
    // Paths with a tab or newline cannot be written unambiguously: they are kept in
    // memory only.
    let path = key.0.to_string_lossy();
    if path.contains(['\t', '\n', '\r']) {
        return String::new();
    }
    format!("{path}\t{}\t{}\t{reason}\n", key.1, key.2)
}

fn parse_line(line: &str) -> Option<(FileKey, String)> {
    let mut parts = line.split('\t');
    let path = PathBuf::from(parts.next()?);
    let size = parts.next()?.parse().ok()?;
    let mtime = parts.next()?.parse().ok()?;
    let reason = parts.next().unwrap_or("").to_string();
    Some(((path, size, mtime), reason))
}

/// Reads one header where a panic is caught and reported as a skip.
fn read_contained(f: &Path) -> Result<DicomHeader, SkippedFile> {
    match std::panic::catch_unwind(|| read_header(f)) {
        Ok(Ok(h)) => Ok(h),
        Ok(Err(e)) => Err(SkippedFile {
            file: f.to_path_buf(),
            reason: SkipReason::of(&e),
            detail: e.to_string(),
        }),
        Err(_) => Err(SkippedFile {
            file: f.to_path_buf(),
            reason: SkipReason::Unreadable,
            detail: format!(
                "{}: the reader failed on this file (contained)",
                f.display()
            ),
        }),
    }
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// A series has settled (new, or grown since it was last reported).
    Series {
        /// Its summary, classification and findings.
        report: Box<SeriesReport>,
        /// Vendor, model and field strength read so far.
        technique: TechniqueOffer,
    },
    /// A file could not be read; it is skipped.
    Skipped(SkippedFile),
    /// The folder itself could not be listed (reported when this changes).
    FolderError(String),
}

/// The incoming-folder watch.
#[derive(Debug)]
pub struct FolderWatch {
    dir: PathBuf,
    rules: Rules,
    /// Size and mtime of files seen but not yet read.
    unsettled: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    /// Files read or skipped.
    done: HashSet<PathBuf>,
    headers: Vec<DicomHeader>,
    /// Series that gained files in the previous poll.
    growing: HashSet<String>,
    /// Files per series when last reported.
    reported: HashMap<String, usize>,
    last_error: Option<String>,
    ledger: Option<SkipLedger>,
    /// Events found outside a poll (the crash report at open), given by the next poll.
    pending: Vec<WatchEvent>,
    /// Files refused so far (by the walk, the reader, or remembered from before).
    skipped_count: usize,
}

impl FolderWatch {
    /// A watch on `dir` classifying with `rules`.
    pub fn new(dir: impl Into<PathBuf>, rules: Rules) -> FolderWatch {
        FolderWatch {
            dir: dir.into(),
            rules,
            unsettled: HashMap::new(),
            done: HashSet::new(),
            headers: Vec::new(),
            growing: HashSet::new(),
            reported: HashMap::new(),
            last_error: None,
            ledger: None,
            pending: Vec::new(),
            skipped_count: 0,
        }
    }

    /// Remembers skipped files in `ledger` (see [`SkipLedger`]); a file that killed
    /// the previous run is reported by the first [`FolderWatch::poll`].
    pub fn with_ledger(mut self, ledger_path: impl Into<PathBuf>) -> FolderWatch {
        let (ledger, crashed) = SkipLedger::open(ledger_path);
        self.ledger = Some(ledger);
        if let Some(c) = crashed {
            self.pending.push(WatchEvent::Skipped(c));
        }
        self
    }

    /// How many files were refused so far.
    pub fn skipped_count(&self) -> usize {
        self.skipped_count
    }

    /// The folder watched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Looks at the folder once.
    pub fn poll(&mut self) -> Vec<WatchEvent> {
        let mut events = std::mem::take(&mut self.pending);
        let listing = match list_files(&self.dir) {
            Ok(l) => {
                self.last_error = None;
                l
            }
            Err(e) => {
                let msg = e.to_string();
                if self.last_error.as_deref() != Some(msg.as_str()) {
                    events.push(WatchEvent::FolderError(msg.clone()));
                    self.last_error = Some(msg);
                }
                return events;
            }
        };
        let Listing { files, refused } = listing;
        for r in refused {
            if self.done.insert(r.file.clone()) {
                self.skipped_count += 1;
                events.push(WatchEvent::Skipped(r));
            }
        }
        let mut fresh: HashSet<String> = HashSet::new();
        for f in files {
            if self.done.contains(&f) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&f) else {
                continue;
            };
            let stat = (meta.len(), meta.modified().ok());
            if self.unsettled.get(&f) != Some(&stat) {
                // New or still being written: look again next poll.
                self.unsettled.insert(f, stat);
                continue;
            }
            self.unsettled.remove(&f);
            self.done.insert(f.clone());
            let key = key_of(&f, &meta);
            if let Some(reason) = self.ledger.as_ref().and_then(|l| l.reason(&key)) {
                self.skipped_count += 1;
                events.push(WatchEvent::Skipped(SkippedFile {
                    detail: format!("{}: refused before ({reason}); not read again", f.display()),
                    file: f,
                    reason: SkipReason::Unreadable,
                }));
                continue;
            }
            if let Some(l) = &self.ledger {
                l.begin(&key);
            }
            let read = read_contained(&f);
            if let Some(l) = &self.ledger {
                l.end();
            }
            match read {
                Ok(h) if h.is_image() => {
                    if let Some(uid) = h.identity.series_uid.clone() {
                        fresh.insert(uid);
                    }
                    self.headers.push(h);
                }
                Ok(_) => {}
                Err(skip) => {
                    if let Some(l) = &mut self.ledger {
                        l.remember(&key, &format!("{:?}", skip.reason));
                    }
                    self.skipped_count += 1;
                    events.push(WatchEvent::Skipped(skip));
                }
            }
        }
        let settled: Vec<String> = self.growing.difference(&fresh).cloned().collect();
        self.growing = fresh;
        if !settled.is_empty() {
            let report = build_report(
                &self.dir,
                &self.headers,
                &self.rules,
                &ScanOptions::default(),
            );
            for s in report
                .series
                .iter()
                .filter(|s| settled.contains(&s.summary.series_uid))
            {
                let files = s.summary.files;
                if self.reported.get(&s.summary.series_uid) == Some(&files) {
                    continue;
                }
                self.reported.insert(s.summary.series_uid.clone(), files);
                events.push(WatchEvent::Series {
                    report: Box::new(s.clone()),
                    technique: report.technique.clone(),
                });
            }
        }
        events
    }
}

/// The exam event a settled, classified series becomes (`None` when unclassified:
/// the kiosk never guesses a step).
pub fn acquired_event(report: &SeriesReport) -> Option<ExamEvent> {
    let Classification::Classified { step, .. } = &report.classification else {
        return None;
    };
    let s = &report.summary;
    Some(ExamEvent::SeriesAcquired {
        step: *step,
        params: Some(s.params()),
        acquisition: Some(Acquisition {
            series_uid: s.series_uid.clone(),
            label: s.label(),
            start: s
                .start
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
            end: s.end.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
        }),
        safety: (s.safety != SeriesSafety::default()).then_some(s.safety),
        geometry: (!s.geometry.planes.is_empty()).then(|| s.geometry.clone()),
        psir: (*step == ProtocolStep::Lge).then_some(s.psir),
    })
}
