//! The exam engine: the running exam on a thread of its own.
//!
//! The engine owns the [`ExamSession`] (the pure [`crate::domain::Exam`], its clock
//! and the log), the console's [`AlarmBoard`] and the latest notice. It takes two
//! kinds of input through one channel:
//!
//! * monitor link events as they arrive, each reading handled at the exam time of its
//!   own receive instant ([`EngineSender`], called from the monitor feed's thread);
//! * [`Command`]s from the screens (start stress, inject, acknowledge …).
//!
//! Between inputs it sleeps until the domain's next deadline
//! ([`crate::domain::Exam::poll_timeout`]) or [`ENGINE_MAX_SLEEP`], whichever is
//! first, so "image now", recovery, LGE and every alarm fall due and are logged
//! whether or not the screen is being drawn. Every decision is logged as a
//! `decision` row at the exam time it fell due, with the exam time the engine
//! handled it.
//!
//! The screens read what the engine publishes ([`Engine::read`], a short lock over
//! [`EngineState`]) and send commands; a command that needs its outcome
//! ([`Engine::call`]) waits for the engine, which never blocks on I/O (rows go to the
//! recorder's queue), at most [`ENGINE_REPLY_TIMEOUT`].
//!
//! The engine also decides what the alarm sound plays: after every wake it asks the
//! board what sounds now ([`AlarmBoard::sounding`]: the highest-priority alarm,
//! unless audio is paused for it) and tells its [`speaker::SoundSink`] when that
//! changes; it wakes when an audio pause ends, so the sound resumes on time. The
//! sink's health is published ([`EngineState::sound`]); an output that cannot sound
//! is the console's technical alarm.

pub mod alarm_board;
pub mod notify;
pub mod recorder;
pub mod session;
pub mod sound;
pub mod speaker;

use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::time::Instant;
use crate::domain::{AlarmCode, Decision, ExamError, ExamEvent, Outcome, Output, ProtocolSettings};
use crate::monitor::link::LinkEvent;
use crate::store::log::RecoveredExam;
use crate::store::{AuditAction, AuditEvent, AuditOutcome};
use alarm_board::{AlarmBoard, Prompt};
use recorder::Recorder;
use session::ExamSession;
use speaker::{SoundSink, SoundStatus};

/// The longest the engine sleeps with no input and no deadline: it wakes at least
/// this often to move the published exam time and the simulator's drug cue on.
pub const ENGINE_MAX_SLEEP: Duration = Duration::from_millis(250);

/// The longest a screen waits for the engine's answer to a command. The engine only
/// computes (rows are queued to the recorder), so this is reached only if it is stuck.
pub const ENGINE_REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Inputs waiting for the engine at most. A monitor reading that finds the queue full
/// is dropped and counted ([`EngineState::readings_dropped`]); a command waits.
pub const ENGINE_QUEUE: usize = 4096;

/// How many readings' receive and handled instants the engine keeps (the reading
/// latency for the service figures and the benchmark).
pub const LATENCY_SAMPLES: usize = 4096;

/// The payload of a `decision` row: what the kiosk decided, when it fell due and when
/// the engine handled it (both on the exam's timeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedDecision {
    /// The decision at the time it fell due.
    #[serde(flatten)]
    pub output: Output,
    /// The exam time at which the engine handled it (≥ `output.at`).
    pub handled_ms: u64,
}

/// When one monitor reading arrived (stamped by the link as its frame was decoded)
/// and when the domain had handled it, both on the monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandledReading {
    /// Stamped by the link.
    pub received: std::time::Instant,
    /// The domain had handled it (and its row was queued to the recorder).
    pub handled: std::time::Instant,
}

/// A warning or refusal for the console: its Fluent key and whether it was a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Fluent key (`warning-…` or `rejected-…`).
    pub key: String,
    /// A refusal (`true`) or a warning.
    pub refused: bool,
}

/// What the engine publishes for the screens.
#[derive(Debug, Default)]
pub struct EngineState {
    site: SiteFacts,
    session: Option<ExamSession>,
    board: AlarmBoard,
    notice: Option<Notice>,
    revision: u64,
    readings_dropped: Arc<std::sync::atomic::AtomicU64>,
    readings_handled: u64,
    handled_readings: std::collections::VecDeque<HandledReading>,
    recorder: Option<Arc<Recorder>>,
    sound: SoundStatus,
    sounding: Option<crate::domain::AlarmPriority>,
    disk: Option<DiskReading>,
}

/// The data folder's free space as the engine last sampled it (issue 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskReading {
    /// Free and total bytes.
    pub space: crate::service::disk::DiskSpace,
    /// What that means ([`crate::service::disk::DiskLevel::Critical`]: the
    /// console's technical alarm).
    pub level: crate::service::disk::DiskLevel,
}

/// Asks the data folder's file system for its free space (the kiosk's is
/// [`crate::service::disk::measure`]; tests give their own).
pub type DiskProbe = Box<dyn FnMut() -> std::io::Result<crate::service::disk::DiskSpace> + Send>;

/// What the site told the engine: its clinical practice values and the scanner the
/// kiosk stands beside. Used when an exam opens and when one is recovered alike.
#[derive(Debug, Clone, Default)]
pub struct SiteFacts {
    /// The site's clinical practice values (`[clinical]`).
    pub clinical: crate::domain::settings::ClinicalSettings,
    /// The configured scanner (field strength for implant conditions, 2.1.2).
    pub scanner: Option<crate::domain::technique::Scanner>,
    /// How long "pause audio" lasts (`ui.audio_pause_s`); `None`:
    /// [`alarm_board::DEFAULT_AUDIO_PAUSE`].
    pub audio_pause: Option<crate::domain::time::Duration>,
}

impl SiteFacts {
    /// An empty alarm board with the site's audio-pause duration.
    pub fn board(&self) -> AlarmBoard {
        AlarmBoard::new(self.audio_pause.unwrap_or(alarm_board::DEFAULT_AUDIO_PAUSE))
    }

    /// The board of a running or recovered exam at `now`, with the site's audio pause.
    pub fn board_of(&self, exam: &crate::domain::Exam, now: Instant) -> AlarmBoard {
        AlarmBoard::from_exam(exam, now)
            .with_audio_pause(self.audio_pause.unwrap_or(alarm_board::DEFAULT_AUDIO_PAUSE))
    }
}

impl EngineState {
    /// The site's settings and scanner in force.
    pub fn site(&self) -> &SiteFacts {
        &self.site
    }

    /// The running exam, if one is open or was recovered.
    pub fn session(&self) -> Option<&ExamSession> {
        self.session.as_ref()
    }

    /// The console's alarms and prompts.
    pub fn board(&self) -> &AlarmBoard {
        &self.board
    }

    /// The latest warning or refusal of the console's steps.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// Grows by one every time the engine changed something.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Monitor readings dropped because the engine's queue was full.
    pub fn readings_dropped(&self) -> u64 {
        self.readings_dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The latest readings the domain handled, oldest first (at most
    /// [`LATENCY_SAMPLES`]).
    pub fn handled_readings(&self) -> impl Iterator<Item = HandledReading> + '_ {
        self.handled_readings.iter().copied()
    }

    /// How many readings the domain has handled since the engine started.
    pub fn readings_handled(&self) -> u64 {
        self.readings_handled
    }

    /// Whether a recorder is attached (without one, steps are refused).
    pub fn has_recorder(&self) -> bool {
        self.recorder.is_some()
    }

    /// The alarm sound output's health ([`SoundStatus::Unavailable`]: the technical
    /// alarm "alarm sound unavailable").
    pub fn sound(&self) -> &SoundStatus {
        &self.sound
    }

    /// The data folder's free space, once the engine has sampled it.
    pub fn disk(&self) -> Option<DiskReading> {
        self.disk
    }

    /// The priority whose pattern the engine last asked the sound output to play
    /// (`None`: silent).
    pub fn sounding(&self) -> Option<crate::domain::AlarmPriority> {
        self.sounding
    }
}

/// What a screen asks of the engine.
// A command is moved once into the engine's queue, a few a minute: its size does not
// matter, and boxing each step would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Feed `event` to the domain at the exam's time now, logged as `actor`.
    Handle {
        /// The step.
        event: ExamEvent,
        /// Who.
        actor: String,
    },
    /// An audit row of the running exam at its time now.
    Audit(AuditEvent),
    /// Open a new exam whose `exam_opened` row carries `record`; a running exam is
    /// closed first.
    Open {
        /// Protocol settings.
        settings: ProtocolSettings,
        /// Who.
        actor: String,
        /// The registration record.
        record: serde_json::Value,
    },
    /// Close the running exam.
    Close {
        /// Who.
        actor: String,
    },
    /// The exam that was running when the kiosk stopped: replayed, every timer and
    /// every alarm back.
    Recovered(Box<RecoveredExam>),
    /// A settled series from the incoming folder.
    Series {
        /// The series.
        report: Box<crate::dicom::scan::SeriesReport>,
        /// The scanner facts it carries.
        technique: Box<crate::dicom::scan::TechniqueOffer>,
    },
    /// Acknowledge an active alarm (logged as `AlarmAcknowledged`).
    Acknowledge {
        /// Which.
        code: AlarmCode,
        /// Who.
        actor: String,
    },
    /// Dismiss a prompt (logged as an audit row).
    DismissPrompt {
        /// Which.
        prompt: Prompt,
        /// Who.
        actor: String,
    },
    /// Pause the sound of the active alarms.
    PauseAudio,
    /// The site's clinical settings and scanner, for every exam opened or recovered
    /// from now on.
    Configure(Box<SiteFacts>),
    /// The durable log, once it has started.
    AttachRecorder(Arc<Recorder>),
    /// The built-in simulator's drug cue: the engine tells it when the drug acts.
    AttachDrugCue(crate::monitor::sim::DrugCue),
    /// The alarm sound output (the kiosk's [`speaker::Speaker`]); it replaces the
    /// silent one the engine starts with.
    AttachSound(Box<dyn SoundSink>),
    /// The service manager's keep-alive (systemd `Type=notify`, `WatchdogSec=`):
    /// `READY=1` now, then `WATCHDOG=1` from the engine's own wakes.
    AttachWatchdog(notify::Watchdog),
    /// Sample the data folder's free space every
    /// [`crate::service::disk::DISK_CHECK_EVERY`] with this probe.
    WatchDisk(DiskProbe),
    /// Put a session built elsewhere in place, or none (screenshots and UI tests of
    /// worked states; nothing is logged for what it already holds).
    Install(Option<Box<ExamSession>>),
    /// Move the exam clock forward to read `at` now (screenshots and UI tests run the
    /// console on a simulated clock this way).
    ResumeAt(Instant),
    /// Nothing: answered once every input queued before it has been handled.
    Sync,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Command::Handle { .. } => "Handle",
            Command::Audit(_) => "Audit",
            Command::Open { .. } => "Open",
            Command::Close { .. } => "Close",
            Command::Recovered(_) => "Recovered",
            Command::Series { .. } => "Series",
            Command::Acknowledge { .. } => "Acknowledge",
            Command::DismissPrompt { .. } => "DismissPrompt",
            Command::PauseAudio => "PauseAudio",
            Command::Configure(_) => "Configure",
            Command::AttachRecorder(_) => "AttachRecorder",
            Command::AttachDrugCue(_) => "AttachDrugCue",
            Command::AttachSound(_) => "AttachSound",
            Command::AttachWatchdog(_) => "AttachWatchdog",
            Command::WatchDisk(_) => "WatchDisk",
            Command::Install(_) => "Install",
            Command::ResumeAt(_) => "ResumeAt",
            Command::Sync => "Sync",
        };
        f.write_str(name)
    }
}

/// Why a command did not get an outcome.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// No exam is open.
    #[error("no exam is open")]
    NoExam,
    /// The durable log has not started: nothing can be recorded.
    #[error("the exam record is not open")]
    NoRecorder,
    /// The domain refused an impossible input.
    #[error(transparent)]
    Refused(#[from] ExamError),
    /// The engine did not answer in time.
    #[error("the exam engine did not answer within {0:?}")]
    Timeout(Duration),
    /// The engine has stopped.
    #[error("the exam engine has stopped")]
    Stopped,
    /// A screen asked while it held the engine's state (it would wait for itself).
    #[error("a command was sent while the engine's state was held")]
    Reentrant,
}

/// A command's answer: the domain's outcome for a step, `None` for other commands.
pub type Reply = Result<Option<Outcome>, EngineError>;

enum Input {
    Reading(LinkEvent),
    Command(Box<Command>, Option<mpsc::Sender<Reply>>),
    Stop,
}

thread_local! {
    static READING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The engine's state as published, held for reading (keep it short: the engine waits
/// while it is held).
pub struct StateGuard<'a>(MutexGuard<'a, EngineState>);

impl std::ops::Deref for StateGuard<'_> {
    type Target = EngineState;
    fn deref(&self) -> &EngineState {
        &self.0
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        READING.with(|r| r.set(r.get().saturating_sub(1)));
    }
}

/// Hands monitor link events and commands to the engine from any thread (the monitor
/// feed's, the recorder's) without keeping the engine alive.
#[derive(Clone)]
pub struct EngineSender {
    tx: mpsc::SyncSender<Input>,
    // Counted without the state's lock: the feed's thread never waits for a screen.
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for EngineSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineSender")
    }
}

impl EngineSender {
    /// Queues a command without waiting for its outcome.
    pub fn command(&self, command: Command) {
        if self
            .tx
            .send(Input::Command(Box::new(command), None))
            .is_err()
        {
            tracing::error!("the exam engine has stopped: command lost");
        }
    }

    /// Queues one link event (never blocks: a full queue drops it and counts it).
    pub fn reading(&self, ev: LinkEvent) {
        if crate::monitor::feed::exam_event(&ev).is_none() {
            return;
        }
        if let Err(mpsc::TrySendError::Full(_)) = self.tx.try_send(Input::Reading(ev)) {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!("exam engine queue full: a monitor reading was dropped");
        }
    }
}

struct Inner {
    tx: mpsc::SyncSender<Input>,
    state: Arc<Mutex<EngineState>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.tx.send(Input::Stop);
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// The handle the screens hold; clones share one engine, which stops when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

fn lock(state: &Mutex<EngineState>) -> MutexGuard<'_, EngineState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    /// Starts the engine thread with no exam and no recorder.
    pub fn start() -> std::io::Result<Engine> {
        let (tx, rx) = mpsc::sync_channel(ENGINE_QUEUE);
        let state = Arc::new(Mutex::new(EngineState::default()));
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("exam-engine".into())
            .spawn(move || run(rx, shared))?;
        Ok(Engine {
            inner: Arc::new(Inner {
                tx,
                state,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// What the engine publishes, held for reading. Never send a command while holding
    /// it.
    pub fn read(&self) -> StateGuard<'_> {
        let g = lock(&self.inner.state);
        READING.with(|r| r.set(r.get() + 1));
        StateGuard(g)
    }

    /// A sender for other threads (the monitor feed's link events, the recorder's
    /// recovered exam).
    pub fn sender(&self) -> EngineSender {
        EngineSender {
            tx: self.inner.tx.clone(),
            dropped: lock(&self.inner.state).readings_dropped.clone(),
        }
    }

    /// Sends a command without waiting for its outcome.
    pub fn send(&self, command: Command) {
        if self
            .inner
            .tx
            .send(Input::Command(Box::new(command), None))
            .is_err()
        {
            tracing::error!("the exam engine has stopped: command lost");
        }
    }

    /// Sends a command and waits for its outcome (at most [`ENGINE_REPLY_TIMEOUT`]).
    /// When it returns, the published state includes the command's effects.
    pub fn call(&self, command: Command) -> Reply {
        if READING.with(|r| r.get()) > 0 {
            debug_assert!(false, "engine command sent while its state was held");
            return Err(EngineError::Reentrant);
        }
        let (reply, rx) = mpsc::channel();
        self.inner
            .tx
            .send(Input::Command(Box::new(command), Some(reply)))
            .map_err(|_| EngineError::Stopped)?;
        match rx.recv_timeout(ENGINE_REPLY_TIMEOUT) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(EngineError::Timeout(ENGINE_REPLY_TIMEOUT)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(EngineError::Stopped),
        }
    }

    /// [`Engine::call`] for a command whose failure is only logged.
    pub fn call_quiet(&self, command: Command) {
        let name = format!("{command:?}");
        if let Err(e) = self.call(command) {
            tracing::warn!("engine command {name}: {e}");
        }
    }

    /// Feeds `event` to the running exam as `actor` and returns the domain's outcome.
    pub fn handle(&self, event: ExamEvent, actor: &str) -> Result<Outcome, EngineError> {
        self.call(Command::Handle {
            event,
            actor: actor.to_string(),
        })
        .and_then(|o| o.ok_or(EngineError::NoExam))
    }

    /// Waits until every input queued before now has been handled (tests, screenshots).
    pub fn sync(&self) {
        if let Err(e) = self.call(Command::Sync) {
            tracing::warn!("engine sync: {e}");
        }
    }
}

/// The engine thread's own state beside the published one.
struct Driver {
    drug: Option<crate::monitor::sim::DrugCue>,
    sink: Box<dyn SoundSink>,
    /// What the sink was last told (`None`: nothing yet, so the first wake tells it).
    told: Option<Option<crate::domain::AlarmPriority>>,
    /// The service manager's keep-alive.
    watchdog: Option<notify::Watchdog>,
    /// The free-space probe and when it last ran.
    disk: Option<(DiskProbe, Option<std::time::Instant>)>,
}

impl Default for Driver {
    fn default() -> Self {
        Driver {
            drug: None,
            sink: Box::new(speaker::NoSound),
            told: None,
            watchdog: None,
            disk: None,
        }
    }
}

fn run(rx: mpsc::Receiver<Input>, state: Arc<Mutex<EngineState>>) {
    let mut driver = Driver::default();
    loop {
        let wait = next_wake(&lock(&state));
        let input = match rx.recv_timeout(wait) {
            Ok(Input::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(input) => Some(input),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
        };
        let mut replies = Vec::new();
        {
            let mut st = lock(&state);
            let mut changed = false;
            if let Some(input) = input {
                changed = true;
                let reply = step(&mut st, &mut driver, input);
                replies.extend(reply);
                // Everything else already queued is taken in the same wake.
                while let Ok(input) = rx.try_recv() {
                    if matches!(input, Input::Stop) {
                        settle(&mut st, &driver);
                        driver.sink.play(None);
                        if let Some(w) = driver.watchdog.as_mut() {
                            w.stopping();
                        }
                        return;
                    }
                    replies.extend(step(&mut st, &mut driver, input));
                }
            }
            changed |= settle(&mut st, &driver);
            changed |= sound(&mut st, &mut driver);
            changed |= disk(&mut st, &mut driver);
            if changed {
                st.revision += 1;
            }
        }
        for (tx, r) in replies {
            let _ = tx.send(r);
        }
        // The keep-alive only from here: an engine stuck anywhere above (a lock
        // never released, a step that never returns) stops it, and the service
        // manager restarts the kiosk.
        if let Some(w) = driver.watchdog.as_mut() {
            w.tick(std::time::Instant::now());
        }
    }
    driver.sink.play(None);
    if let Some(w) = driver.watchdog.as_mut() {
        w.stopping();
    }
}

/// Samples the free space when due and publishes it; a change of level is logged
/// (the journal) and, at critical, shown on the console as a technical alarm.
fn disk(st: &mut EngineState, driver: &mut Driver) -> bool {
    use crate::service::disk::{DISK_CHECK_EVERY, DiskLevel};
    let Some((probe, last)) = driver.disk.as_mut() else {
        return false;
    };
    let now = std::time::Instant::now();
    if last.is_some_and(|l| now.duration_since(l) < DISK_CHECK_EVERY) {
        return false;
    }
    *last = Some(now);
    let space = match probe() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("the data folder's free space could not be read: {e}");
            return false;
        }
    };
    let reading = DiskReading {
        space,
        level: DiskLevel::of(space),
    };
    let before = st.disk.map(|d| d.level);
    if before != Some(reading.level) {
        match reading.level {
            DiskLevel::Critical => tracing::error!(
                free = space.free,
                "technical alarm: the data disk is almost full"
            ),
            DiskLevel::Low => tracing::warn!(free = space.free, "the data disk is getting full"),
            DiskLevel::Ok => tracing::info!(free = space.free, "the data disk has room"),
        }
    }
    let changed = st.disk != Some(reading);
    st.disk = Some(reading);
    changed
}

/// Tells the sound output what sounds now, when that changed, and publishes its
/// health. Returns whether anything published changed.
fn sound(st: &mut EngineState, driver: &mut Driver) -> bool {
    let want = st
        .session
        .as_ref()
        .and_then(|s| st.board.sounding(s.now()))
        .map(|a| a.priority);
    let mut changed = false;
    if driver.told != Some(want) {
        driver.sink.play(want);
        driver.told = Some(want);
        changed |= st.sounding != want;
        st.sounding = want;
    }
    let status = driver.sink.status();
    if status != st.sound {
        match &status {
            SoundStatus::Unavailable(fault) => {
                tracing::error!("technical alarm: alarm sound unavailable: {fault}")
            }
            SoundStatus::Ready { device } => tracing::info!("alarm sound ready on {device}"),
            SoundStatus::Off | SoundStatus::Opening => {}
        }
        st.sound = status;
        changed = true;
    }
    changed
}

/// How long until the running exam's next deadline or the end of an audio pause
/// (at most [`ENGINE_MAX_SLEEP`]).
fn next_wake(st: &EngineState) -> Duration {
    let Some(s) = st.session.as_ref() else {
        return ENGINE_MAX_SLEEP;
    };
    let now = s.now();
    let pause_ends = st.board.audio_paused_until(now);
    match s.exam().poll_timeout().into_iter().chain(pause_ends).min() {
        Some(due) => {
            let left = if due > now {
                Duration::from_millis((due - now).as_millis())
            } else {
                Duration::ZERO
            };
            left.min(ENGINE_MAX_SLEEP)
        }
        None => ENGINE_MAX_SLEEP,
    }
}

fn step(
    st: &mut EngineState,
    driver: &mut Driver,
    input: Input,
) -> Option<(mpsc::Sender<Reply>, Reply)> {
    match input {
        Input::Reading(ev) => {
            reading(st, ev);
            None
        }
        Input::Command(c, reply) => {
            let r = command(st, driver, *c);
            reply.map(|tx| (tx, r))
        }
        Input::Stop => None,
    }
}

fn reading(st: &mut EngineState, ev: LinkEvent) {
    let Some(event) = crate::monitor::feed::exam_event(&ev) else {
        return;
    };
    let (Some(s), Some(rec)) = (st.session.as_mut(), st.recorder.as_ref()) else {
        return;
    };
    let handled = match &ev {
        // A reading counts from when it arrived, not from when the engine took it.
        LinkEvent::Reading(r) => {
            let received = r.received_instant.into_std();
            let h = s.handle_received(event, "monitor", rec, received);
            if st.handled_readings.len() == LATENCY_SAMPLES {
                st.handled_readings.pop_front();
            }
            st.handled_readings.push_back(HandledReading {
                received,
                handled: std::time::Instant::now(),
            });
            st.readings_handled += 1;
            h
        }
        _ => s.handle(event, "monitor", rec),
    };
    if let Err(e) = handled {
        tracing::warn!("monitor reading refused: {e}");
    }
}

fn command(st: &mut EngineState, driver: &mut Driver, c: Command) -> Reply {
    match c {
        Command::AttachRecorder(r) => {
            st.recorder = Some(r);
            Ok(None)
        }
        Command::AttachDrugCue(d) => {
            driver.drug = Some(d);
            Ok(None)
        }
        Command::AttachWatchdog(w) => {
            // READY=1 at the end of this wake, from the loop.
            driver.watchdog = Some(w);
            Ok(None)
        }
        Command::WatchDisk(probe) => {
            driver.disk = Some((probe, None));
            Ok(None)
        }
        Command::AttachSound(sink) => {
            driver.sink.play(None);
            driver.sink = sink;
            // The new output hears what sounds now at the end of this wake.
            driver.told = None;
            Ok(None)
        }
        Command::Install(s) => {
            st.session = s.map(|b| *b);
            st.board = st.site.board();
            st.notice = None;
            if let Some(s) = st.session.as_ref() {
                st.board = st.site.board_of(s.exam(), s.now());
            }
            Ok(None)
        }
        Command::ResumeAt(at) => {
            if let Some(s) = st.session.as_mut() {
                s.resume_at(at);
            }
            Ok(None)
        }
        Command::Sync => Ok(None),
        Command::Configure(site) => {
            st.site = *site;
            Ok(None)
        }
        Command::PauseAudio => {
            if let Some(now) = st.session.as_ref().map(|s| s.now()) {
                st.board.pause_audio(now);
            }
            Ok(None)
        }
        Command::Recovered(rec) => {
            // The values logged at opening are replayed first and win.
            match ExamSession::recover(st.site.clinical.to_protocol(), &rec) {
                Ok(s) => {
                    tracing::info!("resumed exam {} at {}", s.id(), s.now());
                    // Every alarm not acknowledged and every prompt still due is back.
                    st.board = st.site.board_of(s.exam(), s.now());
                    st.notice = None;
                    st.session = Some(s);
                    Ok(None)
                }
                Err(e) => {
                    tracing::error!("the running exam {} could not be replayed: {e}", rec.exam);
                    Err(EngineError::Refused(e))
                }
            }
        }
        other => {
            let rec = st.recorder.clone().ok_or(EngineError::NoRecorder)?;
            recorded(st, &rec, other)
        }
    }
}

/// The commands that write to the log.
fn recorded(st: &mut EngineState, rec: &Recorder, c: Command) -> Reply {
    match c {
        Command::Open {
            settings,
            actor,
            record,
        } => {
            if let Some(old) = st.session.take() {
                old.close(rec, &actor);
            }
            let mut s = ExamSession::open_with(settings, rec, &actor, record);
            // The exam's date (a label that dates the eGFR, 2.3.1) and the configured
            // scanner (its field strength for implant conditions, 2.1.2).
            // Its wall-clock time anchors the scanner's acquisition times (3.2.3,
            // 3.1.4.1 are timed from when a series was acquired, not when it arrived).
            let wall = chrono::Local::now().naive_local();
            use chrono::Datelike;
            let dated = crate::domain::date::CivilDate::new(wall.year(), wall.month(), wall.day())
                .map(|date| ExamEvent::ExamDated {
                    date,
                    wall: Some(wall),
                });
            let scanner = st
                .site
                .scanner
                .clone()
                .map(|scanner| ExamEvent::ScannerRecorded { scanner });
            let settings = ExamEvent::SettingsRecorded {
                settings: Box::new(st.site.clinical.clone()),
            };
            for event in std::iter::once(settings).chain(dated).chain(scanner) {
                if let Err(e) = s.handle(event, SITE_ACTOR, rec) {
                    tracing::error!("exam facts not recorded: {e}");
                }
            }
            s.exam_mut().drain();
            st.session = Some(s);
            st.board = st.site.board();
            st.notice = None;
            Ok(None)
        }
        Command::Close { actor } => {
            if let Some(old) = st.session.take() {
                old.close(rec, &actor);
            }
            st.board = st.site.board();
            st.notice = None;
            Ok(None)
        }
        Command::Handle { event, actor } => {
            let s = st.session.as_mut().ok_or(EngineError::NoExam)?;
            let finishing = matches!(event, ExamEvent::ExamFinished { .. });
            let outcome = s.handle(event, &actor, rec)?;
            if finishing {
                // The end is logged: the exam closes with it (issue 15); its report is
                // produced from the log from here on.
                if let Some(done) = st.session.take() {
                    done.close(rec, &actor);
                }
                st.board = st.site.board();
                st.notice = None;
            }
            Ok(Some(outcome))
        }
        Command::Audit(event) => {
            let s = st.session.as_mut().ok_or(EngineError::NoExam)?;
            s.audit(event, rec);
            Ok(None)
        }
        Command::Acknowledge { code, actor } => {
            let s = st.session.as_mut().ok_or(EngineError::NoExam)?;
            st.board.acknowledge(code);
            Ok(Some(s.handle(
                ExamEvent::AlarmAcknowledged {
                    code,
                    by: actor.clone(),
                },
                &actor,
                rec,
            )?))
        }
        Command::DismissPrompt { prompt, actor } => {
            let s = st.session.as_mut().ok_or(EngineError::NoExam)?;
            if st.board.dismiss(prompt) {
                s.audit(
                    AuditEvent {
                        action: AuditAction::PromptDismissed,
                        user: Some(actor),
                        subject: Some(prompt.code().to_string()),
                        outcome: AuditOutcome::Success,
                        account: None,
                    },
                    rec,
                );
            }
            Ok(None)
        }
        Command::Series { report, technique } => {
            let Some(s) = st.session.as_mut() else {
                tracing::warn!(
                    "series {} arrived with no open exam",
                    report.summary.label()
                );
                return Err(EngineError::NoExam);
            };
            s.apply_series(&report, &technique, rec)?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// The actor the engine names when it records the site's own facts at opening.
pub const SITE_ACTOR: &str = "kiosk";

/// Fires every deadline due at the exam's time now, logs each decision, and keeps the
/// alarm board in step with the exam's state. Returns whether anything changed.
fn settle(st: &mut EngineState, driver: &Driver) -> bool {
    let Some(s) = st.session.as_mut() else {
        if let Some(d) = &driver.drug {
            d.set(false);
        }
        return false;
    };
    let now = s.now();
    s.exam_mut().handle_timeout(now);
    let outputs = s.exam_mut().drain();
    let changed = !outputs.is_empty();
    for out in &outputs {
        match &out.decision {
            Decision::Warning { code } => {
                st.notice = Some(Notice {
                    key: crate::report::key_for("warning", code),
                    refused: false,
                })
            }
            // The nurse's sign-off refusals are shown in nurse mode, not on the console.
            Decision::Rejected { code }
                if !matches!(
                    code,
                    crate::domain::RejectCode::NoExamType
                        | crate::domain::RejectCode::PreparationIncomplete
                ) =>
            {
                st.notice = Some(Notice {
                    key: crate::report::key_for("rejected", code),
                    refused: true,
                })
            }
            _ => {}
        }
        st.board.on_output(out);
        if let Some(rec) = st.recorder.as_ref() {
            s.log_decision(out, now, rec);
        }
    }
    // The board follows the exam's alarm state (an alarm raised and not acknowledged
    // stays on, whatever the screen did).
    st.board.follow(s.exam(), now);
    if let Some(d) = &driver.drug {
        // The built-in simulated patient responds to the kiosk's own stress drug.
        d.set(s.exam().stress().drug_active(now));
    }
    changed
}
