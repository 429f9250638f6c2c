//! Readings: one measured vital sign value as it came off the wire, and the
//! plausibility limits that keep impossible values out of the domain.
//!
//! This module owns no I/O and no UI concern: a [`Reading`] is a measure, a value,
//! a unit and the monitor's own observation time.

use std::fmt;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// A vital sign the kiosk reads from a patient monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Heart rate from the ECG (MDC_ECG_HEART_RATE, 147842).
    Hr,
    /// Non-invasive blood pressure, systolic (MDC_PRESS_BLD_NONINV_SYS, 150021).
    NibpSys,
    /// Non-invasive blood pressure, diastolic (MDC_PRESS_BLD_NONINV_DIA, 150022).
    NibpDia,
    /// Non-invasive blood pressure, mean (MDC_PRESS_BLD_NONINV_MEAN, 150023).
    NibpMean,
    /// Oxygen saturation from the pulse oximeter (MDC_PULS_OXIM_SAT_O2, 150456).
    Spo2,
    /// Pulse rate from the oximeter or the NIBP cuff (149530 / 149546).
    PulseRate,
}

impl Measure {
    /// Every measure, in a fixed order.
    pub const ALL: [Measure; 6] = [
        Measure::Hr,
        Measure::NibpSys,
        Measure::NibpDia,
        Measure::NibpMean,
        Measure::Spo2,
        Measure::PulseRate,
    ];

    /// Stable lower-case name used in logs, JSON and configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Hr => "hr",
            Measure::NibpSys => "nibp_sys",
            Measure::NibpDia => "nibp_dia",
            Measure::NibpMean => "nibp_mean",
            Measure::Spo2 => "spo2",
            Measure::PulseRate => "pulse_rate",
        }
    }

    /// Parses the name produced by [`Measure::name`].
    pub fn from_name(name: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The unit every reading of this measure is normalised to.
    pub fn canonical_unit(self) -> Unit {
        match self {
            Measure::Hr | Measure::PulseRate => Unit::PerMinute,
            Measure::NibpSys | Measure::NibpDia | Measure::NibpMean => Unit::MmHg,
            Measure::Spo2 => Unit::Percent,
        }
    }

    /// Whether this measure is a blood-pressure spot measurement (NIBP), whose age
    /// the kiosk shows because it updates only every 1–5 minutes.
    pub fn is_nibp(self) -> bool {
        matches!(
            self,
            Measure::NibpSys | Measure::NibpDia | Measure::NibpMean
        )
    }

    /// The plausibility range `(min, max)` in the canonical unit.
    pub fn plausible_range(self) -> (f64, f64) {
        match self {
            Measure::Hr | Measure::PulseRate => {
                (limits::RATE_MIN_PER_MIN, limits::RATE_MAX_PER_MIN)
            }
            Measure::NibpSys => (limits::SYS_MIN_MMHG, limits::SYS_MAX_MMHG),
            Measure::NibpDia => (limits::DIA_MIN_MMHG, limits::DIA_MAX_MMHG),
            Measure::NibpMean => (limits::MEAN_MIN_MMHG, limits::MEAN_MAX_MMHG),
            Measure::Spo2 => (limits::SPO2_MIN_PERCENT, limits::SPO2_MAX_PERCENT),
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Unit of a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// Beats per minute (MDC_DIM_BEAT_PER_MIN 264864, UCUM `/min`).
    #[serde(rename = "/min")]
    PerMinute,
    /// Millimetres of mercury (MDC_DIM_MMHG 266016, UCUM `mm[Hg]`).
    #[serde(rename = "mm[Hg]")]
    MmHg,
    /// Percent (MDC_DIM_PERCENT 262688, UCUM `%`).
    #[serde(rename = "%")]
    Percent,
}

impl Unit {
    /// The UCUM code of this unit.
    pub fn ucum(self) -> &'static str {
        match self {
            Unit::PerMinute => "/min",
            Unit::MmHg => "mm[Hg]",
            Unit::Percent => "%",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ucum())
    }
}

/// Plausibility limits, in canonical units: they keep out *garbage*, never a
/// patient's extreme.
///
/// A heart rate of 0 is asystole, an SpO₂ of 40 % or a systolic pressure of 30 mmHg
/// is a dying patient: those are readings, and the domain raises the alarm they
/// call for. Refused are only values no monitor can measure: negative numbers,
/// NaN and infinities (checked first), and values above the top of the widest
/// measurement ranges monitors publish, with margin. Sources: the operating
/// manuals' specifications of common patient monitors give heart-rate ranges up to
/// 300 /min (adult) and 350 /min (neonatal), NIBP measurement ranges up to about
/// 270–300 mmHg, and SpO₂ 0–100 % (a saturation cannot exceed 100 %);
/// IEC 80601-2-30 (automated NIBP) sets no upper range of its own.
pub mod limits {
    /// Lowest heart or pulse rate, /min: 0 is asystole, a reading.
    pub const RATE_MIN_PER_MIN: f64 = 0.0;
    /// Highest plausible heart or pulse rate, /min (neonatal ranges reach 350).
    pub const RATE_MAX_PER_MIN: f64 = 350.0;
    /// Lowest systolic pressure, mmHg: 0, no measurable pressure.
    pub const SYS_MIN_MMHG: f64 = 0.0;
    /// Highest plausible systolic pressure, mmHg (NIBP ranges end at about 300).
    pub const SYS_MAX_MMHG: f64 = 300.0;
    /// Lowest diastolic pressure, mmHg.
    pub const DIA_MIN_MMHG: f64 = 0.0;
    /// Highest plausible diastolic pressure, mmHg.
    pub const DIA_MAX_MMHG: f64 = 250.0;
    /// Lowest mean pressure, mmHg.
    pub const MEAN_MIN_MMHG: f64 = 0.0;
    /// Highest plausible mean pressure, mmHg.
    pub const MEAN_MAX_MMHG: f64 = 280.0;
    /// Lowest SpO₂, %: any saturation an oximeter reports is a reading.
    pub const SPO2_MIN_PERCENT: f64 = 0.0;
    /// Highest SpO₂, %: a saturation cannot exceed 100 %.
    pub const SPO2_MAX_PERCENT: f64 = 100.0;
    /// Conversion from kilopascal to mmHg (1 kPa = 7.50062 mmHg).
    pub const MMHG_PER_KPA: f64 = 7.500_62;
}

/// Why a value was not accepted as a [`Reading`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlausibilityError {
    /// The value is NaN or infinite.
    #[error("{measure}: value is not a finite number ({value})")]
    NotFinite {
        /// The measure concerned.
        measure: Measure,
        /// The value received.
        value: f64,
    },
    /// The value lies outside the plausibility range.
    #[error("{measure}: {value} {unit} is outside the plausible range {min}–{max}")]
    OutOfRange {
        /// The measure concerned.
        measure: Measure,
        /// The value received, in the canonical unit.
        value: f64,
        /// Its unit.
        unit: Unit,
        /// Lower limit.
        min: f64,
        /// Upper limit.
        max: f64,
    },
    /// The unit does not fit the measure (for example mmHg for a heart rate).
    #[error("{measure}: unit {unit} does not fit this measure (expected {expected})")]
    WrongUnit {
        /// The measure concerned.
        measure: Measure,
        /// The unit received.
        unit: Unit,
        /// The unit expected.
        expected: Unit,
    },
}

/// One accepted value of one measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// What was measured.
    pub measure: Measure,
    /// The value, in `unit`.
    pub value: f64,
    /// Unit of `value`; always the measure's canonical unit.
    pub unit: Unit,
    /// When the monitor says it measured the value (HL7 OBX-14 or IntelliVue
    /// absolute time stamp), as the monitor's wall clock states it, without
    /// time-zone conversion. `None` when the message carries no time.
    pub observed_at: Option<NaiveDateTime>,
}

impl Reading {
    /// Builds a reading after checking unit and plausibility.
    pub fn checked(
        measure: Measure,
        value: f64,
        unit: Unit,
        observed_at: Option<NaiveDateTime>,
    ) -> Result<Reading, PlausibilityError> {
        if !value.is_finite() {
            return Err(PlausibilityError::NotFinite { measure, value });
        }
        let expected = measure.canonical_unit();
        if unit != expected {
            return Err(PlausibilityError::WrongUnit {
                measure,
                unit,
                expected,
            });
        }
        let (min, max) = measure.plausible_range();
        if !(min..=max).contains(&value) {
            return Err(PlausibilityError::OutOfRange {
                measure,
                value,
                unit,
                min,
                max,
            });
        }
        Ok(Reading {
            measure,
            value,
            unit,
            observed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_values() {
        assert!(Reading::checked(Measure::Hr, 72.0, Unit::PerMinute, None).is_ok());
        assert!(Reading::checked(Measure::NibpSys, 120.0, Unit::MmHg, None).is_ok());
        assert!(Reading::checked(Measure::Spo2, 98.0, Unit::Percent, None).is_ok());
    }

    #[test]
    fn rejects_impossible_values_with_reason() {
        let e = Reading::checked(Measure::Hr, -1.0, Unit::PerMinute, None).unwrap_err();
        assert!(e.to_string().contains("outside the plausible range"), "{e}");
        // Asystole is a reading, not garbage.
        assert!(Reading::checked(Measure::Hr, 0.0, Unit::PerMinute, None).is_ok());
        let e = Reading::checked(Measure::Hr, f64::NAN, Unit::PerMinute, None).unwrap_err();
        assert!(matches!(e, PlausibilityError::NotFinite { .. }));
        let e = Reading::checked(Measure::Hr, 70.0, Unit::MmHg, None).unwrap_err();
        assert!(matches!(e, PlausibilityError::WrongUnit { .. }));
        let e = Reading::checked(Measure::Spo2, 101.0, Unit::Percent, None).unwrap_err();
        assert!(matches!(e, PlausibilityError::OutOfRange { .. }));
    }

    #[test]
    fn names_round_trip() {
        for m in Measure::ALL {
            assert_eq!(Measure::from_name(m.name()), Some(m));
        }
    }
}
