//! Philips IntelliVue Data Export over the RS-232 MIB port: the frame codec
//! (transparency and FCS), FLOAT-Type, and the session messages the kiosk
//! needs (association, MDS Create Event Report and its result, Extended Poll
//! for numerics, keep-alive poll, poll result parsing).
//!
//! Sources (facts only, no code taken): Philips "Data Export Interface
//! Programming Guide" as summarised in `shared/reference/monitor-protocols.md`,
//! cross-checked against the public implementations xeonfusion/VSCaptureMP
//! (message byte layouts), Koshsky/Intellivue-api (constants, FLOAT-Type test
//! cases, poll reply structure) and mdpnp (`philips/intellivue`).
//!
//! Wire layout of one frame: `0xC0` | `0x11 0x01 lenHi lenLo` | payload |
//! FCS low, high | `0xC1`, with `0xC0`, `0xC1`, `0x7D` inside sent as
//! `0x7D, b ^ 0x20`. The FCS is CRC-16/X-25 over the unescaped header and payload.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use chrono::{NaiveDate, NaiveDateTime};
use tokio_util::codec::{Decoder, Encoder};

use super::FrameFault;
use super::reading::{Measure, PlausibilityError, Reading, Unit, limits};

/// Beginning-of-frame character.
pub const BOF: u8 = 0xC0;
/// End-of-frame character.
pub const EOF: u8 = 0xC1;
/// Control-escape character (transparency).
pub const ESCAPE: u8 = 0x7D;
/// XOR mask applied to an escaped byte.
pub const ESCAPE_XOR: u8 = 0x20;
/// Protocol id of Data Export in the frame header.
pub const PROTOCOL_ID_DATA_EXPORT: u8 = 0x11;
/// Message type "Association Control / Data Export command" in the frame header.
pub const MSG_TYPE_AS_DATA_EXPORT: u8 = 0x01;
/// Header length: protocol id, message type, 16-bit length.
pub const FRAME_HEADER_LEN: usize = 4;
/// Largest payload accepted. The association request announces a receive MTU
/// of 2500 bytes (`max_mtu_rx`); the monitor splits longer poll replies into
/// linked replies, so 4096 bounds memory with headroom.
pub const MAX_PAYLOAD: usize = 4096;
/// Largest escaped frame on the wire: every byte escaped, plus BOF/EOF.
pub const MAX_WIRE_FRAME: usize = 2 * (FRAME_HEADER_LEN + MAX_PAYLOAD + 2) + 2;

const fn crc_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC_TABLE: [u16; 256] = crc_table();

/// The PPP frame check sequence, CRC-16/X-25 (RFC 1662 appendix C: reflected
/// polynomial 0x8408, init 0xFFFF, final complement; check value 0x906E for
/// `"123456789"`).
pub fn fcs(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc = (crc >> 8) ^ CRC_TABLE[usize::from((crc ^ u16::from(b)) as u8)];
    }
    !crc
}

fn needs_escape(b: u8) -> bool {
    matches!(b, BOF | EOF | ESCAPE)
}

fn put_escaped(dst: &mut BytesMut, bytes: &[u8]) {
    for &b in bytes {
        if needs_escape(b) {
            dst.put_u8(ESCAPE);
            dst.put_u8(b ^ ESCAPE_XOR);
        } else {
            dst.put_u8(b);
        }
    }
}

/// Codec for IntelliVue RS-232 frames. Decodes to `Ok(Ok(payload))` (the
/// Data Export message without frame header and FCS) or `Ok(Err(fault))` for
/// dropped bytes; returns `Err` only for I/O errors.
#[derive(Debug, Clone, Default)]
pub struct FrameCodec {
    /// Garbage bytes dropped since the last report (reported once per run).
    garbage_run: usize,
}

/// A run of garbage this long is reported even before a frame starts.
pub const GARBAGE_REPORT_THRESHOLD: usize = 4096;

impl FrameCodec {
    /// A new codec.
    pub fn new() -> FrameCodec {
        FrameCodec::default()
    }

    fn take_garbage(&mut self) -> FrameFault {
        let bytes = std::mem::take(&mut self.garbage_run);
        FrameFault::Garbage { bytes }
    }
}

/// Removes transparency from the bytes between BOF and EOF.
fn unescape(body: &[u8]) -> Result<Vec<u8>, FrameFault> {
    let mut out = Vec::with_capacity(body.len());
    let mut iter = body.iter();
    while let Some(&b) = iter.next() {
        if b == ESCAPE {
            match iter.next() {
                Some(&n) => {
                    let v = n ^ ESCAPE_XOR;
                    if !needs_escape(v) {
                        // Only BOF, EOF and ESCAPE are ever escaped.
                        return Err(FrameFault::BadEscape);
                    }
                    out.push(v);
                }
                None => return Err(FrameFault::BadEscape),
            }
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

fn check_frame(raw: &[u8]) -> Result<Bytes, FrameFault> {
    if raw.len() < FRAME_HEADER_LEN + 2 {
        return Err(FrameFault::BadHeader(format!(
            "frame of {} bytes is shorter than header and FCS",
            raw.len()
        )));
    }
    let (content, fcs_bytes) = raw.split_at(raw.len() - 2);
    let received = u16::from_le_bytes([fcs_bytes[0], fcs_bytes[1]]);
    let computed = fcs(content);
    if received != computed {
        return Err(FrameFault::BadChecksum { received, computed });
    }
    if content[0] != PROTOCOL_ID_DATA_EXPORT {
        return Err(FrameFault::BadHeader(format!(
            "protocol id {:#04x}, expected 0x11",
            content[0]
        )));
    }
    if content[1] != MSG_TYPE_AS_DATA_EXPORT {
        return Err(FrameFault::BadHeader(format!(
            "message type {:#04x}, expected 0x01",
            content[1]
        )));
    }
    let len = usize::from(u16::from_be_bytes([content[2], content[3]]));
    let payload = &content[FRAME_HEADER_LEN..];
    if len != payload.len() {
        return Err(FrameFault::BadHeader(format!(
            "length field {len} but {} payload bytes",
            payload.len()
        )));
    }
    Ok(Bytes::copy_from_slice(payload))
}

impl Decoder for FrameCodec {
    type Item = Result<Bytes, FrameFault>;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        match buf.iter().position(|&b| b == BOF) {
            None => {
                self.garbage_run += buf.len();
                buf.clear();
                if self.garbage_run >= GARBAGE_REPORT_THRESHOLD {
                    return Ok(Some(Err(self.take_garbage())));
                }
                return Ok(None);
            }
            Some(start) => {
                self.garbage_run += start;
                buf.advance(start);
                if self.garbage_run > 0 {
                    return Ok(Some(Err(self.take_garbage())));
                }
            }
        }
        let body = &buf[1..];
        let end = body.iter().position(|&b| b == EOF);
        let next_start = body.iter().position(|&b| b == BOF);
        match (end, next_start) {
            (Some(e), ns) if ns.is_none_or(|s| e < s) => {
                if e + 2 > MAX_WIRE_FRAME {
                    buf.advance(e + 2);
                    return Ok(Some(Err(FrameFault::Oversize { max: MAX_PAYLOAD })));
                }
                let frame = buf.split_to(e + 2);
                let item = unescape(&frame[1..=e]).and_then(|raw| check_frame(&raw));
                Ok(Some(item))
            }
            (_, Some(s)) => {
                buf.advance(1 + s);
                Ok(Some(Err(FrameFault::Truncated { bytes: 1 + s })))
            }
            (_, None) => {
                if buf.len() > MAX_WIRE_FRAME {
                    buf.clear();
                    return Ok(Some(Err(FrameFault::Oversize { max: MAX_PAYLOAD })));
                }
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        match self.decode(buf)? {
            Some(item) => Ok(Some(item)),
            None if buf.is_empty() && self.garbage_run > 0 => Ok(Some(Err(self.take_garbage()))),
            None if buf.is_empty() => Ok(None),
            None => {
                let n = buf.len();
                buf.clear();
                Ok(Some(Err(FrameFault::Truncated { bytes: n })))
            }
        }
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for FrameCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let payload = item.as_ref();
        if payload.len() > MAX_PAYLOAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "IntelliVue payload of {} bytes exceeds {MAX_PAYLOAD}",
                    payload.len()
                ),
            ));
        }
        put_frame(dst, payload, 0);
        Ok(())
    }
}

fn put_frame(dst: &mut BytesMut, payload: &[u8], fcs_xor: u16) {
    let mut content = Vec::with_capacity(FRAME_HEADER_LEN + payload.len() + 2);
    content.push(PROTOCOL_ID_DATA_EXPORT);
    content.push(MSG_TYPE_AS_DATA_EXPORT);
    content.extend_from_slice(&(payload.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    content.extend_from_slice(payload);
    let crc = fcs(&content) ^ fcs_xor;
    content.extend_from_slice(&crc.to_le_bytes());
    dst.reserve(content.len() * 2 + 2);
    dst.put_u8(BOF);
    put_escaped(dst, &content);
    dst.put_u8(EOF);
}

/// The wire bytes of one frame whose FCS is XOR-ed with `fcs_xor` (0 gives a
/// correct frame). Used by the simulator to inject bad checksums.
pub fn frame_with_fcs_xor(payload: &[u8], fcs_xor: u16) -> Vec<u8> {
    let mut b = BytesMut::new();
    put_frame(&mut b, payload, fcs_xor);
    b.to_vec()
}

// ---------------------------------------------------------------------------
// FLOAT-Type

/// Mantissa meaning "not a number".
pub const FLOAT_NAN: u32 = 0x7F_FFFF;
/// Mantissa meaning "not at this resolution".
pub const FLOAT_NRES: u32 = 0x80_0000;
/// Mantissa meaning +infinity.
pub const FLOAT_POS_INF: u32 = 0x7F_FFFE;
/// Mantissa meaning −infinity.
pub const FLOAT_NEG_INF: u32 = 0x80_0002;

/// A decoded FLOAT-Type (signed 8-bit exponent, signed 24-bit mantissa, value
/// = mantissa × 10^exponent) with its special values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloatValue {
    /// An ordinary number.
    Number(f64),
    /// NaN: no valid value.
    NaN,
    /// NRes: not representable at this resolution.
    NRes,
    /// Positive infinity.
    PosInf,
    /// Negative infinity.
    NegInf,
}

impl FloatValue {
    /// Decodes the 32-bit big-endian FLOAT-Type word.
    pub fn decode(raw: u32) -> FloatValue {
        let mantissa = raw & 0x00FF_FFFF;
        match mantissa {
            FLOAT_NAN => FloatValue::NaN,
            FLOAT_NRES => FloatValue::NRes,
            FLOAT_POS_INF => FloatValue::PosInf,
            FLOAT_NEG_INF => FloatValue::NegInf,
            _ => {
                let exponent = i32::from((raw >> 24) as u8 as i8);
                // Sign-extend the 24-bit mantissa.
                let m = f64::from(((mantissa << 8) as i32) >> 8);
                let v = if exponent < 0 {
                    m / 10f64.powi(-exponent)
                } else {
                    m * 10f64.powi(exponent)
                };
                FloatValue::Number(v)
            }
        }
    }

    /// Encodes a number with a fixed exponent (e.g. −1 for one decimal);
    /// `None` if the mantissa would not fit in 24 bits or collide with a
    /// special value.
    pub fn encode(value: f64, exponent: i8) -> Option<u32> {
        if !value.is_finite() {
            return None;
        }
        let e = i32::from(exponent);
        let m = if e < 0 {
            value * 10f64.powi(-e)
        } else {
            value / 10f64.powi(e)
        }
        .round();
        if !(-0x7F_FFFD as f64..=0x7F_FFFD as f64).contains(&m) {
            return None;
        }
        let m = m as i32;
        Some((u32::from(exponent as u8) << 24) | (m as u32 & 0x00FF_FFFF))
    }

    /// The number, if this is one.
    pub fn number(self) -> Option<f64> {
        match self {
            FloatValue::Number(v) => Some(v),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Nomenclature and protocol constants (Data Export Interface Programming Guide)

/// Session SPDU identifier: connect (association request).
pub const CN_SPDU_SI: u8 = 0x0D;
/// Session SPDU identifier: accept (association response).
pub const AC_SPDU_SI: u8 = 0x0E;
/// Session SPDU identifier: refuse.
pub const RF_SPDU_SI: u8 = 0x0C;
/// Session SPDU identifier: finish (release request).
pub const FN_SPDU_SI: u8 = 0x09;
/// Session SPDU identifier: disconnect (release response).
pub const DN_SPDU_SI: u8 = 0x0A;
/// Session SPDU identifier: abort.
pub const AB_SPDU_SI: u8 = 0x19;
/// Session id that starts every Data Export message (`SPpdu.session_id`).
pub const DATA_EXPORT_SESSION_ID: u16 = 0xE100;
/// Presentation context id of Data Export messages.
pub const PRESENTATION_CONTEXT_ID: u16 = 0x0002;
/// Remote operation invoke.
pub const ROIV_APDU: u16 = 0x0001;
/// Remote operation result.
pub const RORS_APDU: u16 = 0x0002;
/// Remote operation error.
pub const ROER_APDU: u16 = 0x0003;
/// Remote operation linked result.
pub const ROLRS_APDU: u16 = 0x0005;
/// Command: event report (unconfirmed).
pub const CMD_EVENT_REPORT: u16 = 0x0000;
/// Command: confirmed event report.
pub const CMD_CONFIRMED_EVENT_REPORT: u16 = 0x0001;
/// Command: confirmed action.
pub const CMD_CONFIRMED_ACTION: u16 = 0x0007;
/// Object class: medical device system.
pub const NOM_MOC_VMS_MDS: u16 = 0x0021;
/// Object class: numeric metric.
pub const NOM_MOC_VMO_METRIC_NU: u16 = 0x0006;
/// Nomenclature partition of object classes.
pub const NOM_PART_OBJ: u16 = 0x0001;
/// Event type: MDS create notification.
pub const NOM_NOTI_MDS_CREAT: u16 = 0x0D06;
/// Action: single poll.
pub const NOM_ACT_POLL_MDIB_DATA: u16 = 0x0C16;
/// Action: extended poll.
pub const NOM_ACT_POLL_MDIB_DATA_EXT: u16 = 0xF13B;
/// Attribute: numeric observed value.
pub const NOM_ATTR_NU_VAL_OBS: u16 = 0x0950;
/// Attribute: compound numeric observed value (NIBP sys/dia/mean).
pub const NOM_ATTR_NU_CMPD_VAL_OBS: u16 = 0x094B;
/// Attribute: absolute time stamp.
pub const NOM_ATTR_TIME_STAMP_ABS: u16 = 0x0990;
/// Physiological id: ECG heart rate (NOM_ECG_CARD_BEAT_RATE).
pub const NOM_ECG_CARD_BEAT_RATE: u16 = 16770;
/// Physiological id: NIBP systolic.
pub const NOM_PRESS_BLD_NONINV_SYS: u16 = 18949;
/// Physiological id: NIBP diastolic.
pub const NOM_PRESS_BLD_NONINV_DIA: u16 = 18950;
/// Physiological id: NIBP mean.
pub const NOM_PRESS_BLD_NONINV_MEAN: u16 = 18951;
/// Physiological id: SpO2 (MDC 150456 − 2 × 65536).
pub const NOM_PULS_OXIM_SAT_O2: u16 = 19384;
/// Physiological id: oximeter pulse rate (MDC 149530 − 2 × 65536).
pub const NOM_PULS_OXIM_PULS_RATE: u16 = 18458;
/// Physiological id: NIBP pulse rate (MDC 149546 − 2 × 65536).
pub const NOM_PULS_RATE_NON_INV: u16 = 18474;
/// Unit: beats per minute (MDC 264864 − 4 × 65536).
pub const NOM_DIM_BEAT_PER_MIN: u16 = 0x0AA0;
/// Unit: mmHg (MDC 266016 − 4 × 65536).
pub const NOM_DIM_MMHG: u16 = 0x0F20;
/// Unit: kPa (MDC 268800 − 4 × 65536).
pub const NOM_DIM_KILO_PASCAL: u16 = 0x1A00;
/// Unit: percent (MDC 262688 − 4 × 65536).
pub const NOM_DIM_PERCENT: u16 = 0x0220;
/// Measurement state bits that make a value unusable: invalid, questionable,
/// unavailable, calibration ongoing, test data, demo data.
pub const MSMT_STATE_UNUSABLE: u16 = 0x8000 | 0x4000 | 0x2000 | 0x1000 | 0x0800 | 0x0400;
/// Attribute group requested by the keep-alive MDS poll (the one public
/// clients use).
pub const KEEP_ALIVE_ATTR_GROUP: u16 = 0x080C;
/// Keep-alive interval: the association is dropped by the monitor when no
/// message arrives for a while, and public clients send one about every 6 s
/// (`shared/reference/monitor-protocols.md`).
pub const KEEP_ALIVE_INTERVAL_SECS: u64 = 6;

/// Maps a physiological id to the measure it carries.
pub fn measure_for_physio(id: u16) -> Option<Measure> {
    match id {
        NOM_ECG_CARD_BEAT_RATE => Some(Measure::Hr),
        NOM_PRESS_BLD_NONINV_SYS => Some(Measure::NibpSys),
        NOM_PRESS_BLD_NONINV_DIA => Some(Measure::NibpDia),
        NOM_PRESS_BLD_NONINV_MEAN => Some(Measure::NibpMean),
        NOM_PULS_OXIM_SAT_O2 => Some(Measure::Spo2),
        NOM_PULS_OXIM_PULS_RATE | NOM_PULS_RATE_NON_INV => Some(Measure::PulseRate),
        _ => None,
    }
}

/// The physiological id this crate uses when encoding a measure.
pub fn physio_for_measure(m: Measure) -> u16 {
    match m {
        Measure::Hr => NOM_ECG_CARD_BEAT_RATE,
        Measure::NibpSys => NOM_PRESS_BLD_NONINV_SYS,
        Measure::NibpDia => NOM_PRESS_BLD_NONINV_DIA,
        Measure::NibpMean => NOM_PRESS_BLD_NONINV_MEAN,
        Measure::Spo2 => NOM_PULS_OXIM_SAT_O2,
        Measure::PulseRate => NOM_PULS_OXIM_PULS_RATE,
    }
}

fn unit_code_for(u: Unit) -> u16 {
    match u {
        Unit::PerMinute => NOM_DIM_BEAT_PER_MIN,
        Unit::MmHg => NOM_DIM_MMHG,
        Unit::Percent => NOM_DIM_PERCENT,
    }
}

// ---------------------------------------------------------------------------
// Message parsing

/// Why a Data Export message could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntellivueError {
    /// The message ended inside a field.
    #[error("message truncated while reading {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// The message is empty.
    #[error("empty message")]
    Empty,
    /// The first bytes are neither a session SPDU nor a Data Export header.
    #[error("unknown message start {0:#04x}")]
    UnknownStart(u8),
    /// A length field disagrees with the bytes present.
    #[error("length field of {what} is {declared} but {available} bytes remain")]
    BadLength {
        /// The structure concerned.
        what: &'static str,
        /// The declared length.
        declared: usize,
        /// The bytes remaining.
        available: usize,
    },
}

/// Why a numeric observation was not turned into a reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NumericReject {
    /// The measurement state flags say the value is not usable.
    #[error("{measure}: measurement state {state:#06x} marks the value unusable")]
    Unusable {
        /// Measure.
        measure: Measure,
        /// State flags.
        state: u16,
    },
    /// The FLOAT-Type carried a special value.
    #[error("{measure}: value is {value:?}")]
    Special {
        /// Measure.
        measure: Measure,
        /// The special value.
        value: FloatValue,
    },
    /// The unit code does not fit the measure.
    #[error("{measure}: unit code {unit:#06x} not understood")]
    UnknownUnit {
        /// Measure.
        measure: Measure,
        /// Unit code.
        unit: u16,
    },
    /// The value failed the plausibility check.
    #[error(transparent)]
    Implausible(#[from] PlausibilityError),
}

impl NumericReject {
    /// Short key for counting by reason.
    pub fn reason(&self) -> &'static str {
        match self {
            NumericReject::Unusable { .. } => "intellivue_state",
            NumericReject::Special { .. } => "intellivue_special_value",
            NumericReject::UnknownUnit { .. } => "intellivue_unit",
            NumericReject::Implausible(_) => "implausible",
        }
    }
}

/// Managed object id: class, context id and handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ManagedObjectId {
    /// Object class (e.g. [`NOM_MOC_VMS_MDS`]).
    pub class: u16,
    /// MDS context id.
    pub context_id: u16,
    /// Object handle.
    pub handle: u16,
}

impl ManagedObjectId {
    /// The MDS object with context 0 and handle 0.
    pub const MDS: ManagedObjectId = ManagedObjectId {
        class: NOM_MOC_VMS_MDS,
        context_id: 0,
        handle: 0,
    };
}

/// One numeric observation from a poll reply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericObservation {
    /// Handle of the observed object.
    pub handle: u16,
    /// Physiological id (e.g. [`NOM_ECG_CARD_BEAT_RATE`]).
    pub physio_id: u16,
    /// Measurement state flags.
    pub state: u16,
    /// Unit code (e.g. [`NOM_DIM_MMHG`]).
    pub unit_code: u16,
    /// The value.
    pub value: FloatValue,
    /// Observation time (the object's absolute time stamp, or the reply's).
    pub observed_at: Option<NaiveDateTime>,
}

impl NumericObservation {
    /// Converts to a reading: `None` for physiological ids the kiosk does not
    /// read, `Some(Err)` for a recognised measure whose value is unusable.
    pub fn to_reading(&self) -> Option<Result<Reading, NumericReject>> {
        let measure = measure_for_physio(self.physio_id)?;
        Some(self.reading_for(measure))
    }

    fn reading_for(&self, measure: Measure) -> Result<Reading, NumericReject> {
        if self.state & MSMT_STATE_UNUSABLE != 0 {
            return Err(NumericReject::Unusable {
                measure,
                state: self.state,
            });
        }
        let value = match self.value {
            FloatValue::Number(v) => v,
            special => {
                return Err(NumericReject::Special {
                    measure,
                    value: special,
                });
            }
        };
        let (unit, factor) = match self.unit_code {
            NOM_DIM_BEAT_PER_MIN => (Unit::PerMinute, 1.0),
            NOM_DIM_MMHG => (Unit::MmHg, 1.0),
            NOM_DIM_KILO_PASCAL => (Unit::MmHg, limits::MMHG_PER_KPA),
            NOM_DIM_PERCENT => (Unit::Percent, 1.0),
            other => {
                return Err(NumericReject::UnknownUnit {
                    measure,
                    unit: other,
                });
            }
        };
        Ok(Reading::checked(
            measure,
            value * factor,
            unit,
            self.observed_at,
        )?)
    }
}

/// A poll result.
#[derive(Debug, Clone, PartialEq)]
pub struct PollReply {
    /// Invoke id of the request answered.
    pub invoke_id: u16,
    /// The action answered ([`NOM_ACT_POLL_MDIB_DATA`] or `_EXT`).
    pub action_type: u16,
    /// Poll number echoed from the request.
    pub poll_number: u16,
    /// Linked-reply state (1 first, 2 middle, 3 last) for ROLRS, else `None`.
    pub linked_state: Option<u8>,
    /// Monitor's absolute time of the reply.
    pub abs_time: Option<NaiveDateTime>,
    /// Numeric observations found.
    pub numerics: Vec<NumericObservation>,
}

/// A decoded Data Export or session message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Session connect: an association request (the simulator receives this).
    AssociationRequest,
    /// Session accept: association accepted.
    AssociationAccept,
    /// Session refuse: association refused.
    AssociationRefuse,
    /// Session abort.
    AssociationAbort,
    /// Session finish: release request.
    ReleaseRequest,
    /// Session disconnect: release response.
    ReleaseResponse,
    /// MDS Create Event Report (the monitor sends this after accepting).
    MdsCreateEvent {
        /// Invoke id to echo in the result.
        invoke_id: u16,
        /// The MDS object.
        mds: ManagedObjectId,
    },
    /// Result of an MDS Create Event Report (the simulator receives this).
    MdsCreateResult {
        /// Invoke id echoed.
        invoke_id: u16,
    },
    /// A poll request (the simulator receives this).
    PollRequest {
        /// Invoke id.
        invoke_id: u16,
        /// Action type ([`NOM_ACT_POLL_MDIB_DATA`] or `_EXT`).
        action_type: u16,
        /// Poll number.
        poll_number: u16,
        /// Polled object class code.
        object_code: u16,
    },
    /// A poll result.
    PollReply(PollReply),
    /// A remote operation error.
    RemoteError {
        /// Invoke id.
        invoke_id: u16,
        /// Error value.
        error_value: u16,
    },
    /// A Data Export message the kiosk does not use.
    Other {
        /// Remote operation type.
        ro_type: u16,
        /// Command type, if any.
        command: Option<u16>,
    },
}

struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], IntellivueError> {
        if self.data.len() < n {
            return Err(IntellivueError::Truncated { what });
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, IntellivueError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, IntellivueError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, IntellivueError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A sub-cursor of `len` bytes, checking the declared length.
    fn sub(&mut self, len: usize, what: &'static str) -> Result<Cursor<'a>, IntellivueError> {
        if self.data.len() < len {
            return Err(IntellivueError::BadLength {
                what,
                declared: len,
                available: self.data.len(),
            });
        }
        Ok(Cursor::new(self.take(len, what)?))
    }
    fn managed_object(&mut self) -> Result<ManagedObjectId, IntellivueError> {
        Ok(ManagedObjectId {
            class: self.u16("managed object class")?,
            context_id: self.u16("managed object context")?,
            handle: self.u16("managed object handle")?,
        })
    }
}

fn bcd(b: u8) -> Option<u32> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi <= 9 && lo <= 9).then_some(u32::from(hi) * 10 + u32::from(lo))
}

/// Decodes an AbsoluteTime (8 BCD bytes: century, year, month, day, hour,
/// minute, second, hundredths). All-0xFF or invalid digits give `None`.
pub fn decode_absolute_time(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() < 8 {
        return None;
    }
    let year = i32::try_from(bcd(b[0])? * 100 + bcd(b[1])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, bcd(b[2])?, bcd(b[3])?)?;
    date.and_hms_milli_opt(bcd(b[4])?, bcd(b[5])?, bcd(b[6])?, bcd(b[7])? * 10)
}

/// Encodes an AbsoluteTime (BCD). `None` gives all 0xFF ("not set").
pub fn encode_absolute_time(t: Option<NaiveDateTime>) -> [u8; 8] {
    use chrono::{Datelike, Timelike};
    let Some(t) = t else { return [0xFF; 8] };
    let to_bcd = |v: u32| -> u8 { (((v / 10) % 10) << 4 | (v % 10)) as u8 };
    let year = u32::try_from(t.year()).unwrap_or(0);
    [
        to_bcd(year / 100),
        to_bcd(year % 100),
        to_bcd(t.month()),
        to_bcd(t.day()),
        to_bcd(t.hour()),
        to_bcd(t.minute()),
        to_bcd(t.second()),
        to_bcd(t.nanosecond() / 10_000_000),
    ]
}

fn parse_nu_obs(
    c: &mut Cursor<'_>,
    handle: u16,
    time: Option<NaiveDateTime>,
) -> Result<NumericObservation, IntellivueError> {
    Ok(NumericObservation {
        handle,
        physio_id: c.u16("NuObsValue.physio_id")?,
        state: c.u16("NuObsValue.state")?,
        unit_code: c.u16("NuObsValue.unit_code")?,
        value: FloatValue::decode(c.u32("NuObsValue.value")?),
        observed_at: time,
    })
}

fn parse_observation_poll(
    c: &mut Cursor<'_>,
    reply_time: Option<NaiveDateTime>,
    out: &mut Vec<NumericObservation>,
) -> Result<(), IntellivueError> {
    let handle = c.u16("ObservationPoll.obj_handle")?;
    let count = c.u16("AttributeList.count")?;
    let length = usize::from(c.u16("AttributeList.length")?);
    let mut attrs = c.sub(length, "AttributeList")?;
    let mut time = reply_time;
    let mut values: Vec<(u16, &[u8])> = Vec::new();
    for _ in 0..count {
        let id = attrs.u16("AVA.attribute_id")?;
        let len = usize::from(attrs.u16("AVA.length")?);
        let v = attrs.sub(len, "AVA.value")?;
        if id == NOM_ATTR_TIME_STAMP_ABS {
            if let Some(t) = decode_absolute_time(v.data) {
                time = Some(t);
            }
        } else {
            values.push((id, v.data));
        }
    }
    for (id, data) in values {
        let mut v = Cursor::new(data);
        match id {
            NOM_ATTR_NU_VAL_OBS => out.push(parse_nu_obs(&mut v, handle, time)?),
            NOM_ATTR_NU_CMPD_VAL_OBS => {
                let n = v.u16("NuObsValueCmp.count")?;
                let len = usize::from(v.u16("NuObsValueCmp.length")?);
                let mut list = v.sub(len, "NuObsValueCmp")?;
                for _ in 0..n {
                    out.push(parse_nu_obs(&mut list, handle, time)?);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_poll_reply(
    c: &mut Cursor<'_>,
    invoke_id: u16,
    action_type: u16,
    linked_state: Option<u8>,
) -> Result<PollReply, IntellivueError> {
    let poll_number = c.u16("poll_number")?;
    if action_type == NOM_ACT_POLL_MDIB_DATA_EXT {
        c.u16("sequence_no")?;
    }
    c.u32("rel_time_stamp")?;
    let abs_time = decode_absolute_time(c.take(8, "abs_time_stamp")?);
    c.u16("polled_obj_type.partition")?;
    c.u16("polled_obj_type.code")?;
    c.u16("polled_attr_grp")?;
    let contexts = c.u16("PollInfoList.count")?;
    let length = usize::from(c.u16("PollInfoList.length")?);
    let mut list = c.sub(length, "PollInfoList")?;
    let mut numerics = Vec::new();
    for _ in 0..contexts {
        list.u16("SingleContextPoll.context_id")?;
        let n = list.u16("poll_info.count")?;
        let len = usize::from(list.u16("poll_info.length")?);
        let mut polls = list.sub(len, "poll_info")?;
        for _ in 0..n {
            parse_observation_poll(&mut polls, abs_time, &mut numerics)?;
        }
    }
    Ok(PollReply {
        invoke_id,
        action_type,
        poll_number,
        linked_state,
        abs_time,
        numerics,
    })
}

/// Parses one Data Export or session message (a frame's payload).
pub fn parse_message(payload: &[u8]) -> Result<Message, IntellivueError> {
    let first = *payload.first().ok_or(IntellivueError::Empty)?;
    match first {
        CN_SPDU_SI => return Ok(Message::AssociationRequest),
        AC_SPDU_SI => return Ok(Message::AssociationAccept),
        RF_SPDU_SI => return Ok(Message::AssociationRefuse),
        AB_SPDU_SI => return Ok(Message::AssociationAbort),
        FN_SPDU_SI => return Ok(Message::ReleaseRequest),
        DN_SPDU_SI => return Ok(Message::ReleaseResponse),
        0xE1 => {}
        other => return Err(IntellivueError::UnknownStart(other)),
    }
    let mut c = Cursor::new(payload);
    let session = c.u16("SPpdu.session_id")?;
    if session != DATA_EXPORT_SESSION_ID {
        return Err(IntellivueError::UnknownStart(first));
    }
    c.u16("SPpdu.p_context_id")?;
    let ro_type = c.u16("ROapdus.ro_type")?;
    let ro_len = usize::from(c.u16("ROapdus.length")?);
    let mut ro = c.sub(ro_len, "ROapdus")?;
    let linked_state = if ro_type == ROLRS_APDU {
        let state = ro.u8("RorlsId.state")?;
        ro.u8("RorlsId.count")?;
        Some(state)
    } else {
        None
    };
    let invoke_id = ro.u16("invoke_id")?;
    if ro_type == ROER_APDU {
        let error_value = ro.u16("error_value")?;
        return Ok(Message::RemoteError {
            invoke_id,
            error_value,
        });
    }
    let command = ro.u16("command_type")?;
    let len = usize::from(ro.u16("command length")?);
    let mut body = ro.sub(len, "command")?;
    match (ro_type, command) {
        (ROIV_APDU, CMD_CONFIRMED_EVENT_REPORT) | (ROIV_APDU, CMD_EVENT_REPORT) => {
            let mds = body.managed_object()?;
            body.u32("event_time")?;
            let event_type = body.u16("event_type")?;
            if event_type == NOM_NOTI_MDS_CREAT {
                return Ok(Message::MdsCreateEvent { invoke_id, mds });
            }
        }
        (RORS_APDU, CMD_CONFIRMED_EVENT_REPORT) => {
            return Ok(Message::MdsCreateResult { invoke_id });
        }
        (ROIV_APDU, CMD_CONFIRMED_ACTION) => {
            body.managed_object()?;
            body.u32("scope")?;
            let action_type = body.u16("action_type")?;
            let alen = usize::from(body.u16("action length")?);
            let mut arg = body.sub(alen, "action argument")?;
            let poll_number = arg.u16("poll_number")?;
            arg.u16("polled_obj_type.partition")?;
            let object_code = arg.u16("polled_obj_type.code")?;
            return Ok(Message::PollRequest {
                invoke_id,
                action_type,
                poll_number,
                object_code,
            });
        }
        (RORS_APDU | ROLRS_APDU, CMD_CONFIRMED_ACTION) => {
            body.managed_object()?;
            let action_type = body.u16("action_type")?;
            let alen = usize::from(body.u16("action length")?);
            let mut reply = body.sub(alen, "action result")?;
            if action_type == NOM_ACT_POLL_MDIB_DATA || action_type == NOM_ACT_POLL_MDIB_DATA_EXT {
                return parse_poll_reply(&mut reply, invoke_id, action_type, linked_state)
                    .map(Message::PollReply);
            }
        }
        _ => {}
    }
    Ok(Message::Other {
        ro_type,
        command: Some(command),
    })
}

// ---------------------------------------------------------------------------
// Message building

fn data_export(ro_type: u16, ro_body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + ro_body.len());
    v.extend_from_slice(&DATA_EXPORT_SESSION_ID.to_be_bytes());
    v.extend_from_slice(&PRESENTATION_CONTEXT_ID.to_be_bytes());
    v.extend_from_slice(&ro_type.to_be_bytes());
    v.extend_from_slice(&(ro_body.len() as u16).to_be_bytes());
    v.extend_from_slice(ro_body);
    v
}

fn operation(invoke_id: u16, command: u16, arg: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(6 + arg.len());
    v.extend_from_slice(&invoke_id.to_be_bytes());
    v.extend_from_slice(&command.to_be_bytes());
    v.extend_from_slice(&(arg.len() as u16).to_be_bytes());
    v.extend_from_slice(arg);
    v
}

fn put_mo(v: &mut Vec<u8>, mo: ManagedObjectId) {
    v.extend_from_slice(&mo.class.to_be_bytes());
    v.extend_from_slice(&mo.context_id.to_be_bytes());
    v.extend_from_slice(&mo.handle.to_be_bytes());
}

/// Session-layer "connect" data that precedes the presentation PDU in an
/// association request (fixed by the Programming Guide).
const SESSION_CONNECT_DATA: [u8; 14] = [
    0x05, 0x08, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02, 0x80, 0x00, 0x14, 0x02, 0x00, 0x02,
];
/// Presentation PDU identifier.
const PRESENTATION_PDI: u8 = 0xC1;
/// Fixed ASN.1 presentation/ACSE header of the association request, up to the
/// user-information length (Programming Guide, "Association Request").
const AARQ_PRESENTATION_HEADER: [u8; 131] = [
    0x31, 0x80, 0xA0, 0x80, 0x80, 0x01, 0x01, 0x00, 0x00, 0xA2, 0x80, 0xA0, 0x03, 0x00, 0x00, 0x01,
    0xA4, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x06, 0x04, 0x52, 0x01, 0x00, 0x01, 0x30, 0x80, 0x06,
    0x02, 0x51, 0x01, 0x00, 0x00, 0x00, 0x00, 0x30, 0x80, 0x02, 0x01, 0x02, 0x06, 0x0C, 0x2A, 0x86,
    0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x30, 0x80, 0x06, 0x0C, 0x2A, 0x86,
    0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x61, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0xA0, 0x80, 0x60, 0x80, 0xA1, 0x80, 0x06, 0x0C, 0x2A,
    0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0xBE, 0x80, 0x28,
    0x80, 0x06, 0x0C, 0x2A, 0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02,
    0x01, 0x02, 0x81,
];
/// End-of-contents octets closing the open ASN.1 constructions.
const AARQ_PRESENTATION_TRAILER: [u8; 16] = [0; 16];

/// Protocol version MDDL_VERSION1.
const MDDL_VERSION1: u32 = 0x8000_0000;
/// Nomenclature version.
const NOMEN_VERSION: u32 = 0x4000_0000;
/// System type: client.
const SYST_CLIENT: u32 = 0x8000_0000;
/// System type: server.
const SYST_SERVER: u32 = 0x0080_0000;
/// Startup mode: cold start.
const COLD_START: u32 = 0x2000_0000;
/// Attribute id of the poll profile support in `supported_aprofiles`.
const NOM_POLL_PROFILE_SUPPORT: u16 = 0x0001;
/// Attribute id of the poll profile extensions.
const NOM_ATTR_POLL_PROFILE_EXT: u16 = 0xF001;
/// Poll profile revision 0.
const POLL_PROFILE_REV_0: u32 = 0x8000_0000;
/// Poll profile options: dynamic create and delete of objects.
const P_OPT_DYN_CREATE_DELETE: u32 = 0x4000_0000 | 0x2000_0000;
/// Poll profile extension options (numerics period 1 s, real-time waves, enums).
const POLL_EXT_OPTIONS: u32 = 0x8C00_0000;
/// Minimum poll period, RelativeTime units of 1/8 ms: 1000 = 125 ms.
const MIN_POLL_PERIOD: u32 = 1000;
/// Largest message we receive (bytes).
const MAX_MTU_RX: u32 = 2500;
/// Largest message we send (bytes).
const MAX_MTU_TX: u32 = 1000;

fn user_info(system_type: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(72);
    for w in [MDDL_VERSION1, NOMEN_VERSION, 0, system_type, COLD_START] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(&[0, 0, 0, 0]); // option_list: count 0, length 0
    let mut ext = Vec::new();
    ext.extend_from_slice(&POLL_EXT_OPTIONS.to_be_bytes());
    ext.extend_from_slice(&[0, 0, 0, 0]); // ext_attr: empty list
    let mut profile = Vec::new();
    for w in [
        POLL_PROFILE_REV_0,
        MIN_POLL_PERIOD,
        MAX_MTU_RX,
        MAX_MTU_TX,
        0xFFFF_FFFF,
        P_OPT_DYN_CREATE_DELETE,
    ] {
        profile.extend_from_slice(&w.to_be_bytes());
    }
    profile.extend_from_slice(&1u16.to_be_bytes());
    profile.extend_from_slice(&((4 + ext.len()) as u16).to_be_bytes());
    profile.extend_from_slice(&NOM_ATTR_POLL_PROFILE_EXT.to_be_bytes());
    profile.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    profile.extend_from_slice(&ext);
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&((4 + profile.len()) as u16).to_be_bytes());
    v.extend_from_slice(&NOM_POLL_PROFILE_SUPPORT.to_be_bytes());
    v.extend_from_slice(&(profile.len() as u16).to_be_bytes());
    v.extend_from_slice(&profile);
    v
}

fn push_li(v: &mut Vec<u8>, len: usize) {
    if len < 255 {
        v.push(len as u8);
    } else {
        v.push(0xFF);
        v.extend_from_slice(&(len as u16).to_be_bytes());
    }
}

/// The association request a client sends first.
pub fn association_request() -> Vec<u8> {
    let ui = user_info(SYST_CLIENT);
    let mut pres = Vec::new();
    pres.extend_from_slice(&AARQ_PRESENTATION_HEADER);
    pres.push(ui.len() as u8); // ASN.1 length of the user information (< 128)
    pres.extend_from_slice(&ui);
    pres.extend_from_slice(&AARQ_PRESENTATION_TRAILER);
    let mut session = Vec::new();
    session.extend_from_slice(&SESSION_CONNECT_DATA);
    session.push(PRESENTATION_PDI);
    push_li(&mut session, pres.len());
    session.extend_from_slice(&pres);
    let mut v = vec![CN_SPDU_SI];
    push_li(&mut v, session.len());
    v.extend_from_slice(&session);
    v
}

/// A minimal association response (accept), as the simulator sends it. The
/// kiosk's client inspects only the session SPDU identifier; the body carries
/// the server's user information.
pub fn association_response() -> Vec<u8> {
    let ui = user_info(SYST_SERVER);
    let mut session = Vec::new();
    session.push(PRESENTATION_PDI);
    push_li(&mut session, ui.len());
    session.extend_from_slice(&ui);
    let mut v = vec![AC_SPDU_SI];
    push_li(&mut v, session.len());
    v.extend_from_slice(&session);
    v
}

/// Release request (session finish), sent by a client that leaves politely.
pub fn release_request() -> Vec<u8> {
    vec![FN_SPDU_SI, 0x00]
}

/// The MDS Create Event Report the monitor sends after accepting.
pub fn mds_create_event(invoke_id: u16, event_time: u32) -> Vec<u8> {
    let mut info = Vec::new();
    put_mo(&mut info, ManagedObjectId::MDS);
    info.extend_from_slice(&[0, 0, 0, 0]); // attribute list: empty
    let mut arg = Vec::new();
    put_mo(&mut arg, ManagedObjectId::MDS);
    arg.extend_from_slice(&event_time.to_be_bytes());
    arg.extend_from_slice(&NOM_NOTI_MDS_CREAT.to_be_bytes());
    arg.extend_from_slice(&(info.len() as u16).to_be_bytes());
    arg.extend_from_slice(&info);
    data_export(
        ROIV_APDU,
        &operation(invoke_id, CMD_CONFIRMED_EVENT_REPORT, &arg),
    )
}

/// The result a client returns for an MDS Create Event Report.
pub fn mds_create_result(invoke_id: u16, mds: ManagedObjectId, current_time: u32) -> Vec<u8> {
    let mut res = Vec::new();
    put_mo(&mut res, mds);
    res.extend_from_slice(&current_time.to_be_bytes());
    res.extend_from_slice(&NOM_NOTI_MDS_CREAT.to_be_bytes());
    res.extend_from_slice(&0u16.to_be_bytes());
    data_export(
        RORS_APDU,
        &operation(invoke_id, CMD_CONFIRMED_EVENT_REPORT, &res),
    )
}

fn poll_action(invoke_id: u16, action_type: u16, req: &[u8]) -> Vec<u8> {
    let mut arg = Vec::new();
    put_mo(&mut arg, ManagedObjectId::MDS);
    arg.extend_from_slice(&0u32.to_be_bytes()); // scope
    arg.extend_from_slice(&action_type.to_be_bytes());
    arg.extend_from_slice(&(req.len() as u16).to_be_bytes());
    arg.extend_from_slice(req);
    data_export(ROIV_APDU, &operation(invoke_id, CMD_CONFIRMED_ACTION, &arg))
}

/// Extended Poll request for all numerics (one reply, no periodic poll).
pub fn extended_poll_numerics(invoke_id: u16, poll_number: u16) -> Vec<u8> {
    let mut req = Vec::new();
    req.extend_from_slice(&poll_number.to_be_bytes());
    req.extend_from_slice(&NOM_PART_OBJ.to_be_bytes());
    req.extend_from_slice(&NOM_MOC_VMO_METRIC_NU.to_be_bytes());
    req.extend_from_slice(&0u16.to_be_bytes()); // all attribute groups
    req.extend_from_slice(&[0, 0, 0, 0]); // no extra attributes
    poll_action(invoke_id, NOM_ACT_POLL_MDIB_DATA_EXT, &req)
}

/// Keep-alive: a single poll of the MDS object.
pub fn keep_alive(invoke_id: u16, poll_number: u16) -> Vec<u8> {
    let mut req = Vec::new();
    req.extend_from_slice(&poll_number.to_be_bytes());
    req.extend_from_slice(&NOM_PART_OBJ.to_be_bytes());
    req.extend_from_slice(&NOM_MOC_VMS_MDS.to_be_bytes());
    req.extend_from_slice(&KEEP_ALIVE_ATTR_GROUP.to_be_bytes());
    poll_action(invoke_id, NOM_ACT_POLL_MDIB_DATA, &req)
}

/// A group of numerics reported under one object handle (e.g. the NIBP
/// compound), for [`poll_reply`].
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationGroup {
    /// Object handle.
    pub handle: u16,
    /// Absolute time stamp of the group, if any.
    pub observed_at: Option<NaiveDateTime>,
    /// `(measure, value, measurement state)`; one entry is sent as
    /// NOM_ATTR_NU_VAL_OBS, several as NOM_ATTR_NU_CMPD_VAL_OBS.
    pub values: Vec<(Measure, FloatValue, u16)>,
}

fn float_raw(v: FloatValue) -> u32 {
    match v {
        FloatValue::NaN => FLOAT_NAN,
        FloatValue::NRes => FLOAT_NRES,
        FloatValue::PosInf => FLOAT_POS_INF,
        FloatValue::NegInf => FLOAT_NEG_INF,
        FloatValue::Number(x) => FloatValue::encode(x, -1)
            .or_else(|| FloatValue::encode(x, 0))
            .unwrap_or(FLOAT_NAN),
    }
}

fn nu_obs(m: Measure, v: FloatValue, state: u16) -> [u8; 10] {
    let mut b = [0u8; 10];
    b[0..2].copy_from_slice(&physio_for_measure(m).to_be_bytes());
    b[2..4].copy_from_slice(&state.to_be_bytes());
    b[4..6].copy_from_slice(&unit_code_for(m.canonical_unit()).to_be_bytes());
    b[6..10].copy_from_slice(&float_raw(v).to_be_bytes());
    b
}

fn ava(v: &mut Vec<u8>, id: u16, value: &[u8]) {
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    v.extend_from_slice(value);
}

/// Builds an Extended Poll result (RORS) as a monitor sends it, for the
/// simulator and for tests.
pub fn poll_reply(
    invoke_id: u16,
    poll_number: u16,
    rel_time: u32,
    abs_time: Option<NaiveDateTime>,
    groups: &[ObservationGroup],
) -> Vec<u8> {
    let mut polls = Vec::new();
    for g in groups {
        let mut attrs = Vec::new();
        let mut count: u16 = 0;
        if g.observed_at.is_some() {
            ava(
                &mut attrs,
                NOM_ATTR_TIME_STAMP_ABS,
                &encode_absolute_time(g.observed_at),
            );
            count += 1;
        }
        match g.values.as_slice() {
            [] => {}
            [(m, v, s)] => {
                ava(&mut attrs, NOM_ATTR_NU_VAL_OBS, &nu_obs(*m, *v, *s));
                count += 1;
            }
            many => {
                let mut cmp = Vec::new();
                cmp.extend_from_slice(&(many.len() as u16).to_be_bytes());
                cmp.extend_from_slice(&((many.len() * 10) as u16).to_be_bytes());
                for (m, v, s) in many {
                    cmp.extend_from_slice(&nu_obs(*m, *v, *s));
                }
                ava(&mut attrs, NOM_ATTR_NU_CMPD_VAL_OBS, &cmp);
                count += 1;
            }
        }
        polls.extend_from_slice(&g.handle.to_be_bytes());
        polls.extend_from_slice(&count.to_be_bytes());
        polls.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        polls.extend_from_slice(&attrs);
    }
    let mut info = Vec::new();
    info.extend_from_slice(&0u16.to_be_bytes()); // context id
    info.extend_from_slice(&(groups.len() as u16).to_be_bytes());
    info.extend_from_slice(&(polls.len() as u16).to_be_bytes());
    info.extend_from_slice(&polls);
    let mut reply = Vec::new();
    reply.extend_from_slice(&poll_number.to_be_bytes());
    reply.extend_from_slice(&0u16.to_be_bytes()); // sequence number
    reply.extend_from_slice(&rel_time.to_be_bytes());
    reply.extend_from_slice(&encode_absolute_time(abs_time));
    reply.extend_from_slice(&NOM_PART_OBJ.to_be_bytes());
    reply.extend_from_slice(&NOM_MOC_VMO_METRIC_NU.to_be_bytes());
    reply.extend_from_slice(&0u16.to_be_bytes());
    reply.extend_from_slice(&1u16.to_be_bytes()); // one context
    reply.extend_from_slice(&(info.len() as u16).to_be_bytes());
    reply.extend_from_slice(&info);
    let mut res = Vec::new();
    put_mo(&mut res, ManagedObjectId::MDS);
    res.extend_from_slice(&NOM_ACT_POLL_MDIB_DATA_EXT.to_be_bytes());
    res.extend_from_slice(&(reply.len() as u16).to_be_bytes());
    res.extend_from_slice(&reply);
    data_export(RORS_APDU, &operation(invoke_id, CMD_CONFIRMED_ACTION, &res))
}

/// Builds the (empty) single-poll result a monitor returns for a keep-alive.
pub fn keep_alive_reply(invoke_id: u16, poll_number: u16, rel_time: u32) -> Vec<u8> {
    let mut reply = Vec::new();
    reply.extend_from_slice(&poll_number.to_be_bytes());
    reply.extend_from_slice(&rel_time.to_be_bytes());
    reply.extend_from_slice(&encode_absolute_time(None));
    reply.extend_from_slice(&NOM_PART_OBJ.to_be_bytes());
    reply.extend_from_slice(&NOM_MOC_VMS_MDS.to_be_bytes());
    reply.extend_from_slice(&KEEP_ALIVE_ATTR_GROUP.to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]); // empty poll info list
    let mut res = Vec::new();
    put_mo(&mut res, ManagedObjectId::MDS);
    res.extend_from_slice(&NOM_ACT_POLL_MDIB_DATA.to_be_bytes());
    res.extend_from_slice(&(reply.len() as u16).to_be_bytes());
    res.extend_from_slice(&reply);
    data_export(RORS_APDU, &operation(invoke_id, CMD_CONFIRMED_ACTION, &res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcs_check_value() {
        // CRC-16/X-25 check value (RFC 1662; CRC catalogue "CRC-16/IBM-SDLC").
        assert_eq!(fcs(b"123456789"), 0x906E);
    }

    #[test]
    fn frame_round_trip_with_escapes() {
        let payload = [0xC0, 0x7D, 0xC1, 0x00, 0x11];
        let mut wire = BytesMut::new();
        FrameCodec::new()
            .encode(&payload[..], &mut wire)
            .expect("encode");
        assert_eq!(wire[0], BOF);
        assert_eq!(*wire.last().expect("byte"), EOF);
        assert_eq!(wire.iter().filter(|&&b| b == BOF).count(), 1);
        let got = FrameCodec::new()
            .decode(&mut wire)
            .expect("io")
            .expect("frame")
            .expect("good");
        assert_eq!(&got[..], &payload);
        assert!(wire.is_empty());
    }

    #[test]
    fn frame_partial_and_garbage_and_bad_fcs() {
        let mut wire = BytesMut::new();
        FrameCodec::new()
            .encode(&[1u8, 2, 3][..], &mut wire)
            .expect("encode");
        let full = wire.clone();
        let mut buf = BytesMut::from(&b"\x01\x02"[..]);
        buf.extend_from_slice(&full[..3]);
        assert_eq!(
            FrameCodec::new().decode(&mut buf).expect("io"),
            Some(Err(FrameFault::Garbage { bytes: 2 }))
        );
        assert_eq!(FrameCodec::new().decode(&mut buf).expect("io"), None);
        buf.extend_from_slice(&full[3..]);
        assert!(
            FrameCodec::new()
                .decode(&mut buf)
                .expect("io")
                .expect("frame")
                .is_ok()
        );
        let mut bad = full.clone();
        let n = bad.len();
        bad[n - 3] ^= 0x01; // flip an FCS bit (not a special byte after flip)
        let r = FrameCodec::new()
            .decode(&mut bad)
            .expect("io")
            .expect("frame");
        assert!(matches!(
            r,
            Err(FrameFault::BadChecksum { .. }) | Err(FrameFault::BadEscape)
        ));
    }

    #[test]
    fn frame_truncated_then_good() {
        let mut wire = BytesMut::new();
        FrameCodec::new()
            .encode(&[9u8; 10][..], &mut wire)
            .expect("encode");
        let mut buf = BytesMut::from(&wire[..6]);
        buf.extend_from_slice(&wire);
        assert!(matches!(
            FrameCodec::new().decode(&mut buf).expect("io"),
            Some(Err(FrameFault::Truncated { bytes: 6 }))
        ));
        assert!(
            FrameCodec::new()
                .decode(&mut buf)
                .expect("io")
                .expect("frame")
                .is_ok()
        );
    }

    #[test]
    fn float_type_cases() {
        // Cases from the Programming Guide's FLOAT-Type examples as used in
        // Koshsky/Intellivue-api's tests: 32000e-3 = 320e-1 = 32; 320e1 = 3200.
        let raw = |e: i8, m: i32| (u32::from(e as u8) << 24) | (m as u32 & 0xFF_FFFF);
        assert_eq!(FloatValue::decode(raw(-3, 32000)), FloatValue::Number(32.0));
        assert_eq!(FloatValue::decode(raw(-1, 320)), FloatValue::Number(32.0));
        assert_eq!(FloatValue::decode(raw(1, 320)), FloatValue::Number(3200.0));
        assert_eq!(
            FloatValue::decode(raw(-1, -5000)),
            FloatValue::Number(-500.0)
        );
        assert_eq!(FloatValue::decode(raw(-1, 723)), FloatValue::Number(72.3));
        assert_eq!(FloatValue::decode(0x007F_FFFF), FloatValue::NaN);
        assert_eq!(FloatValue::decode(0x0080_0000), FloatValue::NRes);
        assert_eq!(FloatValue::decode(0x007F_FFFE), FloatValue::PosInf);
        assert_eq!(FloatValue::decode(0x0080_0002), FloatValue::NegInf);
        assert_eq!(FloatValue::encode(72.3, -1), Some(raw(-1, 723)));
        assert_eq!(FloatValue::encode(f64::NAN, 0), None);
        assert_eq!(FloatValue::encode(1e9, 0), None);
    }

    #[test]
    fn association_request_lengths_match_public_capture() {
        // The request used by public clients has session LI 0xEC and
        // presentation LI 0xDC (VSCaptureMP aarq_msg_ext_poll2).
        let a = association_request();
        assert_eq!(a[0], CN_SPDU_SI);
        assert_eq!(a[1], 0xEC);
        assert_eq!(a.len(), 2 + 0xEC);
        assert_eq!(a[16], PRESENTATION_PDI);
        assert_eq!(a[17], 0xDC);
        assert_eq!(user_info(SYST_CLIENT).len(), 0x48);
        assert_eq!(parse_message(&a), Ok(Message::AssociationRequest));
        assert_eq!(
            parse_message(&association_response()),
            Ok(Message::AssociationAccept)
        );
    }

    #[test]
    fn ext_poll_request_layout() {
        // 0xE100 0x0002 | ROIV len 0x20 | invoke, CONFIRMED_ACTION, len 0x1A |
        // MDS object, scope, 0xF13B, len 0x0C, poll number, NOM_PART_OBJ, METRIC_NU, 0, empty list
        let p = extended_poll_numerics(1, 1);
        assert_eq!(&p[..8], &[0xE1, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x20]);
        assert_eq!(&p[8..14], &[0x00, 0x01, 0x00, 0x07, 0x00, 0x1A]);
        assert_eq!(&p[24..28], &[0xF1, 0x3B, 0x00, 0x0C]);
        assert_eq!(p.len(), 40);
        assert_eq!(
            parse_message(&p),
            Ok(Message::PollRequest {
                invoke_id: 1,
                action_type: NOM_ACT_POLL_MDIB_DATA_EXT,
                poll_number: 1,
                object_code: NOM_MOC_VMO_METRIC_NU
            })
        );
        let k = keep_alive(2, 3);
        assert_eq!(k.len(), 36);
        assert!(matches!(
            parse_message(&k),
            Ok(Message::PollRequest {
                action_type: NOM_ACT_POLL_MDIB_DATA,
                object_code: NOM_MOC_VMS_MDS,
                ..
            })
        ));
    }

    #[test]
    fn mds_create_round_trip() {
        let ev = mds_create_event(7, 1234);
        assert_eq!(
            parse_message(&ev),
            Ok(Message::MdsCreateEvent {
                invoke_id: 7,
                mds: ManagedObjectId::MDS
            })
        );
        let res = mds_create_result(7, ManagedObjectId::MDS, 0);
        assert_eq!(
            res.len(),
            28,
            "same size as the public clients' MDS create result"
        );
        assert_eq!(
            parse_message(&res),
            Ok(Message::MdsCreateResult { invoke_id: 7 })
        );
    }

    #[test]
    fn poll_reply_round_trip() {
        let t = NaiveDate::from_ymd_opt(2024, 2, 29)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 58, 120))
            .expect("time");
        let groups = vec![
            ObservationGroup {
                handle: 10,
                observed_at: None,
                values: vec![(Measure::Hr, FloatValue::Number(72.0), 0)],
            },
            ObservationGroup {
                handle: 20,
                observed_at: Some(t),
                values: vec![
                    (Measure::NibpSys, FloatValue::Number(121.0), 0),
                    (Measure::NibpDia, FloatValue::Number(79.0), 0),
                    (Measure::NibpMean, FloatValue::NaN, 0),
                ],
            },
            ObservationGroup {
                handle: 30,
                observed_at: None,
                values: vec![(Measure::Spo2, FloatValue::Number(97.0), 0x8000)],
            },
        ];
        let msg = poll_reply(5, 9, 0, None, &groups);
        let Ok(Message::PollReply(r)) = parse_message(&msg) else {
            panic!("not a poll reply");
        };
        assert_eq!((r.invoke_id, r.poll_number), (5, 9));
        assert_eq!(r.numerics.len(), 5);
        let readings: Vec<_> = r.numerics.iter().filter_map(|n| n.to_reading()).collect();
        let hr = readings[0].as_ref().expect("hr");
        assert_eq!(
            (hr.measure, hr.value, hr.observed_at),
            (Measure::Hr, 72.0, None)
        );
        let sys = readings[1].as_ref().expect("sys");
        assert_eq!(
            (sys.measure, sys.value, sys.observed_at),
            (Measure::NibpSys, 121.0, Some(t))
        );
        assert!(matches!(readings[3], Err(NumericReject::Special { .. })));
        assert!(matches!(readings[4], Err(NumericReject::Unusable { .. })));
    }

    #[test]
    fn absolute_time_codec() {
        assert_eq!(decode_absolute_time(&[0xFF; 8]), None);
        let t = NaiveDate::from_ymd_opt(2001, 12, 31)
            .and_then(|d| d.and_hms_opt(1, 2, 3))
            .expect("time");
        assert_eq!(
            decode_absolute_time(&encode_absolute_time(Some(t))),
            Some(t)
        );
        assert_eq!(
            encode_absolute_time(Some(t)),
            [0x20, 0x01, 0x12, 0x31, 0x01, 0x02, 0x03, 0x00]
        );
    }

    #[test]
    fn parse_never_panics_on_prefixes() {
        let msg = poll_reply(5, 9, 0, None, &[]);
        for n in 0..msg.len() {
            let _ = parse_message(&msg[..n]);
        }
    }
}
