//! The auditory alarm signals of IEC 60601-1-8 (Table 3, pulse characteristics, and
//! Table 4, burst characteristics): which pulses each alarm priority sounds, how long
//! and how far apart, and a synthesiser that turns a pattern into PCM samples.
//!
//! Pure: no device, no file, no clock. Time is the sample index at a given sample
//! rate, and every edge is placed with integer arithmetic on milliseconds, so the
//! same pattern has the same timing (within one sample) at any sample rate and a
//! burst never drifts however long it repeats. The kiosk's audio output
//! ([`crate::engine::speaker`]) plays it; `cmr-kiosk alarm-sound` writes it to a WAV
//! file; the tests render it and measure it against the standard's table.
//!
//! # How the timing is measured
//!
//! The standard's figure of a pulse names an effective pulse duration `td`, a rise
//! time `tr` (10 % to 90 % of the pulse's amplitude), a fall time `tf` and the pulse
//! spacing `ts` (the silence from the end of one pulse to the start of the next;
//! hence the "2x + td" spacing of a high-priority burst is exactly one missing pulse).
//! This module places every pulse's start and end at **half amplitude**: the envelope
//! rises linearly over [`Pattern::ramp_ms`] centred on the start and falls the same
//! way centred on the end, so `td` and `ts` are exact at 50 % and the 10 %–90 % rise
//! and fall times are `0.8 × ramp`. The constants are chosen so that the values stay
//! inside the standard's ranges measured at 10 % as well.
//!
//! Never a continuous tone: every pattern is pulses with silence between them and a
//! silent interburst interval.

use crate::domain::output::AlarmPriority;

/// One component of a pulse's tone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Harmonic {
    /// Its frequency as a multiple of the fundamental (1 = the fundamental).
    pub multiple: u32,
    /// Its amplitude relative to the fundamental's.
    pub amplitude: f64,
}

/// The tone of every pulse: the fundamental and four harmonics, each within 15 dB of
/// the fundamental (IEC 60601-1-8 Table 3: "a minimum of 4 harmonic components in the
/// range 300 Hz to 4 000 Hz"; with a fundamental of at most 800 Hz the 2nd to 5th
/// harmonics lie in that range, so there are four besides the fundamental itself).
pub const HARMONICS: [Harmonic; 5] = [
    Harmonic {
        multiple: 1,
        amplitude: 1.0,
    },
    Harmonic {
        multiple: 2,
        amplitude: 0.6,
    },
    Harmonic {
        multiple: 3,
        amplitude: 0.45,
    },
    Harmonic {
        multiple: 4,
        amplitude: 0.35,
    },
    Harmonic {
        multiple: 5,
        amplitude: 0.3,
    },
];

/// The loudest sample the synthesiser writes (full scale is 1.0): headroom for the
/// output's own conversion.
pub const PEAK_LEVEL: f64 = 0.8;

/// High priority: effective pulse duration `td` (IEC 60601-1-8 Table 3: 75–200 ms).
pub const HIGH_PULSE_MS: u32 = 100;
/// High priority: pulse spacing `x` (Table 4: 50–125 ms).
pub const HIGH_SPACING_X_MS: u32 = 80;
/// High priority: the spacing between the 5th and 6th pulse, which splits the burst
/// into its two halves (Table 4: 0.35–1.30 s).
pub const HIGH_SPACING_5_6_MS: u32 = 600;
/// High priority: the spacing `2x + td` between the 3rd and 4th and between the 8th
/// and 9th pulse (Table 4), so each half sounds as 3 + 2.
pub const HIGH_SPACING_REST_MS: u32 = 2 * HIGH_SPACING_X_MS + HIGH_PULSE_MS;
/// High priority: interburst interval `tb`, from the end of a burst's last pulse to
/// the start of the next burst (Table 4: 2.5–15.0 s).
pub const HIGH_INTERBURST_MS: u32 = 3_000;
/// High priority: the envelope's ramp; rise and fall time (10 %–90 %) are 0.8 of it,
/// 16 ms = 16 % of `td` (Table 3: 10–20 % of `td`).
pub const HIGH_RAMP_MS: u32 = 20;
/// High priority: fundamental frequency (Table 3: 150–1 000 Hz).
pub const HIGH_FUNDAMENTAL_HZ: f64 = 660.0;

/// Medium priority: effective pulse duration `td` (Table 3: 125–250 ms).
pub const MEDIUM_PULSE_MS: u32 = 200;
/// Medium priority: pulse spacing `y` (Table 4: 125–250 ms). With the high-priority
/// values, medium `td + y` (400 ms) ≥ high `td + x` (180 ms), as Table 4's note asks:
/// a medium-priority burst is never the more urgent-sounding one.
pub const MEDIUM_SPACING_Y_MS: u32 = 200;
/// Medium priority: interburst interval `tb` (Table 4: 2.5–30.0 s).
pub const MEDIUM_INTERBURST_MS: u32 = 6_000;
/// Medium priority: the envelope's ramp; rise and fall time 32 ms = 16 % of `td`.
pub const MEDIUM_RAMP_MS: u32 = 40;
/// Medium priority: fundamental frequency (Table 3: 150–1 000 Hz).
pub const MEDIUM_FUNDAMENTAL_HZ: f64 = 520.0;

/// Low priority: effective pulse duration `td` (Table 3: 125–250 ms). One pulse per
/// burst (Table 4: 1 or 2).
pub const LOW_PULSE_MS: u32 = 200;
/// Low priority: interburst interval `tb` (Table 4: more than 15 s, or not repeated).
pub const LOW_INTERBURST_MS: u32 = 20_000;
/// Low priority: the envelope's ramp; rise and fall time 32 ms = 16 % of `td`.
pub const LOW_RAMP_MS: u32 = 40;
/// Low priority: fundamental frequency (Table 3: 150–1 000 Hz).
pub const LOW_FUNDAMENTAL_HZ: f64 = 440.0;

/// The ranges of IEC 60601-1-8 Tables 3 and 4 that a pattern is checked against (the
/// tests measure rendered sound against these, not against the constants above).
pub mod iec {
    /// High priority `td`, ms.
    pub const HIGH_PULSE_MS: (u32, u32) = (75, 200);
    /// Medium and low priority `td`, ms.
    pub const MEDIUM_LOW_PULSE_MS: (u32, u32) = (125, 250);
    /// High priority spacing `x`, ms.
    pub const HIGH_X_MS: (u32, u32) = (50, 125);
    /// Medium (and two-pulse low) priority spacing `y`, ms.
    pub const MEDIUM_Y_MS: (u32, u32) = (125, 250);
    /// High priority spacing between the 5th and 6th pulse, ms.
    pub const HIGH_5_6_MS: (u32, u32) = (350, 1_300);
    /// High priority interburst interval, ms.
    pub const HIGH_INTERBURST_MS: (u32, u32) = (2_500, 15_000);
    /// Medium priority interburst interval, ms.
    pub const MEDIUM_INTERBURST_MS: (u32, u32) = (2_500, 30_000);
    /// Low priority interburst interval: more than this, ms (or not repeated).
    pub const LOW_INTERBURST_MIN_MS: u32 = 15_000;
    /// Rise time as a share of `td`, percent.
    pub const RISE_PERCENT: (u32, u32) = (10, 20);
    /// The fundamental, Hz.
    pub const FUNDAMENTAL_HZ: (f64, f64) = (150.0, 1_000.0);
    /// Where the harmonic components must lie, Hz.
    pub const HARMONIC_BAND_HZ: (f64, f64) = (300.0, 4_000.0);
    /// At least this many harmonic components in that band.
    pub const MIN_HARMONICS: usize = 4;
    /// Variation of `x` and `y` within one burst, percent at most.
    pub const SPACING_VARIATION_PERCENT: u32 = 5;
}

/// How one alarm priority sounds: a burst of pulses, repeated after a silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Whose pattern.
    pub priority: AlarmPriority,
    /// The tone's fundamental, Hz.
    pub fundamental_hz: f64,
    /// The tone's components.
    pub harmonics: &'static [Harmonic],
    /// Effective pulse duration `td`, ms (at half amplitude).
    pub pulse_ms: u32,
    /// The envelope's linear ramp, ms: centred on each pulse's start and end.
    pub ramp_ms: u32,
    /// Pulse spacing `ts` between consecutive pulses, ms (one fewer than pulses).
    pub spacings_ms: &'static [u32],
    /// Interburst interval `tb`, ms: from the end of the last pulse to the start of
    /// the next burst.
    pub interburst_ms: u32,
}

const HIGH_SPACINGS: [u32; 9] = [
    HIGH_SPACING_X_MS,
    HIGH_SPACING_X_MS,
    HIGH_SPACING_REST_MS,
    HIGH_SPACING_X_MS,
    HIGH_SPACING_5_6_MS,
    HIGH_SPACING_X_MS,
    HIGH_SPACING_X_MS,
    HIGH_SPACING_REST_MS,
    HIGH_SPACING_X_MS,
];

const MEDIUM_SPACINGS: [u32; 2] = [MEDIUM_SPACING_Y_MS, MEDIUM_SPACING_Y_MS];

/// High priority: 10 pulses, two halves of 3 + 2 (IEC 60601-1-8 Table 4).
pub static HIGH: Pattern = Pattern {
    priority: AlarmPriority::High,
    fundamental_hz: HIGH_FUNDAMENTAL_HZ,
    harmonics: &HARMONICS,
    pulse_ms: HIGH_PULSE_MS,
    ramp_ms: HIGH_RAMP_MS,
    spacings_ms: &HIGH_SPACINGS,
    interburst_ms: HIGH_INTERBURST_MS,
};

/// Medium priority: 3 pulses (IEC 60601-1-8 Table 4).
pub static MEDIUM: Pattern = Pattern {
    priority: AlarmPriority::Medium,
    fundamental_hz: MEDIUM_FUNDAMENTAL_HZ,
    harmonics: &HARMONICS,
    pulse_ms: MEDIUM_PULSE_MS,
    ramp_ms: MEDIUM_RAMP_MS,
    spacings_ms: &MEDIUM_SPACINGS,
    interburst_ms: MEDIUM_INTERBURST_MS,
};

/// Low priority: 1 pulse, repeated after more than 15 s (IEC 60601-1-8 Table 4).
pub static LOW: Pattern = Pattern {
    priority: AlarmPriority::Low,
    fundamental_hz: LOW_FUNDAMENTAL_HZ,
    harmonics: &HARMONICS,
    pulse_ms: LOW_PULSE_MS,
    ramp_ms: LOW_RAMP_MS,
    spacings_ms: &[],
    interburst_ms: LOW_INTERBURST_MS,
};

/// The pattern of a priority.
pub fn pattern(priority: AlarmPriority) -> &'static Pattern {
    match priority {
        AlarmPriority::High => &HIGH,
        AlarmPriority::Medium => &MEDIUM,
        AlarmPriority::Low => &LOW,
    }
}

impl Pattern {
    /// Pulses in one burst.
    pub fn pulses(&self) -> usize {
        self.spacings_ms.len() + 1
    }

    /// Each pulse's start (half amplitude) from the burst's start, ms.
    pub fn onsets_ms(&self) -> Vec<u32> {
        let mut at = 0;
        let mut onsets = vec![0];
        for s in self.spacings_ms {
            at += self.pulse_ms + s;
            onsets.push(at);
        }
        onsets
    }

    /// From the first pulse's start to the last pulse's end, ms.
    pub fn burst_ms(&self) -> u32 {
        self.onsets_ms().last().copied().unwrap_or(0) + self.pulse_ms
    }

    /// One burst and its interburst interval: the period of the repeated sound, ms.
    pub fn cycle_ms(&self) -> u32 {
        self.burst_ms() + self.interburst_ms
    }

    /// Rise (and fall) time from 10 % to 90 % of the amplitude, ms.
    pub fn rise_ms(&self) -> f64 {
        0.8 * f64::from(self.ramp_ms)
    }

    /// Where the burst's first pulse starts (half amplitude) in each cycle, ms: half a
    /// ramp in, so the first rise begins at the cycle's first sample.
    pub fn lead_ms(&self) -> f64 {
        f64::from(self.ramp_ms) / 2.0
    }

    /// The envelope (0 silent … 1 full) at `t_ms` into a cycle.
    pub fn envelope_at_ms(&self, t_ms: f64) -> f64 {
        let ramp = f64::from(self.ramp_ms);
        let td = f64::from(self.pulse_ms);
        let lead = self.lead_ms();
        let mut at = 0.0;
        for (i, s) in std::iter::once(&0).chain(self.spacings_ms).enumerate() {
            if i > 0 {
                at += td + f64::from(*s);
            }
            let start = lead + at;
            let end = start + td;
            if t_ms < start - ramp / 2.0 {
                break;
            }
            if t_ms <= end + ramp / 2.0 {
                let rise = (t_ms - (start - ramp / 2.0)) / ramp;
                let fall = ((end + ramp / 2.0) - t_ms) / ramp;
                return rise.min(fall).clamp(0.0, 1.0);
            }
        }
        0.0
    }

    /// The tone (without envelope) at `t_s` seconds, scaled so that the sum of all
    /// components never exceeds [`PEAK_LEVEL`].
    pub fn tone_at(&self, t_s: f64) -> f64 {
        let total: f64 = self.harmonics.iter().map(|h| h.amplitude).sum();
        let w = std::f64::consts::TAU * self.fundamental_hz * t_s;
        let sum: f64 = self
            .harmonics
            .iter()
            .map(|h| h.amplitude * (w * f64::from(h.multiple)).sin())
            .sum();
        PEAK_LEVEL * sum / total
    }
}

/// Plays a pattern over and over at a sample rate: sample `n` lies `n / rate` seconds
/// after the first burst's cycle began. Deterministic: the same pattern, rate and
/// sample index give the same sample.
#[derive(Debug, Clone)]
pub struct Synth {
    pattern: &'static Pattern,
    sample_rate: u32,
    next: u64,
}

impl Synth {
    /// A synthesiser at the start of `pattern`'s first burst. `sample_rate` is in Hz
    /// (at least 1).
    pub fn new(pattern: &'static Pattern, sample_rate: u32) -> Synth {
        Synth {
            pattern,
            sample_rate: sample_rate.max(1),
            next: 0,
        }
    }

    /// The pattern it plays.
    pub fn pattern(&self) -> &'static Pattern {
        self.pattern
    }

    /// Its sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Where in its cycle sample `n` lies, ms. Integer arithmetic first (the cycle
    /// index), so there is no drift however many cycles have passed.
    pub fn cycle_position_ms(&self, n: u64) -> f64 {
        let rate = u128::from(self.sample_rate);
        let cycle = u128::from(self.pattern.cycle_ms());
        // n / rate s = n * 1000 / rate ms; whole cycles are (n * 1000) / (cycle * rate).
        let scaled = u128::from(n) * 1000;
        let whole = scaled / (cycle * rate);
        let rest = scaled - whole * cycle * rate;
        rest as f64 / rate as f64
    }

    /// The envelope (0 … 1) at sample `n`.
    pub fn envelope(&self, n: u64) -> f64 {
        self.pattern.envelope_at_ms(self.cycle_position_ms(n))
    }

    /// Sample `n` (−1 … 1).
    pub fn sample(&self, n: u64) -> f32 {
        let env = self.envelope(n);
        if env == 0.0 {
            return 0.0;
        }
        let t_s = self.cycle_position_ms(n) / 1000.0;
        (env * self.pattern.tone_at(t_s)) as f32
    }

    /// Fills `out` with the next samples, one channel.
    pub fn fill(&mut self, out: &mut [f32]) {
        for s in out.iter_mut() {
            *s = self.sample(self.next);
            self.next += 1;
        }
    }

    /// Fills `out`, interleaved with `channels` channels, each carrying the same
    /// sample (the next `out.len() / channels` samples).
    pub fn fill_interleaved(&mut self, out: &mut [f32], channels: usize) {
        let channels = channels.max(1);
        for frame in out.chunks_mut(channels) {
            let s = self.sample(self.next);
            self.next += 1;
            frame.fill(s);
        }
    }
}

/// `seconds` of `priority`'s pattern from the start of a burst, at `sample_rate` Hz,
/// one channel.
pub fn render(priority: AlarmPriority, sample_rate: u32, seconds: f64) -> Vec<f32> {
    let mut synth = Synth::new(pattern(priority), sample_rate);
    let n = (seconds.max(0.0) * f64::from(synth.sample_rate())).round() as usize;
    let mut out = vec![0.0; n];
    synth.fill(&mut out);
    out
}
