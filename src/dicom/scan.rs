//! Scanning a folder of DICOM files: the report behind `cmr-kiosk dicom scan DIR`.
//!
//! Every regular file under the folder (recursively, in name order) is read with
//! [`read_header`]; a file that cannot be read is reported in
//! [`ScanReport::skipped`] with its reason and the scan goes on. Readable images
//! are grouped into series, classified, checked against the standard through
//! the domain's [`check_series`], and the required steps of the exam type that
//! were not found are listed. Non-image objects (DICOMDIR, structured reports,
//! presentation states) are listed as ignored, not as errors.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::classify::{Classification, Rules};
use super::header::{DicomHeader, HeaderError, MEDIA_STORAGE_DIRECTORY, read_header};
use super::series::{SeriesSummary, group_series, phase_name};
use crate::domain::coverage::{CoverageCode, CoverageGap, CoverageSeries, coverage_gaps};
use crate::domain::protocol::{
    ExamEvidence, ExamType, Finding, ProtocolStep, check_series, infer_exam_type, missing_steps,
    spec,
};
use crate::domain::technique::Scanner;

/// The folder itself could not be scanned.
#[derive(Debug, Error)]
pub enum ScanError {
    /// The folder (or a sub-folder listing) could not be read.
    #[error("{dir}: cannot list folder: {source}")]
    ReadDir {
        /// Folder.
        dir: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a file was skipped (stable codes for JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not a DICOM file.
    NotDicom,
    /// No file meta information header.
    MissingMeta,
    /// Broken file meta information.
    BadMeta,
    /// File ends inside the header.
    Truncated,
    /// Wrong value representation on an element the kiosk reads.
    WrongVr,
    /// An element value the kiosk cannot interpret.
    InvalidValue,
    /// Crosses a reading bound (nesting depth, element length, header size,
    /// element count): refused before parsing.
    OutOfBounds,
    /// A folder entry that is not walked: a symbolic link leading out of the
    /// folder, a loop back into a folder already walked, or a walk bound.
    NotWalked,
    /// Anything else (I/O error, parser failure).
    Unreadable,
}

impl SkipReason {
    /// Stable snake-case code (as in JSON); the Fluent key is `dicom-skip-<code>`.
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::NotDicom => "not_dicom",
            SkipReason::MissingMeta => "missing_meta",
            SkipReason::BadMeta => "bad_meta",
            SkipReason::Truncated => "truncated",
            SkipReason::WrongVr => "wrong_vr",
            SkipReason::InvalidValue => "invalid_value",
            SkipReason::OutOfBounds => "out_of_bounds",
            SkipReason::NotWalked => "not_walked",
            SkipReason::Unreadable => "unreadable",
        }
    }

    /// The reason for a header error.
    pub fn of(e: &HeaderError) -> SkipReason {
        match e {
            HeaderError::NotDicom { .. } => SkipReason::NotDicom,
            HeaderError::MissingMeta { .. } => SkipReason::MissingMeta,
            HeaderError::BadMeta { .. } => SkipReason::BadMeta,
            HeaderError::Truncated { .. } => SkipReason::Truncated,
            HeaderError::WrongVr { .. } => SkipReason::WrongVr,
            HeaderError::InvalidValue { .. } => SkipReason::InvalidValue,
            HeaderError::OutOfBounds { .. } => SkipReason::OutOfBounds,
            HeaderError::Io { .. } | HeaderError::Unreadable { .. } => SkipReason::Unreadable,
        }
    }
}

/// One skipped file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// File.
    pub file: PathBuf,
    /// Reason code.
    pub reason: SkipReason,
    /// Full message (file, tag where known, parser detail).
    pub detail: String,
}

/// One readable file that is not an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgnoredFile {
    /// File.
    pub file: PathBuf,
    /// Why it is not used.
    pub why: String,
}

/// Study-level facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySummary {
    /// Study Instance UID.
    pub study_uid: Option<String>,
    /// Patient name as stored (decoded).
    pub patient_name: Option<String>,
    /// Patient name for display.
    pub patient_display_name: Option<String>,
    /// Patient ID.
    pub patient_id: Option<String>,
    /// Sex.
    pub patient_sex: Option<String>,
    /// Age.
    pub patient_age: Option<String>,
    /// Weight (kg).
    pub patient_weight_kg: Option<f64>,
    /// Institution.
    pub institution: Option<String>,
    /// Study date.
    pub study_date: Option<NaiveDate>,
    /// Study description.
    pub study_description: Option<String>,
    /// First acquisition in the study.
    pub start: Option<NaiveDateTime>,
    /// Last acquisition in the study.
    pub end: Option<NaiveDateTime>,
    /// Whether a Contrast/Bolus module was filled in any file.
    pub contrast_recorded: bool,
    /// Contrast agent named in the files, if any.
    pub contrast_agent: Option<String>,
}

/// Scanner facts offered to the report's technique section (5.2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechniqueOffer {
    /// Manufacturer.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Field strength (T), as written by the scanner.
    pub field_strength_t: Option<f64>,
    /// Software versions.
    pub software: Option<String>,
    /// Steps found, in protocol order (the "sequences" of 5.2.3).
    pub steps: Vec<ProtocolStep>,
}

impl TechniqueOffer {
    /// The domain's scanner record, if vendor, model and field strength are all known,
    /// with the nominal field strength (see [`nominal_field_strength`]).
    pub fn scanner(&self) -> Option<Scanner> {
        Some(Scanner {
            vendor: self.vendor.clone()?,
            model: self.model.clone()?,
            field_strength_t: nominal_field_strength(self.field_strength_t?),
        })
    }
}

/// Nominal field strengths scanners are sold as (T).
pub const NOMINAL_FIELD_STRENGTHS_T: [f64; 7] = [0.35, 0.55, 1.0, 1.5, 3.0, 5.0, 7.0];

/// The nominal field strength for the value a scanner writes (Siemens 3 T writes
/// 2.89362, Philips 1.5 T writes 1.494): the nearest nominal value within 5 %,
/// else the value rounded to one decimal.
pub fn nominal_field_strength(written_t: f64) -> f64 {
    NOMINAL_FIELD_STRENGTHS_T
        .iter()
        .copied()
        .find(|n| (written_t - n).abs() <= n * 0.05)
        .unwrap_or_else(|| (written_t * 10.0).round() / 10.0)
}

/// One series in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesReport {
    /// What the files say.
    pub summary: SeriesSummary,
    /// Which step it is.
    pub classification: Classification,
    /// Deviations from the standard (empty when compliant or unclassified).
    pub findings: Vec<Finding>,
}

/// How the exam type was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExamTypeSource {
    /// Given by the caller.
    Given,
    /// Inferred from the steps found: stress perfusion → adenosine stress;
    /// other contrast steps → contrast; else routine.
    Inferred,
}

/// Options of a scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanOptions {
    /// The exam type whose required steps are checked; `None`: inferred.
    pub exam_type: Option<ExamType>,
}

/// Everything a scan found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Folder scanned.
    pub dir: PathBuf,
    /// Regular files looked at.
    pub files_seen: usize,
    /// Files read.
    pub files_read: usize,
    /// Studies (usually one).
    pub studies: Vec<StudySummary>,
    /// Series, by series number.
    pub series: Vec<SeriesReport>,
    /// Technique facts.
    pub technique: TechniqueOffer,
    /// Exam type used for the required steps.
    pub exam_type: ExamType,
    /// Given or inferred.
    pub exam_type_source: ExamTypeSource,
    /// Required steps not found.
    pub missing_steps: Vec<ProtocolStep>,
    /// Exam-level checks not met (3.1.1.1, 3.1.4.2, 3.1.4.3).
    pub coverage: Vec<CoverageGap>,
    /// Files that could not be read.
    pub skipped: Vec<SkippedFile>,
    /// Readable files that are not images.
    pub ignored: Vec<IgnoredFile>,
}

impl ScanReport {
    /// Whether any file was skipped.
    pub fn has_skipped(&self) -> bool {
        !self.skipped.is_empty()
    }

    /// Suggested process exit status: 0 when every file was read, 2 when some were skipped.
    pub fn exit_code(&self) -> i32 {
        if self.has_skipped() { 2 } else { 0 }
    }

    /// Total number of findings.
    pub fn finding_count(&self) -> usize {
        self.series.iter().map(|s| s.findings.len()).sum()
    }

    /// Steps found, in protocol order.
    pub fn steps_found(&self) -> Vec<ProtocolStep> {
        let set: BTreeSet<ProtocolStep> = self
            .series
            .iter()
            .filter_map(|s| s.classification.step())
            .collect();
        set.into_iter().collect()
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// The deepest folder level walked below the scanned folder.
pub const MAX_WALK_DEPTH: usize = 16;

/// The most files one walk lists; the rest of the folder is reported, not read.
pub const MAX_WALK_FILES: usize = 100_000;

/// What a folder walk found: the files to read, and the entries it refused.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Regular files, each once (by device and inode), sorted by path.
    pub files: Vec<PathBuf>,
    /// Links out of the folder, loops, dangling links, entries past a walk bound.
    pub refused: Vec<SkippedFile>,
}

/// Regular files under `dir`, each counted once, sorted.
///
/// Bounded and loop-free: symbolic links are followed only to targets inside the
/// folder; a folder already walked (same device and inode) is a loop and is not
/// walked again; folders deeper than [`MAX_WALK_DEPTH`] and files past
/// [`MAX_WALK_FILES`] are refused. Refused entries come back with their reason.
pub(crate) fn list_files(dir: &Path) -> Result<Listing, ScanError> {
    use std::collections::HashSet;
    use std::os::unix::fs::MetadataExt;
    let read_dir_err = |d: &Path, source| ScanError::ReadDir {
        dir: d.to_path_buf(),
        source,
    };
    let root = std::fs::canonicalize(dir).map_err(|e| read_dir_err(dir, e))?;
    let root_meta = std::fs::metadata(&root).map_err(|e| read_dir_err(dir, e))?;
    let mut seen_dirs: HashSet<(u64, u64)> = HashSet::from([(root_meta.dev(), root_meta.ino())]);
    let mut seen_files: HashSet<(u64, u64)> = HashSet::new();
    let mut out = Listing::default();
    let refuse = |out: &mut Listing, file: PathBuf, detail: String| {
        out.refused.push(SkippedFile {
            file,
            reason: SkipReason::NotWalked,
            detail,
        });
    };
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((current, depth)) = stack.pop() {
        let rd = match std::fs::read_dir(&current) {
            Ok(rd) => rd,
            Err(e) if depth == 0 => return Err(read_dir_err(&current, e)),
            Err(e) => {
                refuse(&mut out, current, format!("cannot list folder: {e}"));
                continue;
            }
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            // Hidden entries are being written (the receiver's spool, a copy tool's
            // temporary file): never read half a file.
            if p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let Ok(lmeta) = std::fs::symlink_metadata(&p) else {
                continue; // gone since the listing
            };
            let meta = if lmeta.file_type().is_symlink() {
                let target = match std::fs::canonicalize(&p) {
                    Ok(t) => t,
                    Err(e) => {
                        refuse(&mut out, p, format!("link leads nowhere: {e}"));
                        continue;
                    }
                };
                if !target.starts_with(&root) {
                    let detail = format!("link leads out of the folder, to {}", target.display());
                    refuse(&mut out, p, detail);
                    continue;
                }
                match std::fs::metadata(&target) {
                    Ok(m) => m,
                    Err(_) => continue,
                }
            } else {
                lmeta
            };
            let id = (meta.dev(), meta.ino());
            if meta.is_dir() {
                if depth + 1 > MAX_WALK_DEPTH {
                    let detail = format!("deeper than {MAX_WALK_DEPTH} folders (MAX_WALK_DEPTH)");
                    refuse(&mut out, p, detail);
                } else if !seen_dirs.insert(id) {
                    refuse(&mut out, p, "a loop: this folder is already walked".into());
                } else {
                    stack.push((p, depth + 1));
                }
            } else if meta.is_file() && seen_files.insert(id) {
                if out.files.len() >= MAX_WALK_FILES {
                    let detail = format!("more than {MAX_WALK_FILES} files (MAX_WALK_FILES)");
                    refuse(&mut out, p, detail);
                    out.files.sort();
                    return Ok(out);
                }
                out.files.push(p);
            }
        }
    }
    out.files.sort();
    Ok(out)
}

/// Scan a folder with the given rules; exam type inferred.
pub fn scan_dir(dir: &Path, rules: &Rules) -> Result<ScanReport, ScanError> {
    scan_dir_with(dir, rules, &ScanOptions::default())
}

/// Scan a folder with the given rules and options.
pub fn scan_dir_with(
    dir: &Path,
    rules: &Rules,
    options: &ScanOptions,
) -> Result<ScanReport, ScanError> {
    let Listing { files, refused } = list_files(dir)?;
    let mut headers = Vec::new();
    let refused_count = refused.len();
    let mut skipped = refused;
    let mut ignored = Vec::new();
    for f in &files {
        match read_header(f) {
            Ok(h) => {
                if h.identity.sop_class_uid.as_deref() == Some(MEDIA_STORAGE_DIRECTORY) {
                    ignored.push(IgnoredFile {
                        file: f.clone(),
                        why: "DICOMDIR".into(),
                    });
                } else if !h.is_image() {
                    ignored.push(IgnoredFile {
                        file: f.clone(),
                        why: format!(
                            "not an image (SOP class {})",
                            h.identity.sop_class_uid.as_deref().unwrap_or("unknown")
                        ),
                    });
                } else {
                    headers.push(h);
                }
            }
            Err(e) => skipped.push(SkippedFile {
                file: f.clone(),
                reason: SkipReason::of(&e),
                detail: e.to_string(),
            }),
        }
    }
    let mut report = build_report(dir, &headers, rules, options);
    report.files_seen = files.len() + refused_count;
    report.files_read = report.files_seen - skipped.len();
    report.skipped = skipped;
    report.ignored = ignored;
    Ok(report)
}

fn most_common<T: Ord + Clone>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(k, _)| k)
}

fn study_summary(headers: &[&DicomHeader]) -> StudySummary {
    let s = |f: &dyn Fn(&DicomHeader) -> Option<String>| {
        most_common(headers.iter().filter_map(|h| f(h)))
    };
    let first = headers.first().map(|h| &h.identity);
    let times = headers
        .iter()
        .flat_map(|h| h.frames.iter().filter_map(|f| f.acquired_at));
    let (start, end) = times.fold((None, None), |(a, b): (Option<NaiveDateTime>, _), t| {
        (
            Some(a.map_or(t, |a| a.min(t))),
            Some(b.map_or(t, |b: NaiveDateTime| b.max(t))),
        )
    });
    StudySummary {
        study_uid: s(&|h| h.identity.study_uid.clone()),
        patient_name: s(&|h| h.identity.patient_name.clone()),
        patient_display_name: first.and_then(|i| i.display_name()),
        patient_id: s(&|h| h.identity.patient_id.clone()),
        patient_sex: s(&|h| h.identity.patient_sex.clone()),
        patient_age: s(&|h| h.identity.patient_age.clone()),
        patient_weight_kg: headers.iter().find_map(|h| h.identity.patient_weight_kg),
        institution: s(&|h| h.identity.institution.clone()),
        study_date: headers.iter().find_map(|h| h.identity.study_date),
        study_description: s(&|h| h.identity.study_description.clone()),
        start,
        end,
        contrast_recorded: headers.iter().any(|h| h.contrast.is_present()),
        contrast_agent: s(&|h| h.contrast.agent.clone()),
    }
}

/// Build the report from headers already read (used by [`scan_dir_with`] and by
/// a folder watcher that reads files as they arrive).
pub fn build_report(
    dir: &Path,
    headers: &[DicomHeader],
    rules: &Rules,
    options: &ScanOptions,
) -> ScanReport {
    let mut by_study: BTreeMap<Option<&str>, Vec<&DicomHeader>> = BTreeMap::new();
    for h in headers {
        by_study
            .entry(h.identity.study_uid.as_deref())
            .or_default()
            .push(h);
    }
    let studies = by_study.values().map(|hs| study_summary(hs)).collect();

    let series: Vec<SeriesReport> = group_series(headers)
        .into_iter()
        .map(|summary| {
            let classification = rules.classify(&summary);
            let findings = classification
                .step()
                .map(|step| check_series(step, &summary.params()))
                .unwrap_or_default();
            SeriesReport {
                summary,
                classification,
                findings,
            }
        })
        .collect();

    let steps: Vec<ProtocolStep> = series
        .iter()
        .filter_map(|s| s.classification.step())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (exam_type, exam_type_source) = match options.exam_type {
        Some(t) => (t, ExamTypeSource::Given),
        None => {
            let evidence = ExamEvidence {
                stress_drug: None,
                stress_perfusion: steps.contains(&ProtocolStep::StressPerfusion),
                contrast: steps.iter().any(|s| s.is_contrast()),
            };
            (infer_exam_type(evidence), ExamTypeSource::Inferred)
        }
    };
    let missing = missing_steps(exam_type, &steps);
    let coverage = coverage_gaps(
        &series
            .iter()
            .filter_map(|s| {
                Some(CoverageSeries {
                    step: s.classification.step()?,
                    geometry: Some(&s.summary.geometry).filter(|g| !g.planes.is_empty()),
                    psir: Some(s.summary.psir),
                })
            })
            .collect::<Vec<_>>(),
    );

    let text =
        |f: &dyn Fn(&DicomHeader) -> Option<String>| most_common(headers.iter().filter_map(f));
    let field = most_common(
        headers
            .iter()
            .filter_map(|h| h.equipment.field_strength_t)
            .map(|t| (t * 1000.0).round() as i64),
    )
    .map(|k| k as f64 / 1000.0);
    let technique = TechniqueOffer {
        vendor: text(&|h| h.equipment.manufacturer.clone()),
        model: text(&|h| h.equipment.model.clone()),
        field_strength_t: field,
        software: text(&|h| h.equipment.software.clone()),
        steps: steps.clone(),
    };

    ScanReport {
        dir: dir.to_path_buf(),
        files_seen: headers.len(),
        files_read: headers.len(),
        studies,
        series,
        technique,
        exam_type,
        exam_type_source,
        missing_steps: missing,
        coverage,
        skipped: Vec::new(),
        ignored: Vec::new(),
    }
}

fn step_name(step: ProtocolStep) -> String {
    serde_json::to_value(step)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{step:?}"))
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "–".to_string(), |v| v.to_string())
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(
        || "–".to_string(),
        |v| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        },
    )
}

/// The report as a human-readable text table.
pub fn render_table(r: &ScanReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "DICOM scan of {}", r.dir.display());
    let _ = writeln!(
        o,
        "files: {} seen, {} read, {} skipped, {} ignored",
        r.files_seen,
        r.files_read,
        r.skipped.len(),
        r.ignored.len()
    );
    for s in &r.studies {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Study {}  patient {} ({})  ID {}  sex {}  age {}  institution {}  date {}",
            opt(s.study_uid.as_deref()),
            opt(s.patient_display_name.as_deref()),
            opt(s.patient_name.as_deref()),
            opt(s.patient_id.as_deref()),
            opt(s.patient_sex.as_deref()),
            opt(s.patient_age.as_deref()),
            opt(s.institution.as_deref()),
            opt(s.study_date),
        );
        let _ = writeln!(
            o,
            "  acquired {} → {}{}",
            opt(s.start.map(|t| t.format("%H:%M:%S"))),
            opt(s.end.map(|t| t.format("%H:%M:%S"))),
            if s.contrast_recorded {
                format!("  contrast in header: {}", opt(s.contrast_agent.as_deref()))
            } else {
                String::new()
            }
        );
    }
    let t = &r.technique;
    let _ = writeln!(
        o,
        "Scanner: {} {}  {} T  software {}",
        opt(t.vendor.as_deref()),
        opt(t.model.as_deref()),
        num(t.field_strength_t.map(nominal_field_strength)),
        opt(t.software.as_deref())
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<4} {:<30} {:<18} {:>4} {:>4} {:>6} {:>5} {:>5} {:<9} {:<4} {:<8} {:<8}",
        "#", "series", "step", "sl", "ph", "FOV", "thk", "gap", "orient", "PE", "start", "end"
    );
    for s in &r.series {
        let m = &s.summary;
        let step = match &s.classification {
            Classification::Classified { step, .. } => step_name(*step),
            Classification::Unclassified => "unclassified".into(),
        };
        let mut label: String = m
            .description
            .as_deref()
            .or(m.protocol_name.as_deref())
            .unwrap_or("(no description)")
            .chars()
            .take(30)
            .collect();
        if label.is_empty() {
            label = "(no description)".into();
        }
        let _ = writeln!(
            o,
            "{:<4} {:<30} {:<18} {:>4} {:>4} {:>6} {:>5} {:>5} {:<9} {:<4} {:<8} {:<8}",
            opt(m.number),
            label,
            step,
            m.slices,
            m.phases,
            num(m.fov_mm),
            num(m.slice_thickness_mm),
            num(m.gap_mm),
            m.orientation.map_or("–", |c| c.name()),
            m.phase_encoding.map_or("–", phase_name),
            opt(m.start.map(|t| t.format("%H:%M:%S"))),
            opt(m.end.map(|t| t.format("%H:%M:%S"))),
        );
        for f in &s.findings {
            let _ = writeln!(
                o,
                "     ! clause {}: {:?} measured {}, expected {}",
                f.clause, f.code, f.measured, f.expected
            );
        }
    }
    let _ = writeln!(o);
    let source = match r.exam_type_source {
        ExamTypeSource::Given => "given",
        ExamTypeSource::Inferred => "inferred",
    };
    if r.missing_steps.is_empty() {
        let _ = writeln!(
            o,
            "Required steps for a {:?} exam ({source}): all present",
            r.exam_type
        );
    } else {
        let names: Vec<String> = r
            .missing_steps
            .iter()
            .map(|s| format!("{} ({})", step_name(*s), spec(*s).clause))
            .collect();
        let _ = writeln!(
            o,
            "Missing for a {:?} exam ({source}): {}",
            r.exam_type,
            names.join(", ")
        );
    }
    if r.coverage.is_empty() {
        let _ = writeln!(o, "Checks across series (3.1.1.1, 3.1.4.2, 3.1.4.3): met");
    }
    for g in &r.coverage {
        let what = match g.code {
            CoverageCode::StaticOrientations => format!(
                "static imaging in {} only; at least two of axial, sagittal and coronal",
                if g.seen.is_empty() {
                    "oblique planes".to_string()
                } else {
                    g.seen
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CoverageCode::LgeWithoutPsir => "LGE without PSIR; PSIR is recommended".to_string(),
            CoverageCode::LgePlanesUnmatched => format!(
                "LGE not in the plane of {}",
                g.views
                    .iter()
                    .map(|s| step_name(*s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let _ = writeln!(o, "  ! clause {}: {what}", g.code.clause());
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Skipped files:");
        for s in &r.skipped {
            let _ = writeln!(o, "  {:?}: {}", s.reason, s.detail);
        }
    }
    if !r.ignored.is_empty() {
        let _ = writeln!(o, "Ignored files:");
        for s in &r.ignored {
            let _ = writeln!(o, "  {}: {}", s.file.display(), s.why);
        }
    }
    o
}
