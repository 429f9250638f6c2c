//! DICOM input: what the scanner really did, read from its files.
//!
//! Imperative shell around the domain's protocol catalogue: this module reads
//! files (headers only, never pixel data), the domain judges them.
//!
//! * [`bounds`]: the limits on reading one file (nesting depth, element length,
//!   header bytes, element count), checked before the parser sees it.
//! * [`header`]: one file → [`header::DicomHeader`] (identity, equipment, series,
//!   geometry, timing, contrast/bolus; enhanced multi-frame MR; character sets).
//! * [`series`]: headers grouped by Series Instance UID → [`series::SeriesSummary`]
//!   (slices, phases, FOV, gap, orientation class, phase-encoding direction, times).
//! * [`classify`]: series → protocol step by rules kept as data
//!   (`hardware/dicom-classification.toml`, extendable by a site file).
//! * [`scan`]: a folder → [`scan::ScanReport`] (study, series, classification,
//!   findings from `domain::protocol::check_series`, missing steps, technique
//!   facts, skipped files) and its table/JSON renderings.
//! * [`watch`]: the incoming folder during an exam: new files read once they hold
//!   still, settled series reported as exam events.
//! * [`node`]: the kiosk as a DICOM node: the modality worklist (C-FIND SCU) and
//!   an image receiver (C-STORE and C-ECHO SCP) that stores into the incoming folder.
//! * [`synth`]: synthetic exams written as DICOM (tests, benchmarks, simulator).

pub mod bounds;
pub mod classify;
pub mod header;
pub mod node;
pub mod scan;
pub mod series;
pub mod synth;
pub mod watch;

pub use classify::{Classification, Rules, RulesError};
pub use header::{DicomHeader, HeaderError, read_header};
pub use scan::{
    ScanError, ScanOptions, ScanReport, SkipReason, render_table, scan_dir, scan_dir_with,
};
pub use series::{OrientationClass, SeriesSummary};
