//! Watching the incoming folder during an exam: the scanner (or a DICOM node) writes
//! files there; each file is read once its size and modification time have held still
//! for one poll, and a series is reported once it has had no new file for one poll.
//!
//! Polling (not inotify) so the folder may be a network share. Bad files are reported
//! once each and skipped; the watch goes on.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::domain::{Acquisition, ExamEvent};

use super::classify::{Classification, Rules};
use super::header::{DicomHeader, read_header};
use super::scan::{
    ScanOptions, SeriesReport, SkipReason, SkippedFile, TechniqueOffer, build_report, list_files,
};

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
        }
    }

    /// The folder watched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Looks at the folder once.
    pub fn poll(&mut self) -> Vec<WatchEvent> {
        let mut events = Vec::new();
        let mut files = Vec::new();
        match list_files(&self.dir, &mut files) {
            Ok(()) => self.last_error = None,
            Err(e) => {
                let msg = e.to_string();
                if self.last_error.as_deref() != Some(msg.as_str()) {
                    events.push(WatchEvent::FolderError(msg.clone()));
                    self.last_error = Some(msg);
                }
                return events;
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
            match read_header(&f) {
                Ok(h) if h.is_image() => {
                    if let Some(uid) = h.identity.series_uid.clone() {
                        fresh.insert(uid);
                    }
                    self.headers.push(h);
                }
                Ok(_) => {}
                Err(e) => events.push(WatchEvent::Skipped(SkippedFile {
                    file: f,
                    reason: SkipReason::of(&e),
                    detail: e.to_string(),
                })),
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
    })
}
