//! The running exam in the kiosk: the pure [`Exam`] state machine, the clock that maps
//! the OS monotonic clock onto the exam's timeline, and the recorder that makes every
//! event durable. Controllers feed staff and monitor events here.

use chrono::Utc;

use crate::domain::{Exam, ExamError, ExamEvent, LoggedEvent, Outcome, ProtocolSettings};
use crate::engine::recorder::Recorder;
use crate::store::AuditEvent;
use crate::store::log::{EntryKind, ExamClock, ExamId, NewEntry, RecoveredExam};

/// One row of the exam's log as this session wrote it (or replayed it at recovery),
/// kept in memory for the console's event log and trend chart.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalRow {
    /// A clinical event; `actor` is `None` for events replayed at recovery.
    Event {
        /// Exam time.
        at: crate::domain::Instant,
        /// Who.
        actor: Option<String>,
        /// What.
        event: ExamEvent,
    },
    /// An audit row (e.g. a prompt dismissed on the console).
    Audit {
        /// Exam time.
        at: crate::domain::Instant,
        /// What.
        event: AuditEvent,
    },
    /// A decision the engine logged (alarm, prompt, refusal …) at the exam time it
    /// fell due, with the exam time the engine handled it.
    Decision {
        /// Exam time it fell due.
        at: crate::domain::Instant,
        /// Exam time the engine handled it.
        handled: crate::domain::Instant,
        /// What.
        output: crate::domain::Output,
    },
}

impl JournalRow {
    /// The row's exam time.
    pub fn at(&self) -> crate::domain::Instant {
        match self {
            JournalRow::Event { at, .. }
            | JournalRow::Audit { at, .. }
            | JournalRow::Decision { at, .. } => *at,
        }
    }
}

/// One running exam.
#[derive(Debug)]
pub struct ExamSession {
    id: ExamId,
    exam: Exam,
    clock: ExamClock,
    /// The `exam_opened` payload: the registration record (`{}` if none).
    opened: serde_json::Value,
    journal: Vec<JournalRow>,
}

impl ExamSession {
    /// Opens a new exam: logs `exam_opened` at offset zero.
    pub fn open(settings: ProtocolSettings, recorder: &Recorder, actor: &str) -> ExamSession {
        ExamSession::open_with(settings, recorder, actor, serde_json::json!({}))
    }

    /// Opens a new exam whose `exam_opened` row carries `record` (the registration).
    pub fn open_with(
        settings: ProtocolSettings,
        recorder: &Recorder,
        actor: &str,
        record: serde_json::Value,
    ) -> ExamSession {
        let id = ExamId::new();
        match NewEntry::new(
            Some(id),
            EntryKind::ExamOpened,
            actor,
            crate::domain::Instant::ZERO,
            Utc::now(),
            &record,
        ) {
            Ok(entry) => recorder.submit(entry),
            Err(e) => tracing::error!("could not build the exam_opened row: {e}"),
        }
        ExamSession {
            id,
            exam: Exam::new(settings),
            clock: ExamClock::resume(crate::domain::Instant::ZERO),
            opened: record,
            journal: Vec::new(),
        }
    }

    /// The registration record the exam was opened with (`{}` if none).
    pub fn record(&self) -> &serde_json::Value {
        &self.opened
    }

    /// Closes the exam: logs `exam_closed`; it is no longer the running exam.
    pub fn close(self, recorder: &Recorder, actor: &str) {
        match NewEntry::new(
            Some(self.id),
            EntryKind::ExamClosed,
            actor,
            self.clock.now(),
            Utc::now(),
            &serde_json::json!({}),
        ) {
            Ok(entry) => recorder.submit(entry),
            Err(e) => tracing::error!("could not build the exam_closed row: {e}"),
        }
    }

    /// Rebuilds the exam that was running when the kiosk stopped: every event is
    /// replayed through the domain and the clock resumes where the timeline stands now
    /// (the downtime bridged by the wall clock, monotonic from here on).
    pub fn recover(
        settings: ProtocolSettings,
        recovered: &RecoveredExam,
    ) -> Result<ExamSession, ExamError> {
        let exam = Exam::replay(settings, &recovered.events)?;
        Ok(ExamSession {
            id: recovered.exam,
            exam,
            clock: ExamClock::resume(recovered.resume_at(Utc::now())),
            opened: recovered.opened.clone(),
            journal: recovered
                .events
                .iter()
                .map(|e| JournalRow::Event {
                    at: e.at,
                    actor: None,
                    event: e.event.clone(),
                })
                .collect(),
        })
    }

    /// A session around an exam built elsewhere whose clock reads `at` now — for
    /// screenshots and UI tests of the console (events handled are still logged through
    /// the recorder passed to [`ExamSession::handle`]).
    pub fn preview(exam: Exam, at: crate::domain::Instant) -> ExamSession {
        ExamSession {
            id: ExamId::new(),
            exam,
            clock: ExamClock::resume(at),
            opened: serde_json::json!({}),
            journal: Vec::new(),
        }
    }

    /// [`ExamSession::preview`] with a registration record (screenshots of nurse mode).
    pub fn preview_with_record(
        exam: Exam,
        at: crate::domain::Instant,
        record: serde_json::Value,
    ) -> ExamSession {
        ExamSession {
            opened: record,
            ..ExamSession::preview(exam, at)
        }
    }

    /// The same session with `journal` as its logged rows (previews and tests of the
    /// console's log and chart).
    pub fn with_journal(mut self, journal: Vec<JournalRow>) -> ExamSession {
        self.journal = journal;
        self
    }

    /// The same session opened with `record` as its registration (previews and tests).
    pub fn with_record(mut self, record: serde_json::Value) -> ExamSession {
        self.opened = record;
        self
    }

    /// The exam's id.
    pub fn id(&self) -> ExamId {
        self.id
    }

    /// The clinical state (read-only).
    pub fn exam(&self) -> &Exam {
        &self.exam
    }

    /// Mutable access for draining outputs (`poll`) and firing deadlines.
    pub fn exam_mut(&mut self) -> &mut Exam {
        &mut self.exam
    }

    /// The exam's timeline now.
    pub fn now(&self) -> crate::domain::Instant {
        self.clock.now()
    }

    /// Moves the exam clock to read `at` now, never backwards (UI tests and
    /// screenshots run the console on a simulated clock this way).
    pub fn resume_at(&mut self, at: crate::domain::Instant) {
        if at > self.clock.now() {
            self.clock = ExamClock::resume(at);
        }
    }

    /// The rows this session has logged (and those replayed at recovery), oldest first.
    pub fn journal(&self) -> &[JournalRow] {
        &self.journal
    }

    /// Logs an audit row of this exam at the current exam time (actor: the event's user).
    pub fn audit(&mut self, event: AuditEvent, recorder: &Recorder) {
        let at = self.clock.now();
        let actor = event.user.clone().unwrap_or_else(|| "system".to_string());
        match NewEntry::new(
            Some(self.id),
            EntryKind::Audit,
            actor,
            at,
            Utc::now(),
            &event,
        ) {
            Ok(entry) => recorder.submit(entry),
            Err(e) => tracing::error!("could not build an audit row: {e}"),
        }
        self.journal.push(JournalRow::Audit { at, event });
    }

    /// Logs a decision of the domain at the exam time it fell due, noting `handled`,
    /// the exam time it was taken from the domain.
    pub fn log_decision(
        &mut self,
        output: &crate::domain::Output,
        handled: crate::domain::Instant,
        recorder: &Recorder,
    ) {
        let payload = crate::engine::LoggedDecision {
            output: output.clone(),
            handled_ms: handled.as_millis(),
        };
        match NewEntry::new(
            Some(self.id),
            EntryKind::Decision,
            "kiosk",
            output.at,
            Utc::now(),
            &payload,
        ) {
            Ok(entry) => recorder.submit(entry),
            Err(e) => tracing::error!("could not build a decision row: {e}"),
        }
        self.journal.push(JournalRow::Decision {
            at: output.at,
            handled,
            output: output.clone(),
        });
    }

    /// Feeds `event` to the domain at the current exam time and logs it. Impossible
    /// input is refused with an error and not logged; accepted and rejected steps are
    /// both logged (replay reproduces the same decisions).
    pub fn handle(
        &mut self,
        event: ExamEvent,
        actor: &str,
        recorder: &Recorder,
    ) -> Result<Outcome, ExamError> {
        let at = self.clock.now();
        self.handle_at_exam_time(event, actor, recorder, at)
    }

    /// [`ExamSession::handle`] at the exam time of the monotonic instant `received`
    /// (a monitor reading's receive instant), so a reading counts from when it
    /// arrived, not from when the screen got round to it. Never earlier than the
    /// last event handled (the exam's time only moves forward).
    pub fn handle_received(
        &mut self,
        event: ExamEvent,
        actor: &str,
        recorder: &Recorder,
        received: std::time::Instant,
    ) -> Result<Outcome, ExamError> {
        let at = self.clock.at(received).max(self.exam.now());
        self.handle_at_exam_time(event, actor, recorder, at)
    }

    fn handle_at_exam_time(
        &mut self,
        event: ExamEvent,
        actor: &str,
        recorder: &Recorder,
        at: crate::domain::Instant,
    ) -> Result<Outcome, ExamError> {
        let outcome = self.exam.handle(event.clone(), at)?;
        let logged = LoggedEvent { at, event };
        match NewEntry::exam_event(self.id, actor, &logged, Utc::now()) {
            Ok(entry) => recorder.submit(entry),
            Err(e) => tracing::error!("could not build an exam-log row: {e}"),
        }
        self.journal.push(JournalRow::Event {
            at,
            actor: Some(actor.to_string()),
            event: logged.event,
        });
        Ok(outcome)
    }
}

impl ExamSession {
    /// Whether the series with this UID is already logged as acquired in this exam.
    pub fn has_series(&self, series_uid: &str) -> bool {
        self.journal.iter().any(|r| {
            matches!(
                r,
                JournalRow::Event {
                    event: ExamEvent::SeriesAcquired {
                        acquisition: Some(a),
                        ..
                    },
                    ..
                } if a.series_uid == series_uid
            )
        })
    }

    /// A settled series from the incoming folder: the scanner's vendor, model and field
    /// strength are recorded when they differ from what the exam holds (the configured
    /// scanner at opening; the DICOM header is the better witness, 5.2.3), and a classified series is logged as acquired
    /// with its parameters and acquisition times. Unclassified series change nothing.
    /// Returns whether the series was logged as an acquired step.
    pub fn apply_series(
        &mut self,
        report: &crate::dicom::scan::SeriesReport,
        technique: &crate::dicom::scan::TechniqueOffer,
        recorder: &Recorder,
    ) -> Result<bool, ExamError> {
        if let Some(scanner) = technique.scanner()
            && self.exam.scanner() != Some(&scanner)
        {
            self.handle(ExamEvent::ScannerRecorded { scanner }, "scanner", recorder)?;
        }
        match crate::dicom::watch::acquired_event(report) {
            // A series already in the log (the folder is read again after a restart)
            // is not logged twice.
            Some(ExamEvent::SeriesAcquired {
                acquisition: Some(a),
                ..
            }) if self.has_series(&a.series_uid) => Ok(false),
            Some(event) => {
                self.handle(event, "scanner", recorder)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Records events from a screen (patient mode's self-report and breath-hold practice)
/// into the running exam through the engine, and so into the durable log.
pub struct SessionSink {
    engine: crate::engine::Engine,
    actor: &'static str,
}

impl SessionSink {
    /// A sink writing as `actor` (e.g. `patient-self-report`).
    pub fn new(engine: crate::engine::Engine, actor: &'static str) -> SessionSink {
        SessionSink { engine, actor }
    }
}

impl std::fmt::Debug for SessionSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSink")
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

impl crate::ui::patient::model::ExamSink for SessionSink {
    fn record(&self, event: ExamEvent) {
        if let Err(e) = self.engine.handle(event, self.actor) {
            tracing::error!("{} event not recorded: {e}", self.actor);
        }
    }
}
