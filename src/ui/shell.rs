//! The kiosk shell: builds the window, installs the Fluent bridge and the theme, and
//! routes the home screen's choices. Testable without a display (Slint's testing
//! backend or the headless renderer in [`crate::gallery::screenshot`]).

use std::cell::Cell;
use std::rc::Rc;

use slint::ComponentHandle;

use crate::config::{Config, Language, MonitorSource, ThemeName};
use crate::i18n::{LanguageState, Localizer};
use crate::ui::components::{AppWindow, MonitorState, Role, Screen};
use crate::ui::input::view::InputPanels;
use crate::ui::patient::model::{BreathHoldSettings, PatientController, VecSink};
use crate::ui::patient::view::{PatientPanel, monotonic_clock};
use crate::ui::theme;

/// Who the log names for an action taken on the lock screen without a sign-in (only
/// stopping the stress drug is offered there).
pub const LOCK_SCREEN_ACTOR: &str = "lock-screen";

/// The file beside the database where refused DICOM files are remembered.
pub const DICOM_SKIP_LEDGER: &str = "dicom-skipped.tsv";

/// The DICOM watch thread's stack. Reading is bounded and iterative, so this is a
/// margin, not a need.
pub const DICOM_WATCH_STACK_BYTES: usize = 8 * 1024 * 1024;

/// What the staff screens' technical notice says about refused DICOM files.
#[derive(Debug, Default)]
pub struct DicomNotice {
    count: usize,
    latest: Option<(String, crate::dicom::SkipReason)>,
    dismissed_at: usize,
}

impl DicomNotice {
    /// One more refused file.
    pub fn add(&mut self, f: &crate::dicom::scan::SkippedFile) {
        self.count += 1;
        let name = f
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| f.file.display().to_string());
        self.latest = Some((name, f.reason));
    }

    /// The staff saw the notice: hidden until another file is refused.
    pub fn dismiss(&mut self) {
        self.dismissed_at = self.count;
    }

    /// How many files were refused since the kiosk started.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The notice in the current language, empty when there is nothing new.
    pub fn text(&self, lang: &LanguageState) -> String {
        let Some((file, reason)) = &self.latest else {
            return String::new();
        };
        if self.count == self.dismissed_at {
            return String::new();
        }
        let mut args = fluent::FluentArgs::new();
        args.set("count", self.count.to_string());
        args.set("file", file.clone());
        args.set("reason", lang.tr(&format!("dicom-skip-{}", reason.code())));
        lang.localizer()
            .tr_args(lang.current(), "technical-notice-dicom", &args)
    }
}

/// The window and its controllers.
pub struct Shell {
    app: AppWindow,
    language: LanguageState,
    theme: Rc<Cell<ThemeName>>,
    config: Rc<Config>,
    clock: Option<slint::Timer>,
    patient_timer: Option<slint::Timer>,
    patient: PatientPanel,
    input: InputPanels,
    feed: Option<crate::monitor::feed::MonitorFeed>,
    board: std::sync::Arc<std::sync::Mutex<crate::monitor::feed::VitalsBoard>>,
    recorder: Option<std::sync::Arc<crate::engine::recorder::Recorder>>,
    engine: crate::engine::Engine,
    recorder_timer: Option<slint::Timer>,
    dicom_watch: Option<(slint::Timer, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
    /// The DICOM image receiver, when `dicom.node.listen` is set.
    dicom_node: Option<crate::dicom::node::service::NodeService>,
    /// Files the DICOM watch refused, for the staff screens' technical notice.
    dicom_notice: Rc<std::cell::RefCell<DicomNotice>>,
    console: Option<(slint::Timer, Rc<dyn Fn()>)>,
    staff: crate::ui::staff::view::StaffPanel,
    nurse: crate::ui::nurse::view::NursePanel,
    staff_timer: Option<slint::Timer>,
}

impl Shell {
    /// Creates the window (not yet shown) with the configured language and theme.
    pub fn new(config: Config, localizer: Rc<Localizer>) -> Result<Shell, slint::PlatformError> {
        let app = AppWindow::new()?;
        // The administrator's site settings lie over the configuration file.
        let site_path = crate::config::site::default_path(&config);
        let base_config = config.clone();
        let config = match crate::config::site::SiteSettings::load(&site_path)
            .and_then(|s| s.apply(&config))
        {
            Ok(merged) => merged,
            Err(e) => {
                tracing::error!("site settings ignored: {e}");
                config
            }
        };
        let config = Rc::new(config);
        let language = LanguageState::install(&app, localizer, config.ui.language);
        let theme_state = Rc::new(Cell::new(config.ui.theme));
        theme::apply(&app, config.ui.theme, &config.ui);
        app.set_monitor_state(match config.monitor.source {
            MonitorSource::Simulated => MonitorState::Simulated,
            MonitorSource::Serial | MonitorSource::Tcp => MonitorState::Off,
        });

        let weak = app.as_weak();
        let lang = language.clone();
        app.on_toggle_language(move || {
            if let Some(app) = weak.upgrade() {
                lang.set(&app, lang.current().other());
            }
        });

        let weak = app.as_weak();
        let (theme_cell, cfg) = (theme_state.clone(), config.clone());
        app.on_toggle_theme(move || {
            if let Some(app) = weak.upgrade() {
                let next = match theme_cell.get() {
                    ThemeName::Day => ThemeName::Night,
                    ThemeName::Night => ThemeName::Day,
                };
                theme_cell.set(next);
                theme::apply(&app, next, &cfg.ui);
            }
        });

        let engine = crate::engine::Engine::start().map_err(|e| {
            slint::PlatformError::Other(format!("the exam engine could not start: {e}"))
        })?;
        // The site's practice values and scanner, before any exam opens or resumes.
        engine.send(crate::engine::Command::Configure(Box::new(
            crate::engine::SiteFacts {
                clinical: config.clinical.clone(),
                scanner: Some(crate::domain::technique::Scanner {
                    vendor: config.scanner.vendor.clone(),
                    model: config.scanner.model.clone(),
                    field_strength_t: config.scanner.field_strength_t,
                }),
                audio_pause: Some(crate::domain::time::Duration::from_millis(
                    (config.ui.audio_pause_s * 1000.0).round() as u64,
                )),
            },
        )));
        let input = InputPanels::install(&app);
        let staff = crate::ui::staff::view::StaffPanel::install(
            &app,
            language.clone(),
            input.clone(),
            engine.clone(),
            &base_config,
            site_path,
        );
        let weak = app.as_weak();
        let (theme_cell, cfg) = (theme_state.clone(), config.clone());
        staff.set_theme_setter(Rc::new(move |t| {
            if let Some(app) = weak.upgrade() {
                theme_cell.set(t);
                theme::apply(&app, t, &cfg.ui);
            }
        }));

        let weak = app.as_weak();
        let guard = staff.clone();
        app.on_role_chosen(move |role| {
            if let Some(app) = weak.upgrade() {
                let screen = match role {
                    Role::Patient => Screen::Patient,
                    Role::Nurse => Screen::Nurse,
                    Role::Technologist => Screen::Technologist,
                    Role::Admin => Screen::Admin,
                };
                if screen == Screen::Patient {
                    // Handing the kiosk to the patient ends any staff session.
                    guard.lock_now();
                }
                app.set_screen(screen);
                guard.guard(screen);
            }
        });

        let dicom_notice: Rc<std::cell::RefCell<DicomNotice>> = Rc::default();
        let (weak, notice) = (app.as_weak(), dicom_notice.clone());
        app.on_technical_notice_dismissed(move || {
            notice.borrow_mut().dismiss();
            if let Some(app) = weak.upgrade() {
                app.set_technical_notice_text("".into());
            }
        });

        let weak = app.as_weak();
        let (guard, inp) = (staff.clone(), input.clone());
        app.on_go_home(move || {
            if let Some(app) = weak.upgrade() {
                inp.close();
                app.set_screen(Screen::Home);
                guard.guard(Screen::Home);
            }
        });

        // Until the kiosk connects the durable exam log, patient-mode events are kept in
        // memory (and logged with tracing).
        let controller = PatientController::new(
            BreathHoldSettings::from(&config.ui),
            Rc::new(VecSink::default()),
        );
        let patient = PatientPanel::install(&app, controller, monotonic_clock());
        let nurse = crate::ui::nurse::view::NursePanel::install(
            &app,
            language.clone(),
            input.clone(),
            staff.clone(),
            patient.clone(),
            engine.clone(),
        );
        nurse.set_worklist(crate::ui::nurse::view::WorklistSource::from_config(&config));
        let n = nurse.clone();
        staff.on_change(Rc::new(move || n.refresh()));
        nurse.refresh();

        // Text worded in Rust is worded again when the language changes.
        let weak = app.as_weak();
        let (lang, n, st) = (language.clone(), nurse.clone(), staff.clone());
        app.on_toggle_language(move || {
            if let Some(app) = weak.upgrade() {
                lang.set(&app, lang.current().other());
                n.invalidate();
                n.refresh();
                // The view-only console stays in view (no sign-in over it).
                if !st.view_only() {
                    st.guard(app.get_screen());
                }
            }
        });

        Ok(Shell {
            app,
            language,
            theme: theme_state,
            config,
            clock: None,
            patient_timer: None,
            patient,
            input,
            feed: None,
            board: Default::default(),
            recorder: None,
            engine,
            recorder_timer: None,
            dicom_watch: None,
            dicom_node: None,
            dicom_notice,
            console: None,
            staff,
            nurse,
            staff_timer: None,
        })
    }

    /// The Slint window component.
    pub fn app(&self) -> &AppWindow {
        &self.app
    }

    /// Patient mode (its controller, clock and sink).
    pub fn patient(&self) -> &PatientPanel {
        &self.patient
    }

    /// The on-screen keypad and keyboard.
    pub fn input(&self) -> &InputPanels {
        &self.input
    }

    /// Sign-in, the lock screen and the admin screens.
    pub fn staff(&self) -> &crate::ui::staff::view::StaffPanel {
        &self.staff
    }

    /// Nurse mode.
    pub fn nurse(&self) -> &crate::ui::nurse::view::NursePanel {
        &self.nurse
    }

    /// One second of the staff side: the idle lock fires if due, nurse mode redraws
    /// what changed (the timer does this every second).
    pub fn staff_tick(&self) {
        self.staff.tick();
        self.nurse.refresh();
    }

    /// Starts the staff timer (idle lock, nurse mode redraw).
    pub fn start_staff_timer(&mut self) {
        let (staff, nurse) = (self.staff.clone(), self.nurse.clone());
        let timer = slint::Timer::default();
        timer.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_secs(1),
            move || {
                staff.tick();
                nurse.refresh();
            },
        );
        self.staff_timer = Some(timer);
    }

    /// Waits until every job the screens handed off the UI thread (PIN checks,
    /// account reads and changes, today's list) has come back and been drawn. For
    /// tests and shutdown; a touch handler never waits. The recorder's queued store
    /// jobs (audit rows) are waited for too.
    pub fn settle(&self) {
        self.staff.jobs().settle();
        // Audit rows are written on the recorder's thread without waiting; a no-op
        // job there returns after every one queued before it.
        if let Some(recorder) = self.recorder() {
            let _ = recorder.with_store(|_| async {});
        }
    }

    /// The notice of refused DICOM files shown on the staff screens.
    pub fn dicom_notice(&self) -> &std::cell::RefCell<DicomNotice> {
        &self.dicom_notice
    }

    /// The configuration the shell was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The language shown now.
    pub fn language(&self) -> Language {
        self.language.current()
    }

    /// The shared language state (for controllers that word text in Rust).
    pub fn language_state(&self) -> &LanguageState {
        &self.language
    }

    /// Switches language at run time (text worded in Rust is worded again).
    pub fn set_language(&self, lang: Language) {
        self.language.set(&self.app, lang);
        self.nurse.invalidate();
        self.nurse.refresh();
    }

    /// The theme shown now.
    pub fn theme(&self) -> ThemeName {
        self.theme.get()
    }

    /// Switches theme at run time.
    pub fn set_theme(&self, theme_name: ThemeName) {
        self.theme.set(theme_name);
        theme::apply(&self.app, theme_name, &self.config.ui);
    }

    /// Starts the status-bar clock (wall-clock time: a label only) and the NIBP age
    /// (monotonic).
    pub fn start_clock(&mut self) {
        let weak = self.app.as_weak();
        let (board, lang) = (self.board.clone(), self.language.clone());
        let tick = move || {
            if let Some(app) = weak.upgrade() {
                let now = chrono::Local::now();
                app.set_clock_text(now.format("%Y-%m-%d %H:%M:%S").to_string().into());
                let age = board
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .nibp_age_minutes(std::time::Instant::now());
                let text = match age {
                    None => String::new(),
                    Some(0) => lang.tr("vitals-bp-age-now"),
                    Some(m) => {
                        let mut args = fluent::FluentArgs::new();
                        args.set("minutes", m.to_string());
                        lang.localizer()
                            .tr_args(lang.current(), "vitals-bp-age", &args)
                    }
                };
                app.set_bp_age_text(text.into());
            }
        };
        tick();
        let timer = slint::Timer::default();
        timer.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_millis(250),
            tick,
        );
        self.clock = Some(timer);
    }

    /// Starts the live monitor feed (the built-in simulator when nothing is
    /// configured); the status bar follows its readings and link state.
    pub fn start_monitor(&mut self) -> std::io::Result<()> {
        let weak = self.app.as_weak();
        let simulated = self.config.monitor.source == MonitorSource::Simulated;
        let board = self.board.clone();
        // Readings go straight to the exam engine, on the feed's own thread.
        let engine = self.engine.sender();
        let feed =
            crate::monitor::feed::MonitorFeed::start(self.config.monitor.clone(), move |ev| {
                engine.reading(ev.clone());
                let b = {
                    let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
                    b.apply(&ev);
                    b.clone()
                };
                let _ = weak.upgrade_in_event_loop(move |app| {
                    app.set_hr_text(b.hr_text().into());
                    app.set_bp_text(b.bp_text().into());
                    app.set_monitor_state(if b.lost {
                        MonitorState::Lost
                    } else if simulated {
                        MonitorState::Simulated
                    } else if b.connected {
                        MonitorState::Connected
                    } else {
                        MonitorState::Off
                    });
                });
            })?;
        if let Some(cue) = feed.drug_cue() {
            self.engine.send(crate::engine::Command::AttachDrugCue(cue));
        }
        self.feed = Some(feed);
        Ok(())
    }

    /// Starts the exam recorder (the durable log). The running exam of an earlier run,
    /// if any, is rebuilt from the log with every timer; while rows cannot be written
    /// the status bar shows the technical alarm.
    pub fn start_recorder(&mut self) -> Result<(), crate::engine::recorder::RecorderError> {
        let (tx, rx) = std::sync::mpsc::channel();
        // The exam found running is handed to the engine from the recorder's thread;
        // the screen only hears that it was.
        let engine = self.engine.sender();
        // The collector was checked when the configuration was read.
        let audit = self.config.audit.collector().ok().flatten();
        let recorder = crate::engine::recorder::Recorder::start_with_services(
            &self.config.database,
            audit,
            Some(self.config.ris.clone()),
            move |r| {
                if let crate::engine::recorder::RecorderReport::Opened {
                    recovered: Some(rec),
                    ..
                } = &r
                {
                    engine.command(crate::engine::Command::Recovered(Box::new(rec.clone())));
                }
                let _ = tx.send(r);
            },
        )?;
        let recorder = std::sync::Arc::new(recorder);
        self.engine
            .send(crate::engine::Command::AttachRecorder(recorder.clone()));
        self.staff.set_recorder(recorder.clone());
        self.nurse.set_recorder(recorder.clone());
        self.patient
            .set_sink(Rc::new(crate::engine::session::SessionSink::new(
                self.engine.clone(),
                "patient-self-report",
            )));
        self.recorder = Some(recorder);
        let weak = self.app.as_weak();
        let (engine, lang) = (self.engine.clone(), self.language.clone());
        let patient = self.patient.clone();
        let timer = slint::Timer::default();
        timer.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_millis(100),
            move || {
                let Some(app) = weak.upgrade() else { return };
                while let Ok(report) = rx.try_recv() {
                    let opened = matches!(
                        report,
                        crate::engine::recorder::RecorderReport::Opened { .. }
                    );
                    apply_recorder_report(&app, &lang, report);
                    if !opened {
                        continue;
                    }
                    // A resumed exam: patient mode greets the registered patient again.
                    engine.sync();
                    let reg = engine.read().session().and_then(|s| {
                        crate::ui::nurse::registration::Registration::from_json(s.record())
                    });
                    if let Some(reg) = reg
                        && patient.name().is_none()
                    {
                        patient.set_patient_identity(Some(&reg.name), Some(reg.birth_date));
                        patient.set_exam(Some(reg.sex), Some(reg.exam_type));
                    }
                }
            },
        );
        self.recorder_timer = Some(timer);
        Ok(())
    }

    /// Watches the configured incoming DICOM folder: settled series are logged into
    /// the running exam (scanner facts once, each classified series as acquired).
    pub fn start_dicom_watch(&mut self) -> Result<(), String> {
        let cfg = &self.config.dicom;
        if cfg.incoming.is_empty() {
            return Ok(());
        }
        let rules = if cfg.rules.is_empty() {
            crate::dicom::Rules::builtin()
        } else {
            crate::dicom::Rules::builtin_with_site_file(std::path::Path::new(&cfg.rules))
                .map_err(|e| format!("dicom.rules: {e}"))?
        };
        let ledger = self.config.database.state_dir().join(DICOM_SKIP_LEDGER);
        let mut watch =
            crate::dicom::watch::FolderWatch::new(&cfg.incoming, rules).with_ledger(ledger);
        let every = std::time::Duration::from_secs_f64(cfg.poll_interval_s);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let stop_flag = stop.clone();
        std::thread::Builder::new()
            .name("dicom-watch".into())
            .stack_size(DICOM_WATCH_STACK_BYTES)
            .spawn(move || {
                while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                    for ev in watch.poll() {
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    std::thread::sleep(every);
                }
            })
            .map_err(|e| format!("the DICOM watch could not start: {e}"))?;
        let engine = self.engine.clone();
        let notice = self.dicom_notice.clone();
        let weak = self.app.as_weak();
        let lang = self.language.clone();
        let timer = slint::Timer::default();
        timer.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_millis(250),
            move || {
                while let Ok(ev) = rx.try_recv() {
                    match ev {
                        crate::dicom::watch::WatchEvent::Series { report, technique } => {
                            engine.send(crate::engine::Command::Series {
                                report,
                                technique: Box::new(technique),
                            });
                        }
                        crate::dicom::watch::WatchEvent::Skipped(f) => {
                            tracing::warn!("DICOM file skipped: {}", f.detail);
                            notice.borrow_mut().add(&f);
                        }
                        crate::dicom::watch::WatchEvent::FolderError(e) => tracing::error!("{e}"),
                    }
                }
                if let Some(app) = weak.upgrade() {
                    let text = notice.borrow().text(&lang);
                    if app.get_technical_notice_text().as_str() != text {
                        app.set_technical_notice_text(text.into());
                    }
                }
            },
        );
        self.dicom_watch = Some((timer, stop));
        Ok(())
    }

    /// Starts the DICOM image receiver when `dicom.node.listen` is set: received
    /// files go into the incoming folder the watch reads; every association,
    /// stored or refused instance and removal is an audit row in the log.
    pub fn start_dicom_node(&mut self) -> Result<(), String> {
        let cfg = &self.config.dicom;
        if cfg.node.listen.is_empty() {
            return Ok(());
        }
        let settings = crate::dicom::node::ReceiverSettings {
            ae_title: cfg.node.ae_title.clone(),
            callers: cfg.node.callers.clone(),
            store: std::path::PathBuf::from(&cfg.incoming),
            keep_bytes: cfg.node.keep_mib * 1024 * 1024,
            idle: crate::dicom::node::receiver::ASSOCIATION_IDLE,
            discard_after: cfg.node.discard_after(),
        };
        let node = crate::dicom::node::service::NodeService::start(
            &cfg.node.listen,
            settings,
            crate::dicom::node::service::log_to(self.recorder.clone()),
        )
        .map_err(|e| format!("dicom.node.listen {}: {e}", cfg.node.listen))?;
        tracing::info!(
            "DICOM receiver listening on {} as {}",
            node.local_addr,
            cfg.node.ae_title
        );
        self.dicom_node = Some(node);
        Ok(())
    }

    /// Opens the alarm sound output (the default audio device, on a thread of its own)
    /// and hands it to the exam engine, which plays the sounding alarm's pattern on
    /// it. Returns at once; a missing or failing device becomes the console's
    /// technical alarm.
    pub fn start_sound(&mut self) {
        self.engine
            .send(crate::engine::Command::AttachSound(Box::new(
                crate::engine::speaker::Speaker::open(),
            )));
    }

    /// Hands the exam engine the service manager's keep-alive (when systemd started
    /// the kiosk as a `Type=notify` service) and the data folder's free-space probe
    /// (the low-disk technical alarm). Both run on the engine's thread.
    pub fn start_service_watch(&mut self) {
        if let Some(w) = crate::engine::notify::Watchdog::from_env() {
            tracing::info!(every = ?w.every(), "service manager keep-alive from the exam engine");
            self.engine.send(crate::engine::Command::AttachWatchdog(w));
        }
        let dir = self.config.database.state_dir();
        self.engine
            .send(crate::engine::Command::WatchDisk(Box::new(move || {
                crate::service::disk::measure(&dir)
            })));
    }

    /// Gives the maintenance screen what only the running kiosk knows: the monitor
    /// link (the feed's board and the engine's counters) and the DICOM node's totals.
    pub fn install_live_facts(&self) {
        use crate::ui::staff::view::{DicomFacts, LiveFacts, MonitorFacts};
        let board = self.board.clone();
        let engine = self.engine.clone();
        let source = self.config.monitor.source;
        let dicom = self.dicom_node.as_ref().map(|n| {
            (
                format!("{}@{}", self.config.dicom.node.ae_title, n.local_addr),
                n.counters.clone(),
            )
        });
        self.staff.set_live_facts(Rc::new(move || {
            let (connected, lost) = {
                let b = board.lock().unwrap_or_else(|p| p.into_inner());
                (b.connected, b.lost)
            };
            let (handled, dropped) = {
                let st = engine.read();
                (st.readings_handled(), st.readings_dropped())
            };
            LiveFacts {
                monitor: MonitorFacts {
                    source,
                    connected,
                    lost,
                    handled,
                    dropped,
                },
                dicom: dicom.as_ref().map(|(listening, c)| {
                    let [
                        _assoc,
                        rejected,
                        aborted,
                        stored,
                        refused,
                        _echoes,
                        _removed,
                    ] = c.snapshot();
                    DicomFacts {
                        listening: listening.clone(),
                        stored,
                        refused: refused + rejected + aborted,
                    }
                }),
            }
        }));
    }

    /// Starts the technologist console: its buttons become commands to the exam
    /// engine, and every 250 ms it redraws what the engine published (alarms flash at
    /// their IEC rates). Deadlines and alarms are the engine's, not this timer's.
    pub fn start_console(&mut self) {
        let simulated = self.config.monitor.source == MonitorSource::Simulated;
        let console = Rc::new(std::cell::RefCell::new(
            crate::ui::console::view::ConsoleUi::with_feed(self.board.clone(), simulated),
        ));
        crate::ui::console::view::install_callbacks(
            &self.app,
            console.clone(),
            self.engine.clone(),
            self.input.clone(),
            {
                let staff = self.staff.clone();
                Rc::new(move || {
                    // Nobody signed in: an action from the lock screen (stop infusion).
                    staff
                        .actor()
                        .unwrap_or_else(|| LOCK_SCREEN_ACTOR.to_string())
                })
            },
            self.staff.clone(),
            crate::ui::console::view::ReportSetup {
                site: crate::report::sections::ReportSite {
                    institution: self.config.institution.name.clone(),
                },
                print: self.config.report.clone(),
                deliver: Some(std::sync::Arc::new((*self.config).clone())),
            },
        );
        let weak = self.app.as_weak();
        let (engine, lang) = (self.engine.clone(), self.language.clone());
        let tick: Rc<dyn Fn()> = Rc::new(move || {
            let Some(app) = weak.upgrade() else { return };
            let wall = chrono::Local::now().naive_local();
            let published = engine.read();
            let now = published.session().map(|s| s.now()).unwrap_or_default();
            console
                .borrow_mut()
                .refresh(&app, &lang, &published, now, wall);
        });
        let timer = slint::Timer::default();
        let t = tick.clone();
        timer.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_millis(250),
            move || t(),
        );
        self.console = Some((timer, tick));
    }

    /// Redraws the console now from what the engine published (the timer does this
    /// every 250 ms).
    pub fn console_tick(&self) {
        if let Some((_, tick)) = &self.console {
            tick();
        }
    }

    /// What the monitor feed last reported (the status bar and the console's vitals
    /// strip show it).
    pub fn vitals_board(
        &self,
    ) -> &std::sync::Arc<std::sync::Mutex<crate::monitor::feed::VitalsBoard>> {
        &self.board
    }

    /// The recorder, once started.
    pub fn recorder(&self) -> Option<&std::sync::Arc<crate::engine::recorder::Recorder>> {
        self.recorder.as_ref()
    }

    /// The exam engine (the running exam, its alarms and its log).
    pub fn engine(&self) -> &crate::engine::Engine {
        &self.engine
    }

    /// Shows the window (full screen when configured) and runs the event loop.
    pub fn run(mut self) -> Result<(), slint::PlatformError> {
        self.start_clock();
        self.patient_timer = Some(self.patient.start_timer());
        if let Err(e) = self.start_monitor() {
            tracing::error!("the monitor feed could not start: {e}");
            self.app.set_monitor_state(MonitorState::Lost);
        }
        if let Err(e) = self.start_recorder() {
            tracing::error!("{e}");
            self.app.set_record_alarm_text(e.to_string().into());
        }
        if let Err(e) = self.start_dicom_watch() {
            tracing::error!("{e}");
        }
        if let Err(e) = self.start_dicom_node() {
            tracing::error!("{e}");
        }
        self.start_sound();
        self.start_service_watch();
        self.install_live_facts();
        self.start_console();
        self.start_staff_timer();
        let ui = &self.config.ui;
        if ui.fullscreen {
            // The screen's size is the compositor's to give (cage maximises its one
            // window to the output): no size is asked for here.
            self.app.window().set_fullscreen(true);
        } else {
            self.app.window().set_size(slint::PhysicalSize::new(
                ui.screen_width_px,
                ui.screen_height_px,
            ));
        }
        self.app.run()
    }
}

/// Applies one recorder report on the UI thread (the running exam found at start
/// went to the engine directly).
pub fn apply_recorder_report(
    app: &AppWindow,
    lang: &LanguageState,
    report: crate::engine::recorder::RecorderReport,
) {
    use crate::engine::recorder::RecorderReport;
    match report {
        RecorderReport::Opened { store, recovered } => {
            tracing::info!("exam record open: {store}");
            if let Some(rec) = recovered {
                tracing::info!("the running exam {} is resumed", rec.exam);
            }
        }
        RecorderReport::OpenFailed(e) => tracing::error!("exam record could not be opened: {e}"),
        RecorderReport::Alarm(alarm) => {
            let text = match alarm {
                Some(a) => {
                    let mut args = fluent::FluentArgs::new();
                    args.set("pending", a.pending.to_string());
                    lang.localizer()
                        .tr_args(lang.current(), "record-alarm", &args)
                }
                None => String::new(),
            };
            app.set_record_alarm_text(text.into());
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        if let Some((_, stop)) = &self.dicom_watch {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}
