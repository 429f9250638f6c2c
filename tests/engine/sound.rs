//! Audible alarms (issue 17): each priority's burst rendered to WAV and measured
//! against IEC 60601-1-8 (Table 3, pulse; Table 4, burst); the synthesiser's timing
//! at any sample rate; the exam engine starting, pausing and stopping the sound from
//! the alarm board; the real audio output on this machine and the technical alarm
//! when it cannot sound.
//!
//! # Tolerances
//!
//! The WAV tests find pulses the way a measuring instrument would: the envelope is
//! the peak of |sample| over one period of the fundamental, and a pulse starts and
//! ends where that envelope crosses half its peak (the 50 % points of the standard's
//! figure of a pulse). A one-period window moves an edge by at most half a period
//! (0.76 ms at 660 Hz, 1.14 ms at 440 Hz), so every measured time may be off by
//! [`EDGE_TOLERANCE_MS`] at each edge, and a duration or spacing (two edges) by
//! twice that. To pass, a measured value must lie inside the standard's range
//! **narrowed** by that tolerance (so the true value is inside whatever the
//! measurement error), and within the same tolerance of the value the kiosk means
//! to play.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cmr_kiosk::cli::alarm_sound::write_wav;
use cmr_kiosk::config::Config;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDose, StressDrug};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{AlarmCode, AlarmPriority, ExamEvent, ProtocolSettings};
use cmr_kiosk::engine::alarm_board::presentation;
use cmr_kiosk::engine::sound::{self, HARMONICS, Synth, iec, pattern};
use cmr_kiosk::engine::speaker::{
    NoSound, SPEAKER_OPEN_TIMEOUT, SoundFault, SoundSink, SoundStatus, Speaker,
};
use cmr_kiosk::engine::{Command, Engine, SiteFacts};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::monitor::link::{LinkEvent, ReceivedReading};
use cmr_kiosk::monitor::{Measure, Reading, Unit};
use cmr_kiosk::ui::components::ConsoleAdapter;
use cmr_kiosk::ui::shell::Shell;
use proptest::prelude::*;
use slint::ComponentHandle;

use crate::support::recorder as recorder_support;

/// How far one measured edge may be from the true one, ms: half a period of the
/// lowest fundamental (440 Hz: 1.14 ms) rounded up, plus one sample at 48 kHz.
const EDGE_TOLERANCE_MS: f64 = 1.5;
/// How far a measured duration or spacing (two edges) may be off, ms.
const SPAN_TOLERANCE_MS: f64 = 2.0 * EDGE_TOLERANCE_MS;
/// The sample rate the WAV files are rendered at, Hz.
const RATE: u32 = 48_000;

// ---------------------------------------------------------------------------------
// Rendering to WAV and measuring what was rendered.

/// `seconds` of `priority`'s pattern written to a WAV file with hound and read back:
/// the samples (−1 … 1) and the file's sample rate.
fn wav(dir: &Path, priority: AlarmPriority, seconds: f64) -> (Vec<f64>, u32) {
    let path = dir.join(format!("{priority:?}.wav"));
    write_wav(&path, priority, RATE, seconds).expect("WAV written");
    let mut reader = hound::WavReader::open(&path).expect("WAV read back");
    let spec = reader.spec();
    assert_eq!(spec.channels, 1);
    assert_eq!(spec.bits_per_sample, 16);
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let samples = reader
        .samples::<i16>()
        .map(|s| f64::from(s.unwrap()) / f64::from(i16::MAX))
        .collect();
    (samples, spec.sample_rate)
}

/// The peak of |sample| over a window of `width` samples centred on each sample
/// (van Herk / Gil-Werman: linear time).
fn envelope(samples: &[f64], width: usize) -> Vec<f64> {
    let abs: Vec<f64> = samples.iter().map(|s| s.abs()).collect();
    let n = abs.len();
    let w = width.max(1);
    let mut prefix = abs.clone();
    let mut suffix = abs.clone();
    for i in 1..n {
        if i % w != 0 {
            prefix[i] = prefix[i].max(prefix[i - 1]);
        }
    }
    for i in (0..n.saturating_sub(1)).rev() {
        if (i + 1) % w != 0 {
            suffix[i] = suffix[i].max(suffix[i + 1]);
        }
    }
    let half = w / 2;
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (lo + w - 1).min(n - 1);
            suffix[lo].max(prefix[hi])
        })
        .collect()
}

/// One pulse found in a rendering, ms from the file's start.
#[derive(Debug, Clone, Copy)]
struct Pulse {
    start: f64,
    end: f64,
}

impl Pulse {
    fn duration(&self) -> f64 {
        self.end - self.start
    }
}

/// The pulses of a rendering: where the envelope (peak over one period of the
/// fundamental) crosses half its peak, up and down; and the envelope itself.
fn pulses(samples: &[f64], rate: u32, fundamental_hz: f64) -> (Vec<Pulse>, Vec<f64>) {
    let width = (f64::from(rate) / fundamental_hz).ceil() as usize;
    let env = envelope(samples, width);
    let peak = env.iter().copied().fold(0.0, f64::max);
    assert!(peak > 0.1, "the rendering is not silent");
    let ms = |i: usize| i as f64 * 1000.0 / f64::from(rate);
    let mut found = Vec::new();
    let mut start = None;
    for i in 1..env.len() {
        let (before, now) = (env[i - 1] >= peak / 2.0, env[i] >= peak / 2.0);
        match (before, now) {
            (false, true) => start = Some(ms(i)),
            (true, false) => {
                if let Some(s) = start.take() {
                    found.push(Pulse {
                        start: s,
                        end: ms(i),
                    });
                }
            }
            _ => {}
        }
    }
    assert!(start.is_none(), "the rendering ends inside a pulse");
    (found, env)
}

/// Pulses grouped into bursts: a silence longer than any spacing inside a burst
/// (the longest is the high priority's 5th–6th, at most 1.3 s) separates bursts.
fn bursts(pulses: &[Pulse]) -> Vec<Vec<Pulse>> {
    let mut out: Vec<Vec<Pulse>> = Vec::new();
    for p in pulses {
        match out.last_mut() {
            Some(b) if p.start - b.last().unwrap().end <= f64::from(iec::HIGH_5_6_MS.1) => {
                b.push(*p)
            }
            _ => out.push(vec![*p]),
        }
    }
    out
}

/// The spacings `ts` (silence from one pulse's end to the next one's start) in a burst.
fn spacings(burst: &[Pulse]) -> Vec<f64> {
    burst.windows(2).map(|w| w[1].start - w[0].end).collect()
}

/// `measured` lies inside `[lo, hi]` narrowed by `tolerance` on both sides.
fn assert_in_range(what: &str, measured: f64, (lo, hi): (f64, f64), tolerance: f64) {
    assert!(
        measured >= lo + tolerance && measured <= hi - tolerance,
        "{what}: measured {measured:.2} ms, IEC 60601-1-8 range {lo}–{hi} ms \
         (± {tolerance} ms measurement tolerance)"
    );
}

fn range((lo, hi): (u32, u32)) -> (f64, f64) {
    (f64::from(lo), f64::from(hi))
}

/// `measured` is the intended value within `tolerance`.
fn assert_near(what: &str, measured: f64, intended: f64, tolerance: f64) {
    assert!(
        (measured - intended).abs() <= tolerance,
        "{what}: measured {measured:.2} ms, intended {intended} ms (± {tolerance} ms)"
    );
}

/// The 10 % → 90 % rise time of each pulse, ms, from the envelope.
fn rise_times(env: &[f64], rate: u32, pulses: &[Pulse]) -> Vec<f64> {
    let peak = env.iter().copied().fold(0.0, f64::max);
    let index = |ms: f64| (ms * f64::from(rate) / 1000.0) as usize;
    pulses
        .iter()
        .map(|p| {
            // Search from 30 ms before the half-amplitude start to the pulse's middle.
            let from = index((p.start - 30.0).max(0.0));
            let to = index((p.start + p.end) / 2.0);
            let t10 = (from..to).find(|&i| env[i] >= 0.1 * peak).unwrap();
            let t90 = (from..to).find(|&i| env[i] >= 0.9 * peak).unwrap();
            (t90 - t10) as f64 * 1000.0 / f64::from(rate)
        })
        .collect()
}

/// The level of the component at `hz` in `samples`, relative (Hann-windowed
/// Goertzel).
fn level(samples: &[f64], rate: u32, hz: f64) -> f64 {
    let n = samples.len();
    let w = std::f64::consts::TAU * hz / f64::from(rate);
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, x) in samples.iter().enumerate() {
        let hann = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n - 1) as f64).cos();
        let s = x * hann + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt()
}

// ---------------------------------------------------------------------------------
// IEC 60601-1-8 Tables 3 and 4, measured on the WAV files.

#[test]
fn iec_60601_1_8_high_priority_burst_has_ten_pulses_5_plus_5() {
    let dir = tempfile::tempdir().unwrap();
    let p = pattern(AlarmPriority::High);
    let (samples, rate) = wav(
        dir.path(),
        AlarmPriority::High,
        f64::from(p.cycle_ms()) / 1000.0,
    );
    assert_eq!(rate, RATE);
    let (found, env) = pulses(&samples, rate, p.fundamental_hz);
    let b = bursts(&found);
    assert_eq!(b.len(), 1, "one burst in one cycle");
    let burst = &b[0];
    assert_eq!(burst.len(), 10, "10 pulses");
    assert_eq!(presentation(AlarmPriority::High).pulses, 10);

    // td: 75–200 ms, every pulse.
    for (i, pulse) in burst.iter().enumerate() {
        assert_in_range(
            &format!("pulse {} td", i + 1),
            pulse.duration(),
            range(iec::HIGH_PULSE_MS),
            SPAN_TOLERANCE_MS,
        );
        assert_near(
            "td",
            pulse.duration(),
            f64::from(p.pulse_ms),
            SPAN_TOLERANCE_MS,
        );
    }
    let td = burst.iter().map(Pulse::duration).sum::<f64>() / 10.0;

    // Spacings 1–2, 2–3, 4–5, 6–7, 7–8, 9–10 are x: 50–125 ms, varying ≤ 5 % in the burst.
    let ts = spacings(burst);
    let xs: Vec<f64> = [0, 1, 3, 5, 6, 8].iter().map(|&i| ts[i]).collect();
    for (k, x) in xs.iter().enumerate() {
        assert_in_range(
            &format!("x #{k}"),
            *x,
            range(iec::HIGH_X_MS),
            SPAN_TOLERANCE_MS,
        );
        assert_near(
            "x",
            *x,
            f64::from(sound::HIGH_SPACING_X_MS),
            SPAN_TOLERANCE_MS,
        );
    }
    let (x_min, x_max) = (
        xs.iter().copied().fold(f64::MAX, f64::min),
        xs.iter().copied().fold(0.0, f64::max),
    );
    assert!(
        x_max - x_min <= x_min * f64::from(iec::SPACING_VARIATION_PERCENT) / 100.0,
        "x varies {x_min:.2}–{x_max:.2} ms, more than 5 %"
    );
    let x = xs.iter().sum::<f64>() / xs.len() as f64;

    // 3–4 and 8–9 are 2x + td: each half sounds as 3 + 2.
    for i in [2, 7] {
        assert_near(
            &format!("spacing {}–{} (2x + td)", i + 1, i + 2),
            ts[i],
            2.0 * x + td,
            2.0 * SPAN_TOLERANCE_MS,
        );
    }
    // 5–6 splits the burst into its two halves of five: 0.35–1.30 s.
    assert_in_range(
        "spacing 5–6",
        ts[4],
        range(iec::HIGH_5_6_MS),
        SPAN_TOLERANCE_MS,
    );
    assert_near(
        "spacing 5–6",
        ts[4],
        f64::from(sound::HIGH_SPACING_5_6_MS),
        SPAN_TOLERANCE_MS,
    );
    assert!(
        ts[4] > ts[2] && ts[4] > ts[7],
        "the 5–6 gap is the burst's longest"
    );

    // Rise time 10–20 % of td (measured 10 % → 90 %).
    for rise in rise_times(&env, rate, burst) {
        let share = 100.0 * rise / td;
        let (lo, hi) = iec::RISE_PERCENT;
        let tol = 100.0 * SPAN_TOLERANCE_MS / td;
        assert!(
            share >= f64::from(lo) + tol && share <= f64::from(hi) - tol,
            "rise {rise:.2} ms = {share:.1} % of td, IEC 10–20 % (± {tol:.1} %)"
        );
    }
}

#[test]
fn iec_60601_1_8_medium_priority_burst_has_three_pulses_spaced_y() {
    let dir = tempfile::tempdir().unwrap();
    let p = pattern(AlarmPriority::Medium);
    let (samples, rate) = wav(
        dir.path(),
        AlarmPriority::Medium,
        f64::from(p.cycle_ms()) / 1000.0,
    );
    let (found, env) = pulses(&samples, rate, p.fundamental_hz);
    let b = bursts(&found);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].len(), 3, "3 pulses");
    assert_eq!(presentation(AlarmPriority::Medium).pulses, 3);
    for pulse in &b[0] {
        assert_in_range(
            "medium td",
            pulse.duration(),
            range(iec::MEDIUM_LOW_PULSE_MS),
            SPAN_TOLERANCE_MS,
        );
        assert_near(
            "td",
            pulse.duration(),
            f64::from(p.pulse_ms),
            SPAN_TOLERANCE_MS,
        );
    }
    let ys = spacings(&b[0]);
    for y in &ys {
        assert_in_range("y", *y, range(iec::MEDIUM_Y_MS), SPAN_TOLERANCE_MS);
        assert_near(
            "y",
            *y,
            f64::from(sound::MEDIUM_SPACING_Y_MS),
            SPAN_TOLERANCE_MS,
        );
    }
    assert!((ys[0] - ys[1]).abs() <= ys[0] * 0.05, "y varies ≤ 5 %");
    // Table 4's note: medium td + y ≥ high td + x.
    let td = b[0].iter().map(Pulse::duration).sum::<f64>() / 3.0;
    let high = pattern(AlarmPriority::High);
    assert!(
        td + ys[0] >= f64::from(high.pulse_ms + high.spacings_ms[0]) + SPAN_TOLERANCE_MS,
        "medium td + y {:.1} ms < high td + x",
        td + ys[0]
    );
    for rise in rise_times(&env, rate, &b[0]) {
        let share = 100.0 * rise / td;
        assert!((10.0..=20.0).contains(&share), "rise {share:.1} % of td");
    }
}

#[test]
fn iec_60601_1_8_low_priority_burst_is_one_pulse() {
    let dir = tempfile::tempdir().unwrap();
    let p = pattern(AlarmPriority::Low);
    let (samples, rate) = wav(
        dir.path(),
        AlarmPriority::Low,
        f64::from(p.cycle_ms()) / 1000.0,
    );
    let (found, _) = pulses(&samples, rate, p.fundamental_hz);
    assert_eq!(found.len(), 1, "1 pulse");
    assert_eq!(presentation(AlarmPriority::Low).pulses, 1);
    assert_in_range(
        "low td",
        found[0].duration(),
        range(iec::MEDIUM_LOW_PULSE_MS),
        SPAN_TOLERANCE_MS,
    );
}

/// Each priority rendered for two cycles and into a third: the bursts repeat with
/// the interburst interval of Table 4, every burst alike.
#[test]
fn iec_60601_1_8_bursts_repeat_after_the_interburst_interval_of_each_priority() {
    let dir = tempfile::tempdir().unwrap();
    for (priority, tb_range) in [
        (AlarmPriority::High, range(iec::HIGH_INTERBURST_MS)),
        (AlarmPriority::Medium, range(iec::MEDIUM_INTERBURST_MS)),
        // "More than 15 s" (or not repeated): no upper limit.
        (
            AlarmPriority::Low,
            (f64::from(iec::LOW_INTERBURST_MIN_MS), f64::INFINITY),
        ),
    ] {
        let p = pattern(priority);
        let seconds = f64::from(2 * p.cycle_ms() + p.burst_ms() + 100) / 1000.0;
        let (samples, rate) = wav(dir.path(), priority, seconds);
        let (found, _) = pulses(&samples, rate, p.fundamental_hz);
        let b = bursts(&found);
        assert_eq!(
            b.len(),
            3,
            "{priority:?}: three bursts in two cycles and a burst"
        );
        for burst in &b {
            assert_eq!(burst.len(), p.pulses(), "{priority:?}: every burst alike");
        }
        for pair in b.windows(2) {
            let tb = pair[1][0].start - pair[0].last().unwrap().end;
            assert_in_range(
                &format!("{priority:?} interburst interval"),
                tb,
                tb_range,
                SPAN_TOLERANCE_MS,
            );
            assert_near("tb", tb, f64::from(p.interburst_ms), SPAN_TOLERANCE_MS);
            // Whole bursts repeat at the cycle, to within one edge's tolerance.
            assert_near(
                "burst period",
                pair[1][0].start - pair[0][0].start,
                f64::from(p.cycle_ms()),
                SPAN_TOLERANCE_MS,
            );
        }
        // Never a continuous tone: silence fills the interburst interval.
        let first_end = b[0].last().unwrap().end;
        let second_start = b[1][0].start;
        let quiet = |ms: f64| samples[(ms * f64::from(rate) / 1000.0) as usize].abs();
        let mut t = first_end + 50.0;
        while t < second_start - 50.0 {
            assert_eq!(quiet(t), 0.0, "{priority:?}: silent at {t:.0} ms");
            t += 10.0;
        }
    }
}

#[test]
fn iec_60601_1_8_pulses_have_a_fundamental_and_four_harmonics_in_300_to_4000_hz() {
    let dir = tempfile::tempdir().unwrap();
    for priority in [
        AlarmPriority::High,
        AlarmPriority::Medium,
        AlarmPriority::Low,
    ] {
        let p = pattern(priority);
        let (lo, hi) = iec::FUNDAMENTAL_HZ;
        assert!((lo..=hi).contains(&p.fundamental_hz));
        let (samples, rate) = wav(dir.path(), priority, f64::from(p.burst_ms()) / 1000.0 + 0.1);
        let (found, _) = pulses(&samples, rate, p.fundamental_hz);
        // The steady middle of the first pulse.
        let pulse = found[0];
        let at = |ms: f64| (ms * f64::from(rate) / 1000.0) as usize;
        let steady = &samples[at(pulse.start + 20.0)..at(pulse.end - 20.0)];
        let fundamental = level(steady, rate, p.fundamental_hz);
        let (band_lo, band_hi) = iec::HARMONIC_BAND_HZ;
        let in_band = HARMONICS
            .iter()
            .filter(|h| h.multiple > 1)
            .map(|h| p.fundamental_hz * f64::from(h.multiple))
            .filter(|hz| (band_lo..=band_hi).contains(hz))
            .filter(|hz| {
                let db = 20.0 * (level(steady, rate, *hz) / fundamental).log10();
                // Present, and within 15 dB of the fundamental.
                db > -15.0
            })
            .count();
        assert!(
            in_band >= iec::MIN_HARMONICS,
            "{priority:?}: {in_band} harmonics in 300–4000 Hz"
        );
        // Nothing between the harmonics: the tone is what the pattern says.
        let between = level(steady, rate, p.fundamental_hz * 1.5);
        assert!(20.0 * (between / fundamental).log10() < -30.0);
    }
}

// ---------------------------------------------------------------------------------
// The synthesiser's arithmetic.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// At any sample rate from 8 to 96 kHz every pulse starts and ends (half
    /// amplitude) within one sample of where the pattern puts it, in the first cycle
    /// and ten thousand cycles later (no drift).
    #[test]
    fn any_sample_rate_gives_the_same_timing_within_one_sample(
        rate in 8_000u32..=96_000,
        which in 0usize..3,
    ) {
        let priority = [AlarmPriority::High, AlarmPriority::Medium, AlarmPriority::Low][which];
        let p = pattern(priority);
        let synth = Synth::new(p, rate);
        let sample_ms = 1000.0 / f64::from(rate);
        for cycle in [0u64, 1, 10_000] {
            let base = cycle as f64 * f64::from(p.cycle_ms());
            for onset in p.onsets_ms() {
                let start = base + p.lead_ms() + f64::from(onset);
                let end = start + f64::from(p.pulse_ms);
                for (edge, rising) in [(start, true), (end, false)] {
                    let n0 = (edge / sample_ms).floor() as u64;
                    // The crossing of 0.5 near the edge.
                    let crossing = (n0.saturating_sub(2)..n0 + 3).find(|&n| {
                        let (a, b) = (synth.envelope(n), synth.envelope(n + 1));
                        if rising { a < 0.5 && b >= 0.5 } else { a >= 0.5 && b < 0.5 }
                    });
                    let n = crossing.expect("an edge near its place");
                    let t = (n + 1) as f64 * sample_ms;
                    // One sample, plus the rounding of f64 milliseconds ten thousand
                    // cycles in (about 1e-8 ms at 5.6e7 ms; 1e-6 ms allowed).
                    prop_assert!(
                        (t - edge).abs() <= sample_ms + 1e-6,
                        "{priority:?} at {rate} Hz: edge at {t} ms, intended {edge} ms"
                    );
                }
            }
        }
    }

    /// The stream's callback fills buffers of whatever size the driver asks for: the
    /// samples are the same as one rendering in one go.
    #[test]
    fn buffers_of_any_size_give_the_same_samples(
        sizes in proptest::collection::vec(1usize..4_000, 1..40),
    ) {
        let p = pattern(AlarmPriority::High);
        let total: usize = sizes.iter().sum();
        let whole = sound::render(AlarmPriority::High, 44_100, total as f64 / 44_100.0);
        let mut synth = Synth::new(p, 44_100);
        let mut pieces = Vec::new();
        for n in sizes {
            let mut buf = vec![0.0; n];
            synth.fill(&mut buf);
            pieces.extend(buf);
        }
        prop_assert_eq!(pieces, whole);
    }

    /// Never louder than the synthesiser's peak level, never a continuous tone: the
    /// envelope is zero through every interburst interval.
    #[test]
    fn samples_stay_below_the_peak_level_and_bursts_are_separated_by_silence(
        rate in 8_000u32..=96_000,
        which in 0usize..3,
    ) {
        let priority = [AlarmPriority::High, AlarmPriority::Medium, AlarmPriority::Low][which];
        let p = pattern(priority);
        let synth = Synth::new(p, rate);
        let to_n = |ms: f64| (ms * f64::from(rate) / 1000.0) as u64;
        let lead = p.lead_ms();
        let quiet_from = to_n(lead + f64::from(p.burst_ms()) + f64::from(p.ramp_ms));
        let quiet_to = to_n(f64::from(p.cycle_ms()));
        for n in (quiet_from..quiet_to).step_by(97) {
            prop_assert_eq!(synth.envelope(n), 0.0);
        }
        for n in (0..to_n(f64::from(p.burst_ms()))).step_by(7) {
            prop_assert!(f64::from(synth.sample(n).abs()) <= sound::PEAK_LEVEL + 1e-6);
        }
    }
}

// ---------------------------------------------------------------------------------
// The exam engine decides what sounds.

/// A sound output for the engine tests: records every request, reports a status
/// the test sets. Stands in for the device only; the real output is tested below.
#[derive(Clone, Default)]
struct RecordingSink {
    requests: Arc<Mutex<Vec<Option<AlarmPriority>>>>,
    status: Arc<Mutex<SoundStatus>>,
}

impl RecordingSink {
    fn ready() -> RecordingSink {
        let s = RecordingSink::default();
        *s.status.lock().unwrap() = SoundStatus::Ready {
            device: "test".into(),
        };
        s
    }

    /// What the engine asked for last.
    fn last(&self) -> Option<AlarmPriority> {
        *self
            .requests
            .lock()
            .unwrap()
            .last()
            .expect("asked at least once")
    }
}

impl SoundSink for RecordingSink {
    fn play(&mut self, priority: Option<AlarmPriority>) {
        self.requests.lock().unwrap().push(priority);
    }
    fn status(&self) -> SoundStatus {
        self.status.lock().unwrap().clone()
    }
}

fn reading(measure: Measure, value: f64) -> LinkEvent {
    let unit = match measure {
        Measure::Spo2 => Unit::Percent,
        Measure::Hr | Measure::PulseRate => Unit::PerMinute,
        _ => Unit::MmHg,
    };
    LinkEvent::Reading(ReceivedReading {
        reading: Reading::checked(measure, value, unit, None).unwrap(),
        received_at: chrono::Utc::now(),
        received_instant: tokio::time::Instant::now(),
    })
}

/// An engine with a recorder on a fresh database and `sink` as its sound output,
/// running adenosine for a 70 kg patient; the infusion's start.
struct Running {
    engine: Engine,
    started: Instant,
    _dir: tempfile::TempDir,
}

fn adenosine_with(sink: RecordingSink) -> Running {
    adenosine_at_site(sink, SiteFacts::default())
}

/// [`adenosine_with`] at a site configured with `site`.
fn adenosine_at_site(sink: RecordingSink, site: SiteFacts) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let (rec, rx) = recorder_support::start(&recorder_support::db(
        &dir.path().join("kiosk.db"),
        "sound-test",
    ));
    assert!(recorder_support::opened(&rx).is_none());
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachRecorder(Arc::new(rec))).unwrap();
    engine.call(Command::AttachSound(Box::new(sink))).unwrap();
    engine.call(Command::Configure(Box::new(site))).unwrap();
    let started = start_adenosine(&engine);
    Running {
        engine,
        started,
        _dir: dir,
    }
}

/// Opens an exam on `engine` (its recorder attached) for a 70 kg patient with a
/// resting baseline and starts adenosine; the infusion's start.
fn start_adenosine(engine: &Engine) -> Instant {
    engine
        .call(Command::Open {
            settings: ProtocolSettings::default(),
            actor: "nurse".into(),
            record: serde_json::json!({}),
        })
        .unwrap();
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: Some(170.0),
        sex: Sex::Male,
        age_years: 66,
        egfr: Some(80.0),
        egfr_date: None,
    };
    engine
        .handle(ExamEvent::PatientRegistered { patient }, "nurse")
        .unwrap();
    for (m, v) in [
        (Measure::Hr, 70.0),
        (Measure::NibpSys, 124.0),
        (Measure::NibpDia, 76.0),
    ] {
        engine.sender().reading(reading(m, v));
    }
    engine.sync();
    engine
        .handle(
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: Some(StressDose::UgKgMin(140.0)),
                authority: Default::default(),
            },
            "tech",
        )
        .unwrap();
    engine
        .read()
        .session()
        .unwrap()
        .exam()
        .stress()
        .current()
        .unwrap()
        .started_at
}

/// SBP 85 mmHg during the infusion: below the 90 floor (SBP low, high priority), above
/// the 80 stop limit (no second alarm).
fn sbp_low(engine: &Engine) {
    engine.sender().reading(reading(Measure::NibpSys, 85.0));
    engine.sync();
    assert!(
        engine
            .read()
            .board()
            .alarms()
            .iter()
            .any(|a| a.code == AlarmCode::SbpLow)
    );
}

fn now(engine: &Engine) -> Instant {
    engine.read().session().unwrap().now()
}

fn at(engine: &Engine, t: Instant) {
    engine.call(Command::ResumeAt(t)).unwrap();
}

#[test]
fn no_alarm_is_silence_and_a_raised_alarm_requests_the_high_priority_pattern() {
    let sink = RecordingSink::ready();
    let r = adenosine_with(sink.clone());
    assert_eq!(sink.last(), None, "silent with no alarm");
    assert_eq!(r.engine.read().sounding(), None);
    sbp_low(&r.engine);
    assert_eq!(sink.last(), Some(AlarmPriority::High));
    assert_eq!(r.engine.read().sounding(), Some(AlarmPriority::High));
    // Asked once per change, not on every wake.
    std::thread::sleep(Duration::from_millis(600));
    let highs = sink
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|p| **p == Some(AlarmPriority::High))
        .count();
    assert_eq!(highs, 1);
}

#[test]
fn audio_pause_stops_the_sound_and_it_resumes_when_the_pause_ends() {
    let sink = RecordingSink::ready();
    let r = adenosine_with(sink.clone());
    sbp_low(&r.engine);
    let before = now(&r.engine);
    r.engine.call(Command::PauseAudio).unwrap();
    let after = now(&r.engine);
    assert_eq!(sink.last(), None, "paused: silent");
    // The engine stamps the pause with its own clock, which moves on between our reads.
    let until = r
        .engine
        .read()
        .board()
        .audio_paused_until(after)
        .expect("the pause is running");
    let pause = cmr_kiosk::engine::alarm_board::DEFAULT_AUDIO_PAUSE;
    assert!(
        until >= before + pause && until <= after + pause,
        "the pause lasts the default two minutes from the tap"
    );
    let paused_at = after;
    at(
        &r.engine,
        paused_at + cmr_kiosk::domain::Duration::from_secs(119),
    );
    r.engine.sync();
    assert_eq!(sink.last(), None, "still paused at 119 s");
    at(
        &r.engine,
        paused_at + cmr_kiosk::domain::Duration::from_secs(121),
    );
    r.engine.sync();
    assert_eq!(
        sink.last(),
        Some(AlarmPriority::High),
        "the alarm sounds again when the pause ends"
    );
}

#[test]
fn audio_pause_lasts_the_sites_configured_time() {
    let sink = RecordingSink::ready();
    let r = adenosine_at_site(
        sink.clone(),
        SiteFacts {
            audio_pause: Some(cmr_kiosk::domain::Duration::from_secs(30)),
            ..SiteFacts::default()
        },
    );
    sbp_low(&r.engine);
    let paused_at = now(&r.engine);
    r.engine.call(Command::PauseAudio).unwrap();
    assert_eq!(sink.last(), None);
    at(
        &r.engine,
        paused_at + cmr_kiosk::domain::Duration::from_secs(29),
    );
    r.engine.sync();
    assert_eq!(sink.last(), None, "still paused at 29 s");
    at(
        &r.engine,
        paused_at + cmr_kiosk::domain::Duration::from_secs(31),
    );
    r.engine.sync();
    assert_eq!(sink.last(), Some(AlarmPriority::High), "sounding at 31 s");
}

#[test]
fn a_higher_priority_alarm_sounds_through_an_audio_pause() {
    let sink = RecordingSink::ready();
    let r = adenosine_with(sink.clone());
    // The infusion runs past its limit (default 480 s): a medium-priority alarm.
    at(
        &r.engine,
        r.started + cmr_kiosk::domain::Duration::from_secs(490),
    );
    r.engine.sync();
    assert!(
        r.engine
            .read()
            .board()
            .alarms()
            .iter()
            .any(|a| a.code == AlarmCode::InfusionOverdue)
    );
    assert_eq!(sink.last(), Some(AlarmPriority::Medium));
    r.engine.call(Command::PauseAudio).unwrap();
    assert_eq!(sink.last(), None, "the medium alarm is paused");
    // SBP falls during the pause: high priority sounds through it.
    sbp_low(&r.engine);
    assert_eq!(sink.last(), Some(AlarmPriority::High));
    assert_eq!(r.engine.read().sounding(), Some(AlarmPriority::High));
}

#[test]
fn acknowledging_the_sounding_alarm_stops_the_sound() {
    let sink = RecordingSink::ready();
    let r = adenosine_with(sink.clone());
    sbp_low(&r.engine);
    assert_eq!(sink.last(), Some(AlarmPriority::High));
    r.engine
        .call(Command::Acknowledge {
            code: AlarmCode::SbpLow,
            actor: "tech".into(),
        })
        .unwrap();
    assert_eq!(sink.last(), None);
    assert_eq!(r.engine.read().sounding(), None);
}

#[test]
fn closing_the_exam_stops_the_sound() {
    let sink = RecordingSink::ready();
    let r = adenosine_with(sink.clone());
    sbp_low(&r.engine);
    r.engine
        .call(Command::Close {
            actor: "tech".into(),
        })
        .unwrap();
    assert_eq!(sink.last(), None);
}

#[test]
fn an_engine_without_a_sound_output_reports_no_technical_alarm() {
    let engine = Engine::start().unwrap();
    engine.sync();
    assert_eq!(*engine.read().sound(), SoundStatus::Off);
    engine
        .call(Command::AttachSound(Box::new(NoSound)))
        .unwrap();
    assert_eq!(engine.read().sound().fault(), None);
}

/// The console of a kiosk whose engine has `sink` as its sound output: the
/// technical alarm's text as drawn.
fn console_audio_alarm(sink: Box<dyn SoundSink>) -> (String, String) {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("kiosk.db").display());
    config.database.device_id = "sound-console".into();
    let loc = std::rc::Rc::new(Localizer::embedded().unwrap());
    let mut shell = Shell::new(config, loc.clone()).unwrap();
    shell.engine().call(Command::AttachSound(sink)).unwrap();
    // The engine publishes the output's health on its next wake (a real output may
    // still be opening).
    let until = std::time::Instant::now() + SPEAKER_OPEN_TIMEOUT + Duration::from_secs(2);
    while shell.engine().read().sound().fault().is_none() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    shell.start_console();
    shell.console_tick();
    let fault = shell.engine().read().sound().fault().cloned();
    let fault = fault.expect("the engine publishes the fault");
    let mut args = fluent::FluentArgs::new();
    args.set("detail", fault.detail().to_string());
    let words = loc.tr_args(cmr_kiosk::config::Language::ZhCn, fault.key(), &args);
    let shown = shell
        .app()
        .global::<ConsoleAdapter>()
        .get_audio_alarm()
        .to_string();
    (shown, words)
}

#[test]
fn a_missing_audio_device_is_a_technical_alarm_on_the_console() {
    let sink = RecordingSink::default();
    *sink.status.lock().unwrap() = SoundStatus::Unavailable(SoundFault::NoDevice);
    let (shown, words) = console_audio_alarm(Box::new(sink));
    assert!(
        words.contains("未找到音频输出设备"),
        "the Chinese words: {words}"
    );
    assert!(shown.contains(&words), "the console shows {shown:?}");
    assert!(shown.starts_with("**"), "marked as a medium-priority alarm");
}

/// The real output on this machine (CI has no sound card): it opens within its
/// timeout without panicking and either plays or says why not; the engine then
/// publishes the same status, and an unavailable output is the console's
/// technical alarm.
#[test]
fn the_real_audio_output_plays_or_reports_unavailable_with_a_reason() {
    let mut speaker = Speaker::open();
    let status = speaker.wait_open(SPEAKER_OPEN_TIMEOUT + Duration::from_secs(1));
    match &status {
        SoundStatus::Ready { device } => {
            assert!(!device.is_empty());
            // It takes requests without blocking.
            let t = std::time::Instant::now();
            speaker.play(Some(AlarmPriority::High));
            speaker.play(None);
            assert!(t.elapsed() < Duration::from_millis(50));
        }
        SoundStatus::Unavailable(fault) => {
            assert!(!fault.to_string().is_empty());
            if let SoundFault::Open(d) | SoundFault::Stream(d) = fault {
                assert!(!d.is_empty(), "the driver's reason is kept");
            }
            // Asking an unavailable output to play is harmless.
            speaker.play(Some(AlarmPriority::High));
        }
        other => panic!("the audio output neither opened nor failed: {other:?}"),
    }
    let engine = Engine::start().unwrap();
    engine
        .call(Command::AttachSound(Box::new(speaker)))
        .unwrap();
    assert_eq!(*engine.read().sound(), status);
    drop(engine);

    if status.fault().is_some() {
        let (shown, words) = console_audio_alarm(Box::new(Speaker::open()));
        assert!(!words.is_empty() && shown.contains(&words), "{shown:?}");
    }
}

/// The console's "pause audio" button: the engine silences the alarm, and the button
/// shows the pause's remaining time as mm:ss, counted down from the pause's fixed end.
#[test]
fn the_console_shows_the_audio_pause_remaining_as_mm_ss() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("kiosk.db").display());
    config.database.device_id = "sound-pause".into();
    let loc = std::rc::Rc::new(Localizer::embedded().unwrap());
    let mut shell = Shell::new(config, loc.clone()).unwrap();
    shell.start_recorder().unwrap();
    let sink = RecordingSink::ready();
    shell
        .engine()
        .call(Command::AttachSound(Box::new(sink.clone())))
        .unwrap();
    shell.start_console();
    let engine = shell.engine().clone();
    start_adenosine(&engine);
    sbp_low(&engine);
    assert_eq!(sink.last(), Some(AlarmPriority::High));
    shell.console_tick();
    let a = shell.app().global::<ConsoleAdapter>();
    assert_eq!(a.get_audio_paused(), "", "not paused yet");
    let paused_at = now(&engine);
    a.invoke_pause_audio();
    engine.sync();
    assert_eq!(sink.last(), None, "the engine silenced the alarm");
    let left = |mm_ss: &str| {
        let mut args = fluent::FluentArgs::new();
        args.set("left", mm_ss.to_string());
        loc.tr_args(
            cmr_kiosk::config::Language::ZhCn,
            "console-audio-paused",
            &args,
        )
    };
    at(
        &engine,
        paused_at + cmr_kiosk::domain::Duration::from_secs(45),
    );
    shell.console_tick();
    assert_eq!(a.get_audio_paused().as_str(), left("01:15"));
    at(
        &engine,
        paused_at + cmr_kiosk::domain::Duration::from_millis(119_500),
    );
    shell.console_tick();
    assert_eq!(a.get_audio_paused().as_str(), left("00:01"), "rounded up");
    at(
        &engine,
        paused_at + cmr_kiosk::domain::Duration::from_secs(121),
    );
    engine.sync();
    shell.console_tick();
    assert_eq!(a.get_audio_paused(), "", "the pause is over");
    assert_eq!(sink.last(), Some(AlarmPriority::High));
}
