//! Patient-monitor protocol layer: reads HR, blood pressure and SpO2 from the
//! monitors hospitals put beside an MR scanner, and simulates such monitors.
//!
//! What this module owns:
//! - [`reading`]: the [`Reading`] value type and its plausibility limits (pure);
//! - [`hl7`]: MLLP framing codec, HL7 v2 ORU^R01 (IHE PCD-01) parsing, ACK and
//!   ORU building (pure);
//! - [`intellivue`]: Philips IntelliVue Data Export over RS-232: frame codec with
//!   transparency and FCS, FLOAT-Type, and the session messages (pure);
//! - [`watchdog`]: per-measure staleness state machine fed with `now` (pure);
//! - [`link`]: the imperative shell: sessions generic over
//!   `AsyncRead + AsyncWrite`, serial open with reconnect and backoff, the HL7
//!   TCP listener, frame counters;
//! - [`sim`]: the monitor simulator's wire side with scripted vitals profiles
//!   and fault injection;
//! - [`feed`]: the kiosk's live feed: the configured link or the in-process
//!   simulator, through the same codec and link, into the exam engine.
//!
//! Invariants: decoders never panic and never end a stream because of bad
//! bytes; a bad frame is an item carrying a [`FrameFault`], so every good frame
//! around it still arrives. Durations come from tokio's monotonic clock.

pub mod feed;
pub mod hl7;
pub mod intellivue;
pub mod link;
pub mod profile;
pub mod reading;
pub mod sim;
pub mod watchdog;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

pub use reading::{Measure, PlausibilityError, Reading, Unit};

/// The wire protocol a monitor speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HL7 v2 ORU^R01 (IHE PCD-01) in MLLP framing, over serial or TCP.
    Hl7,
    /// Philips IntelliVue Data Export over the RS-232 MIB port.
    Intellivue,
}

impl Protocol {
    /// Parses `hl7` or `intellivue`.
    pub fn from_name(name: &str) -> Option<Protocol> {
        match name.to_ascii_lowercase().as_str() {
            "hl7" => Some(Protocol::Hl7),
            "intellivue" => Some(Protocol::Intellivue),
            _ => None,
        }
    }
}

/// A frame that a decoder dropped, and why. Decoders yield these as items
/// (`Ok(Err(fault))`) instead of failing the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameFault {
    /// Bytes outside any frame were discarded while resynchronising.
    #[error("{bytes} byte(s) of garbage outside a frame discarded")]
    Garbage {
        /// How many bytes were dropped.
        bytes: usize,
    },
    /// A frame started but a new frame began (or the stream ended) before it ended.
    #[error("truncated frame: {bytes} byte(s) without an end marker")]
    Truncated {
        /// How many bytes of the truncated frame were dropped.
        bytes: usize,
    },
    /// A frame exceeded the maximum size.
    #[error("frame larger than the {max}-byte limit")]
    Oversize {
        /// The limit in force.
        max: usize,
    },
    /// The frame check sequence did not match.
    #[error("bad checksum: frame says {received:#06x}, computed {computed:#06x}")]
    BadChecksum {
        /// FCS carried by the frame.
        received: u16,
        /// FCS computed over the frame's content.
        computed: u16,
    },
    /// An escape byte was not followed by a valid escaped byte.
    #[error("invalid escape sequence")]
    BadEscape,
    /// The frame's header was wrong (protocol id, length field, end marker).
    #[error("bad frame header: {0}")]
    BadHeader(String),
}

impl FrameFault {
    /// A short stable key for counting faults by reason.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameFault::Garbage { .. } => "garbage",
            FrameFault::Truncated { .. } => "truncated",
            FrameFault::Oversize { .. } => "oversize",
            FrameFault::BadChecksum { .. } => "bad_checksum",
            FrameFault::BadEscape => "bad_escape",
            FrameFault::BadHeader(_) => "bad_header",
        }
    }
}

/// Counts of good and bad frames, by reason. Shared between a link's tasks and
/// whoever reports on it (`cmr-kiosk monitor listen` prints it on exit).
#[derive(Debug, Default)]
pub struct FrameCounters {
    good: AtomicU64,
    bad: Mutex<BTreeMap<String, u64>>,
}

/// A point-in-time copy of [`FrameCounters`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSnapshot {
    /// Frames decoded and understood.
    pub good: u64,
    /// Bad frames and rejected content, by reason key.
    pub bad: BTreeMap<String, u64>,
}

impl CounterSnapshot {
    /// Count for one reason key (0 if never seen).
    pub fn bad_for(&self, reason: &str) -> u64 {
        self.bad.get(reason).copied().unwrap_or(0)
    }

    /// Total bad count over all reasons.
    pub fn bad_total(&self) -> u64 {
        self.bad.values().sum()
    }
}

impl FrameCounters {
    /// New, all zero.
    pub fn new() -> FrameCounters {
        FrameCounters::default()
    }

    /// Counts one good frame.
    pub fn good(&self) {
        self.good.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one bad frame (or rejected content) under `reason`.
    pub fn bad(&self, reason: &str) {
        let mut map = match self.bad.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        *map.entry(reason.to_string()).or_insert(0) += 1;
    }

    /// A copy of the counts.
    pub fn snapshot(&self) -> CounterSnapshot {
        let bad = match self.bad.lock() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        CounterSnapshot {
            good: self.good.load(Ordering::Relaxed),
            bad,
        }
    }
}
