//! The kiosk shell: builds the window, installs the Fluent bridge and the theme, and
//! routes the home screen's choices. Testable without a display (Slint's testing
//! backend or the headless renderer in [`crate::screenshot`]).

use std::cell::Cell;
use std::rc::Rc;

use slint::ComponentHandle;

use crate::config::{Config, Language, MonitorSource, ThemeName};
use crate::domain::time::Instant;
use crate::i18n::{LanguageState, Localizer};
use crate::input::{NumberEntry, NumberSpec};
use crate::input_view::InputPanels;
use crate::patient::{Answer, BreathHoldSettings, PatientController, VecSink};
use crate::patient_view::{PatientPanel, monotonic_clock};
use crate::theme;
use crate::ui::{AppWindow, MonitorState, Role, Screen};

/// Every screen and key state with its command-line name, in the order the gallery
/// shows them. Names other than the bare screen names put the screen into a
/// demonstration state first (see [`Shell::show_named`]).
pub const SCREENS: [(&str, Screen); 17] = [
    ("home", Screen::Home),
    ("patient", Screen::Patient),
    ("patient-welcome", Screen::Patient),
    ("patient-not-me", Screen::Patient),
    ("patient-questionnaire", Screen::Patient),
    ("patient-instructions", Screen::Patient),
    ("patient-electrodes", Screen::Patient),
    ("patient-breath-hold", Screen::Patient),
    ("patient-breath-hold-result", Screen::Patient),
    ("patient-breath-hold-short", Screen::Patient),
    ("keypad", Screen::Nurse),
    ("keypad-out-of-range", Screen::Nurse),
    ("keypad-pin", Screen::Home),
    ("keyboard", Screen::Nurse),
    ("nurse", Screen::Nurse),
    ("technologist", Screen::Technologist),
    ("admin", Screen::Admin),
];

/// The demonstration patient of screenshots (never shown in the kiosk itself).
pub const DEMO_PATIENT_NAME: [(Language, &str); 2] = [
    (Language::ZhCn, "王小明"),
    (Language::EnUs, "Wang Xiaoming"),
];

/// The screen called `name` on the command line.
pub fn screen_from_name(name: &str) -> Option<Screen> {
    SCREENS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
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
    feed: Option<crate::vitals::MonitorFeed>,
    board: std::sync::Arc<std::sync::Mutex<crate::vitals::VitalsBoard>>,
}

impl Shell {
    /// Creates the window (not yet shown) with the configured language and theme.
    pub fn new(config: Config, localizer: Rc<Localizer>) -> Result<Shell, slint::PlatformError> {
        let app = AppWindow::new()?;
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

        let weak = app.as_weak();
        app.on_role_chosen(move |role| {
            if let Some(app) = weak.upgrade() {
                app.set_screen(match role {
                    Role::Patient => Screen::Patient,
                    Role::Nurse => Screen::Nurse,
                    Role::Technologist => Screen::Technologist,
                    Role::Admin => Screen::Admin,
                });
            }
        });

        let weak = app.as_weak();
        app.on_go_home(move || {
            if let Some(app) = weak.upgrade() {
                app.set_screen(Screen::Home);
            }
        });

        // Until the kiosk connects the durable exam log, patient-mode events are kept in
        // memory (and logged with tracing).
        let controller = PatientController::new(
            BreathHoldSettings::from(&config.ui),
            Rc::new(VecSink::default()),
        );
        let patient = PatientPanel::install(&app, controller, monotonic_clock());
        let input = InputPanels::install(&app);

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

    /// Shows the screen or key state called `name` in [`SCREENS`]; states other than
    /// a bare screen are demonstrations with a made-up patient ([`DEMO_PATIENT_NAME`])
    /// on a fixed clock, for screenshots. Returns `false` for an unknown name.
    pub fn show_named(&self, name: &str) -> bool {
        let Some(screen) = screen_from_name(name) else {
            return false;
        };
        self.input.close();
        let demo_name = DEMO_PATIENT_NAME
            .iter()
            .find(|(l, _)| *l == self.language())
            .map_or("", |(_, n)| *n);
        // A fixed clock: the demonstration breath starts at 0 s and is drawn at 12.4 s.
        let demo_now = Rc::new(Cell::new(Instant::from_millis(12_400)));
        let now = demo_now.clone();
        self.patient.set_clock(Rc::new(move || now.get()));
        let at = |ms| Instant::from_millis(ms);
        let answered = |c: &mut PatientController| {
            c.set_patient(Some(demo_name));
            c.confirm_identity(true);
            for _ in 0..8 {
                c.answer(Answer::No);
            }
        };
        match name {
            "patient" => self.patient.set_patient(None),
            "patient-welcome" => self.patient.set_patient(Some(demo_name)),
            "patient-not-me" => self.patient.with(|c, _| {
                c.set_patient(Some(demo_name));
                c.confirm_identity(false);
            }),
            "patient-questionnaire" => self.patient.with(|c, _| {
                c.set_patient(Some(demo_name));
                c.confirm_identity(true);
                for a in [Answer::No, Answer::No, Answer::NotSure] {
                    c.answer(a);
                }
                c.previous();
            }),
            "patient-instructions" => self.patient.with(|c, _| answered(c)),
            "patient-electrodes" => self.patient.with(|c, _| {
                answered(c);
                c.next();
            }),
            "patient-breath-hold" => self.patient.with(|c, _| {
                answered(c);
                c.next();
                c.next();
                c.start_breath(at(0));
            }),
            "patient-breath-hold-result" | "patient-breath-hold-short" => {
                let hold_ms = if name.ends_with("short") {
                    9_000
                } else {
                    18_000
                };
                self.patient.with(|c, _| {
                    answered(c);
                    c.next();
                    c.next();
                    c.start_breath(at(0));
                    c.end_hold(at(8_000 + 12_000));
                    c.start_breath(at(30_000));
                    c.end_hold(at(38_000 + hold_ms));
                    c.finish_practice(at(60_000));
                });
            }
            "keypad" | "keypad-out-of-range" => {
                let typed = if name == "keypad" { "72.5" } else { "400" };
                let mut entry = NumberEntry::new(NumberSpec::weight_kg());
                for k in typed.chars() {
                    entry.key(&k.to_string());
                }
                self.input.open_number(entry, |_| {});
            }
            "keypad-pin" => {
                let mut entry = NumberEntry::new(NumberSpec::pin());
                for k in "123".chars() {
                    entry.key(&k.to_string());
                }
                self.input.open_number(entry, |_| {});
            }
            "keyboard" => self
                .input
                .open_text("keyboard-title-name", "Wang Xiaom", |_| {}),
            _ => {}
        }
        self.app.set_screen(screen);
        true
    }

    /// The configuration the shell was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The language shown now.
    pub fn language(&self) -> Language {
        self.language.current()
    }

    /// Switches language at run time.
    pub fn set_language(&self, lang: Language) {
        self.language.set(&self.app, lang);
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
        let feed = crate::vitals::MonitorFeed::start(self.config.monitor.clone(), move |ev| {
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
        self.feed = Some(feed);
        Ok(())
    }

    /// Shows the window (full screen when configured) and runs the event loop.
    pub fn run(mut self) -> Result<(), slint::PlatformError> {
        self.start_clock();
        self.patient_timer = Some(self.patient.start_timer());
        if let Err(e) = self.start_monitor() {
            tracing::error!("the monitor feed could not start: {e}");
            self.app.set_monitor_state(MonitorState::Lost);
        }
        let ui = &self.config.ui;
        self.app.window().set_size(slint::PhysicalSize::new(
            ui.screen_width_px,
            ui.screen_height_px,
        ));
        self.app.window().set_fullscreen(ui.fullscreen);
        self.app.run()
    }
}
