//! Alarms and reminders on the technologist's console, kept apart as IEC 60601-1-8
//! asks (usability reference, "Alarms and reminders").
//!
//! Pure: fed with the clinical core's [`Output`]s and a monotonic `now` (the exam's
//! [`Instant`]); it says what to show and what to sound. Alarms (patient danger) have
//! priorities, colours, flash rates, markers and sound patterns; reminders (stress
//! imaging due, stop the infusion, rest perfusion ready, LGE window open, TI re-check)
//! are quiet. An active alarm is never raised twice; audio pause is timed and a new
//! alarm of higher priority sounds through it.

use crate::domain::Exam;
use crate::domain::output::{
    AlarmCode, AlarmPriority, Decision, Output, ReminderCode, WarningCode,
};
use crate::domain::time::{Duration, Instant};

/// How long "audio paused" lasts (IEC 60601-1-8 allows up to 2 min for audio pause
/// before the sound resumes; site setting).
pub const DEFAULT_AUDIO_PAUSE: Duration = Duration::from_secs(120);

/// How an alarm of a priority looks and sounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Presentation {
    /// Visual flash frequency in Hz (0 = steady). High 1.4–2.8 Hz, medium 0.4–0.8 Hz.
    pub flash_hz: f64,
    /// Marker that carries the priority without colour: `***`, `**`, `*`.
    pub marker: &'static str,
    /// Pulses in one burst of the sound: high 10 (5 + 5), medium 3, low 1.
    pub pulses: u8,
}

/// The presentation of a priority.
pub fn presentation(priority: AlarmPriority) -> Presentation {
    match priority {
        AlarmPriority::High => Presentation {
            flash_hz: 2.0,
            marker: "***",
            pulses: 10,
        },
        AlarmPriority::Medium => Presentation {
            flash_hz: 0.6,
            marker: "**",
            pulses: 3,
        },
        AlarmPriority::Low => Presentation {
            flash_hz: 0.0,
            marker: "*",
            pulses: 1,
        },
    }
}

/// A quiet prompt for the technologist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// Image stress perfusion now (3.2.3 step 2).
    ImageNow,
    /// Stop the infusion (3.2.3 step 3).
    StopInfusion,
    /// The recovery wait is over: rest perfusion (3.2.3 step 4).
    RestPerfusionReady,
    /// The LGE window is open (3.1.4).
    LgeWindowOpen,
    /// Offer the escalated adenosine dose (site setting).
    Escalate,
    /// Re-check TI before the LGE block (3.1.4.2).
    TiRecheck,
    /// Watch the patient for adverse reactions after stress.
    ObservePatient,
    /// Consider the reversal drug, aminophylline (3.2.3, practice).
    ConsiderAminophylline,
    /// LGE without PSIR: PSIR is recommended (3.1.4.2).
    PsirRecommended,
    /// An LGE series started before its window opened (3.1.4): the warning stays
    /// on the board until someone dismisses it, whatever page is shown.
    LgeBeforeWindow,
    /// An LGE series started after its window closed (3.1.4).
    LgeAfterWindow,
}

impl Prompt {
    /// The stable code logged when the prompt is dismissed.
    pub fn code(self) -> &'static str {
        match self {
            Prompt::ImageNow => "image_now",
            Prompt::StopInfusion => "stop_infusion",
            Prompt::RestPerfusionReady => "rest_perfusion_ready",
            Prompt::LgeWindowOpen => "lge_window_open",
            Prompt::Escalate => "escalate",
            Prompt::TiRecheck => "ti_recheck",
            Prompt::ObservePatient => "observe_patient",
            Prompt::ConsiderAminophylline => "consider_aminophylline",
            Prompt::PsirRecommended => "psir_recommended",
            Prompt::LgeBeforeWindow => "lge_before_window",
            Prompt::LgeAfterWindow => "lge_after_window",
        }
    }
}

/// An alarm on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlarm {
    /// Which.
    pub code: AlarmCode,
    /// Priority.
    pub priority: AlarmPriority,
    /// When it was raised (exam time).
    pub raised_at: Instant,
}

/// The console's alarm and reminder state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmBoard {
    alarms: Vec<ActiveAlarm>,
    prompts: Vec<(Prompt, Instant)>,
    audio_pause: Duration,
    /// Audio paused from, until, for alarms of at most this priority.
    paused: Option<(Instant, Instant, AlarmPriority)>,
}

impl Default for AlarmBoard {
    fn default() -> Self {
        AlarmBoard::new(DEFAULT_AUDIO_PAUSE)
    }
}

impl AlarmBoard {
    /// The board of a recovered exam at exam time `now`: every alarm raised and not
    /// acknowledged, with its original start, and every prompt whose step is still
    /// due (image now, stop the infusion, rest perfusion, LGE window open).
    pub fn from_exam(exam: &Exam, now: Instant) -> AlarmBoard {
        let mut board = AlarmBoard::default();
        if let Some(run) = exam.stress().current() {
            if let Some((due, _)) = run.imaging_due
                && !run.imaged
            {
                board.prompts.push((Prompt::ImageNow, due));
            }
            if run.stopped_at.is_none()
                && run.imaged
                && run.drug == crate::domain::stress::StressDrug::Adenosine
            {
                board.prompts.push((Prompt::StopInfusion, now));
            }
        }
        if let Some(w) = exam.lge().window()
            && w.opens_at <= now
            && now < w.closes_at
        {
            board.prompts.push((Prompt::LgeWindowOpen, w.opens_at));
        }
        board.follow(exam, now);
        board
    }

    /// Keeps the board in step with the exam's state: an alarm raised and not
    /// acknowledged is on the board (with its original start) whatever happened to
    /// the board, and a prompt whose step has been done leaves by itself.
    pub fn follow(&mut self, exam: &Exam, _now: Instant) {
        for (at, code, priority) in exam.unacknowledged_alarms() {
            self.on_output(&Output {
                at,
                decision: Decision::Alarm { code, priority },
            });
        }
        if let Some(run) = exam.stress().current() {
            if run.imaging_due.is_none() || run.imaged {
                self.dismiss(Prompt::ImageNow);
            }
            if run.stopped_at.is_some() {
                self.dismiss(Prompt::StopInfusion);
                self.dismiss(Prompt::Escalate);
            }
        }
        if exam
            .ledger()
            .and_then(|l| l.last_with(crate::domain::contrast::Purpose::RestPerfusion))
            .is_some()
        {
            self.dismiss(Prompt::RestPerfusionReady);
        }
        if exam
            .acquired()
            .iter()
            .any(|(_, step)| *step == crate::domain::protocol::ProtocolStep::Lge)
        {
            self.dismiss(Prompt::LgeWindowOpen);
        }
    }

    /// An empty board with the site's audio-pause duration.
    pub fn new(audio_pause: Duration) -> AlarmBoard {
        AlarmBoard {
            alarms: Vec::new(),
            prompts: Vec::new(),
            audio_pause,
            paused: None,
        }
    }

    /// The same board with `audio_pause` as its audio-pause duration (the site's
    /// `ui.audio_pause_s`).
    pub fn with_audio_pause(mut self, audio_pause: Duration) -> AlarmBoard {
        self.audio_pause = audio_pause;
        self
    }

    /// How long an audio pause lasts on this board.
    pub fn audio_pause(&self) -> Duration {
        self.audio_pause
    }

    /// Takes one decision of the clinical core. Returns `true` when it changed the board.
    pub fn on_output(&mut self, output: &Output) -> bool {
        let prompt = match &output.decision {
            // A new window (the second perfusion injection replacing a provisional one,
            // a top-up): "LGE window open" waits for the new opening.
            Decision::LgeWindow { opens_at, .. } if *opens_at > output.at => {
                let before = self.prompts.len();
                self.prompts.retain(|(p, _)| *p != Prompt::LgeWindowOpen);
                return self.prompts.len() != before;
            }
            Decision::Alarm { code, priority } => {
                if self.alarms.iter().any(|a| a.code == *code) {
                    return false;
                }
                self.alarms.push(ActiveAlarm {
                    code: *code,
                    priority: *priority,
                    raised_at: output.at,
                });
                // Highest priority first, then oldest.
                self.alarms.sort_by(|a, b| {
                    b.priority
                        .cmp(&a.priority)
                        .then(a.raised_at.cmp(&b.raised_at))
                });
                return true;
            }
            Decision::StressImagingDue { .. } => Prompt::ImageNow,
            Decision::StopStressDue { .. } => Prompt::StopInfusion,
            Decision::RestPerfusionReady => Prompt::RestPerfusionReady,
            Decision::LgeWindowOpen => Prompt::LgeWindowOpen,
            Decision::EscalationDue { .. } => Prompt::Escalate,
            Decision::Reminder { code } => match code {
                ReminderCode::TiRecheck => Prompt::TiRecheck,
                ReminderCode::ObservePatient => Prompt::ObservePatient,
                ReminderCode::ConsiderAminophylline => Prompt::ConsiderAminophylline,
                ReminderCode::PsirRecommended => Prompt::PsirRecommended,
            },
            Decision::Warning {
                code: WarningCode::LgeBeforeWindow,
            } => Prompt::LgeBeforeWindow,
            Decision::Warning {
                code: WarningCode::LgeAfterWindow,
            } => Prompt::LgeAfterWindow,
            _ => return false,
        };
        // At most one interruptive prompt per step: the same prompt is not repeated.
        if self.prompts.iter().any(|(p, _)| *p == prompt) {
            return false;
        }
        self.prompts.push((prompt, output.at));
        true
    }

    /// Active alarms, highest priority first.
    pub fn alarms(&self) -> &[ActiveAlarm] {
        &self.alarms
    }

    /// Prompts waiting to be acknowledged, oldest first.
    pub fn prompts(&self) -> impl Iterator<Item = Prompt> + '_ {
        self.prompts.iter().map(|(p, _)| *p)
    }

    /// Acknowledges an alarm (the caller logs `AlarmAcknowledged`). Returns whether
    /// it was active.
    pub fn acknowledge(&mut self, code: AlarmCode) -> bool {
        let before = self.alarms.len();
        self.alarms.retain(|a| a.code != code);
        self.alarms.len() != before
    }

    /// Dismisses a prompt. Returns whether it was shown.
    pub fn dismiss(&mut self, prompt: Prompt) -> bool {
        let before = self.prompts.len();
        self.prompts.retain(|(p, _)| *p != prompt);
        self.prompts.len() != before
    }

    /// Pauses the sound of the alarms active now, for the audio-pause duration.
    pub fn pause_audio(&mut self, now: Instant) {
        if let Some(top) = self.alarms.first() {
            self.paused = Some((now, now + self.audio_pause, top.priority));
        }
    }

    /// When the audio pause ends, if one is running at `now`.
    pub fn audio_paused_until(&self, now: Instant) -> Option<Instant> {
        self.paused
            .filter(|(_, until, _)| now < *until)
            .map(|(_, until, _)| until)
    }

    /// What should sound at `now`: the highest-priority active alarm, unless audio is
    /// paused for its priority — an alarm raised during the pause with a higher
    /// priority than the paused ones always sounds.
    pub fn sounding(&self, now: Instant) -> Option<&ActiveAlarm> {
        let top = self.alarms.first()?;
        match self.paused {
            Some((paused_at, until, level)) if now < until => self
                .alarms
                .iter()
                .find(|a| a.priority > level && a.raised_at >= paused_at),
            _ => Some(top),
        }
    }
}
