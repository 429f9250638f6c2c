//! The monitor simulator's wire side: scripted vitals profiles and a monitor
//! that speaks HL7 (sends ORU^R01, expects ACKs) or IntelliVue (answers the
//! association and polls) on any `AsyncRead + AsyncWrite`, with fault
//! injection (garbage bytes, bad checksums, truncated frames, silence).
//!
//! Running it: `run_hl7_simulator(stream, SimConfig::new(Profile::Resting))`
//! on a pty end (`tokio_serial::SerialStream::pair()`), a serial port opened
//! with [`crate::monitor::link::open_serial`], or a `TcpStream` connected to
//! the kiosk; `run_intellivue_simulator` likewise. Both return when the peer
//! closes, or after `max_messages`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use chrono::{NaiveDate, NaiveDateTime};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::codec::{Encoder, Framed};

use super::hl7::{self, AckCode, MllpCodec, OruObservation};
use super::intellivue::{self, FloatValue, FrameCodec, Message, ObservationGroup};
use super::reading::Measure;

/// When the simulated adenosine infusion starts, in profile time.
pub const ADENOSINE_START: Duration = Duration::from_secs(60);
/// How long the simulated response takes to reach its plateau.
pub const ADENOSINE_RAMP: Duration = Duration::from_secs(120);

/// How long the simulated response takes to wear off after the drug is stopped.
pub const WASHOUT: Duration = Duration::from_secs(60);

/// When the drug acts, as the kiosk reports it: the built-in simulator responds to the
/// kiosk's own stress start and stop instead of its fixed script (cloned handles share
/// one state).
#[derive(Debug, Clone, Default)]
pub struct DrugCue(Arc<Mutex<(Option<Instant>, Option<Instant>)>>);

impl PartialEq for DrugCue {
    /// Two handles are equal when they share one state.
    fn eq(&self, other: &DrugCue) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl DrugCue {
    /// The drug is acting (`true`) or not (`false`) now; only changes are recorded.
    pub fn set(&self, active: bool) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match (active, g.0, g.1) {
            (true, None, _) | (true, Some(_), Some(_)) => *g = (Some(Instant::now()), None),
            (false, Some(_), None) => g.1 = Some(Instant::now()),
            _ => {}
        }
    }

    fn phase(&self, clock: &Clock) -> (Option<Duration>, Option<Duration>) {
        let g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (g.0.map(|i| clock.at(i)), g.1.map(|i| clock.at(i)))
    }
}

/// A scripted patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Resting patient: steady HR about 68, BP about 122/78.
    Resting,
    /// Adenosine responder: HR rises by about 25 /min, SBP falls about 12 mmHg.
    AdenosineResponder,
    /// Non-responder: HR rises by less than 5 /min.
    NonResponder,
    /// Hypotensive reaction: HR rises by 20 /min, SBP falls to about 82 mmHg.
    Hypotensive,
}

/// Vital signs at one moment of a profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vitals {
    /// Heart rate, /min.
    pub hr: f64,
    /// Systolic pressure, mmHg.
    pub sys: f64,
    /// Diastolic pressure, mmHg.
    pub dia: f64,
    /// Mean pressure, mmHg.
    pub mean: f64,
    /// SpO2, %.
    pub spo2: f64,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 4] = [
        Profile::Resting,
        Profile::AdenosineResponder,
        Profile::NonResponder,
        Profile::Hypotensive,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Resting => "resting",
            Profile::AdenosineResponder => "responder",
            Profile::NonResponder => "non-responder",
            Profile::Hypotensive => "hypotensive",
        }
    }

    /// Parses a name from [`Profile::name`].
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The vitals `t` after the profile starts (deterministic).
    pub fn vitals_at(self, t: Duration) -> Vitals {
        self.vitals_with(t, Some(ADENOSINE_START), None)
    }

    /// The vitals at profile time `t` when the drug started at `start` and was stopped
    /// at `stop` (profile times; `None`: not given / not stopped). The response builds up
    /// over [`ADENOSINE_RAMP`] and wears off over [`WASHOUT`] after the stop.
    pub fn vitals_with(
        self,
        t: Duration,
        start: Option<Duration>,
        stop: Option<Duration>,
    ) -> Vitals {
        let s = t.as_secs_f64();
        let up = start.map_or(0.0, |a| {
            ((s - a.as_secs_f64()) / ADENOSINE_RAMP.as_secs_f64()).clamp(0.0, 1.0)
        });
        let down = stop.map_or(1.0, |b| {
            1.0 - ((s - b.as_secs_f64()) / WASHOUT.as_secs_f64()).clamp(0.0, 1.0)
        });
        let ramp = up * down;
        let (d_hr, d_sys, d_dia) = match self {
            Profile::Resting => (0.0, 0.0, 0.0),
            Profile::AdenosineResponder => (25.0, -12.0, -8.0),
            Profile::NonResponder => (4.0, -2.0, -1.0),
            Profile::Hypotensive => (20.0, -40.0, -30.0),
        };
        let wobble = (s / 7.0).sin() * 1.5;
        let hr = (68.0 + d_hr * ramp + wobble).round();
        let sys = (122.0 + d_sys * ramp).round();
        let dia = (78.0 + d_dia * ramp).round();
        let mean = (dia + (sys - dia) / 3.0).round();
        Vitals {
            hr,
            sys,
            dia,
            mean,
            spo2: 98.0,
        }
    }
}

/// A wire fault the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// This many garbage bytes before the message.
    Garbage(usize),
    /// The message with a bad checksum (IntelliVue: wrong FCS; HL7, which has
    /// no checksum: a corrupted MSH segment, which the receiver must reject).
    BadChecksum,
    /// Only the first half of the frame, never ended.
    Truncated,
    /// Nothing at all for this long (HL7: no message; IntelliVue: no replies).
    Silence(Duration),
}

/// A fault applied to the message with a given index (0-based, counting every
/// message the simulator sends or would send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledFault {
    /// Message index.
    pub at: u64,
    /// The fault.
    pub fault: Fault,
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The patient.
    pub profile: Profile,
    /// HL7: interval between ORU messages.
    pub send_interval: Duration,
    /// Interval between NIBP measurements.
    pub nibp_interval: Duration,
    /// Profile time runs this many times faster than real time.
    pub time_scale: f64,
    /// Wall-clock time the monitor's clock shows at the start.
    pub start_wall: NaiveDateTime,
    /// Faults to inject.
    pub faults: Vec<ScheduledFault>,
    /// HL7: how long to wait for an ACK.
    pub ack_timeout: Duration,
    /// Stop after this many messages (`None`: until the peer closes).
    pub max_messages: Option<u64>,
    /// Follow the kiosk's stress start and stop instead of the fixed script.
    pub drug: Option<DrugCue>,
}

impl SimConfig {
    /// One message a second, NIBP every 60 s, real time, no faults.
    pub fn new(profile: Profile) -> SimConfig {
        SimConfig {
            profile,
            send_interval: Duration::from_secs(1),
            nibp_interval: Duration::from_secs(60),
            time_scale: 1.0,
            start_wall: NaiveDate::from_ymd_opt(2025, 1, 6)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
            faults: Vec::new(),
            ack_timeout: Duration::from_secs(2),
            max_messages: None,
            drug: None,
        }
    }

    fn vitals(&self, clock: &Clock, t: Duration) -> Vitals {
        match &self.drug {
            Some(d) => {
                let (start, stop) = d.phase(clock);
                self.profile.vitals_with(t, start, stop)
            }
            None => self.profile.vitals_at(t),
        }
    }

    fn fault_at(&self, i: u64) -> Option<Fault> {
        self.faults.iter().find(|f| f.at == i).map(|f| f.fault)
    }
}

/// What the simulator did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages written (including faulty ones).
    pub sent: u64,
    /// HL7: ACKs with AA and the right control id.
    pub acked_ok: u64,
    /// HL7: ACKs with AE/AR or a wrong control id.
    pub acked_other: u64,
    /// HL7: intact messages that got no ACK in time.
    pub missing_acks: u64,
    /// IntelliVue: associations accepted.
    pub associations: u64,
    /// IntelliVue: polls answered.
    pub polls_answered: u64,
    /// Faults injected.
    pub faults_injected: u64,
}

/// Why the simulator stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Writing or reading failed.
    #[error("simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Deterministic garbage that never contains `avoid` (so it cannot start a frame).
pub fn garbage(n: usize, seed: u32, avoid: u8) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let b = (x >> 16) as u8;
            if b == avoid { b'?' } else { b }
        })
        .collect()
}

struct Clock {
    start: Instant,
    cfg_scale: f64,
    start_wall: NaiveDateTime,
}

impl Clock {
    fn profile_time(&self) -> Duration {
        let scale = if self.cfg_scale.is_finite() && self.cfg_scale > 0.0 {
            self.cfg_scale
        } else {
            1.0
        };
        self.start.elapsed().mul_f64(scale)
    }
    fn at(&self, i: Instant) -> Duration {
        let scale = if self.cfg_scale.is_finite() && self.cfg_scale > 0.0 {
            self.cfg_scale
        } else {
            1.0
        };
        i.saturating_duration_since(self.start).mul_f64(scale)
    }
    fn wall(&self, t: Duration) -> NaiveDateTime {
        self.start_wall + chrono::Duration::milliseconds(t.as_millis().min(i64::MAX as u128) as i64)
    }
}

fn round_to_second(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    t.with_nanosecond(0).unwrap_or(t)
}

/// Builds the `index`-th ORU of a profile at profile time `t` (NIBP included
/// when `with_nibp`). Shared by the simulator and the capture generator.
pub fn hl7_message(
    index: u64,
    profile: Profile,
    t: Duration,
    wall: NaiveDateTime,
    nibp_at: Option<NaiveDateTime>,
) -> String {
    hl7_message_of(index, &profile.vitals_at(t), wall, nibp_at)
}

/// [`hl7_message`] for given vitals.
pub fn hl7_message_of(
    index: u64,
    v: &Vitals,
    wall: NaiveDateTime,
    nibp_at: Option<NaiveDateTime>,
) -> String {
    let wall = round_to_second(wall);
    let mut obs = vec![
        OruObservation {
            measure: Measure::Hr,
            value: v.hr,
            observed_at: wall,
        },
        OruObservation {
            measure: Measure::Spo2,
            value: v.spo2,
            observed_at: wall,
        },
    ];
    if let Some(n) = nibp_at {
        let n = round_to_second(n);
        obs.push(OruObservation {
            measure: Measure::NibpSys,
            value: v.sys,
            observed_at: n,
        });
        obs.push(OruObservation {
            measure: Measure::NibpDia,
            value: v.dia,
            observed_at: n,
        });
        obs.push(OruObservation {
            measure: Measure::NibpMean,
            value: v.mean,
            observed_at: n,
        });
    }
    hl7::build_oru(&format!("SIM{index:06}"), wall, &obs)
}

/// Runs the HL7 monitor side: sends an ORU^R01 every `send_interval`, waits
/// for each ACK, and injects the configured faults.
pub async fn run_hl7_simulator<S>(io: S, cfg: SimConfig) -> Result<SimStats, SimError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(io, MllpCodec::new());
    let clock = Clock {
        start: Instant::now(),
        cfg_scale: cfg.time_scale,
        start_wall: cfg.start_wall,
    };
    let mut stats = SimStats::default();
    let mut last_nibp: Option<Duration> = None;
    let mut next = Instant::now();
    let mut i: u64 = 0;
    loop {
        if cfg.max_messages.is_some_and(|m| i >= m) {
            return Ok(stats);
        }
        sleep_until(next).await;
        next += cfg.send_interval;
        let fault = cfg.fault_at(i);
        if let Some(Fault::Silence(d)) = fault {
            stats.faults_injected += 1;
            i += 1;
            sleep(d).await;
            next = Instant::now();
            continue;
        }
        let t = clock.profile_time();
        let nibp_due = last_nibp.is_none_or(|l| t >= l + cfg.nibp_interval);
        if nibp_due {
            last_nibp = Some(t);
        }
        let nibp_at = last_nibp.filter(|_| nibp_due).map(|l| clock.wall(l));
        let msg = hl7_message_of(i, &cfg.vitals(&clock, t), clock.wall(t), nibp_at);
        let control_id = format!("SIM{i:06}");
        i += 1;
        stats.sent += 1;
        let expect_ack = match fault {
            Some(Fault::Garbage(n)) => {
                stats.faults_injected += 1;
                framed
                    .get_mut()
                    .write_all(&garbage(n, i as u32, hl7::MLLP_START))
                    .await?;
                framed.send(msg.as_bytes()).await?;
                true
            }
            Some(Fault::BadChecksum) => {
                stats.faults_injected += 1;
                let corrupt = msg.replacen("MSH|", "MSX|", 1);
                framed.send(corrupt.as_bytes()).await?;
                true
            }
            Some(Fault::Truncated) => {
                stats.faults_injected += 1;
                let mut raw = vec![hl7::MLLP_START];
                raw.extend_from_slice(&msg.as_bytes()[..msg.len() / 2]);
                framed.get_mut().write_all(&raw).await?;
                framed.get_mut().flush().await?;
                false
            }
            _ => {
                framed.send(msg.as_bytes()).await?;
                true
            }
        };
        if !expect_ack {
            continue;
        }
        match timeout(cfg.ack_timeout, framed.next()).await {
            Ok(Some(Ok(Ok(frame)))) => match hl7::parse_ack(&frame) {
                Ok(ack) if ack.code == AckCode::Accept && ack.acknowledged_id == control_id => {
                    stats.acked_ok += 1
                }
                _ => stats.acked_other += 1,
            },
            Ok(Some(Ok(Err(_)))) => stats.acked_other += 1,
            Ok(Some(Err(_))) => return Ok(stats), // peer gone
            Ok(None) => return Ok(stats),
            Err(_) => stats.missing_acks += 1,
        }
    }
}

/// Object handles the simulator uses.
const HANDLE_HR: u16 = 0x0010;
const HANDLE_NIBP: u16 = 0x0020;
const HANDLE_SPO2: u16 = 0x0030;

/// Builds the numerics poll reply of a profile at profile time `t`.
pub fn intellivue_poll_reply(
    invoke_id: u16,
    poll_number: u16,
    profile: Profile,
    t: Duration,
    wall: NaiveDateTime,
    nibp: Option<(Duration, NaiveDateTime)>,
) -> Vec<u8> {
    let nibp = nibp.map(|(nt, w)| (profile.vitals_at(nt), w));
    intellivue_poll_reply_of(invoke_id, poll_number, &profile.vitals_at(t), t, wall, nibp)
}

/// [`intellivue_poll_reply`] for given vitals (and the NIBP's own).
pub fn intellivue_poll_reply_of(
    invoke_id: u16,
    poll_number: u16,
    v: &Vitals,
    t: Duration,
    wall: NaiveDateTime,
    nibp: Option<(Vitals, NaiveDateTime)>,
) -> Vec<u8> {
    let mut groups = vec![
        ObservationGroup {
            handle: HANDLE_HR,
            observed_at: Some(wall),
            values: vec![(Measure::Hr, FloatValue::Number(v.hr), 0)],
        },
        ObservationGroup {
            handle: HANDLE_SPO2,
            observed_at: Some(wall),
            values: vec![(Measure::Spo2, FloatValue::Number(v.spo2), 0)],
        },
    ];
    if let Some((nv, nwall)) = nibp {
        groups.push(ObservationGroup {
            handle: HANDLE_NIBP,
            observed_at: Some(nwall),
            values: vec![
                (Measure::NibpSys, FloatValue::Number(nv.sys), 0),
                (Measure::NibpDia, FloatValue::Number(nv.dia), 0),
                (Measure::NibpMean, FloatValue::Number(nv.mean), 0),
            ],
        });
    }
    let rel = (t.as_micros() / 125).min(u128::from(u32::MAX)) as u32; // 1/8 ms units
    intellivue::poll_reply(invoke_id, poll_number, rel, Some(wall), &groups)
}

/// Runs the IntelliVue monitor side: answers association requests (then sends
/// the MDS Create Event Report), answers numerics polls with the profile's
/// vitals and keep-alives with an empty result, and injects the configured
/// faults into its replies. NIBP is reported in every poll with the time of
/// its last measurement, as a monitor does.
pub async fn run_intellivue_simulator<S>(io: S, cfg: SimConfig) -> Result<SimStats, SimError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(io, FrameCodec::new());
    let clock = Clock {
        start: Instant::now(),
        cfg_scale: cfg.time_scale,
        start_wall: cfg.start_wall,
    };
    let mut stats = SimStats::default();
    let mut silent_until: Option<Instant> = None;
    let mut last_nibp: Option<Duration> = None;
    let mut i: u64 = 0;
    while let Some(item) = framed.next().await {
        // A read error means the peer (or the pty's other end) is gone.
        let payload = match item {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => continue,
            Err(_) => return Ok(stats),
        };
        let Ok(msg) = intellivue::parse_message(&payload) else {
            continue;
        };
        if silent_until.is_some_and(|s| Instant::now() < s) {
            continue;
        }
        let t = clock.profile_time();
        let is_poll = matches!(msg, Message::PollRequest { .. });
        let reply = match msg {
            Message::AssociationRequest => {
                stats.associations += 1;
                framed.send(intellivue::association_response()).await?;
                intellivue::mds_create_event(1, 0)
            }
            Message::PollRequest {
                invoke_id,
                action_type,
                poll_number,
                ..
            } if action_type == intellivue::NOM_ACT_POLL_MDIB_DATA_EXT => {
                if last_nibp.is_none_or(|l| t >= l + cfg.nibp_interval) {
                    last_nibp = Some(t);
                }
                let nibp =
                    last_nibp.map(|l| (cfg.vitals(&clock, l), round_to_second(clock.wall(l))));
                intellivue_poll_reply_of(
                    invoke_id,
                    poll_number,
                    &cfg.vitals(&clock, t),
                    t,
                    round_to_second(clock.wall(t)),
                    nibp,
                )
            }
            Message::PollRequest {
                invoke_id,
                poll_number,
                ..
            } => intellivue::keep_alive_reply(invoke_id, poll_number, 0),
            Message::ReleaseRequest => {
                framed.send(vec![intellivue::DN_SPDU_SI, 0x00]).await?;
                return Ok(stats);
            }
            _ => continue,
        };
        let fault = cfg.fault_at(i);
        i += 1;
        stats.sent += 1;
        if fault.is_some() {
            stats.faults_injected += 1;
        }
        match fault {
            Some(Fault::Silence(d)) => {
                silent_until = Some(Instant::now() + d);
                continue;
            }
            Some(Fault::Garbage(n)) => {
                framed
                    .get_mut()
                    .write_all(&garbage(n, i as u32, intellivue::BOF))
                    .await?;
                framed.send(reply).await?;
            }
            Some(Fault::BadChecksum) => {
                framed
                    .get_mut()
                    .write_all(&intellivue::frame_with_fcs_xor(&reply, 0x5A5A))
                    .await?;
                framed.get_mut().flush().await?;
            }
            Some(Fault::Truncated) => {
                let mut b = BytesMut::new();
                FrameCodec::new().encode(&reply[..], &mut b)?;
                framed.get_mut().write_all(&b[..b.len() / 2]).await?;
                framed.get_mut().flush().await?;
            }
            None => framed.send(reply).await?,
        }
        if is_poll {
            stats.polls_answered += 1;
        }
        if cfg.max_messages.is_some_and(|m| i >= m) {
            return Ok(stats);
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_diverge_after_adenosine() {
        let before = Duration::from_secs(30);
        let plateau = Duration::from_secs(240);
        for p in Profile::ALL {
            assert_eq!(Profile::from_name(p.name()), Some(p));
            let v = p.vitals_at(before);
            assert!((60.0..80.0).contains(&v.hr), "{p:?} {v:?}");
        }
        let r = Profile::AdenosineResponder.vitals_at(plateau);
        let n = Profile::NonResponder.vitals_at(plateau);
        let h = Profile::Hypotensive.vitals_at(plateau);
        let rest = Profile::Resting.vitals_at(plateau);
        assert!(r.hr - rest.hr >= 20.0);
        assert!(n.hr - rest.hr < 10.0);
        assert!(h.sys < 90.0);
    }

    #[test]
    fn garbage_avoids_frame_start() {
        assert!(!garbage(1000, 3, 0x0B).contains(&0x0B));
        assert_eq!(garbage(10, 1, 0), garbage(10, 1, 0));
    }

    #[test]
    fn the_simulated_patient_follows_the_kiosks_drug() {
        let p = Profile::AdenosineResponder;
        let s = Duration::from_secs;
        // Not given: resting, whatever the time.
        let rest = p.vitals_with(s(600), None, None);
        assert!((rest.hr - 68.0).abs() <= 2.0, "{rest:?}");
        // Given at 300 s: nothing before, the plateau 120 s later.
        assert!((p.vitals_with(s(290), Some(s(300)), None).hr - 68.0).abs() <= 2.0);
        let plateau = p.vitals_with(s(430), Some(s(300)), None);
        assert!(
            plateau.hr - 68.0 >= 22.0 && plateau.sys <= 111.0,
            "{plateau:?}"
        );
        // Stopped at 500 s: worn off a minute later.
        let after = p.vitals_with(s(561), Some(s(300)), Some(s(500)));
        assert!((after.hr - 68.0).abs() <= 2.0, "{after:?}");
        // The fixed script is the same as a drug given at ADENOSINE_START.
        assert_eq!(
            p.vitals_at(s(200)),
            p.vitals_with(s(200), Some(ADENOSINE_START), None)
        );
    }

    #[test]
    fn a_drug_cue_records_only_changes() {
        let cue = DrugCue::default();
        let clock = Clock {
            start: Instant::now(),
            cfg_scale: 1.0,
            start_wall: NaiveDateTime::default(),
        };
        assert_eq!(cue.phase(&clock), (None, None));
        cue.set(false);
        assert_eq!(cue.phase(&clock), (None, None));
        cue.set(true);
        let (start, stop) = cue.phase(&clock);
        assert!(start.is_some() && stop.is_none());
        cue.set(true);
        assert_eq!(
            cue.phase(&clock).0,
            start,
            "a repeated 'active' keeps the start"
        );
        cue.set(false);
        assert!(cue.phase(&clock).1.is_some());
        assert_eq!(cue.clone(), cue);
    }
}
