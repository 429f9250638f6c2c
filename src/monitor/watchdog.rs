//! Per-measure staleness watchdog: a pure state machine fed with readings and
//! `now` (tokio's monotonic clock), returning the events due and its next
//! deadline. The link's shell task sleeps until that deadline.
//!
//! A measure is *stale* when no reading arrived within its expected update
//! interval plus [`STALE_TOLERANCE`]; the alarm therefore fires at most
//! `STALE_TOLERANCE` after the update that did not come (requirement: "monitor
//! data lost" within about 1 s of the expected update,
//! `shared/reference/usability-and-safety.md`, serial faults).

use std::time::Duration;

use tokio::time::Instant;

use super::reading::Measure;

/// Slack after a measure's expected update before it is declared stale. Below
/// the 1 s required so that scheduling jitter still keeps the alarm in time.
pub const STALE_TOLERANCE: Duration = Duration::from_millis(500);

/// How often a measure is expected to update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectation {
    /// The measure.
    pub measure: Measure,
    /// Expected interval between two readings.
    pub interval: Duration,
    /// Whether losing this measure means "monitor data lost" (e.g. HR during
    /// stress); NIBP, a spot measurement, is usually not critical.
    pub critical: bool,
}

/// What the watchdog reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchdogEvent {
    /// The measure missed its expected update: show it as stale ("--").
    Stale {
        /// The measure.
        measure: Measure,
        /// Time since its last reading, or since the watchdog started if none.
        silent_for: Duration,
    },
    /// A stale measure received a reading again.
    Fresh {
        /// The measure.
        measure: Measure,
    },
    /// A critical measure went stale: raise "monitor data lost".
    DataLost,
    /// Every critical measure is fresh again.
    DataRestored,
}

#[derive(Debug, Clone)]
struct Entry {
    expectation: Expectation,
    last: Instant,
    seen: bool,
    stale: bool,
}

/// The staleness state machine.
#[derive(Debug, Clone)]
pub struct Watchdog {
    entries: Vec<Entry>,
    tolerance: Duration,
    data_lost: bool,
}

impl Watchdog {
    /// Starts watching at `now`; a measure that never arrives goes stale one
    /// interval plus tolerance after `now`.
    pub fn new(expectations: &[Expectation], tolerance: Duration, now: Instant) -> Watchdog {
        Watchdog {
            entries: expectations
                .iter()
                .map(|&expectation| Entry {
                    expectation,
                    last: now,
                    seen: false,
                    stale: false,
                })
                .collect(),
            tolerance,
            data_lost: false,
        }
    }

    /// Records a reading of `measure` at `now`.
    pub fn on_reading(&mut self, measure: Measure, now: Instant) -> Vec<WatchdogEvent> {
        let mut out = Vec::new();
        for e in self
            .entries
            .iter_mut()
            .filter(|e| e.expectation.measure == measure)
        {
            e.last = now;
            e.seen = true;
            if e.stale {
                e.stale = false;
                out.push(WatchdogEvent::Fresh { measure });
            }
        }
        if self.data_lost && !self.any_critical_stale() {
            self.data_lost = false;
            out.push(WatchdogEvent::DataRestored);
        }
        out
    }

    fn any_critical_stale(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.stale && e.expectation.critical)
    }

    /// Returns the events due at `now`.
    pub fn poll(&mut self, now: Instant) -> Vec<WatchdogEvent> {
        let mut out = Vec::new();
        let tolerance = self.tolerance;
        for e in self.entries.iter_mut().filter(|e| !e.stale) {
            if now >= e.last + e.expectation.interval + tolerance {
                e.stale = true;
                out.push(WatchdogEvent::Stale {
                    measure: e.expectation.measure,
                    silent_for: now.saturating_duration_since(e.last),
                });
            }
        }
        if !self.data_lost && self.any_critical_stale() {
            self.data_lost = true;
            out.push(WatchdogEvent::DataLost);
        }
        out
    }

    /// When [`Watchdog::poll`] next has something to report, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| !e.stale)
            .map(|e| e.last + e.expectation.interval + self.tolerance)
            .min()
    }

    /// Age of the last reading of `measure` (`None` if none arrived yet).
    pub fn age(&self, measure: Measure, now: Instant) -> Option<Duration> {
        self.entries
            .iter()
            .find(|e| e.expectation.measure == measure && e.seen)
            .map(|e| now.saturating_duration_since(e.last))
    }

    /// Whether `measure` is currently stale.
    pub fn is_stale(&self, measure: Measure) -> bool {
        self.entries
            .iter()
            .any(|e| e.expectation.measure == measure && e.stale)
    }

    /// Whether "monitor data lost" is raised.
    pub fn data_lost(&self) -> bool {
        self.data_lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(measure: Measure, secs: u64, critical: bool) -> Expectation {
        Expectation {
            measure,
            interval: Duration::from_secs(secs),
            critical,
        }
    }

    #[test]
    fn goes_stale_within_tolerance_and_recovers() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(
            &[exp(Measure::Hr, 1, true), exp(Measure::NibpSys, 60, false)],
            STALE_TOLERANCE,
            t0,
        );
        assert!(w.on_reading(Measure::Hr, t0).is_empty());
        assert_eq!(w.next_deadline(), Some(t0 + Duration::from_millis(1500)));
        assert!(w.poll(t0 + Duration::from_millis(1499)).is_empty());
        let ev = w.poll(t0 + Duration::from_millis(1500));
        assert_eq!(
            ev,
            vec![
                WatchdogEvent::Stale {
                    measure: Measure::Hr,
                    silent_for: Duration::from_millis(1500)
                },
                WatchdogEvent::DataLost
            ]
        );
        assert!(
            w.poll(t0 + Duration::from_secs(3)).is_empty(),
            "reported once"
        );
        assert!(w.is_stale(Measure::Hr));
        let ev = w.on_reading(Measure::Hr, t0 + Duration::from_secs(4));
        assert_eq!(
            ev,
            vec![
                WatchdogEvent::Fresh {
                    measure: Measure::Hr
                },
                WatchdogEvent::DataRestored
            ]
        );
        assert_eq!(
            w.age(Measure::Hr, t0 + Duration::from_secs(5)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(w.age(Measure::NibpSys, t0), None);
    }

    #[test]
    fn non_critical_stale_does_not_raise_data_lost() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(&[exp(Measure::NibpSys, 60, false)], STALE_TOLERANCE, t0);
        let ev = w.poll(t0 + Duration::from_secs(61));
        assert_eq!(ev.len(), 1);
        assert!(!w.data_lost());
        assert_eq!(w.next_deadline(), None);
    }
}
