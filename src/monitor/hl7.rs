//! HL7 v2 over MLLP: the framing codec, ORU^R01 parsing per IHE PCD-01, and the
//! ACK and ORU messages the link and the simulator send.
//!
//! Sources (facts only): HL7 v2.x Minimal Lower Layer Protocol (MLLP, HL7 v2.5
//! Implementation Guide appendix C): a message is `0x0B` payload `0x1C 0x0D`;
//! IHE PCD Technical Framework vol. 2, transaction PCD-01 (ORU^R01 with OBX-3 as
//! IEEE 11073 MDC codes, OBX-6 units, OBX-14 observation time); HL7 v2 chapter 2
//! (MSH, MSA; acknowledgement codes AA/AE/AR).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use chrono::{NaiveDate, NaiveDateTime};
use tokio_util::codec::{Decoder, Encoder};

use super::FrameFault;
use super::reading::{Measure, PlausibilityError, Reading, Unit, limits};

/// MLLP start block character (HL7 v2.5 IG appendix C.4.3: `<VT>`, 0x0B).
pub const MLLP_START: u8 = 0x0B;
/// MLLP end block character (`<FS>`, 0x1C).
pub const MLLP_END: u8 = 0x1C;
/// MLLP trailer after the end block (`<CR>`, 0x0D).
pub const MLLP_TRAILER: u8 = 0x0D;
/// Largest HL7 message accepted in one MLLP frame. MLLP sets no limit; a PCD-01
/// message with a few dozen OBX segments is a few kilobytes, so 1 MiB bounds
/// memory against a sender that never ends a frame.
pub const MAX_MLLP_FRAME: usize = 1024 * 1024;

/// Codec for MLLP frames. Decodes to `Ok(Ok(message))` for each framed message
/// (without the framing bytes) and to `Ok(Err(fault))` when it drops bytes;
/// never returns `Err` except for I/O errors, so a stream survives bad input.
#[derive(Debug, Clone)]
pub struct MllpCodec {
    max_frame: usize,
    /// Garbage bytes dropped since the last report (reported once per run).
    garbage_run: usize,
}

/// A run of garbage this long is reported even before a frame starts.
pub const GARBAGE_REPORT_THRESHOLD: usize = 4096;

impl Default for MllpCodec {
    fn default() -> Self {
        MllpCodec {
            max_frame: MAX_MLLP_FRAME,
            garbage_run: 0,
        }
    }
}

impl MllpCodec {
    /// A codec with the default [`MAX_MLLP_FRAME`] limit.
    pub fn new() -> MllpCodec {
        MllpCodec::default()
    }

    /// A codec with another size limit (at least 1 byte).
    pub fn with_max_frame(max_frame: usize) -> MllpCodec {
        MllpCodec {
            max_frame: max_frame.max(1),
            garbage_run: 0,
        }
    }
}

fn is_inter_frame_whitespace(b: u8) -> bool {
    matches!(b, b'\r' | b'\n')
}

impl MllpCodec {
    fn take_garbage(&mut self) -> FrameFault {
        let bytes = std::mem::take(&mut self.garbage_run);
        FrameFault::Garbage { bytes }
    }
}

impl Decoder for MllpCodec {
    type Item = Result<Bytes, FrameFault>;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        // Resynchronise: everything before a start byte is garbage (bare CR/LF
        // between frames is tolerated silently, as some senders emit it). A run
        // of garbage is reported once, when the next frame starts.
        match buf.iter().position(|&b| b == MLLP_START) {
            None => {
                self.garbage_run += buf
                    .iter()
                    .filter(|&&b| !is_inter_frame_whitespace(b))
                    .count();
                buf.clear();
                if self.garbage_run >= GARBAGE_REPORT_THRESHOLD {
                    return Ok(Some(Err(self.take_garbage())));
                }
                return Ok(None);
            }
            Some(start) => {
                self.garbage_run += buf[..start]
                    .iter()
                    .filter(|&&b| !is_inter_frame_whitespace(b))
                    .count();
                buf.advance(start);
                if self.garbage_run > 0 {
                    return Ok(Some(Err(self.take_garbage())));
                }
            }
        }
        // buf[0] == MLLP_START here.
        let body = &buf[1..];
        let next_start = body.iter().position(|&b| b == MLLP_START);
        let end = body.iter().position(|&b| b == MLLP_END);
        match (end, next_start) {
            (Some(e), ns) if ns.is_none_or(|s| e < s) => {
                if e > self.max_frame {
                    buf.advance(1 + e + 1);
                    return Ok(Some(Err(FrameFault::Oversize {
                        max: self.max_frame,
                    })));
                }
                // Need the trailer byte.
                let Some(&after) = body.get(e + 1) else {
                    return Ok(None);
                };
                if after != MLLP_TRAILER {
                    buf.advance(1 + e + 1);
                    return Ok(Some(Err(FrameFault::BadHeader(format!(
                        "end block 0x1C followed by {after:#04x}, not 0x0D"
                    )))));
                }
                let mut frame = buf.split_to(1 + e + 2);
                frame.advance(1);
                frame.truncate(e);
                Ok(Some(Ok(frame.freeze())))
            }
            (_, Some(s)) => {
                // A new frame began before this one ended.
                buf.advance(1 + s);
                Ok(Some(Err(FrameFault::Truncated { bytes: 1 + s })))
            }
            (_, None) => {
                if body.len() > self.max_frame {
                    buf.clear();
                    return Ok(Some(Err(FrameFault::Oversize {
                        max: self.max_frame,
                    })));
                }
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        match self.decode(buf)? {
            Some(item) => Ok(Some(item)),
            None => {
                if buf.is_empty() {
                    if self.garbage_run > 0 {
                        return Ok(Some(Err(self.take_garbage())));
                    }
                    Ok(None)
                } else {
                    let n = buf.len();
                    buf.clear();
                    Ok(Some(Err(FrameFault::Truncated { bytes: n })))
                }
            }
        }
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for MllpCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let msg = item.as_ref();
        if msg.len() > self.max_frame {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("HL7 message of {} bytes exceeds the MLLP limit", msg.len()),
            ));
        }
        if msg.iter().any(|&b| b == MLLP_START || b == MLLP_END) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "HL7 message contains an MLLP block character",
            ));
        }
        dst.reserve(msg.len() + 3);
        dst.put_u8(MLLP_START);
        dst.put_slice(msg);
        dst.put_u8(MLLP_END);
        dst.put_u8(MLLP_TRAILER);
        Ok(())
    }
}

/// Why an HL7 message could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Hl7Error {
    /// The message does not start with an MSH segment.
    #[error("message does not start with an MSH segment")]
    NoMsh,
    /// The MSH segment is too short to carry separators.
    #[error("MSH segment too short to define its separators")]
    BadSeparators,
    /// MSH-10, the message control id, is empty.
    #[error("MSH-10 message control id is missing")]
    NoControlId,
    /// MSH-9 is not a message type the kiosk accepts.
    #[error("unsupported message type {0:?} (expected ORU^R01)")]
    UnsupportedType(String),
    /// The message is not text.
    #[error("message is not valid text: {0}")]
    NotText(String),
}

impl Hl7Error {
    /// The acknowledgement code an application answers this error with:
    /// AR (reject) for an unsupported type or broken header, AE otherwise.
    pub fn ack_code(&self) -> AckCode {
        match self {
            Hl7Error::UnsupportedType(_) | Hl7Error::NoMsh | Hl7Error::BadSeparators => {
                AckCode::Reject
            }
            Hl7Error::NoControlId | Hl7Error::NotText(_) => AckCode::Error,
        }
    }
}

/// Why one OBX segment of a recognised measure was not turned into a reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObservationError {
    /// OBX-5 is not a number.
    #[error("OBX-5 value {value:?} for {measure} is not a number")]
    NotNumeric {
        /// The measure.
        measure: Measure,
        /// The text found.
        value: String,
    },
    /// OBX-6 names a unit that does not fit the measure.
    #[error("OBX-6 unit {unit:?} for {measure} is not understood")]
    UnknownUnit {
        /// The measure.
        measure: Measure,
        /// The unit text found.
        unit: String,
    },
    /// OBX-6 is empty and the device profile does not say which unit this device
    /// sends: a bare number could be kPa or mmHg, and is not guessed.
    #[error("OBX-6 gives no unit for {measure} and the device profile names none")]
    MissingUnit {
        /// The measure.
        measure: Measure,
    },
    /// OBX-11 says the result is not final or was withdrawn.
    #[error("OBX-11 result status {status:?} for {measure}: not a valid result")]
    NotValid {
        /// The measure.
        measure: Measure,
        /// The status found.
        status: String,
    },
    /// The value failed the plausibility check.
    #[error(transparent)]
    Implausible(#[from] PlausibilityError),
}

impl ObservationError {
    /// Short key for counting by reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ObservationError::NotNumeric { .. } => "hl7_not_numeric",
            ObservationError::UnknownUnit { .. } => "hl7_unknown_unit",
            ObservationError::MissingUnit { .. } => "hl7_missing_unit",
            ObservationError::NotValid { .. } => "hl7_result_status",
            ObservationError::Implausible(_) => "implausible",
        }
    }

    /// Where the fault lies (OBX field number) and its HL7 error code
    /// (table 0357: 101 required field missing, 102 data type error, 103 table
    /// value not found, 207 application internal error).
    pub fn err_location(&self) -> (u8, u16, &'static str) {
        match self {
            ObservationError::NotNumeric { .. } => (5, 102, "Data type error"),
            ObservationError::UnknownUnit { .. } => (6, 103, "Table value not found"),
            ObservationError::MissingUnit { .. } => (6, 101, "Required field missing"),
            ObservationError::NotValid { .. } => (11, 207, "Application internal error"),
            ObservationError::Implausible(_) => (5, 207, "Application internal error"),
        }
    }
}

/// Units a device sends without naming them, from its device profile: measure →
/// unit text (as OBX-6 would carry it). A bare value of any other measure is refused.
pub type UnitDefaults = std::collections::BTreeMap<Measure, String>;

/// HL7 acknowledgement codes (HL7 v2 table 0008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// AA: application accept.
    Accept,
    /// AE: application error.
    Error,
    /// AR: application reject.
    Reject,
}

impl AckCode {
    /// The two-letter code.
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        }
    }

    /// Parses AA/AE/AR (and the enhanced-mode CA/CE/CR).
    pub fn parse(s: &str) -> Option<AckCode> {
        match s {
            "AA" | "CA" => Some(AckCode::Accept),
            "AE" | "CE" => Some(AckCode::Error),
            "AR" | "CR" => Some(AckCode::Reject),
            _ => None,
        }
    }
}

/// The parts of MSH the link needs to answer a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageHeader {
    /// MSH-3 sending application.
    pub sending_application: String,
    /// MSH-4 sending facility.
    pub sending_facility: String,
    /// MSH-5 receiving application.
    pub receiving_application: String,
    /// MSH-6 receiving facility.
    pub receiving_facility: String,
    /// MSH-9 message type as sent (e.g. `ORU^R01^ORU_R01`).
    pub message_type: String,
    /// MSH-10 message control id.
    pub control_id: String,
    /// MSH-11 processing id (P, T, D).
    pub processing_id: String,
    /// MSH-12 version id.
    pub version: String,
}

/// A parsed ORU^R01.
#[derive(Debug, Clone, PartialEq)]
pub struct OruMessage {
    /// The message header.
    pub header: MessageHeader,
    /// One entry per OBX whose identifier is a measure the kiosk reads.
    pub observations: Vec<Result<Reading, ObservationError>>,
    /// For each entry of `observations`, the OBX's ordinal in the message (1-based),
    /// as ERR-2 names it in the acknowledgement.
    pub obx_ordinals: Vec<usize>,
    /// OBX segments with identifiers the kiosk does not read.
    pub ignored: usize,
}

struct Separators {
    field: char,
    component: char,
}

fn split_header(text: &str) -> Result<(Separators, Vec<&str>), Hl7Error> {
    let msh = text
        .split(['\r', '\n'])
        .find(|s| !s.is_empty())
        .ok_or(Hl7Error::NoMsh)?;
    if !msh.starts_with("MSH") {
        return Err(Hl7Error::NoMsh);
    }
    let mut chars = msh.chars().skip(3);
    let field = chars.next().ok_or(Hl7Error::BadSeparators)?;
    let component = chars.next().ok_or(Hl7Error::BadSeparators)?;
    if field.is_alphanumeric() || component.is_alphanumeric() || field == component {
        return Err(Hl7Error::BadSeparators);
    }
    Ok((Separators { field, component }, msh.split(field).collect()))
}

/// Parses the MSH segment of an HL7 message.
pub fn parse_header(message: &[u8]) -> Result<MessageHeader, Hl7Error> {
    let text = std::str::from_utf8(message).map_err(|e| Hl7Error::NotText(e.to_string()))?;
    let (_, fields) = split_header(text)?;
    // fields[0] = "MSH", fields[1] = MSH-2 (encoding characters), fields[n] = MSH-(n+1).
    let f = |n: usize| fields.get(n - 1).copied().unwrap_or("").to_string();
    Ok(MessageHeader {
        sending_application: f(3),
        sending_facility: f(4),
        receiving_application: f(5),
        receiving_facility: f(6),
        message_type: f(9),
        control_id: f(10),
        processing_id: f(11),
        version: f(12),
    })
}

/// Maps an OBX-3 code (MDC numeric code or LOINC) to a measure.
pub fn measure_for_code(code: &str) -> Option<Measure> {
    match code.trim() {
        "147842" | "8867-4" => Some(Measure::Hr),
        "150021" | "150301" | "8480-6" => Some(Measure::NibpSys),
        "150022" | "8462-4" => Some(Measure::NibpDia),
        "150023" | "8478-0" => Some(Measure::NibpMean),
        "150456" | "59408-5" | "2708-6" => Some(Measure::Spo2),
        "149530" | "149546" | "8889-8" => Some(Measure::PulseRate),
        _ => None,
    }
}

/// Maps an OBX-6 unit (MDC code, MDC mnemonic or UCUM) to a unit and a factor
/// into that unit; `None` when not understood (an empty unit included).
pub fn unit_for(units: &[&str]) -> Option<(Unit, f64)> {
    units.iter().find_map(|u| match u.trim() {
        "264864" | "MDC_DIM_BEAT_PER_MIN" | "/min" | "{beats}/min" | "bpm" | "1/min" => {
            Some((Unit::PerMinute, 1.0))
        }
        "266016" | "MDC_DIM_MMHG" | "mm[Hg]" | "mmHg" => Some((Unit::MmHg, 1.0)),
        "268800" | "MDC_DIM_KILO_PASCAL" | "kPa" => Some((Unit::MmHg, limits::MMHG_PER_KPA)),
        "262688" | "MDC_DIM_PERCENT" | "%" => Some((Unit::Percent, 1.0)),
        _ => None,
    })
}

/// Parses an HL7 DTM (`YYYYMMDDHHMM[SS[.S{1,4}]][+/-ZZZZ]`) into the wall-clock
/// time it states; the offset, if any, is ignored. Returns `None` when absent
/// or malformed.
pub fn parse_dtm(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let core = s.split(['+', '-']).next()?;
    let (whole, frac) = match core.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (core, None),
    };
    if whole.len() < 8 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<u32> { whole.get(a..b)?.parse().ok() };
    let year = i32::try_from(num(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(4, 6)?, num(6, 8)?)?;
    let hour = if whole.len() >= 10 { num(8, 10)? } else { 0 };
    let minute = if whole.len() >= 12 { num(10, 12)? } else { 0 };
    let second = if whole.len() >= 14 { num(12, 14)? } else { 0 };
    let micro = match frac {
        Some(f) if !f.is_empty() && f.len() <= 6 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let v: u32 = f.parse().ok()?;
            v * 10u32.pow(6 - f.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    date.and_hms_micro_opt(hour, minute, second, micro)
}

/// Parses an ORU^R01 into readings, refusing values without a unit. Unrecognised
/// OBX codes are counted in `ignored`; recognised OBX with unusable content appear
/// as `Err`.
pub fn parse_oru(message: &[u8]) -> Result<OruMessage, Hl7Error> {
    parse_oru_with(message, &UnitDefaults::new())
}

/// [`parse_oru`] for a device whose profile names the units it sends bare.
pub fn parse_oru_with(message: &[u8], defaults: &UnitDefaults) -> Result<OruMessage, Hl7Error> {
    let text = std::str::from_utf8(message).map_err(|e| Hl7Error::NotText(e.to_string()))?;
    let header = parse_header(message)?;
    if header.control_id.trim().is_empty() {
        return Err(Hl7Error::NoControlId);
    }
    let (seps, _) = split_header(text)?;
    let mut mt = header.message_type.split(seps.component);
    let (kind, event) = (mt.next().unwrap_or(""), mt.next().unwrap_or(""));
    if kind != "ORU" || event != "R01" {
        return Err(Hl7Error::UnsupportedType(header.message_type.clone()));
    }
    let mut observations = Vec::new();
    let mut obx_ordinals = Vec::new();
    let mut obx_seen = 0;
    let mut ignored = 0;
    let mut obr_time: Option<NaiveDateTime> = None;
    for segment in text.split(['\r', '\n']).filter(|s| !s.is_empty()) {
        let fields: Vec<&str> = segment.split(seps.field).collect();
        let field = |n: usize| fields.get(n).copied().unwrap_or("");
        match fields.first().copied() {
            Some("OBR") => obr_time = parse_dtm(field(7)),
            Some("OBX") => {
                obx_seen += 1;
                let ident: Vec<&str> = field(3).split(seps.component).collect();
                // OBX-3.1 identifier, or OBX-3.4 alternate identifier.
                let measure = [0usize, 3]
                    .iter()
                    .filter_map(|&i| ident.get(i))
                    .find_map(|c| measure_for_code(c));
                let Some(measure) = measure else {
                    ignored += 1;
                    continue;
                };
                observations.push(parse_obx(
                    measure,
                    &fields,
                    seps.component,
                    obr_time,
                    defaults,
                ));
                obx_ordinals.push(obx_seen);
            }
            _ => {}
        }
    }
    Ok(OruMessage {
        header,
        observations,
        obx_ordinals,
        ignored,
    })
}

fn parse_obx(
    measure: Measure,
    fields: &[&str],
    component: char,
    fallback_time: Option<NaiveDateTime>,
    defaults: &UnitDefaults,
) -> Result<Reading, ObservationError> {
    let field = |n: usize| fields.get(n).copied().unwrap_or("");
    let status = field(11).trim();
    if matches!(status, "X" | "D" | "W" | "N") {
        return Err(ObservationError::NotValid {
            measure,
            status: status.to_string(),
        });
    }
    let raw = field(5).trim();
    let value: f64 = raw.parse().map_err(|_| ObservationError::NotNumeric {
        measure,
        value: raw.to_string(),
    })?;
    let units: Vec<&str> = field(6).split(component).collect();
    let (unit, factor) = if units.iter().all(|u| u.trim().is_empty()) {
        let declared = defaults
            .get(&measure)
            .ok_or(ObservationError::MissingUnit { measure })?;
        unit_for(&[declared.as_str()]).ok_or_else(|| ObservationError::UnknownUnit {
            measure,
            unit: declared.clone(),
        })?
    } else {
        unit_for(&units).ok_or_else(|| ObservationError::UnknownUnit {
            measure,
            unit: field(6).to_string(),
        })?
    };
    let observed_at = parse_dtm(field(14)).or(fallback_time);
    Ok(Reading::checked(
        measure,
        value * factor,
        unit,
        observed_at,
    )?)
}

fn hl7_time(t: NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// Builds the acknowledgement for a received message:
/// `MSH|^~\&|<our app>|<our facility>|<their app>|<their facility>|<now>||ACK^R01^ACK|<id>|P|<version>`
/// then `MSA|<code>|<their MSH-10>[|<text>]`. `original` may be a default
/// header when the message was unparseable (MSA-2 is then empty).
pub fn build_ack(
    original: &MessageHeader,
    code: AckCode,
    text: Option<&str>,
    now: NaiveDateTime,
    ack_control_id: &str,
) -> String {
    let version = if original.version.is_empty() {
        "2.6"
    } else {
        original.version.as_str()
    };
    let processing = if original.processing_id.is_empty() {
        "P"
    } else {
        original.processing_id.as_str()
    };
    let clean = |s: &str| s.replace(['|', '\r', '\n', '^', '~', '\\', '&'], " ");
    let mut ack = format!(
        "MSH|^~\\&|{}|{}|{}|{}|{}||ACK^R01^ACK|{}|{}|{}\rMSA|{}|{}",
        "CMR-KIOSK",
        if original.receiving_facility.is_empty() {
            "CMR"
        } else {
            original.receiving_facility.as_str()
        },
        original.sending_application,
        original.sending_facility,
        hl7_time(now),
        clean(ack_control_id),
        processing,
        version,
        code.as_str(),
        original.control_id,
    );
    if let Some(t) = text {
        ack.push('|');
        ack.push_str(&clean(t));
    }
    ack.push('\r');
    ack
}

/// One value refused from a message, for an ERR segment of the acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedValue {
    /// The OBX's ordinal in the message (1-based).
    pub obx: usize,
    /// Why.
    pub error: ObservationError,
}

/// The acknowledgement of an ORU whose values were refused in part or in whole:
/// `AE`, with one `ERR` segment per refused value (ERR-2 `OBX^n^field`, ERR-3 the
/// HL7 table 0357 code, ERR-4 severity `E`, ERR-8 what was wrong).
pub fn build_ack_refused(
    original: &MessageHeader,
    refused: &[RefusedValue],
    now: NaiveDateTime,
    ack_control_id: &str,
) -> String {
    let clean = |s: &str| s.replace(['|', '\r', '\n', '^', '~', '\\', '&'], " ");
    let text = format!("{} value(s) refused", refused.len());
    let mut ack = build_ack(original, AckCode::Error, Some(&text), now, ack_control_id);
    for r in refused {
        let (field, code, name) = r.error.err_location();
        ack.push_str(&format!(
            "ERR||OBX^{}^{field}|{code}^{name}^HL70357|E||||{}\r",
            r.obx,
            clean(&r.error.to_string())
        ));
    }
    ack
}

/// A parsed acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// MSA-1.
    pub code: AckCode,
    /// MSA-2: the control id of the acknowledged message.
    pub acknowledged_id: String,
    /// MSA-3 text, if any.
    pub text: Option<String>,
}

/// Parses an ACK message (used by the simulator and by tests).
pub fn parse_ack(message: &[u8]) -> Result<Ack, Hl7Error> {
    let text = std::str::from_utf8(message).map_err(|e| Hl7Error::NotText(e.to_string()))?;
    let (seps, _) = split_header(text)?;
    let msa = text
        .split(['\r', '\n'])
        .find(|s| s.starts_with("MSA"))
        .ok_or_else(|| Hl7Error::UnsupportedType("message without MSA".into()))?;
    let fields: Vec<&str> = msa.split(seps.field).collect();
    let code_text = fields.get(1).copied().unwrap_or("");
    let code = AckCode::parse(code_text)
        .ok_or_else(|| Hl7Error::UnsupportedType(format!("MSA-1 {code_text:?}")))?;
    Ok(Ack {
        code,
        acknowledged_id: fields.get(2).copied().unwrap_or("").to_string(),
        text: fields
            .get(3)
            .filter(|t| !t.is_empty())
            .map(|t| t.to_string()),
    })
}

/// One observation for [`build_oru`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OruObservation {
    /// The measure.
    pub measure: Measure,
    /// The value in the measure's canonical unit.
    pub value: f64,
    /// Observation time (OBX-14).
    pub observed_at: NaiveDateTime,
}

fn mdc_identifier(m: Measure) -> &'static str {
    match m {
        Measure::Hr => "147842^MDC_ECG_HEART_RATE^MDC",
        Measure::NibpSys => "150021^MDC_PRESS_BLD_NONINV_SYS^MDC",
        Measure::NibpDia => "150022^MDC_PRESS_BLD_NONINV_DIA^MDC",
        Measure::NibpMean => "150023^MDC_PRESS_BLD_NONINV_MEAN^MDC",
        Measure::Spo2 => "150456^MDC_PULS_OXIM_SAT_O2^MDC",
        Measure::PulseRate => "149530^MDC_PULS_OXIM_PULS_RATE^MDC",
    }
}

fn mdc_unit(u: Unit) -> &'static str {
    match u {
        Unit::PerMinute => "264864^MDC_DIM_BEAT_PER_MIN^MDC",
        Unit::MmHg => "266016^MDC_DIM_MMHG^MDC",
        Unit::Percent => "262688^MDC_DIM_PERCENT^MDC",
    }
}

fn sub_id(m: Measure) -> &'static str {
    // MDS.VMD.channel.metric path; the numbers are illustrative.
    match m {
        Measure::Hr => "1.1.1.1",
        Measure::NibpSys => "1.2.1.1",
        Measure::NibpDia => "1.2.1.2",
        Measure::NibpMean => "1.2.1.3",
        Measure::Spo2 => "1.3.1.1",
        Measure::PulseRate => "1.3.1.2",
    }
}

/// Builds a PCD-01 ORU^R01 carrying `observations` with MDC codes and units,
/// as a monitor or gateway would send it (used by the simulator).
pub fn build_oru(
    control_id: &str,
    sent_at: NaiveDateTime,
    observations: &[OruObservation],
) -> String {
    let mut msg = format!(
        "MSH|^~\\&|CMR-SIM^0012345678ABCDEF^EUI-64|SIM|CMR-KIOSK|CMR|{}||ORU^R01^ORU_R01|{}|P|2.6|||NE|AL||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\r",
        hl7_time(sent_at),
        control_id
    );
    msg.push_str("PID|||SIMULATED^^^CMR^PI||SIMULATED^PATIENT\r");
    msg.push_str("PV1||I|MR^1^1\r");
    msg.push_str(&format!(
        "OBR|1|{control_id}^CMR-SIM|{control_id}^CMR-SIM|182777000^monitoring of patient^SNOMED-CT|||{}\r",
        hl7_time(sent_at)
    ));
    for (i, o) in observations.iter().enumerate() {
        let value = if o.value.fract() == 0.0 {
            format!("{:.0}", o.value)
        } else {
            format!("{:.1}", o.value)
        };
        msg.push_str(&format!(
            "OBX|{}|NM|{}|{}|{}|{}|||||R|||{}\r",
            i + 1,
            mdc_identifier(o.measure),
            sub_id(o.measure),
            value,
            mdc_unit(o.measure.canonical_unit()),
            hl7_time(o.observed_at)
        ));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 5, 6)
            .and_then(|d| d.and_hms_opt(10, 11, 12))
            .expect("valid")
    }

    fn frame(msg: &str) -> Vec<u8> {
        let mut v = vec![MLLP_START];
        v.extend_from_slice(msg.as_bytes());
        v.extend_from_slice(&[MLLP_END, MLLP_TRAILER]);
        v
    }

    #[test]
    fn mllp_partial_then_complete() {
        let mut c = MllpCodec::new();
        let f = frame("MSH|^~\\&|A");
        let mut buf = BytesMut::from(&f[..4]);
        assert_eq!(c.decode(&mut buf).expect("io"), None);
        buf.extend_from_slice(&f[4..f.len() - 1]);
        assert_eq!(c.decode(&mut buf).expect("io"), None, "needs trailer");
        buf.extend_from_slice(&f[f.len() - 1..]);
        let got = c
            .decode(&mut buf)
            .expect("io")
            .expect("frame")
            .expect("good");
        assert_eq!(&got[..], b"MSH|^~\\&|A");
        assert!(buf.is_empty());
    }

    #[test]
    fn mllp_empty_buffer() {
        let mut c = MllpCodec::new();
        let mut buf = BytesMut::new();
        assert_eq!(c.decode(&mut buf).expect("io"), None);
        assert_eq!(c.decode_eof(&mut buf).expect("io"), None);
    }

    #[test]
    fn mllp_resyncs_after_garbage() {
        let mut c = MllpCodec::new();
        let mut buf = BytesMut::from(&b"xx\xff"[..]);
        buf.extend_from_slice(&frame("MSH|^~\\&|B"));
        assert_eq!(
            c.decode(&mut buf).expect("io"),
            Some(Err(FrameFault::Garbage { bytes: 3 }))
        );
        assert!(c.decode(&mut buf).expect("io").expect("frame").is_ok());
    }

    #[test]
    fn mllp_truncated_frame_then_good_one() {
        let mut c = MllpCodec::new();
        let mut buf = BytesMut::from(&b"\x0bMSH|half"[..]);
        buf.extend_from_slice(&frame("MSH|^~\\&|C"));
        assert!(matches!(
            c.decode(&mut buf).expect("io"),
            Some(Err(FrameFault::Truncated { .. }))
        ));
        let got = c
            .decode(&mut buf)
            .expect("io")
            .expect("frame")
            .expect("good");
        assert_eq!(&got[..], b"MSH|^~\\&|C");
    }

    #[test]
    fn mllp_oversize_is_dropped() {
        let mut c = MllpCodec::with_max_frame(8);
        let mut buf = BytesMut::from(&b"\x0b0123456789"[..]);
        assert_eq!(
            c.decode(&mut buf).expect("io"),
            Some(Err(FrameFault::Oversize { max: 8 }))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn mllp_truncated_at_eof() {
        let mut c = MllpCodec::new();
        let mut buf = BytesMut::from(&b"\x0bMSH|"[..]);
        assert!(matches!(
            c.decode_eof(&mut buf).expect("io"),
            Some(Err(FrameFault::Truncated { bytes: 5 }))
        ));
    }

    #[test]
    fn mllp_encode_round_trip() {
        let mut c = MllpCodec::new();
        let mut buf = BytesMut::new();
        c.encode("MSH|x", &mut buf).expect("encode");
        assert_eq!(&buf[..], b"\x0bMSH|x\x1c\r");
        assert!(c.encode("bad\x1c", &mut buf).is_err());
    }

    const PCD01: &str = "MSH|^~\\&|AcmeInc^ACDE48234567ABCD^EUI-64||||20090713090030+0000||ORU^R01^ORU_R01|MSGID1234|P|2.6|||NE|AL||||||IHE PCD ORU-R01 2006^HL7^2.16.840.1.113883.9.n.m^HL7\r\
PID|||010101^^^Hospital^PI||Doe^John\r\
OBR|1|AB12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|CD12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|182777000^monitoring of patient^SNOMED-CT|||20090813095715+0000\r\
OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||20090813095715+0000\r\
OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.2.1.1|120|266016^MDC_DIM_MMHG^MDC|||||R|||20090813095600\r\
OBX|3|NM|8462-4^Diastolic^LN|1.2.1.2|80|mm[Hg]^mm[Hg]^UCUM|||||R\r\
OBX|4|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.2.1.3|12.5|268800^MDC_DIM_KILO_PASCAL^MDC|||||R\r\
OBX|5|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.1|abc|262688^MDC_DIM_PERCENT^MDC|||||R\r\
OBX|6|NM|151562^MDC_RESP_RATE^MDC|1.4.1.1|14|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R\r\
OBX|7|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|900|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R\r";

    #[test]
    fn parses_pcd01_oru_by_mdc_and_loinc() {
        let oru = parse_oru(PCD01.as_bytes()).expect("parse");
        assert_eq!(oru.header.control_id, "MSGID1234");
        assert_eq!(oru.ignored, 1, "resp rate is not read");
        assert_eq!(oru.observations.len(), 6);
        let hr = oru.observations[0].as_ref().expect("hr");
        assert_eq!(
            (hr.measure, hr.value, hr.unit),
            (Measure::Hr, 72.0, Unit::PerMinute)
        );
        assert_eq!(hr.observed_at, parse_dtm("20090813095715"));
        let sys = oru.observations[1].as_ref().expect("sys");
        assert_eq!(sys.observed_at, parse_dtm("20090813095600"));
        let dia = oru.observations[2].as_ref().expect("dia");
        assert_eq!((dia.measure, dia.value), (Measure::NibpDia, 80.0));
        assert_eq!(
            dia.observed_at,
            parse_dtm("20090813095715"),
            "falls back to OBR-7"
        );
        let mean = oru.observations[3].as_ref().expect("mean");
        assert!(
            (mean.value - 93.75775).abs() < 1e-3,
            "kPa converted: {}",
            mean.value
        );
        assert!(matches!(
            oru.observations[4],
            Err(ObservationError::NotNumeric { .. })
        ));
        assert!(matches!(
            oru.observations[5],
            Err(ObservationError::Implausible(_))
        ));
    }

    #[test]
    fn rejects_non_oru_and_missing_control_id() {
        let adt = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5\r";
        assert!(matches!(
            parse_oru(adt.as_bytes()),
            Err(Hl7Error::UnsupportedType(_))
        ));
        let noid = "MSH|^~\\&|A|B|C|D|20240101||ORU^R01||P|2.5\r";
        assert_eq!(parse_oru(noid.as_bytes()), Err(Hl7Error::NoControlId));
        assert_eq!(parse_oru(b"PID|1"), Err(Hl7Error::NoMsh));
        assert_eq!(parse_oru(b"MSH"), Err(Hl7Error::BadSeparators));
    }

    #[test]
    fn ack_carries_control_id() {
        let h = parse_header(PCD01.as_bytes()).expect("header");
        let ack = build_ack(&h, AckCode::Accept, None, t0(), "ACK1");
        assert!(ack.contains("\rMSA|AA|MSGID1234\r"), "{ack}");
        let parsed = parse_ack(ack.as_bytes()).expect("ack");
        assert_eq!(parsed.code, AckCode::Accept);
        assert_eq!(parsed.acknowledged_id, "MSGID1234");
        let ae = build_ack(
            &MessageHeader::default(),
            AckCode::Error,
            Some("bad|x"),
            t0(),
            "A2",
        );
        let parsed = parse_ack(ae.as_bytes()).expect("ack");
        assert_eq!(parsed.code, AckCode::Error);
        assert_eq!(parsed.text.as_deref(), Some("bad x"));
    }

    #[test]
    fn built_oru_parses_back() {
        let obs = [
            OruObservation {
                measure: Measure::Hr,
                value: 64.0,
                observed_at: t0(),
            },
            OruObservation {
                measure: Measure::NibpSys,
                value: 118.0,
                observed_at: t0(),
            },
            OruObservation {
                measure: Measure::Spo2,
                value: 97.5,
                observed_at: t0(),
            },
        ];
        let msg = build_oru("SIM1", t0(), &obs);
        let oru = parse_oru(msg.as_bytes()).expect("parse");
        let vals: Vec<_> = oru
            .observations
            .iter()
            .map(|r| {
                r.as_ref()
                    .map(|r| (r.measure, r.value, r.observed_at))
                    .expect("ok")
            })
            .collect();
        assert_eq!(
            vals,
            vec![
                (Measure::Hr, 64.0, Some(t0())),
                (Measure::NibpSys, 118.0, Some(t0())),
                (Measure::Spo2, 97.5, Some(t0()))
            ]
        );
    }

    #[test]
    fn dtm_forms() {
        assert_eq!(parse_dtm("20240506101112"), Some(t0()));
        assert_eq!(parse_dtm("20240506101112+0200"), Some(t0()));
        assert!(parse_dtm("20240506101112.25").is_some());
        assert_eq!(parse_dtm("2024"), None);
        assert_eq!(parse_dtm("20241306"), None);
        assert_eq!(parse_dtm(""), None);
    }
}
