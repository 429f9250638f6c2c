//! Late gadolinium enhancement timing (clause 3.1.4.1): the [`LgeWindow`].
//!
//! It owns the current window (opens/closes), the dose-dependent "best contrast
//! from" guidance, the open/close deadlines, and recorded low-dose early starts.
//! The contract numbers (scenario-format.md) are kept exactly:
//! * after a single injection: opens +600 s, closes +1800 s;
//! * once stress and rest perfusion injections are both done: opens +300 s and
//!   closes +1800 s after the second of them (3.1.4.1 "about 5 min after the
//!   second injection"; in the adenosine protocol that is the rest injection);
//! * a top-up (≤ 0.05 mmol/kg, for a repeat) recomputes the window from the
//!   top-up: opens +300 s (like a second injection; never earlier than the
//!   window it replaces), closes +1800 s.
//!
//! Dose dependence (practice: best contrast ≈ 10 min after 0.1 mmol/kg, ≈ 20 min
//! after 0.2): `best_from` interpolates between those from the cumulative dose;
//! it only moves the opening itself when the site sets `dose_dependent_opening`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::contrast::DOSE_EPSILON;
use super::output::{Decision, Output, ReminderCode, WarningCode};
use super::time::{Duration, Instant};

/// LGE timing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LgeSettings {
    /// Opening after a single injection (3.1.4.1: 10 min).
    pub single_open: Duration,
    /// Closing after the reference injection (3.1.4.1: 30 min).
    pub close: Duration,
    /// Opening after the second perfusion injection (3.1.4.1 / 3.2.3: about 5 min).
    pub second_injection_open: Duration,
    /// Opening after a top-up (decision: as a second injection, 5 min).
    pub top_up_open: Duration,
    /// Cumulative dose at or below which an early start counts as low-dose (mmol/kg).
    pub low_dose_mmol_kg: f64,
    /// Practice: best contrast after a low cumulative dose (at `best_dose_low_mmol_kg`).
    pub best_delay_low: Duration,
    /// Practice: best contrast after a high cumulative dose (at `best_dose_high_mmol_kg`).
    pub best_delay_high: Duration,
    /// Low end of the interpolation (mmol/kg).
    pub best_dose_low_mmol_kg: f64,
    /// High end of the interpolation (mmol/kg).
    pub best_dose_high_mmol_kg: f64,
    /// If true, a single injection's window opens at `best_from` instead of +600 s.
    pub dose_dependent_opening: bool,
}

impl Default for LgeSettings {
    fn default() -> Self {
        LgeSettings {
            single_open: Duration::from_secs(600),
            close: Duration::from_secs(1800),
            second_injection_open: Duration::from_secs(300),
            top_up_open: Duration::from_secs(300),
            low_dose_mmol_kg: 0.1,
            best_delay_low: Duration::from_secs(600),
            best_delay_high: Duration::from_secs(1200),
            best_dose_low_mmol_kg: 0.1,
            best_dose_high_mmol_kg: 0.2,
            dose_dependent_opening: false,
        }
    }
}

/// What the window was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowBasis {
    /// The first perfusion injection of a stress protocol while the second is still
    /// to come: a provisional window, as after a single injection (+600 s / +1800 s),
    /// that the second perfusion injection replaces.
    FirstPerfusionInjection,
    /// One injection (single, or a perfusion injection not yet paired).
    SingleInjection,
    /// The second of the stress/rest perfusion injections.
    SecondPerfusionInjection,
    /// A top-up for a repeat.
    TopUp,
}

/// A computed window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// The injection it counts from.
    pub reference: Instant,
    /// Basis.
    pub basis: WindowBasis,
    /// Earliest start.
    pub opens_at: Instant,
    /// Latest start.
    pub closes_at: Instant,
    /// Dose-dependent guidance (≥ `opens_at`).
    pub best_from: Instant,
    /// Set by the first perfusion injection; the second replaces it.
    #[serde(default)]
    pub provisional: bool,
}

/// A recorded low-dose early start (operator's call, 3.1.4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStart {
    /// When.
    pub at: Instant,
    /// Who decided.
    pub by: String,
    /// Why (blood pool darker than enhanced myocardium …).
    pub reason: String,
    /// Cumulative dose at the time (mmol/kg).
    pub cumulative_mmol_kg: f64,
}

/// The LGE timing state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct LgeWindow {
    settings: LgeSettings,
    window: Option<Window>,
    opened_emitted: bool,
    closed_emitted: bool,
    early_starts: Vec<EarlyStart>,
    pending: VecDeque<Output>,
}

impl LgeWindow {
    /// No window yet.
    pub fn new(settings: LgeSettings) -> Self {
        LgeWindow {
            settings,
            window: None,
            opened_emitted: false,
            closed_emitted: false,
            early_starts: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    /// Settings in force.
    pub fn settings(&self) -> &LgeSettings {
        &self.settings
    }

    /// The current window, if any.
    pub fn window(&self) -> Option<Window> {
        self.window
    }

    /// Recorded early starts.
    pub fn early_starts(&self) -> &[EarlyStart] {
        &self.early_starts
    }

    /// Dose-dependent delay to best contrast for a cumulative dose (practice).
    pub fn best_delay(&self, cumulative_mmol_kg: f64) -> Duration {
        let s = &self.settings;
        let lo = s.best_delay_low.as_millis() as f64;
        let hi = s.best_delay_high.as_millis() as f64;
        let span = s.best_dose_high_mmol_kg - s.best_dose_low_mmol_kg;
        let f = if span > 0.0 {
            ((cumulative_mmol_kg - s.best_dose_low_mmol_kg) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        Duration::from_millis((lo + f * (hi - lo)).round() as u64)
    }

    /// (Re)compute the window from an injection at `at`; emits `lge_window`.
    pub fn set(&mut self, basis: WindowBasis, at: Instant, cumulative_mmol_kg: f64) {
        let s = &self.settings;
        let (mut opens_at, best_from) = match basis {
            WindowBasis::SingleInjection | WindowBasis::FirstPerfusionInjection => {
                let open = at + s.single_open;
                (open, (at + self.best_delay(cumulative_mmol_kg)).max(open))
            }
            WindowBasis::SecondPerfusionInjection => {
                let open = at + s.second_injection_open;
                (open, open)
            }
            WindowBasis::TopUp => {
                // A top-up never brings the opening forward.
                let earlier = self.window.map_or(Instant::ZERO, |w| w.opens_at);
                let open = (at + s.top_up_open).max(earlier);
                (open, open)
            }
        };
        if self.settings.dose_dependent_opening {
            opens_at = best_from;
        }
        let closes_at = (at + self.settings.close).max(opens_at);
        let provisional = basis == WindowBasis::FirstPerfusionInjection;
        self.window = Some(Window {
            reference: at,
            basis,
            opens_at,
            closes_at,
            best_from,
            provisional,
        });
        self.opened_emitted = false;
        self.closed_emitted = false;
        self.pending.push_back(Output {
            at,
            decision: Decision::LgeWindow {
                opens_at,
                closes_at,
                best_from,
                provisional,
            },
        });
    }

    /// Works the window out again from `sets` (basis, injection time, cumulative
    /// mmol/kg then), oldest first, after an injection was voided: one `lge_window`
    /// output at `now` for the window left, none when no injection is left.
    pub fn recompute(&mut self, sets: &[(WindowBasis, Instant, f64)], now: Instant) {
        let before = self.pending.len();
        self.window = None;
        for &(basis, at, cumulative) in sets {
            self.set(basis, at, cumulative);
        }
        self.pending.truncate(before);
        if let Some(w) = self.window {
            self.opened_emitted = now >= w.opens_at;
            self.closed_emitted = now > w.closes_at;
            self.pending.push_back(Output {
                at: now,
                decision: Decision::LgeWindow {
                    opens_at: w.opens_at,
                    closes_at: w.closes_at,
                    best_from: w.best_from,
                    provisional: w.provisional,
                },
            });
        }
    }

    /// Record a low-dose early start; warns if the dose is not low.
    pub fn record_early_start(&mut self, start: EarlyStart) {
        if start.cumulative_mmol_kg > self.settings.low_dose_mmol_kg + DOSE_EPSILON {
            self.pending.push_back(Output {
                at: start.at,
                decision: Decision::Warning {
                    code: WarningCode::LgeEarlyStartNotLowDose,
                },
            });
        }
        self.early_starts.push(start);
    }

    /// An LGE block was acquired: check it against the window and
    /// remind to re-check TI for the next block. `stress_perfusion_pending`: a stress
    /// protocol has started and its stress perfusion is not done yet, so LGE now is
    /// before its time whatever the window says (3.1.4.1, 3.2.3).
    ///
    /// `at` is when the scanner acquired it (never after `now`, its arrival): the
    /// window is checked at `at`, the outputs come at `now`.
    pub fn acquired(&mut self, at: Instant, now: Instant, stress_perfusion_pending: bool) {
        let early_ok = |w: &Window| self.early_starts.iter().any(|e| e.at >= w.reference);
        let warning = match &self.window {
            _ if stress_perfusion_pending => Some(WarningCode::LgeBeforeWindow),
            None => Some(WarningCode::LgeBeforeWindow),
            Some(w) if at < w.opens_at && !early_ok(w) => Some(WarningCode::LgeBeforeWindow),
            Some(w) if at > w.closes_at => Some(WarningCode::LgeAfterWindow),
            _ => None,
        };
        if let Some(code) = warning {
            self.pending.push_back(Output {
                at: now,
                decision: Decision::Warning { code },
            });
        }
        self.pending.push_back(Output {
            at: now,
            decision: Decision::Reminder {
                code: ReminderCode::TiRecheck,
            },
        });
    }

    /// The next deadline (open, then close).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let w = self.window?;
        if !self.opened_emitted {
            Some(w.opens_at)
        } else if !self.closed_emitted {
            Some(w.closes_at)
        } else {
            None
        }
    }

    /// Fire the deadlines at or before `now`, each at its own time.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(w) = self.window else { return };
        if !self.opened_emitted && w.opens_at <= now {
            self.opened_emitted = true;
            self.pending.push_back(Output {
                at: w.opens_at,
                decision: Decision::LgeWindowOpen,
            });
            self.pending.push_back(Output {
                at: w.opens_at,
                decision: Decision::Reminder {
                    code: ReminderCode::TiRecheck,
                },
            });
        }
        if self.opened_emitted && !self.closed_emitted && w.closes_at <= now {
            self.closed_emitted = true;
            self.pending.push_back(Output {
                at: w.closes_at,
                decision: Decision::LgeWindowClosed,
            });
        }
    }

    /// Take the next pending output.
    pub fn poll(&mut self) -> Option<Output> {
        self.pending.pop_front()
    }
}
