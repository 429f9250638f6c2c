//! The link: the imperative shell around the pure codecs. It runs protocol
//! sessions over any `AsyncRead + AsyncWrite` (serial port, pseudo-terminal,
//! TCP socket, in-memory duplex), opens serial ports by path with reconnect
//! and exponential backoff, listens for HL7 over TCP, counts good and bad
//! frames, and feeds the [`Watchdog`] so stale measures are reported.
//!
//! How to use it: build [`LinkSettings`] (e.g. [`LinkSettings::for_protocol`]),
//! start a link with [`start_serial`], [`start_tcp_listener`],
//! [`start_on_stream`] or [`start_with_connector`], then receive
//! [`LinkEvent`]s from [`MonitorLink::recv`]. Dropping the link stops it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::codec::Framed;

use super::hl7::{self, AckCode, MllpCodec};
use super::intellivue::{self, FrameCodec, Message};
use super::reading::{Measure, Reading};
use super::watchdog::{Expectation, STALE_TOLERANCE, Watchdog, WatchdogEvent};
use super::{CounterSnapshot, FrameCounters, FrameFault, Protocol};

/// A reading with the kiosk's receive time.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedReading {
    /// The reading.
    pub reading: Reading,
    /// Wall-clock receive time (for labels and the log only).
    pub received_at: DateTime<Utc>,
    /// Monotonic receive time (for ages and durations).
    pub received_instant: Instant,
}

/// What a link reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// A plausible reading arrived.
    Reading(ReceivedReading),
    /// A recognised observation was rejected; the text names what was wrong.
    Rejected {
        /// Counting key.
        reason: &'static str,
        /// Human-readable explanation.
        detail: String,
    },
    /// The decoder dropped bytes.
    Fault(FrameFault),
    /// A session started on a port or connection.
    Connected {
        /// Port path or peer address.
        peer: String,
    },
    /// A session ended or a port could not be opened; the link retries.
    Disconnected {
        /// Port path or peer address.
        peer: String,
        /// Why.
        reason: String,
    },
    /// Staleness and "monitor data lost".
    Watchdog(WatchdogEvent),
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Reading or writing failed (adapter removed, peer reset).
    #[error("I/O error on {peer}: {source}")]
    Io {
        /// Port or peer.
        peer: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Opening the serial port failed.
    #[error("cannot open serial port {path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: tokio_serial::Error,
    },
    /// The peer closed the connection.
    #[error("{peer} closed the connection")]
    Closed {
        /// Port or peer.
        peer: String,
    },
    /// The monitor did not answer in time.
    #[error("{peer}: no answer to {what} within {waited:?}")]
    Timeout {
        /// Port or peer.
        peer: String,
        /// What was awaited.
        what: &'static str,
        /// How long we waited.
        waited: Duration,
    },
    /// The monitor refused or aborted the association.
    #[error("{peer}: association {what}")]
    Association {
        /// Port or peer.
        peer: String,
        /// "refused", "aborted", "released".
        what: &'static str,
    },
    /// The link's consumer went away.
    #[error("link consumer dropped")]
    ConsumerGone,
}

/// Parity setting of a serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// No parity.
    #[default]
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// Flow control setting of a serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    /// None.
    #[default]
    None,
    /// RTS/CTS.
    Hardware,
    /// XON/XOFF.
    Software,
}

/// How to open a serial port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialSettings {
    /// Device path; stable names such as `/dev/serial/by-id/...` or a udev
    /// symlink work (they are resolved at every open).
    pub path: String,
    /// Baud rate (IntelliVue MIB: 115200).
    pub baud: u32,
    /// Data bits, 5–8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Parity.
    #[serde(default)]
    pub parity: Parity,
    /// Stop bits, 1 or 2.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Flow control.
    #[serde(default)]
    pub flow_control: FlowControl,
}

fn default_data_bits() -> u8 {
    8
}
fn default_stop_bits() -> u8 {
    1
}

impl SerialSettings {
    /// 8N1 without flow control at `baud`.
    pub fn new(path: impl Into<String>, baud: u32) -> SerialSettings {
        SerialSettings {
            path: path.into(),
            baud,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: 1,
            flow_control: FlowControl::None,
        }
    }
}

/// Opens a serial port with the given settings.
pub fn open_serial(s: &SerialSettings) -> Result<tokio_serial::SerialStream, LinkError> {
    use tokio_serial::SerialPortBuilderExt;
    let data_bits = match s.data_bits {
        5 => tokio_serial::DataBits::Five,
        6 => tokio_serial::DataBits::Six,
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    };
    let parity = match s.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let stop_bits = if s.stop_bits == 2 {
        tokio_serial::StopBits::Two
    } else {
        tokio_serial::StopBits::One
    };
    let flow = match s.flow_control {
        FlowControl::None => tokio_serial::FlowControl::None,
        FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
        FlowControl::Software => tokio_serial::FlowControl::Software,
    };
    tokio_serial::new(&s.path, s.baud)
        .data_bits(data_bits)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(flow)
        .open_native_async()
        .map_err(|source| LinkError::Open {
            path: s.path.clone(),
            source,
        })
}

/// Exponential backoff between reconnect attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffSettings {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for BackoffSettings {
    fn default() -> Self {
        BackoffSettings {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
        }
    }
}

/// Backoff state: doubles from `initial` to `max`, reset after a good session.
#[derive(Debug, Clone)]
pub struct Backoff {
    settings: BackoffSettings,
    next: Duration,
}

impl Backoff {
    /// New, at the initial delay.
    pub fn new(settings: BackoffSettings) -> Backoff {
        Backoff {
            settings,
            next: settings.initial,
        }
    }

    /// The delay to wait now; doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.settings.max);
        d
    }

    /// Back to the initial delay.
    pub fn reset(&mut self) {
        self.next = self.settings.initial;
    }
}

/// Settings of a link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSettings {
    /// The protocol spoken.
    pub protocol: Protocol,
    /// Expected update interval per measure (drives the watchdog).
    pub expectations: Vec<Expectation>,
    /// Slack after an expected update before "stale".
    pub stale_tolerance: Duration,
    /// IntelliVue: numerics poll interval.
    pub poll_interval: Duration,
    /// IntelliVue: keep-alive interval.
    pub keep_alive_interval: Duration,
    /// How long to wait for an answer (association, MDS create) or for a
    /// write to complete.
    pub response_timeout: Duration,
    /// IntelliVue: silence after which the association is taken as lost and
    /// is renewed.
    pub association_lost_after: Duration,
    /// Reconnect backoff.
    pub backoff: BackoffSettings,
    /// Units the device sends without naming them (from its profile); a bare
    /// value of another measure is refused.
    pub unit_defaults: hl7::UnitDefaults,
    /// A frame begun but not finished within this is dropped with the connection
    /// (set for TCP peers by [`start_tcp_listener`]; `None`: no limit).
    pub frame_timeout: Option<Duration>,
    /// A connection silent this long is closed (TCP peers; `None`: no limit).
    pub idle_timeout: Option<Duration>,
}

impl LinkSettings {
    /// Defaults for a protocol: HR critical every 1 s (HL7: as the sender's
    /// interval, assumed 1 s), NIBP every 5 min (not critical), SpO2 1 s.
    pub fn for_protocol(protocol: Protocol) -> LinkSettings {
        let e = |measure, secs, critical| Expectation {
            measure,
            interval: Duration::from_secs(secs),
            critical,
        };
        LinkSettings {
            protocol,
            expectations: vec![
                e(Measure::Hr, 1, true),
                e(Measure::NibpSys, 300, false),
                e(Measure::NibpDia, 300, false),
                e(Measure::NibpMean, 300, false),
            ],
            stale_tolerance: STALE_TOLERANCE,
            poll_interval: Duration::from_secs(1),
            keep_alive_interval: Duration::from_secs(intellivue::KEEP_ALIVE_INTERVAL_SECS),
            response_timeout: Duration::from_secs(3),
            association_lost_after: Duration::from_secs(10),
            backoff: BackoffSettings::default(),
            unit_defaults: hl7::UnitDefaults::new(),
            frame_timeout: None,
            idle_timeout: None,
        }
    }
}

/// Where a session sends what it decodes.
#[derive(Debug, Clone)]
pub struct SessionSink {
    tx: mpsc::Sender<LinkEvent>,
    counters: Arc<FrameCounters>,
}

impl SessionSink {
    /// A sink sending into `tx` and counting into `counters`.
    pub fn new(tx: mpsc::Sender<LinkEvent>, counters: Arc<FrameCounters>) -> SessionSink {
        SessionSink { tx, counters }
    }

    async fn emit(&self, ev: LinkEvent) -> Result<(), LinkError> {
        self.tx.send(ev).await.map_err(|_| LinkError::ConsumerGone)
    }

    async fn fault(&self, fault: FrameFault) -> Result<(), LinkError> {
        tracing::debug!(%fault, "monitor frame dropped");
        self.counters.bad(fault.reason());
        self.emit(LinkEvent::Fault(fault)).await
    }

    async fn reading(&self, reading: Reading) -> Result<(), LinkError> {
        self.emit(LinkEvent::Reading(ReceivedReading {
            reading,
            received_at: Utc::now(),
            received_instant: Instant::now(),
        }))
        .await
    }

    async fn rejected(&self, reason: &'static str, detail: String) -> Result<(), LinkError> {
        tracing::info!(reason, %detail, "monitor value rejected");
        self.counters.bad(reason);
        self.emit(LinkEvent::Rejected { reason, detail }).await
    }
}

fn io_err(peer: &str, source: std::io::Error) -> LinkError {
    LinkError::Io {
        peer: peer.to_string(),
        source,
    }
}

/// Runs an HL7 listener session: decodes MLLP frames, answers each message
/// with an ACK (AA, or AE/AR naming what was wrong), reports readings. Returns
/// when the peer closes or an I/O error occurs.
pub async fn run_hl7_session<S>(
    io: S,
    peer: &str,
    settings: &LinkSettings,
    sink: &SessionSink,
) -> Result<(), LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(io, MllpCodec::new());
    let mut ack_seq: u64 = 0;
    let mut last_frame = Instant::now();
    let mut frame_started: Option<Instant> = None;
    loop {
        // A partial frame must finish within `frame_timeout`; a silent connection
        // closes after `idle_timeout`. Framed's `next` is cancel-safe: bytes read so
        // far stay in its buffer while the deadlines are checked.
        let now = Instant::now();
        if framed.read_buffer().is_empty() {
            frame_started = None;
        } else if frame_started.is_none() {
            frame_started = Some(now);
        }
        let frame_deadline = frame_started
            .zip(settings.frame_timeout)
            .map(|(t, d)| t + d);
        let idle_deadline = settings.idle_timeout.map(|d| last_frame + d);
        if frame_deadline.is_some_and(|d| now >= d) {
            sink.counters.bad("tcp_frame_timeout");
            return Err(LinkError::Timeout {
                peer: peer.to_string(),
                what: "a frame to finish",
                waited: settings.frame_timeout.unwrap_or_default(),
            });
        }
        if idle_deadline.is_some_and(|d| now >= d) {
            sink.counters.bad("tcp_idle_timeout");
            return Err(LinkError::Timeout {
                peer: peer.to_string(),
                what: "any message",
                waited: settings.idle_timeout.unwrap_or_default(),
            });
        }
        let item = match [frame_deadline, idle_deadline].into_iter().flatten().min() {
            Some(deadline) => {
                // Wake at the deadline, or within a second to notice a frame begun.
                let wake = deadline.min(now + Duration::from_secs(1));
                match tokio::time::timeout_at(wake, framed.next()).await {
                    Ok(item) => item,
                    Err(_) => continue,
                }
            }
            None => framed.next().await,
        };
        let Some(item) = item else { break };
        let frame = match item.map_err(|e| io_err(peer, e))? {
            Ok(frame) => frame,
            Err(fault) => {
                sink.fault(fault).await?;
                continue;
            }
        };
        last_frame = Instant::now();
        ack_seq += 1;
        let now = chrono::Local::now().naive_local();
        let ack_id = format!("CMRACK{ack_seq}");
        let ack = match hl7::parse_oru_with(&frame, &settings.unit_defaults) {
            Ok(oru) => {
                sink.counters.good();
                let mut refused = Vec::new();
                for (obs, obx) in oru.observations.into_iter().zip(oru.obx_ordinals) {
                    match obs {
                        Ok(r) => sink.reading(r).await?,
                        Err(e) => {
                            sink.rejected(e.reason(), e.to_string()).await?;
                            refused.push(hl7::RefusedValue { obx, error: e });
                        }
                    }
                }
                if refused.is_empty() {
                    hl7::build_ack(&oru.header, AckCode::Accept, None, now, &ack_id)
                } else {
                    hl7::build_ack_refused(&oru.header, &refused, now, &ack_id)
                }
            }
            Err(e) => {
                let header = hl7::parse_header(&frame).unwrap_or_default();
                sink.rejected("hl7_message", e.to_string()).await?;
                hl7::build_ack(&header, e.ack_code(), Some(&e.to_string()), now, &ack_id)
            }
        };
        match timeout(settings.response_timeout, framed.send(ack.as_bytes())).await {
            Ok(r) => r.map_err(|e| io_err(peer, e))?,
            Err(_) => {
                return Err(LinkError::Timeout {
                    peer: peer.to_string(),
                    what: "sending the ACK",
                    waited: settings.response_timeout,
                });
            }
        }
    }
    Err(LinkError::Closed {
        peer: peer.to_string(),
    })
}

type IvFramed<S> = Framed<S, FrameCodec>;

async fn iv_send<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut IvFramed<S>,
    msg: Vec<u8>,
    peer: &str,
    settings: &LinkSettings,
) -> Result<(), LinkError> {
    match timeout(settings.response_timeout, framed.send(msg)).await {
        Ok(r) => r.map_err(|e| io_err(peer, e)),
        Err(_) => Err(LinkError::Timeout {
            peer: peer.to_string(),
            what: "a write to the monitor",
            waited: settings.response_timeout,
        }),
    }
}

/// Waits for a message accepted by `pick`, counting faults on the way.
async fn iv_await<S, T>(
    framed: &mut IvFramed<S>,
    peer: &str,
    what: &'static str,
    settings: &LinkSettings,
    sink: &SessionSink,
    mut pick: impl FnMut(Message) -> Option<Result<T, LinkError>>,
) -> Result<T, LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = Instant::now() + settings.response_timeout;
    loop {
        let item = match timeout_at_opt(deadline, framed.next()).await {
            None => {
                return Err(LinkError::Timeout {
                    peer: peer.to_string(),
                    what,
                    waited: settings.response_timeout,
                });
            }
            Some(None) => {
                return Err(LinkError::Closed {
                    peer: peer.to_string(),
                });
            }
            Some(Some(item)) => item.map_err(|e| io_err(peer, e))?,
        };
        match item {
            Err(fault) => sink.fault(fault).await?,
            Ok(payload) => match intellivue::parse_message(&payload) {
                Ok(msg) => {
                    if let Some(r) = pick(msg) {
                        sink.counters.good();
                        return r;
                    }
                    sink.counters.good();
                }
                Err(e) => sink.rejected("intellivue_message", e.to_string()).await?,
            },
        }
    }
}

async fn timeout_at_opt<F: Future>(deadline: Instant, f: F) -> Option<F::Output> {
    tokio::time::timeout_at(deadline, f).await.ok()
}

async fn iv_associate<S>(
    framed: &mut IvFramed<S>,
    peer: &str,
    settings: &LinkSettings,
    sink: &SessionSink,
) -> Result<(), LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    iv_send(framed, intellivue::association_request(), peer, settings).await?;
    let refused = |what| LinkError::Association {
        peer: peer.to_string(),
        what,
    };
    iv_await(
        framed,
        peer,
        "the association request",
        settings,
        sink,
        |m| match m {
            Message::AssociationAccept => Some(Ok(())),
            Message::AssociationRefuse => Some(Err(refused("refused"))),
            Message::AssociationAbort => Some(Err(refused("aborted"))),
            _ => None,
        },
    )
    .await?;
    let (invoke_id, mds) =
        iv_await(
            framed,
            peer,
            "the MDS create event",
            settings,
            sink,
            |m| match m {
                Message::MdsCreateEvent { invoke_id, mds } => Some(Ok((invoke_id, mds))),
                Message::AssociationAbort => Some(Err(refused("aborted"))),
                _ => None,
            },
        )
        .await?;
    iv_send(
        framed,
        intellivue::mds_create_result(invoke_id, mds, 0),
        peer,
        settings,
    )
    .await
}

/// Runs an IntelliVue client session: associates, answers the MDS Create
/// Event Report, polls numerics every `poll_interval`, sends a keep-alive
/// every `keep_alive_interval`, and re-associates when the monitor has been
/// silent for `association_lost_after`. Returns on I/O error or close.
pub async fn run_intellivue_session<S>(
    io: S,
    peer: &str,
    settings: &LinkSettings,
    sink: &SessionSink,
) -> Result<(), LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(io, FrameCodec::new());
    let mut backoff = Backoff::new(settings.backoff);
    loop {
        match iv_associate(&mut framed, peer, settings, sink).await {
            Ok(()) => backoff.reset(),
            Err(e @ (LinkError::Timeout { .. } | LinkError::Association { .. })) => {
                sink.emit(LinkEvent::Disconnected {
                    peer: peer.to_string(),
                    reason: e.to_string(),
                })
                .await?;
                sleep(backoff.next_delay()).await;
                continue;
            }
            Err(e) => return Err(e),
        }
        sink.emit(LinkEvent::Connected {
            peer: format!("{peer} (associated)"),
        })
        .await?;
        let reason = iv_poll_loop(&mut framed, peer, settings, sink).await?;
        sink.emit(LinkEvent::Disconnected {
            peer: peer.to_string(),
            reason,
        })
        .await?;
    }
}

/// Polls until the association is lost; returns why (or an error that ends
/// the session).
async fn iv_poll_loop<S>(
    framed: &mut IvFramed<S>,
    peer: &str,
    settings: &LinkSettings,
    sink: &SessionSink,
) -> Result<String, LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut invoke_id: u16 = 1;
    let mut poll_number: u16 = 1;
    let mut next_poll = Instant::now();
    let mut next_keep_alive = Instant::now() + settings.keep_alive_interval;
    let mut last_rx = Instant::now();
    loop {
        let lost_at = last_rx + settings.association_lost_after;
        tokio::select! {
            _ = sleep_until(next_poll) => {
                invoke_id = invoke_id.wrapping_add(1);
                poll_number = poll_number.wrapping_add(1);
                iv_send(framed, intellivue::extended_poll_numerics(invoke_id, poll_number), peer, settings).await?;
                next_poll += settings.poll_interval;
                if next_poll < Instant::now() {
                    next_poll = Instant::now() + settings.poll_interval;
                }
            }
            _ = sleep_until(next_keep_alive) => {
                invoke_id = invoke_id.wrapping_add(1);
                poll_number = poll_number.wrapping_add(1);
                iv_send(framed, intellivue::keep_alive(invoke_id, poll_number), peer, settings).await?;
                next_keep_alive = Instant::now() + settings.keep_alive_interval;
            }
            _ = sleep_until(lost_at) => {
                return Ok(format!("no message from the monitor for {:?}", settings.association_lost_after));
            }
            item = framed.next() => {
                let Some(item) = item else {
                    return Err(LinkError::Closed { peer: peer.to_string() });
                };
                match item.map_err(|e| io_err(peer, e))? {
                    Err(fault) => sink.fault(fault).await?,
                    Ok(payload) => {
                        let msg = match intellivue::parse_message(&payload) {
                            Ok(m) => m,
                            Err(e) => {
                                sink.rejected("intellivue_message", e.to_string()).await?;
                                continue;
                            }
                        };
                        sink.counters.good();
                        last_rx = Instant::now();
                        match msg {
                            Message::PollReply(reply) => {
                                for n in &reply.numerics {
                                    match n.to_reading() {
                                        Some(Ok(r)) => sink.reading(r).await?,
                                        Some(Err(e)) => sink.rejected(e.reason(), e.to_string()).await?,
                                        None => {}
                                    }
                                }
                            }
                            Message::MdsCreateEvent { invoke_id: id, mds } => {
                                iv_send(framed, intellivue::mds_create_result(id, mds, 0), peer, settings).await?;
                            }
                            Message::AssociationAbort => return Ok("monitor aborted the association".into()),
                            Message::ReleaseRequest => return Ok("monitor released the association".into()),
                            Message::RemoteError { error_value, .. } => {
                                sink.rejected("intellivue_remote_error", format!("monitor returned error {error_value:#06x}")).await?;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

async fn run_session<S>(
    io: S,
    peer: &str,
    settings: &LinkSettings,
    sink: &SessionSink,
) -> Result<(), LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match settings.protocol {
        Protocol::Hl7 => run_hl7_session(io, peer, settings, sink).await,
        Protocol::Intellivue => run_intellivue_session(io, peer, settings, sink).await,
    }
}

/// A running link. Dropping it stops every task it started.
#[derive(Debug)]
pub struct MonitorLink {
    events: mpsc::Receiver<LinkEvent>,
    counters: Arc<FrameCounters>,
    tasks: Vec<JoinHandle<()>>,
}

impl MonitorLink {
    /// The next event; `None` once the link has stopped.
    pub async fn recv(&mut self) -> Option<LinkEvent> {
        self.events.recv().await
    }

    /// The next reading, skipping other events (convenience for tests and tools).
    pub async fn next_reading(&mut self) -> Option<ReceivedReading> {
        while let Some(ev) = self.events.recv().await {
            if let LinkEvent::Reading(r) = ev {
                return Some(r);
            }
        }
        None
    }

    /// Good and bad frame counts so far.
    pub fn counters(&self) -> CounterSnapshot {
        self.counters.snapshot()
    }

    /// Shared handle on the counters.
    pub fn counters_handle(&self) -> Arc<FrameCounters> {
        Arc::clone(&self.counters)
    }

    /// Stops the link.
    pub fn shutdown(self) {}
}

impl Drop for MonitorLink {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Capacity of the event channels.
const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// Starts the watchdog shell: forwards session events, tracks readings, and
/// emits watchdog events at their deadlines.
fn start_watchdog(
    settings: &LinkSettings,
) -> (
    mpsc::Sender<LinkEvent>,
    mpsc::Receiver<LinkEvent>,
    JoinHandle<()>,
) {
    let (raw_tx, mut raw_rx) = mpsc::channel::<LinkEvent>(EVENT_CHANNEL_CAPACITY);
    let (out_tx, out_rx) = mpsc::channel::<LinkEvent>(EVENT_CHANNEL_CAPACITY);
    let mut wd = Watchdog::new(
        &settings.expectations,
        settings.stale_tolerance,
        Instant::now(),
    );
    let task = tokio::spawn(async move {
        loop {
            let deadline = wd.next_deadline();
            let ev = tokio::select! {
                ev = raw_rx.recv() => match ev {
                    Some(ev) => ev,
                    None => return,
                },
                _ = async {
                    match deadline {
                        Some(d) => sleep_until(d).await,
                        None => std::future::pending::<()>().await,
                    }
                } => {
                    for w in wd.poll(Instant::now()) {
                        if out_tx.send(LinkEvent::Watchdog(w)).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            };
            let mut extra = Vec::new();
            if let LinkEvent::Reading(r) = &ev {
                extra = wd.on_reading(r.reading.measure, r.received_instant);
            }
            if out_tx.send(ev).await.is_err() {
                return;
            }
            for w in extra {
                if out_tx.send(LinkEvent::Watchdog(w)).await.is_err() {
                    return;
                }
            }
        }
    });
    (raw_tx, out_rx, task)
}

/// Runs one session on an already-open stream (pty, socket, duplex); no
/// reconnect. The link reports `Disconnected` when the session ends.
pub fn start_on_stream<S>(io: S, peer: &str, settings: LinkSettings) -> MonitorLink
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let counters = Arc::new(FrameCounters::new());
    let (raw_tx, out_rx, wd_task) = start_watchdog(&settings);
    let sink = SessionSink::new(raw_tx, Arc::clone(&counters));
    let peer = peer.to_string();
    let task = tokio::spawn(async move {
        let _ = sink.emit(LinkEvent::Connected { peer: peer.clone() }).await;
        let result = run_session(io, &peer, &settings, &sink).await;
        let reason = match result {
            Ok(()) => "session ended".to_string(),
            Err(e) => e.to_string(),
        };
        let _ = sink.emit(LinkEvent::Disconnected { peer, reason }).await;
    });
    MonitorLink {
        events: out_rx,
        counters,
        tasks: vec![wd_task, task],
    }
}

/// Runs sessions on streams produced by `connect`, reconnecting with
/// exponential backoff after each failure or end (no busy loop when the
/// device is gone). `label` names the source in events.
pub fn start_with_connector<F, Fut, S>(
    label: &str,
    mut connect: F,
    settings: LinkSettings,
) -> MonitorLink
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<S, LinkError>> + Send,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let counters = Arc::new(FrameCounters::new());
    let (raw_tx, out_rx, wd_task) = start_watchdog(&settings);
    let sink = SessionSink::new(raw_tx, Arc::clone(&counters));
    let peer = label.to_string();
    let task = tokio::spawn(async move {
        let mut backoff = Backoff::new(settings.backoff);
        loop {
            let reason = match connect().await {
                Ok(io) => {
                    if sink
                        .emit(LinkEvent::Connected { peer: peer.clone() })
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let good_before = sink.counters.snapshot().good;
                    let r = run_session(io, &peer, &settings, &sink).await;
                    if sink.counters.snapshot().good > good_before {
                        backoff.reset();
                    }
                    match r {
                        Ok(()) => "session ended".to_string(),
                        Err(LinkError::ConsumerGone) => return,
                        Err(e) => e.to_string(),
                    }
                }
                Err(e) => e.to_string(),
            };
            tracing::warn!(%peer, %reason, "monitor link down; retrying");
            if sink
                .emit(LinkEvent::Disconnected {
                    peer: peer.clone(),
                    reason,
                })
                .await
                .is_err()
            {
                return;
            }
            sleep(backoff.next_delay()).await;
        }
    });
    MonitorLink {
        events: out_rx,
        counters,
        tasks: vec![wd_task, task],
    }
}

/// Opens the serial port by path (reopened at each reconnect, so a
/// `/dev/serial/by-id` name or udev symlink follows the adapter) and runs
/// sessions with reconnect and backoff.
pub fn start_serial(serial: SerialSettings, settings: LinkSettings) -> MonitorLink {
    let label = serial.path.clone();
    start_with_connector(
        &label,
        move || {
            let s = serial.clone();
            async move { open_serial(&s) }
        },
        settings,
    )
}

/// The guard on the kiosk's monitor TCP port: who may connect, how many at once,
/// and how long a connection may stay silent or leave a frame unfinished.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerLimits {
    /// Peers allowed to connect; empty: any peer.
    pub allow: Vec<std::net::IpAddr>,
    /// Connections served at once; more are closed at accept and counted.
    pub max_connections: usize,
    /// A frame begun must end within this.
    pub frame_timeout: Duration,
    /// A connection with no complete frame for this long is closed.
    pub idle_timeout: Duration,
}

/// Default connections at once: a monitor or gateway needs one, a second allows a
/// reconnect while the old connection times out.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2;

/// Default time for a frame to finish once begun (a 1 MiB frame at 115200 baud
/// through a serial-to-TCP bridge takes about 90 s; monitors send a few hundred
/// bytes, so 10 s is ample).
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Default silence before a connection is closed (NIBP-only senders report every
/// 5 minutes at most; the peer reconnects if it is still there).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            allow: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Accepts TCP connections (the monitor or a gateway connects to the kiosk)
/// and runs one session per connection within `limits`; a connection that closes
/// is reported and the listener keeps accepting. A peer not in the allow list, or
/// beyond the connection cap, is closed at once and counted
/// (`tcp_refused_peer`, `tcp_refused_cap`).
pub fn start_tcp_listener(
    listener: TcpListener,
    settings: LinkSettings,
    limits: ListenerLimits,
) -> MonitorLink {
    let counters = Arc::new(FrameCounters::new());
    let (raw_tx, out_rx, wd_task) = start_watchdog(&settings);
    let sink = SessionSink::new(raw_tx, Arc::clone(&counters));
    let mut settings = settings;
    settings.frame_timeout = Some(limits.frame_timeout);
    settings.idle_timeout = Some(limits.idle_timeout);
    let settings = Arc::new(settings);
    let task = tokio::spawn(async move {
        let mut backoff = Backoff::new(settings.backoff);
        let mut sessions = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, addr)) => {
                        backoff.reset();
                        if !limits.allow.is_empty() && !limits.allow.contains(&addr.ip()) {
                            sink.counters.bad("tcp_refused_peer");
                            tracing::warn!(peer = %addr, "monitor port: peer not allowed");
                            drop(stream);
                            continue;
                        }
                        if sessions.len() >= limits.max_connections {
                            sink.counters.bad("tcp_refused_cap");
                            tracing::warn!(peer = %addr, cap = limits.max_connections, "monitor port: connection cap reached");
                            drop(stream);
                            continue;
                        }
                        let _ = stream.set_nodelay(true);
                        let sink = sink.clone();
                        let settings = Arc::clone(&settings);
                        sessions.spawn(async move {
                            let peer = addr.to_string();
                            if sink.emit(LinkEvent::Connected { peer: peer.clone() }).await.is_err() {
                                return;
                            }
                            let reason = match run_session(stream, &peer, &settings, &sink).await {
                                Ok(()) => "session ended".to_string(),
                                Err(e) => e.to_string(),
                            };
                            let _ = sink.emit(LinkEvent::Disconnected { peer, reason }).await;
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        sleep(backoff.next_delay()).await;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
    });
    MonitorLink {
        events: out_rx,
        counters,
        tasks: vec![wd_task, task],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_max_and_resets() {
        let mut b = Backoff::new(BackoffSettings {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(350),
        });
        let d: Vec<_> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(d, vec![100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }
}
