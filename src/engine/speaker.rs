//! The kiosk's audio output: plays the sounding alarm's pattern ([`super::sound`])
//! through the sound card, on a thread and stream of its own.
//!
//! The exam engine decides what sounds ([`super::alarm_board::AlarmBoard::sounding`])
//! and tells a [`SoundSink`] on every change; a sink only stores the request and
//! returns, so the engine never waits for a device. [`Speaker`] is the real sink:
//! cpal on ALSA. Its stream's callback picks the request up without a lock and plays
//! the priority's bursts over and over until told to stop or change.
//!
//! Opening never hangs the kiosk and never panics: it runs on the `alarm-sound`
//! thread, and a missing sound card, an ALSA error, a stream that fails later, or an
//! open that has not answered within [`SPEAKER_OPEN_TIMEOUT`] all become
//! [`SoundStatus::Unavailable`] with the reason; the engine publishes it and the
//! console shows the technical alarm.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::domain::output::AlarmPriority;

/// How long the audio output may take to open before it counts as unavailable.
pub const SPEAKER_OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// The priority of the technical alarm "alarm sound unavailable": medium (its marker
/// `**` on the console, steady). Alarms are still shown, but nobody hears them, so
/// the technologist must be told before the next one, not only when looking.
pub const SOUND_FAULT_PRIORITY: AlarmPriority = AlarmPriority::Medium;

/// Why the alarm sound cannot be heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoundFault {
    /// This build of the kiosk has no audio output (built without the `audio`
    /// feature).
    NotBuilt,
    /// No audio output device was found.
    NoDevice,
    /// The device was found but could not be opened (the driver's words).
    Open(String),
    /// The output stream failed while open (the driver's words).
    Stream(String),
}

impl SoundFault {
    /// The Fluent key that words it on the console (`$detail`: [`SoundFault::detail`]).
    pub fn key(&self) -> &'static str {
        match self {
            SoundFault::NotBuilt => "sound-unavailable-not-built",
            SoundFault::NoDevice => "sound-unavailable-no-device",
            SoundFault::Open(_) => "sound-unavailable-open",
            SoundFault::Stream(_) => "sound-unavailable-failed",
        }
    }

    /// The driver's own words, if any (shown for the installer).
    pub fn detail(&self) -> &str {
        match self {
            SoundFault::NotBuilt | SoundFault::NoDevice => "",
            SoundFault::Open(d) | SoundFault::Stream(d) => d,
        }
    }
}

impl std::fmt::Display for SoundFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SoundFault::NotBuilt => f.write_str("this build has no audio output"),
            SoundFault::NoDevice => f.write_str("no audio output device found"),
            SoundFault::Open(d) => write!(f, "the audio output could not be opened: {d}"),
            SoundFault::Stream(d) => write!(f, "the audio output failed: {d}"),
        }
    }
}

/// The health of the sound output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SoundStatus {
    /// No output attached (tests, screenshots): nothing to report.
    #[default]
    Off,
    /// Being opened.
    Opening,
    /// Open and playing (silence while no alarm sounds) on the named device.
    Ready {
        /// The device's name as the driver gives it.
        device: String,
    },
    /// The alarm sound cannot be heard: a technical alarm on the console.
    Unavailable(SoundFault),
}

impl SoundStatus {
    /// The fault, when the alarm sound cannot be heard.
    pub fn fault(&self) -> Option<&SoundFault> {
        match self {
            SoundStatus::Unavailable(f) => Some(f),
            _ => None,
        }
    }
}

/// Where the engine sends what should sound. Implementations return at once: the
/// engine thread calls them.
pub trait SoundSink: Send {
    /// Play `priority`'s pattern from the start of a burst, repeating, or stop
    /// (`None`). Called only when what should sound changes.
    fn play(&mut self, priority: Option<AlarmPriority>);
    /// The output's health now.
    fn status(&self) -> SoundStatus;
}

/// No output: what the engine has until the kiosk attaches its speaker (tests and
/// screenshots never sound).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSound;

impl SoundSink for NoSound {
    fn play(&mut self, _priority: Option<AlarmPriority>) {}
    fn status(&self) -> SoundStatus {
        SoundStatus::Off
    }
}

/// A request as the stream's callback reads it: a generation (grows on every
/// request, so the same priority asked again restarts its burst) and the priority.
fn encode(generation: u64, priority: Option<AlarmPriority>) -> u64 {
    let p = match priority {
        None => 0,
        Some(AlarmPriority::Low) => 1,
        Some(AlarmPriority::Medium) => 2,
        Some(AlarmPriority::High) => 3,
    };
    (generation << 2) | p
}

fn decode(v: u64) -> (u64, Option<AlarmPriority>) {
    let p = match v & 3 {
        1 => Some(AlarmPriority::Low),
        2 => Some(AlarmPriority::Medium),
        3 => Some(AlarmPriority::High),
        _ => None,
    };
    (v >> 2, p)
}

/// What the speaker's thread and callbacks share with its owner.
#[derive(Debug)]
struct Shared {
    request: AtomicU64,
    status: Mutex<SoundStatus>,
    opened: std::time::Instant,
}

impl Shared {
    fn set_status(&self, s: SoundStatus) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }
}

/// The real alarm sound: the default audio output through cpal (ALSA on Linux).
#[derive(Debug)]
pub struct Speaker {
    shared: Arc<Shared>,
    generation: u64,
    // Dropping the sender ends the thread, which drops the stream.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Speaker {
    /// Opens the default audio output on the `alarm-sound` thread and returns at
    /// once (status [`SoundStatus::Opening`] until the thread has answered).
    pub fn open() -> Speaker {
        let shared = Arc::new(Shared {
            request: AtomicU64::new(encode(0, None)),
            status: Mutex::new(SoundStatus::Opening),
            opened: std::time::Instant::now(),
        });
        let (stop, stopped) = mpsc::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("alarm-sound".into())
            .spawn(move || run(thread_shared, stopped));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                shared.set_status(SoundStatus::Unavailable(SoundFault::Open(format!(
                    "the sound thread could not start: {e}"
                ))));
                None
            }
        };
        Speaker {
            shared,
            generation: 0,
            stop: Some(stop),
            thread,
        }
    }

    /// Waits until the output has opened or failed, at most `timeout`; the status
    /// then (for the installer's command and tests).
    pub fn wait_open(&self, timeout: Duration) -> SoundStatus {
        let until = std::time::Instant::now() + timeout;
        loop {
            let s = self.status();
            if s != SoundStatus::Opening || std::time::Instant::now() >= until {
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl SoundSink for Speaker {
    fn play(&mut self, priority: Option<AlarmPriority>) {
        self.generation += 1;
        self.shared
            .request
            .store(encode(self.generation, priority), Ordering::Release);
    }

    fn status(&self) -> SoundStatus {
        let s = self
            .shared
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if s == SoundStatus::Opening && self.shared.opened.elapsed() >= SPEAKER_OPEN_TIMEOUT {
            return SoundStatus::Unavailable(SoundFault::Open(format!(
                "no answer from the audio output within {} s",
                SPEAKER_OPEN_TIMEOUT.as_secs()
            )));
        }
        s
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        // Dropping the sender ends the thread's wait; it drops the stream.
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let opening = *self.shared.status.lock().unwrap_or_else(|p| p.into_inner())
                == SoundStatus::Opening;
            // A thread still inside the driver's open is left behind, never waited for.
            if !opening {
                let _ = t.join();
            }
        }
    }
}

/// What the stream's callback owns: the request it plays and its synthesiser.
#[cfg_attr(not(feature = "audio"), allow(dead_code))]
struct Player {
    shared: Arc<Shared>,
    seen: u64,
    synth: Option<super::sound::Synth>,
    sample_rate: u32,
    channels: usize,
}

#[cfg_attr(not(feature = "audio"), allow(dead_code))]
impl Player {
    /// Fills one buffer of interleaved `f32` samples.
    fn fill(&mut self, out: &mut [f32]) {
        let v = self.shared.request.load(Ordering::Acquire);
        if v != self.seen {
            self.seen = v;
            let (_, priority) = decode(v);
            // A new request starts its pattern at the beginning of a burst.
            self.synth = priority
                .map(|p| super::sound::Synth::new(super::sound::pattern(p), self.sample_rate));
        }
        match self.synth.as_mut() {
            Some(s) => s.fill_interleaved(out, self.channels),
            None => out.fill(0.0),
        }
    }
}

#[cfg(feature = "audio")]
fn run(shared: Arc<Shared>, stopped: mpsc::Receiver<()>) {
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    let host = cpal::default_host();
    let Some(device) = host.default_output_device() else {
        shared.set_status(SoundStatus::Unavailable(SoundFault::NoDevice));
        return;
    };
    let name = device.name().unwrap_or_else(|_| "default".into());
    // ALSA names a "default" device even with no sound card; it is missing only
    // when asked for its configuration.
    let config = match device.default_output_config() {
        Ok(c) => c,
        Err(cpal::DefaultStreamConfigError::DeviceNotAvailable) => {
            shared.set_status(SoundStatus::Unavailable(SoundFault::NoDevice));
            return;
        }
        Err(e) => {
            shared.set_status(SoundStatus::Unavailable(SoundFault::Open(e.to_string())));
            return;
        }
    };
    let mut player = Player {
        shared: shared.clone(),
        seen: u64::MAX,
        synth: None,
        sample_rate: config.sample_rate().0,
        channels: usize::from(config.channels()),
    };
    let errors = shared.clone();
    let on_error = move |e: cpal::StreamError| {
        tracing::error!("alarm sound output failed: {e}");
        errors.set_status(SoundStatus::Unavailable(SoundFault::Stream(e.to_string())));
    };
    let stream_config: cpal::StreamConfig = config.clone().into();
    let mut scratch: Vec<f32> = Vec::new();
    let stream = match config.sample_format() {
        cpal::SampleFormat::F32 => device.build_output_stream(
            &stream_config,
            move |out: &mut [f32], _| player.fill(out),
            on_error,
            None,
        ),
        cpal::SampleFormat::I16 => device.build_output_stream(
            &stream_config,
            move |out: &mut [i16], _| {
                scratch.resize(out.len(), 0.0);
                player.fill(&mut scratch);
                for (o, s) in out.iter_mut().zip(&scratch) {
                    *o = cpal::Sample::from_sample(*s);
                }
            },
            on_error,
            None,
        ),
        cpal::SampleFormat::I32 => device.build_output_stream(
            &stream_config,
            move |out: &mut [i32], _| {
                scratch.resize(out.len(), 0.0);
                player.fill(&mut scratch);
                for (o, s) in out.iter_mut().zip(&scratch) {
                    *o = cpal::Sample::from_sample(*s);
                }
            },
            on_error,
            None,
        ),
        cpal::SampleFormat::U16 => device.build_output_stream(
            &stream_config,
            move |out: &mut [u16], _| {
                scratch.resize(out.len(), 0.0);
                player.fill(&mut scratch);
                for (o, s) in out.iter_mut().zip(&scratch) {
                    *o = cpal::Sample::from_sample(*s);
                }
            },
            on_error,
            None,
        ),
        other => {
            shared.set_status(SoundStatus::Unavailable(SoundFault::Open(format!(
                "unsupported sample format {other}"
            ))));
            return;
        }
    };
    let stream = match stream {
        Ok(s) => s,
        Err(cpal::BuildStreamError::DeviceNotAvailable) => {
            shared.set_status(SoundStatus::Unavailable(SoundFault::NoDevice));
            return;
        }
        Err(e) => {
            shared.set_status(SoundStatus::Unavailable(SoundFault::Open(e.to_string())));
            return;
        }
    };
    if let Err(e) = stream.play() {
        shared.set_status(SoundStatus::Unavailable(SoundFault::Open(e.to_string())));
        return;
    }
    tracing::info!(
        "alarm sound on {name} ({} Hz, {} channels)",
        stream_config.sample_rate.0,
        stream_config.channels
    );
    // A stream error may already have come in; it stands.
    {
        let mut s = shared.status.lock().unwrap_or_else(|p| p.into_inner());
        if *s == SoundStatus::Opening {
            *s = SoundStatus::Ready { device: name };
        }
    }
    // Until the speaker is dropped.
    let _ = stopped.recv();
    drop(stream);
}

#[cfg(not(feature = "audio"))]
fn run(shared: Arc<Shared>, _stopped: mpsc::Receiver<()>) {
    shared.set_status(SoundStatus::Unavailable(SoundFault::NotBuilt));
}
