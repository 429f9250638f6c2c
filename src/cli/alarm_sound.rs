//! `cmr-kiosk alarm-sound`: an alarm priority's IEC 60601-1-8 pattern for installers,
//! written to a WAV file or played on the kiosk's audio output to test the speaker.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::domain::output::AlarmPriority;
use crate::engine::sound::{Synth, pattern};
use crate::engine::speaker::{SPEAKER_OPEN_TIMEOUT, SoundSink, SoundStatus, Speaker};

/// The longest sound the command writes or plays, seconds.
pub const MAX_ALARM_SOUND_SECONDS: u32 = 600;

/// The sample rate of the WAV file unless `--rate` says otherwise, Hz.
pub const WAV_SAMPLE_RATE: u32 = 48_000;

/// The sample rates `--rate` takes, Hz.
pub const WAV_SAMPLE_RATES: (u32, u32) = (8_000, 96_000);

/// An alarm priority as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PriorityArg {
    /// 10 pulses (3 + 2, 3 + 2), repeated every few seconds.
    High,
    /// 3 pulses, repeated.
    Medium,
    /// 1 pulse, repeated after more than 15 s.
    Low,
}

impl From<PriorityArg> for AlarmPriority {
    fn from(p: PriorityArg) -> AlarmPriority {
        match p {
            PriorityArg::High => AlarmPriority::High,
            PriorityArg::Medium => AlarmPriority::Medium,
            PriorityArg::Low => AlarmPriority::Low,
        }
    }
}

/// `cmr-kiosk alarm-sound`'s arguments.
#[derive(Debug, clap::Args)]
pub struct AlarmSoundArgs {
    /// The alarm priority whose pattern sounds.
    #[arg(long, value_enum)]
    pub priority: PriorityArg,
    /// Write a 16-bit mono WAV file here instead of playing on the audio output.
    #[arg(long, value_name = "FILE.wav")]
    pub out: Option<PathBuf>,
    /// How long, in seconds (default: one burst and its interburst interval, so the
    /// file loops seamlessly).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ALARM_SOUND_SECONDS)))]
    pub seconds: Option<u32>,
    /// The WAV file's sample rate, Hz (8000–96000).
    #[arg(long, value_name = "HZ", default_value_t = WAV_SAMPLE_RATE, requires = "out",
          value_parser = clap::value_parser!(u32).range(i64::from(WAV_SAMPLE_RATES.0)..=i64::from(WAV_SAMPLE_RATES.1)))]
    pub rate: u32,
}

/// `seconds` of `priority`'s pattern, from the start of a burst, as a 16-bit mono WAV
/// file at `sample_rate` Hz.
pub fn write_wav(
    path: &Path,
    priority: AlarmPriority,
    sample_rate: u32,
    seconds: f64,
) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(path, spec)?;
    let synth = Synth::new(pattern(priority), sample_rate);
    let n = (seconds.max(0.0) * f64::from(sample_rate)).round() as u64;
    for i in 0..n {
        let s = synth.sample(i);
        wav.write_sample((f32::clamp(s, -1.0, 1.0) * f32::from(i16::MAX)).round() as i16)?;
    }
    wav.finalize()
}

/// Runs the command: exit 0 when written or played, 2 when the audio output is
/// unavailable (the reason on standard error).
pub fn run(args: AlarmSoundArgs) -> anyhow::Result<ExitCode> {
    let priority = AlarmPriority::from(args.priority);
    let seconds = args
        .seconds
        .map(f64::from)
        .unwrap_or_else(|| f64::from(pattern(priority).cycle_ms()) / 1000.0);
    if let Some(out) = &args.out {
        write_wav(out, priority, args.rate, seconds)
            .with_context(|| format!("writing {}", out.display()))?;
        println!(
            "{}: {:?} priority, {seconds} s at {} Hz",
            out.display(),
            priority,
            args.rate
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut speaker = Speaker::open();
    match speaker.wait_open(SPEAKER_OPEN_TIMEOUT) {
        SoundStatus::Ready { device } => {
            println!("playing the {priority:?}-priority alarm on {device} for {seconds} s");
            speaker.play(Some(priority));
            std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
            speaker.play(None);
            // Let the silence reach the device before the stream closes.
            std::thread::sleep(std::time::Duration::from_millis(200));
            Ok(ExitCode::SUCCESS)
        }
        SoundStatus::Unavailable(fault) => {
            eprintln!("cmr-kiosk: alarm sound unavailable: {fault}");
            Ok(ExitCode::from(2))
        }
        other => {
            eprintln!("cmr-kiosk: alarm sound unavailable: {other:?}");
            Ok(ExitCode::from(2))
        }
    }
}
