//! Header-only reading of one DICOM file into a plain [`DicomHeader`].
//!
//! The file is opened with `OpenFileOptions::new().read_until(PIXEL_DATA)`: the
//! parser stops at the Pixel Data element's header, so image data is never read
//! (a file whose pixel data is truncated or corrupt still reads). Everything the
//! kiosk needs from a file (see `shared/reference/dicom.md`) is copied out into
//! owned, serialisable structs; nothing of dicom-rs leaks out of this module.
//!
//! Enhanced (multi-frame) MR objects keep geometry and timing in the shared and
//! per-frame functional groups; [`read_header`] resolves them into one
//! [`Frame`] per frame (per-frame value first, then the shared one), so series
//! grouping works the same for classic and enhanced files.
//!
//! Text: dicom-encoding decodes ISO_IR 192, GB18030 and GBK itself. The gaps
//! filled here: ISO 2022 code extensions (`\ISO 2022 IR 58`, where dicom-rs falls
//! back to Latin-1 and leaves escape sequences), escape sequences left in GBK
//! text, and undeclared non-ASCII text (UTF-8 if valid, otherwise GB18030).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use dicom_core::header::HasLength;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{InMemDicomObject, OpenFileOptions};

use super::bounds::{WalkError, read_bounded};
use serde::{Deserialize, Serialize};
use thiserror::Error;

type Element = dicom_object::mem::InMemElement;

/// Why a file could not be read; every variant names the file, and the tag where one is known.
#[derive(Debug, Error)]
pub enum HeaderError {
    /// The file could not be opened or read at all.
    #[error("{file}: unreadable: {source}")]
    Io {
        /// File.
        file: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No `DICM` marker and no recognisable data set: not a DICOM file.
    #[error("{file}: not a DICOM file ({detail})")]
    NotDicom {
        /// File.
        file: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// A data set without the 128-byte preamble and file meta information header.
    #[error("{file}: no file meta information header (no DICM preamble; raw data set)")]
    MissingMeta {
        /// File.
        file: PathBuf,
    },
    /// The file meta information group is broken or incomplete.
    #[error("{file}: bad file meta information: {detail}")]
    BadMeta {
        /// File.
        file: PathBuf,
        /// Parser message.
        detail: String,
    },
    /// The file ends inside the header.
    #[error("{file}: truncated: {detail}")]
    Truncated {
        /// File.
        file: PathBuf,
        /// Parser message.
        detail: String,
    },
    /// An element the kiosk relies on carries a value representation it cannot have.
    #[error("{file}: element {tag} has VR {found}, expected {expected}")]
    WrongVr {
        /// File.
        file: PathBuf,
        /// Tag, as `(gggg,eeee)`.
        tag: String,
        /// VR in the file.
        found: String,
        /// VR of the standard dictionary.
        expected: String,
    },
    /// An element the kiosk relies on has a value it cannot interpret.
    #[error("{file}: element {tag}: {detail}")]
    InvalidValue {
        /// File.
        file: PathBuf,
        /// Tag, as `(gggg,eeee)`.
        tag: String,
        /// What is wrong.
        detail: String,
    },
    /// The file crosses one of the reading bounds (nesting depth, element length,
    /// header size, element count): refused before it is parsed.
    #[error("{file}: refused, exceeds the {bound} bound: {detail}")]
    OutOfBounds {
        /// File.
        file: PathBuf,
        /// Which bound ([`super::bounds::Bound::code`]).
        bound: &'static str,
        /// What was found.
        detail: String,
    },
    /// Any other parse failure.
    #[error("{file}: unreadable: {detail}")]
    Unreadable {
        /// File.
        file: PathBuf,
        /// Parser message chain.
        detail: String,
    },
}

impl HeaderError {
    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            HeaderError::Io { file, .. }
            | HeaderError::NotDicom { file, .. }
            | HeaderError::MissingMeta { file }
            | HeaderError::BadMeta { file, .. }
            | HeaderError::Truncated { file, .. }
            | HeaderError::WrongVr { file, .. }
            | HeaderError::InvalidValue { file, .. }
            | HeaderError::OutOfBounds { file, .. }
            | HeaderError::Unreadable { file, .. } => file,
        }
    }
}

/// Who and where: identity attributes (film and report identity, 5.1.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Patient's name, decoded, DICOM `^`/`=` delimiters kept.
    pub patient_name: Option<String>,
    /// Patient ID.
    pub patient_id: Option<String>,
    /// Patient sex (`M`, `F`, `O`).
    pub patient_sex: Option<String>,
    /// Patient age as written (`045Y`).
    pub patient_age: Option<String>,
    /// Patient weight (kg).
    pub patient_weight_kg: Option<f64>,
    /// Institution name.
    pub institution: Option<String>,
    /// Study Instance UID.
    pub study_uid: Option<String>,
    /// Series Instance UID.
    pub series_uid: Option<String>,
    /// SOP Instance UID.
    pub sop_uid: Option<String>,
    /// SOP Class UID (from the data set, else the meta header).
    pub sop_class_uid: Option<String>,
    /// Modality (`MR`).
    pub modality: Option<String>,
    /// Study date.
    pub study_date: Option<NaiveDate>,
    /// Study time.
    pub study_time: Option<NaiveTime>,
    /// Study description.
    pub study_description: Option<String>,
    /// Accession number.
    pub accession_number: Option<String>,
}

impl Identity {
    /// The name for display: the ideographic group if present (`王^小明`), else the
    /// alphabetic one, `^` shown as spaces.
    pub fn display_name(&self) -> Option<String> {
        let name = self.patient_name.as_deref()?;
        let mut groups = name.split('=');
        let alphabetic = groups.next().unwrap_or_default();
        let ideographic = groups.next().unwrap_or_default();
        let chosen = if ideographic.trim().is_empty() {
            alphabetic
        } else {
            ideographic
        };
        let shown = chosen
            .split('^')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(if chosen.is_ascii() { " " } else { "" });
        (!shown.is_empty()).then_some(shown)
    }
}

/// The scanner (technique, 5.2.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Equipment {
    /// Manufacturer (0008,0070).
    pub manufacturer: Option<String>,
    /// Model (0008,1090).
    pub model: Option<String>,
    /// Software versions (0018,1020), joined with `\`.
    pub software: Option<String>,
    /// Magnetic field strength in tesla (0018,0087).
    pub field_strength_t: Option<f64>,
    /// Station name (0008,1010).
    pub station: Option<String>,
    /// Whole-body SAR of this acquisition, W/kg (0018,1316).
    #[serde(default)]
    pub sar_w_kg: Option<f64>,
    /// dB/dt, T/s (0018,1318).
    #[serde(default)]
    pub dbdt_t_s: Option<f64>,
    /// B1+rms, µT (0018,1320).
    #[serde(default)]
    pub b1rms_ut: Option<f64>,
}

/// Series-level attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// Series number.
    pub number: Option<i64>,
    /// Instance number.
    pub instance_number: Option<i64>,
    /// Series description (0008,103E).
    pub description: Option<String>,
    /// Protocol name (0018,1030).
    pub protocol_name: Option<String>,
    /// Sequence name (0018,0024), or Pulse Sequence Name (0018,9005) in enhanced objects.
    pub sequence_name: Option<String>,
    /// Scanning sequence (0018,0020), e.g. `GR`, `IR`.
    pub scanning_sequence: Vec<String>,
    /// Sequence variant (0018,0021).
    pub sequence_variant: Vec<String>,
    /// MR acquisition type (`2D`/`3D`).
    pub acquisition_type: Option<String>,
    /// Image type (0008,0008).
    pub image_type: Vec<String>,
    /// Series date and time.
    pub series_datetime: Option<NaiveDateTime>,
}

/// Which in-plane axis was phase encoded (0018,1312).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InPlanePhase {
    /// Along the row direction (first IOP triplet).
    Row,
    /// Along the column direction (second IOP triplet).
    Col,
}

/// Image geometry of the file (first frame for multi-frame objects).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    /// Rows.
    pub rows: Option<u32>,
    /// Columns.
    pub columns: Option<u32>,
    /// Pixel spacing: between rows, between columns (mm).
    pub pixel_spacing: Option<[f64; 2]>,
    /// Reconstruction diameter (mm).
    pub reconstruction_diameter: Option<f64>,
    /// Percent phase field of view.
    pub percent_phase_fov: Option<f64>,
    /// Slice thickness (mm).
    pub slice_thickness: Option<f64>,
    /// Spacing between slices, centre to centre (mm).
    pub spacing_between_slices: Option<f64>,
    /// Acquisition matrix (freq rows, freq cols, phase rows, phase cols).
    pub acquisition_matrix: Option<[u32; 4]>,
    /// In-plane phase-encoding direction.
    pub phase_direction: Option<InPlanePhase>,
}

/// Timing and cardiac attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Repetition time (ms).
    pub tr_ms: Option<f64>,
    /// Echo time (ms).
    pub te_ms: Option<f64>,
    /// Inversion time (ms).
    pub ti_ms: Option<f64>,
    /// Flip angle (degrees).
    pub flip_angle_deg: Option<f64>,
    /// Heart rate (/min).
    pub heart_rate: Option<f64>,
    /// Cardiac number of images (phases).
    pub cardiac_images: Option<u32>,
}

/// The Contrast/Bolus module (often empty; the kiosk's ledger is the record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContrastBolus {
    /// Agent (0018,0010).
    pub agent: Option<String>,
    /// Route (0018,1040).
    pub route: Option<String>,
    /// Volume (mL).
    pub volume_ml: Option<f64>,
    /// Start time.
    pub start_time: Option<NaiveTime>,
    /// Stop time.
    pub stop_time: Option<NaiveTime>,
    /// Total dose (mL).
    pub total_dose_ml: Option<f64>,
    /// Flow rate (mL/s).
    pub flow_rate_ml_s: Option<f64>,
    /// Flow duration (s).
    pub flow_duration_s: Option<f64>,
    /// Ingredient.
    pub ingredient: Option<String>,
    /// Ingredient concentration (mg/mL).
    pub concentration_mg_ml: Option<f64>,
}

impl ContrastBolus {
    /// Whether any attribute of the module is present.
    pub fn is_present(&self) -> bool {
        *self != ContrastBolus::default()
    }
}

/// One frame: a classic file has one, an enhanced multi-frame file one per frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Image position (patient), mm.
    pub position: Option<[f64; 3]>,
    /// Image orientation (patient): row cosines then column cosines.
    pub orientation: Option<[f64; 6]>,
    /// Trigger time / nominal cardiac trigger delay (ms).
    pub trigger_time_ms: Option<f64>,
    /// When the frame was acquired.
    pub acquired_at: Option<NaiveDateTime>,
}

/// Everything the kiosk reads from one file's header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DicomHeader {
    /// The file.
    pub file: PathBuf,
    /// Transfer syntax UID.
    pub transfer_syntax: String,
    /// Specific character set values as declared.
    pub character_set: Vec<String>,
    /// Whether enhanced functional groups were found.
    pub enhanced: bool,
    /// Number of frames (1 for classic files).
    pub number_of_frames: u32,
    /// Identity.
    pub identity: Identity,
    /// Equipment.
    pub equipment: Equipment,
    /// Series attributes.
    pub series: SeriesInfo,
    /// Geometry.
    pub geometry: Geometry,
    /// Timing.
    pub timing: Timing,
    /// Contrast/Bolus module.
    pub contrast: ContrastBolus,
    /// Frames (at least one).
    pub frames: Vec<Frame>,
}

impl DicomHeader {
    /// Whether the object is an image (has rows and columns).
    pub fn is_image(&self) -> bool {
        self.geometry.rows.is_some() && self.geometry.columns.is_some()
    }
}

/// SOP class of a DICOMDIR (media storage directory).
pub const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// Read one file's header, never its pixel data.
///
/// The file is opened once and read only as far as [`super::bounds`] allows: its
/// structure (nesting depth, element lengths, element count, header size) is
/// checked before the parser sees a byte, so no file can exhaust the stack or the
/// memory, and the parser gets only the bytes before the pixel data.
pub fn read_header(path: &Path) -> Result<DicomHeader, HeaderError> {
    let file = path.to_path_buf();
    let bounded = read_bounded(path).map_err(|e| walk_error(&file, e))?;
    parse_bounded(bounded, &file)
}

/// [`read_header`] for bytes already in memory (the whole file), named `label` in
/// errors: the same bounds, then the same parse (the fuzz target's entry).
pub fn read_header_bytes(bytes: Vec<u8>, label: &Path) -> Result<DicomHeader, HeaderError> {
    let file = label.to_path_buf();
    let whole = bytes.len() as u64 <= super::bounds::MAX_HEADER_BYTES;
    let mut bytes = bytes;
    bytes.truncate(super::bounds::MAX_HEADER_BYTES as usize);
    let bounded = super::bounds::walk(bytes, whole).map_err(|e| walk_error(&file, e))?;
    parse_bounded(bounded, &file)
}

fn parse_bounded(
    bounded: super::bounds::BoundedHeader,
    file: &Path,
) -> Result<DicomHeader, HeaderError> {
    let file = file.to_path_buf();
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .read_until(tags::PIXEL_DATA)
        .from_reader(std::io::Cursor::new(bounded.bytes))
        .map_err(|e| classify_read_error(&file, &e))?;
    let meta = obj.meta();
    let ts = meta.transfer_syntax().trim_end_matches('\0').to_string();
    let meta_sop_class = meta
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_string();
    let ds: &InMemDicomObject = &obj;
    let mut header = extract(ds, &file)?;
    header.transfer_syntax = ts;
    if header.identity.sop_class_uid.is_none() && !meta_sop_class.is_empty() {
        header.identity.sop_class_uid = Some(meta_sop_class);
    }
    Ok(header)
}

/// The header error for a refused walk: no `DICM` marker → raw data set or not DICOM.
fn walk_error(file: &Path, e: WalkError) -> HeaderError {
    let file = file.to_path_buf();
    match e {
        WalkError::Io(source) => HeaderError::Io { file, source },
        WalkError::NoMarker { head } => {
            if looks_like_raw_dataset(&head) {
                return HeaderError::MissingMeta { file };
            }
            let detail = if head.is_empty() {
                "empty file".to_string()
            } else if head.len() < 132 {
                format!("only {} bytes, no DICM marker", head.len())
            } else {
                "no DICM marker at byte 128".to_string()
            };
            HeaderError::NotDicom { file, detail }
        }
        WalkError::Bound { bound, detail } => HeaderError::OutOfBounds {
            file,
            bound: bound.code(),
            detail,
        },
        WalkError::Truncated(detail) => HeaderError::Truncated { file, detail },
        WalkError::BadMeta(detail) => HeaderError::BadMeta { file, detail },
        WalkError::Malformed(detail) => HeaderError::Unreadable { file, detail },
        WalkError::Deflated => HeaderError::Unreadable {
            file,
            detail: "deflated transfer syntax: the header cannot be read within bounds".into(),
        },
    }
}

/// A data set written without preamble usually starts with a group 0008 element
/// (little endian), explicit VR or implicit.
fn looks_like_raw_dataset(head: &[u8]) -> bool {
    if head.len() < 8 {
        return false;
    }
    let group = u16::from_le_bytes([head[0], head[1]]);
    let vr_ok = VR::from_binary([head[4], head[5]]).is_some();
    let implicit_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    (group == 0x0008 || group == 0x0002) && (vr_ok || implicit_len < 0x1_0000)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> (String, bool) {
    let mut parts = vec![e.to_string()];
    let mut eof = false;
    let mut cur = e.source();
    while let Some(s) = cur {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::UnexpectedEof
        {
            eof = true;
        }
        let msg = s.to_string();
        if parts.last() != Some(&msg) {
            parts.push(msg);
        }
        cur = s.source();
    }
    let text = parts.join(": ");
    let eof = eof || text.contains("failed to fill whole buffer") || text.contains("end of file");
    (text, eof)
}

fn classify_read_error(file: &Path, e: &dicom_object::ReadError) -> HeaderError {
    let (detail, eof) = error_chain(e);
    let file = file.to_path_buf();
    match e {
        dicom_object::ReadError::ParseMetaDataSet { .. } => {
            if eof {
                HeaderError::Truncated { file, detail }
            } else {
                HeaderError::BadMeta { file, detail }
            }
        }
        _ if eof => HeaderError::Truncated { file, detail },
        _ => HeaderError::Unreadable { file, detail },
    }
}

// ---------------------------------------------------------------- text

/// How to turn dicom-rs's decoded strings into the right text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TextFix {
    /// dicom-rs decoded with the declared set; only strip stray ISO 2022 escapes.
    AsDecoded,
    /// dicom-rs decoded as Latin-1 (default or unsupported set): recover the bytes
    /// and decode them with ISO 2022 code extensions (IR 58 / IR 100 / IR 192).
    Iso2022,
    /// Nothing declared: recover bytes; UTF-8 if valid, else GB18030.
    Undeclared,
}

fn text_fix(charsets: &[String]) -> TextFix {
    let first = charsets.first().map(String::as_str).unwrap_or("");
    let default_first = first.is_empty() || first == "ISO_IR 6" || first == "ISO 2022 IR 6";
    if charsets.len() > 1 {
        TextFix::Iso2022
    } else if default_first {
        TextFix::Undeclared
    } else if dicom_encoding::text::SpecificCharacterSet::from_code(first).is_some() {
        TextFix::AsDecoded
    } else {
        TextFix::Iso2022
    }
}

/// Recover the raw bytes from a Latin-1 decoding (every char ≤ U+00FF).
fn latin1_bytes(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Remove ISO 2022 escape sequences (ESC, intermediates 0x20–0x2F, one final byte).
fn strip_escapes(s: &str) -> Cow<'_, str> {
    if !s.contains('\u{1b}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            while let Some(&n) = chars.peek() {
                if ('\u{20}'..='\u{2f}').contains(&n) {
                    chars.next();
                } else {
                    break;
                }
            }
            chars.next();
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// G1 sets reachable by ISO 2022 escapes in DICOM (PS3.3 C.12.1.1.2).
#[derive(Clone, Copy)]
enum G1 {
    None,
    Gb2312,
    Latin1,
    /// KS X 1001 (ISO 2022 IR 149), in its EUC form.
    Ksc,
}

/// G0 sets: ASCII, or JIS X 0208 (ISO 2022 IR 87, `ESC $ B`), two 7-bit bytes a
/// character.
#[derive(Clone, Copy, PartialEq)]
enum G0 {
    Ascii,
    Jis0208,
}

/// Decode bytes using ISO 2022 code extensions; `initial` is the first declared set.
fn decode_iso2022(bytes: &[u8], initial: &str) -> String {
    let initial_g1 = match initial {
        "ISO 2022 IR 58" => G1::Gb2312,
        "ISO 2022 IR 100" | "ISO_IR 100" => G1::Latin1,
        "ISO 2022 IR 149" => G1::Ksc,
        _ => G1::None,
    };
    let initial_g0 = if initial == "ISO 2022 IR 87" {
        G0::Jis0208
    } else {
        G0::Ascii
    };
    let mut g1 = initial_g1;
    let mut g0 = initial_g0;
    let mut out = String::new();
    let mut i = 0;
    let mut seg_start = 0;
    let flush = |seg: &[u8], g0: G0, g1: G1, out: &mut String| {
        if seg.is_empty() {
            return;
        }
        if g0 == G0::Jis0208 {
            // Decoded as ISO-2022-JP, with its designation around the bytes.
            let mut framed = b"\x1b$B".to_vec();
            framed.extend_from_slice(seg);
            framed.extend_from_slice(b"\x1b(B");
            out.push_str(
                &encoding_rs::ISO_2022_JP
                    .decode_without_bom_handling(&framed)
                    .0,
            );
            return;
        }
        match g1 {
            G1::Gb2312 => out.push_str(&encoding_rs::GBK.decode_without_bom_handling(seg).0),
            G1::Ksc => out.push_str(&encoding_rs::EUC_KR.decode_without_bom_handling(seg).0),
            G1::Latin1 => out.extend(seg.iter().map(|&b| char::from(b))),
            G1::None => out.push_str(&String::from_utf8_lossy(seg)),
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            flush(&bytes[seg_start..i], g0, g1, &mut out);
            let rest = &bytes[i + 1..];
            let (len, next) = if rest.starts_with(b"$)A") {
                (3, Some(G1::Gb2312))
            } else if rest.starts_with(b"$)C") {
                (3, Some(G1::Ksc))
            } else if rest.starts_with(b"-A") {
                (2, Some(G1::Latin1))
            } else if rest.starts_with(b"$B") {
                g0 = G0::Jis0208;
                (2, None)
            } else if rest.starts_with(b"(B") || rest.starts_with(b"(J") {
                g0 = G0::Ascii;
                (2, None)
            } else {
                let n = rest
                    .iter()
                    .take_while(|c| (0x20..=0x2f).contains(*c))
                    .count();
                (n + usize::from(n < rest.len()), None)
            };
            if let Some(n) = next {
                g1 = n;
            }
            i += 1 + len;
            seg_start = i;
        } else if g0 == G0::Ascii && (b == b'^' || b == b'=' || b == b'\r' || b == b'\n') {
            // PS3.5 6.1.2.5.3: the initial sets are restored at delimiters.
            flush(&bytes[seg_start..=i], g0, g1, &mut out);
            g1 = initial_g1;
            g0 = initial_g0;
            i += 1;
            seg_start = i;
        } else if g0 == G0::Jis0208 && (b == b'^' || b == b'=') && (i - seg_start) % 2 == 0 {
            // A delimiter between whole two-byte characters (a JIS X 0208 byte pair
            // never starts here): the initial sets are restored.
            flush(&bytes[seg_start..i], g0, g1, &mut out);
            out.push(char::from(b));
            g1 = initial_g1;
            g0 = initial_g0;
            i += 1;
            seg_start = i;
        } else {
            i += 1;
        }
    }
    flush(&bytes[seg_start..], g0, g1, &mut out);
    out
}

fn decode_with_fix(raw: &str, charsets: &[String], fix: TextFix) -> String {
    match fix {
        TextFix::AsDecoded => strip_escapes(raw).into_owned(),
        TextFix::Iso2022 => {
            if raw.is_ascii() && !raw.contains('\u{1b}') {
                return raw.to_string();
            }
            let Some(bytes) = latin1_bytes(raw) else {
                return strip_escapes(raw).into_owned();
            };
            if charsets.iter().any(|c| c == "ISO_IR 192")
                && let Ok(s) = std::str::from_utf8(&bytes)
            {
                return strip_escapes(s).into_owned();
            }
            if charsets.iter().any(|c| c == "GB18030") {
                return encoding_rs::GB18030
                    .decode_without_bom_handling(&bytes)
                    .0
                    .into_owned();
            }
            let initial = charsets.first().map(String::as_str).unwrap_or("");
            decode_iso2022(&bytes, initial)
        }
        TextFix::Undeclared => {
            if raw.is_ascii() {
                return raw.to_string();
            }
            let Some(bytes) = latin1_bytes(raw) else {
                return raw.to_string();
            };
            match std::str::from_utf8(&bytes) {
                Ok(s) => s.to_string(),
                Err(_) => encoding_rs::GB18030
                    .decode_without_bom_handling(&bytes)
                    .0
                    .into_owned(),
            }
        }
    }
}

// ---------------------------------------------------------------- values

/// Text of any data set (a worklist item, say) decoded as a file's header text is:
/// by its Specific Character Set, with ISO 2022 code extensions, and undeclared
/// non-ASCII text recovered.
#[derive(Debug, Clone)]
pub struct DatasetText {
    charsets: Vec<String>,
    fix: TextFix,
}

impl DatasetText {
    /// The decoding `ds` declares.
    pub fn of(ds: &InMemDicomObject) -> DatasetText {
        let charsets = declared_charsets(ds);
        DatasetText {
            fix: text_fix(&charsets),
            charsets,
        }
    }

    /// The character sets as declared.
    pub fn charsets(&self) -> &[String] {
        &self.charsets
    }

    /// The decoded, trimmed text of `tag` in `ds` (a nested item of the same data
    /// set too), `None` when absent or empty.
    pub fn text(&self, ds: &InMemDicomObject, tag: Tag) -> Option<String> {
        Reader {
            file: Path::new(""),
            charsets: self.charsets.clone(),
            fix: self.fix,
        }
        .text(ds, tag)
    }
}

fn declared_charsets(ds: &InMemDicomObject) -> Vec<String> {
    ds.get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.to_multi_str().ok().map(|v| v.into_owned()))
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.trim().to_string())
        .collect()
}

fn tag_str(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

struct Reader<'a> {
    file: &'a Path,
    charsets: Vec<String>,
    fix: TextFix,
}

impl Reader<'_> {
    fn text_of(&self, e: &Element) -> Option<String> {
        if e.vr() == VR::SQ {
            return None;
        }
        let raw = e.to_str().ok()?;
        let raw = raw.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        if raw.is_empty() {
            return None;
        }
        let out = match e.vr() {
            VR::PN | VR::LO | VR::SH | VR::ST | VR::LT | VR::UT | VR::UC => {
                decode_with_fix(raw, &self.charsets, self.fix)
            }
            _ => raw.to_string(),
        };
        let out = out.trim().to_string();
        (!out.is_empty()).then_some(out)
    }

    fn text(&self, ds: &InMemDicomObject, tag: Tag) -> Option<String> {
        ds.get(tag).and_then(|e| self.text_of(e))
    }

    fn strings(&self, ds: &InMemDicomObject, tag: Tag) -> Vec<String> {
        ds.get(tag)
            .and_then(|e| e.to_multi_str().ok().map(|v| v.into_owned()))
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' ').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Check that a numeric element has a numeric VR; text VRs must be DS/IS.
    fn check_vr(&self, e: &Element, tag: Tag, allowed: &[VR]) -> Result<(), HeaderError> {
        let vr = e.vr();
        if vr == VR::UN || allowed.contains(&vr) {
            return Ok(());
        }
        Err(HeaderError::WrongVr {
            file: self.file.to_path_buf(),
            tag: tag_str(tag),
            found: format!("{vr:?}"),
            expected: allowed
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(" or "),
        })
    }

    fn floats_in(
        &self,
        ds: &InMemDicomObject,
        tag: Tag,
        allowed: &[VR],
    ) -> Result<Option<Vec<f64>>, HeaderError> {
        let Some(e) = ds.get(tag) else {
            return Ok(None);
        };
        self.check_vr(e, tag, allowed)?;
        if e.vr() == VR::UN || e.value().primitive().is_some_and(|p| p.is_empty()) {
            return Ok(None);
        }
        let v = e
            .to_multi_float64()
            .map_err(|err| HeaderError::InvalidValue {
                file: self.file.to_path_buf(),
                tag: tag_str(tag),
                detail: format!("not a number: {err}"),
            })?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(HeaderError::InvalidValue {
                file: self.file.to_path_buf(),
                tag: tag_str(tag),
                detail: "value is not finite".to_string(),
            });
        }
        Ok((!v.is_empty()).then_some(v))
    }

    fn ds_float(&self, ds: &InMemDicomObject, tag: Tag) -> Result<Option<f64>, HeaderError> {
        Ok(self
            .floats_in(ds, tag, &[VR::DS, VR::FD, VR::FL])?
            .and_then(|v| v.first().copied()))
    }

    /// A float that is nice to have: wrong or unparsable values are ignored.
    fn soft_float(&self, ds: &InMemDicomObject, tag: Tag) -> Option<f64> {
        self.ds_float(ds, tag).ok().flatten()
    }

    fn int(&self, ds: &InMemDicomObject, tag: Tag) -> Result<Option<i64>, HeaderError> {
        Ok(self
            .floats_in(ds, tag, &[VR::US, VR::UL, VR::IS, VR::SS, VR::SL])?
            .and_then(|v| v.first().copied())
            .map(|f| f.round() as i64))
    }

    fn fixed<const N: usize>(
        &self,
        ds: &InMemDicomObject,
        tag: Tag,
    ) -> Result<Option<[f64; N]>, HeaderError> {
        let Some(v) = self.floats_in(ds, tag, &[VR::DS, VR::FD, VR::FL])? else {
            return Ok(None);
        };
        <[f64; N]>::try_from(v.as_slice())
            .map(Some)
            .map_err(|_| HeaderError::InvalidValue {
                file: self.file.to_path_buf(),
                tag: tag_str(tag),
                detail: format!("expected {N} values, found {}", v.len()),
            })
    }
}

/// The first item of sequence `seq` in `ds`.
fn first_item(ds: &InMemDicomObject, seq: Tag) -> Option<&InMemDicomObject> {
    ds.get(seq)?.value().items()?.first()
}

/// Find `attr` inside functional group `group` of the per-frame item, else the shared item.
fn fg<'a>(
    per_frame: Option<&'a InMemDicomObject>,
    shared: Option<&'a InMemDicomObject>,
    group: Tag,
    attr: Tag,
) -> Option<&'a InMemDicomObject> {
    [per_frame, shared]
        .into_iter()
        .flatten()
        .filter_map(|item| first_item(item, group))
        .find(|g| g.get(attr).is_some())
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim().replace(':', "");
    let (main, frac) = s.split_once('.').unwrap_or((s.as_str(), ""));
    if main.len() < 2 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| main.get(r).and_then(|x| x.parse::<u32>().ok());
    let h = num(0..2)?;
    let m = num(2..4).unwrap_or(0);
    let sec = num(4..6).unwrap_or(0);
    let frac_digits: String = frac.chars().take(6).collect();
    let micro = if frac_digits.is_empty() {
        0
    } else {
        frac_digits.parse::<u32>().ok()? * 10u32.pow(6 - frac_digits.len() as u32)
    };
    NaiveTime::from_hms_micro_opt(h, m, sec.min(59), micro)
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim().replace(['.', '-'], "");
    if s.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(&s, "%Y%m%d").ok()
}

fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let s = s.split(['+', '-']).next().unwrap_or(s);
    let date = parse_date(s.get(0..8)?)?;
    let time = s
        .get(8..)
        .filter(|t| !t.is_empty())
        .and_then(parse_time)
        .unwrap_or(NaiveTime::MIN);
    Some(date.and_time(time))
}

fn extract(ds: &InMemDicomObject, file: &Path) -> Result<DicomHeader, HeaderError> {
    let charsets = declared_charsets(ds);
    let r = Reader {
        file,
        fix: text_fix(&charsets),
        charsets: charsets.clone(),
    };

    let study_date = r.text(ds, tags::STUDY_DATE).and_then(|s| parse_date(&s));
    let identity = Identity {
        patient_name: r.text(ds, tags::PATIENT_NAME),
        patient_id: r.text(ds, tags::PATIENT_ID),
        patient_sex: r.text(ds, tags::PATIENT_SEX),
        patient_age: r.text(ds, tags::PATIENT_AGE),
        patient_weight_kg: r.soft_float(ds, tags::PATIENT_WEIGHT),
        institution: r.text(ds, tags::INSTITUTION_NAME),
        study_uid: r.text(ds, tags::STUDY_INSTANCE_UID),
        series_uid: r.text(ds, tags::SERIES_INSTANCE_UID),
        sop_uid: r.text(ds, tags::SOP_INSTANCE_UID),
        sop_class_uid: r.text(ds, tags::SOP_CLASS_UID),
        modality: r.text(ds, tags::MODALITY),
        study_date,
        study_time: r.text(ds, tags::STUDY_TIME).and_then(|s| parse_time(&s)),
        study_description: r.text(ds, tags::STUDY_DESCRIPTION),
        accession_number: r.text(ds, tags::ACCESSION_NUMBER),
    };
    let software = {
        let v = r.strings(ds, tags::SOFTWARE_VERSIONS);
        (!v.is_empty()).then(|| v.join("\\"))
    };
    let equipment = Equipment {
        manufacturer: r.text(ds, tags::MANUFACTURER),
        model: r.text(ds, tags::MANUFACTURER_MODEL_NAME),
        software,
        field_strength_t: r.soft_float(ds, tags::MAGNETIC_FIELD_STRENGTH),
        station: r.text(ds, tags::STATION_NAME),
        sar_w_kg: r.soft_float(ds, tags::SAR),
        dbdt_t_s: r.soft_float(ds, tags::D_BDT),
        b1rms_ut: r.soft_float(ds, tags::B1RMS),
    };
    let series_date = r
        .text(ds, tags::SERIES_DATE)
        .and_then(|s| parse_date(&s))
        .or(study_date);
    let series_time = r.text(ds, tags::SERIES_TIME).and_then(|s| parse_time(&s));

    let shared = first_item(ds, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame_items: &[InMemDicomObject] = ds
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.value().items())
        .unwrap_or(&[]);
    let enhanced = shared.is_some() || !per_frame_items.is_empty();
    let first_pf = per_frame_items.first();
    // Where to look for an attribute: top level, else the first frame's functional group.
    let at = |group: Tag, attr: Tag| -> &InMemDicomObject {
        if ds.get(attr).is_some() {
            ds
        } else {
            fg(first_pf, shared, group, attr).unwrap_or(ds)
        }
    };

    let sequence_name = r
        .text(ds, tags::SEQUENCE_NAME)
        .or_else(|| r.text(ds, tags::PULSE_SEQUENCE_NAME));
    let series = SeriesInfo {
        number: r.int(ds, tags::SERIES_NUMBER).ok().flatten(),
        instance_number: r.int(ds, tags::INSTANCE_NUMBER).ok().flatten(),
        description: r.text(ds, tags::SERIES_DESCRIPTION),
        protocol_name: r.text(ds, tags::PROTOCOL_NAME),
        sequence_name,
        scanning_sequence: r.strings(ds, tags::SCANNING_SEQUENCE),
        sequence_variant: r.strings(ds, tags::SEQUENCE_VARIANT),
        acquisition_type: r.text(ds, tags::MR_ACQUISITION_TYPE),
        image_type: r.strings(ds, tags::IMAGE_TYPE),
        series_datetime: match (series_date, series_time) {
            (Some(d), Some(t)) => Some(d.and_time(t)),
            _ => None,
        },
    };

    let rows = r.int(ds, tags::ROWS)?.and_then(|v| u32::try_from(v).ok());
    let columns = r
        .int(ds, tags::COLUMNS)?
        .and_then(|v| u32::try_from(v).ok());
    let pm = tags::PIXEL_MEASURES_SEQUENCE;
    let fov_g = tags::MRFOV_GEOMETRY_SEQUENCE;
    let phase_direction = r
        .text(
            at(fov_g, tags::IN_PLANE_PHASE_ENCODING_DIRECTION),
            tags::IN_PLANE_PHASE_ENCODING_DIRECTION,
        )
        .and_then(|s| match s.to_ascii_uppercase().as_str() {
            "ROW" => Some(InPlanePhase::Row),
            "COL" | "COLUMN" => Some(InPlanePhase::Col),
            _ => None,
        });
    let acquisition_matrix = r
        .floats_in(
            ds,
            tags::ACQUISITION_MATRIX,
            &[VR::US, VR::UL, VR::IS, VR::SS],
        )?
        .and_then(|v| {
            let v: Vec<u32> = v.iter().map(|x| x.max(0.0) as u32).collect();
            <[u32; 4]>::try_from(v.as_slice()).ok()
        });
    let geometry = Geometry {
        rows,
        columns,
        pixel_spacing: r.fixed::<2>(at(pm, tags::PIXEL_SPACING), tags::PIXEL_SPACING)?,
        reconstruction_diameter: r.soft_float(ds, tags::RECONSTRUCTION_DIAMETER),
        percent_phase_fov: r.soft_float(
            at(fov_g, tags::PERCENT_PHASE_FIELD_OF_VIEW),
            tags::PERCENT_PHASE_FIELD_OF_VIEW,
        ),
        slice_thickness: r.ds_float(at(pm, tags::SLICE_THICKNESS), tags::SLICE_THICKNESS)?,
        spacing_between_slices: r.ds_float(
            at(pm, tags::SPACING_BETWEEN_SLICES),
            tags::SPACING_BETWEEN_SLICES,
        )?,
        acquisition_matrix,
        phase_direction,
    };

    let tim = tags::MR_TIMING_AND_RELATED_PARAMETERS_SEQUENCE;
    let te = r.soft_float(ds, tags::ECHO_TIME).or_else(|| {
        r.soft_float(
            at(tags::MR_ECHO_SEQUENCE, tags::EFFECTIVE_ECHO_TIME),
            tags::EFFECTIVE_ECHO_TIME,
        )
    });
    let ti = r.soft_float(ds, tags::INVERSION_TIME).or_else(|| {
        r.soft_float(
            at(tags::MR_MODIFIER_SEQUENCE, tags::INVERSION_TIMES),
            tags::INVERSION_TIMES,
        )
    });
    let timing = Timing {
        tr_ms: r.soft_float(at(tim, tags::REPETITION_TIME), tags::REPETITION_TIME),
        te_ms: te,
        ti_ms: ti,
        flip_angle_deg: r.soft_float(at(tim, tags::FLIP_ANGLE), tags::FLIP_ANGLE),
        heart_rate: r.soft_float(ds, tags::HEART_RATE),
        cardiac_images: r
            .int(ds, tags::CARDIAC_NUMBER_OF_IMAGES)
            .ok()
            .flatten()
            .and_then(|v| u32::try_from(v).ok()),
    };

    let contrast = ContrastBolus {
        agent: r.text(ds, tags::CONTRAST_BOLUS_AGENT),
        route: r.text(ds, tags::CONTRAST_BOLUS_ROUTE),
        volume_ml: r.soft_float(ds, tags::CONTRAST_BOLUS_VOLUME),
        start_time: r
            .text(ds, tags::CONTRAST_BOLUS_START_TIME)
            .and_then(|s| parse_time(&s)),
        stop_time: r
            .text(ds, tags::CONTRAST_BOLUS_STOP_TIME)
            .and_then(|s| parse_time(&s)),
        total_dose_ml: r.soft_float(ds, tags::CONTRAST_BOLUS_TOTAL_DOSE),
        flow_rate_ml_s: r.soft_float(ds, tags::CONTRAST_FLOW_RATE),
        flow_duration_s: r.soft_float(ds, tags::CONTRAST_FLOW_DURATION),
        ingredient: r.text(ds, tags::CONTRAST_BOLUS_INGREDIENT),
        concentration_mg_ml: r.soft_float(ds, tags::CONTRAST_BOLUS_INGREDIENT_CONCENTRATION),
    };

    // Acquisition moment of a classic file.
    let acq_date = r
        .text(ds, tags::ACQUISITION_DATE)
        .and_then(|s| parse_date(&s))
        .or(series_date);
    let top_acquired = r
        .text(ds, tags::ACQUISITION_DATE_TIME)
        .and_then(|s| parse_datetime(&s))
        .or_else(|| {
            let t = r
                .text(ds, tags::ACQUISITION_TIME)
                .and_then(|s| parse_time(&s))?;
            Some(acq_date?.and_time(t))
        })
        .or_else(|| {
            let t = r
                .text(ds, tags::CONTENT_TIME)
                .and_then(|s| parse_time(&s))?;
            Some(acq_date?.and_time(t))
        });

    let number_of_frames = r
        .int(ds, tags::NUMBER_OF_FRAMES)
        .ok()
        .flatten()
        .and_then(|v| u32::try_from(v).ok())
        .filter(|&n| n > 0)
        .unwrap_or(per_frame_items.len().max(1) as u32);

    let mut frames = Vec::new();
    let top_position = r.fixed::<3>(ds, tags::IMAGE_POSITION_PATIENT)?;
    let top_orientation = r.fixed::<6>(ds, tags::IMAGE_ORIENTATION_PATIENT)?;
    let top_trigger = r.soft_float(ds, tags::TRIGGER_TIME);
    if enhanced {
        let count = per_frame_items.len().max(1);
        for i in 0..count {
            let pf = per_frame_items.get(i);
            let pos = match fg(
                pf,
                shared,
                tags::PLANE_POSITION_SEQUENCE,
                tags::IMAGE_POSITION_PATIENT,
            ) {
                Some(g) => r.fixed::<3>(g, tags::IMAGE_POSITION_PATIENT)?,
                None => top_position,
            };
            let ori = match fg(
                pf,
                shared,
                tags::PLANE_ORIENTATION_SEQUENCE,
                tags::IMAGE_ORIENTATION_PATIENT,
            ) {
                Some(g) => r.fixed::<6>(g, tags::IMAGE_ORIENTATION_PATIENT)?,
                None => top_orientation,
            };
            let trig = fg(
                pf,
                shared,
                tags::CARDIAC_SYNCHRONIZATION_SEQUENCE,
                tags::NOMINAL_CARDIAC_TRIGGER_DELAY_TIME,
            )
            .and_then(|g| r.soft_float(g, tags::NOMINAL_CARDIAC_TRIGGER_DELAY_TIME))
            .or(top_trigger);
            let acquired = fg(
                pf,
                shared,
                tags::FRAME_CONTENT_SEQUENCE,
                tags::FRAME_ACQUISITION_DATE_TIME,
            )
            .and_then(|g| r.text(g, tags::FRAME_ACQUISITION_DATE_TIME))
            .and_then(|s| parse_datetime(&s))
            .or(top_acquired);
            frames.push(Frame {
                position: pos,
                orientation: ori,
                trigger_time_ms: trig,
                acquired_at: acquired,
            });
        }
    } else {
        frames.push(Frame {
            position: top_position,
            orientation: top_orientation,
            trigger_time_ms: top_trigger,
            acquired_at: top_acquired,
        });
    }

    Ok(DicomHeader {
        file: file.to_path_buf(),
        transfer_syntax: String::new(),
        character_set: charsets,
        enhanced,
        number_of_frames,
        identity,
        equipment,
        series,
        geometry,
        timing,
        contrast,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso2022_ir58_decodes_gb2312_after_escape() {
        // "Wang^XiaoDong=" + ESC $ ) A + 王^小东 (GB2312) + "="
        let mut bytes = b"Wang^XiaoDong=".to_vec();
        bytes.extend_from_slice(b"\x1b$)A");
        bytes.extend_from_slice(&encoding_rs::GBK.encode("王").0);
        bytes.push(b'^');
        bytes.extend_from_slice(b"\x1b$)A");
        bytes.extend_from_slice(&encoding_rs::GBK.encode("小东").0);
        bytes.push(b'=');
        let s = decode_iso2022(&bytes, "");
        assert_eq!(s, "Wang^XiaoDong=王^小东=");
    }

    #[test]
    fn iso2022_ir87_decodes_jis_x0208_in_g0() {
        // PS3.5 H.3.1: "Yamada^Tarou=" ESC $ B 山田 ESC ( B "^" ESC $ B 太郎 ESC ( B "="
        let jis = |s: &str| encoding_rs::ISO_2022_JP.encode(s).0.into_owned();
        let mut bytes = b"Yamada^Tarou=".to_vec();
        bytes.extend(jis("山田"));
        bytes.push(b'^');
        bytes.extend(jis("太郎"));
        bytes.push(b'=');
        assert!(
            bytes.windows(3).any(|w| w == b"\x1b$B"),
            "escaped as JIS X 0208"
        );
        let s = decode_iso2022(&bytes, "");
        assert_eq!(s, "Yamada^Tarou=山田^太郎=");
    }

    #[test]
    fn iso2022_ir149_decodes_ks_x1001_after_escape() {
        // PS3.5 I.2: "Hong^Gildong=" ESC $ ) C 洪^吉洞 (KS X 1001) "="
        let mut bytes = b"Hong^Gildong=".to_vec();
        bytes.extend_from_slice(b"\x1b$)C");
        bytes.extend_from_slice(&encoding_rs::EUC_KR.encode("洪").0);
        bytes.push(b'^');
        bytes.extend_from_slice(b"\x1b$)C");
        bytes.extend_from_slice(&encoding_rs::EUC_KR.encode("吉洞").0);
        bytes.push(b'=');
        let s = decode_iso2022(&bytes, "");
        assert_eq!(s, "Hong^Gildong=洪^吉洞=");
        // Declared as the initial set, the G1 bytes decode without an escape.
        let bytes = encoding_rs::EUC_KR.encode("홍^길동").0.into_owned();
        assert_eq!(decode_iso2022(&bytes, "ISO 2022 IR 149"), "홍^길동");
    }

    #[test]
    fn escapes_are_stripped() {
        assert_eq!(strip_escapes("\u{1b}$)A王"), "王");
        assert_eq!(strip_escapes("abc"), "abc");
    }

    #[test]
    fn times_and_dates_parse() {
        assert_eq!(
            parse_time("101530.5"),
            NaiveTime::from_hms_micro_opt(10, 15, 30, 500_000)
        );
        assert_eq!(parse_time("1015"), NaiveTime::from_hms_opt(10, 15, 0));
        assert_eq!(parse_time("xx"), None);
        assert_eq!(
            parse_datetime("20240102101530.25+0800"),
            NaiveDate::from_ymd_opt(2024, 1, 2)
                .and_then(|d| d.and_hms_micro_opt(10, 15, 30, 250_000))
        );
    }
}
