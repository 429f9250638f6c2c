//! Headless rendering of any screen, language and theme to PNG with Slint's software
//! renderer. No display is needed; this is how developers and reviewers look at the UI
//! and how tests check that a frame is not blank.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use slint::ComponentHandle;
use slint::Rgb8Pixel;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};

use crate::config::{Config, Language, ThemeName};
use crate::gallery::screens::{SCREENS, show_named};
use crate::i18n::Localizer;
use crate::ui::components::Screen;
use crate::ui::shell::Shell;

/// Why a screenshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    /// Another Slint platform was installed in this process first.
    #[error("the headless renderer could not be installed: {0}")]
    Platform(String),
    /// The window could not be created.
    #[error("the window could not be created: {0}")]
    Window(#[from] slint::PlatformError),
    /// The PNG could not be written.
    #[error("{path}: {message}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
}

/// One rendered frame, RGB, row-major.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height` pixels.
    pub pixels: Vec<Rgb8Pixel>,
}

impl Frame {
    /// Number of distinct colours in the frame (a blank frame has one).
    pub fn distinct_colours(&self) -> usize {
        let mut seen: Vec<u32> = self
            .pixels
            .iter()
            .map(|p| (u32::from(p.r) << 16) | (u32::from(p.g) << 8) | u32::from(p.b))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Number of pixels in the rectangle that differ from `background`.
    pub fn ink_in(&self, x0: u32, y0: u32, x1: u32, y1: u32, background: Rgb8Pixel) -> usize {
        let mut n = 0;
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                if self.pixels[(y * self.width + x) as usize] != background {
                    n += 1;
                }
            }
        }
        n
    }

    /// The pixel at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> Rgb8Pixel {
        self.pixels[(y * self.width + x) as usize]
    }

    /// Writes the frame as an 8-bit RGB PNG.
    pub fn write_png(&self, path: &Path) -> Result<(), ScreenshotError> {
        let err = |message: String| ScreenshotError::Write {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let file = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| err(e.to_string()))?;
        let bytes: Vec<u8> = self.pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
        writer
            .write_image_data(&bytes)
            .map_err(|e| err(e.to_string()))?;
        writer.finish().map_err(|e| err(e.to_string()))
    }
}

/// A headless kiosk: the real shell drawn by the software renderer.
pub struct Renderer {
    window: Rc<MinimalSoftwareWindow>,
    shell: Shell,
    width: u32,
    height: u32,
    worst_case: std::cell::Cell<bool>,
}

/// The longest values every staff screen shows around its content: live vitals in the
/// status bar with an hour-old blood pressure, the exam record's technical alarm and
/// a refused DICOM file's notice (a long file name), in the shell's language.
pub fn fill_worst_case_app(
    app: &crate::ui::components::AppWindow,
    lang: &crate::i18n::LanguageState,
) {
    let with = |key: &str, args: &[(&str, &str)]| {
        let mut a = fluent::FluentArgs::new();
        for (k, v) in args {
            a.set(*k, v.to_string());
        }
        lang.localizer().tr_args(lang.current(), key, &a)
    };
    app.set_monitor_state(crate::ui::components::MonitorState::Connected);
    app.set_hr_text("300".into());
    app.set_bp_text("300/200".into());
    app.set_bp_age_text(with("vitals-bp-age", &[("minutes", "59")]).into());
    app.set_record_alarm_text(with("record-alarm", &[("pending", "99999")]).into());
    let reason = lang.tr("dicom-skip-out_of_bounds");
    app.set_technical_notice_text(
        with(
            "technical-notice-dicom",
            &[
                ("count", "99999"),
                (
                    "file",
                    "incoming/1.2.840.113619.2.55.3.604688119.969.1268071029.320/MR.1.2.840.113619.2.55.3.dcm",
                ),
                ("reason", &reason),
            ],
        )
        .into(),
    );
}

/// The longest values the console shows in its fixed places: three-digit vitals, a
/// long name and ID in the banner, an hour's countdowns (the layout test draws every
/// state with them).
pub fn fill_worst_case_console(
    app: &crate::ui::components::AppWindow,
    lang: &crate::i18n::LanguageState,
) {
    use crate::ui::staff::view::tra;
    let a = app.global::<crate::ui::components::ConsoleAdapter>();
    a.set_hr("300".into());
    a.set_spo2("100".into());
    a.set_bp("300/200 (233)".into());
    a.set_far_hr("300".into());
    a.set_far_sbp("300/200".into());
    a.set_far_time("59:59".into());
    a.set_far_next("59:59".into());
    a.set_patient_banner(
        tra(
            lang,
            "console-patient-banner",
            &[
                (
                    "who",
                    "Wolfeschlegelsteinhausen-Bergerdorff, Maximiliana · 20261127123456789012"
                        .to_string(),
                ),
                ("sex", lang.tr("sex-other")),
                ("age", "105".to_string()),
                ("weight", "250.5".to_string()),
                ("type", lang.tr("console-type-adenosine_stress")),
            ],
        )
        .into(),
    );
}

impl Renderer {
    /// Installs the headless platform (once per process) and builds the shell at the
    /// configured screen size. The clock shows a fixed time so pictures are repeatable.
    pub fn new(config: Config) -> Result<Renderer, ScreenshotError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
        }))
        .map_err(|e| ScreenshotError::Platform(e.to_string()))?;
        let (width, height) = (config.ui.screen_width_px, config.ui.screen_height_px);
        let localizer =
            Rc::new(Localizer::embedded().map_err(|e| ScreenshotError::Platform(e.to_string()))?);
        let shell = Shell::new(config, localizer)?;
        window.set_size(slint::PhysicalSize::new(width, height));
        shell.app().set_clock_text("2026-11-27 09:30:00".into());
        shell.app().show()?;
        Ok(Renderer {
            window,
            shell,
            width,
            height,
            worst_case: std::cell::Cell::new(false),
        })
    }

    /// Draws the console's states with [`fill_worst_case_console`]'s values.
    pub fn set_worst_case(&self, on: bool) {
        self.worst_case.set(on);
    }

    /// The size the current screen's layout needs at least (logical pixels): above the
    /// window's size, a window manager would grow the window past the display.
    pub fn content_min_size(&self) -> (f32, f32) {
        (
            self.shell.app().get_content_min_width(),
            self.shell.app().get_content_min_height(),
        )
    }

    /// The shell being drawn (to put it into a state before rendering).
    pub fn shell(&self) -> &Shell {
        &self.shell
    }

    /// Draws the current state.
    pub fn render(&self) -> Frame {
        slint::platform::update_timers_and_animations();
        self.window.request_redraw();
        let mut pixels = vec![Rgb8Pixel::default(); (self.width * self.height) as usize];
        self.window.draw_if_needed(|renderer| {
            renderer.render(&mut pixels, self.width as usize);
        });
        Frame {
            width: self.width,
            height: self.height,
            pixels,
        }
    }

    /// Puts the shell on `screen` in `lang` and `theme` and draws it.
    pub fn render_screen(&self, screen: Screen, lang: Language, theme: ThemeName) -> Frame {
        self.shell.set_language(lang);
        self.shell.set_theme(theme);
        self.shell.app().set_screen(screen);
        self.render()
    }

    /// Puts the technologist console in a worked state (one of
    /// [`crate::gallery::console::PREVIEWS`], see [`crate::gallery::console::preview_session`]) on
    /// its page and draws it.
    pub fn render_console(&self, state: &str, lang: Language, theme: ThemeName) -> Option<Frame> {
        self.render_console_then(state, lang, theme, |_| ())
    }

    /// As [`Renderer::render_console`], calling `look` with the state still shown (for
    /// checks of the drawn layout) before the console is put back.
    pub fn render_console_then(
        &self,
        state: &str,
        lang: Language,
        theme: ThemeName,
        look: impl FnOnce(&Renderer),
    ) -> Option<Frame> {
        let (session, now) = crate::gallery::console::preview_session(state)?;
        self.shell.set_language(lang);
        self.shell.set_theme(theme);
        self.shell.input().close();
        self.shell.app().set_screen(Screen::Technologist);
        let adapter = self
            .shell
            .app()
            .global::<crate::ui::components::ConsoleAdapter>();
        adapter.set_tab(crate::gallery::console::preview_page(state));
        adapter.set_criteria_open(state == "criteria");
        adapter.set_agents_open(state == "agents");
        let engine = self.shell.engine();
        engine.call_quiet(crate::engine::Command::Install(Some(Box::new(session))));
        let mut console = crate::ui::console::view::ConsoleUi::default();
        if let Some((refusal, draft)) = crate::gallery::console::preview_refusal(state) {
            console.show_refused(refusal, draft);
        }
        if let Some(pending) = engine
            .read()
            .session()
            .and_then(|s| crate::gallery::console::preview_pending(state, s.exam()))
        {
            console.show_pending(pending);
        }
        if let Some(record) = engine
            .read()
            .session()
            .and_then(|s| crate::gallery::console::preview_report(state, s, lang))
        {
            console.show_report_preview(record);
        }
        adapter.set_confirm_armed(true);
        // The data disk: almost full in the "disk" state, roomy otherwise.
        let free = if state == "disk" {
            crate::service::disk::DISK_CRITICAL_BYTES / 3
        } else {
            100_000_000_000
        };
        engine.call_quiet(crate::engine::Command::WatchDisk(Box::new(move || {
            Ok(crate::service::disk::DiskSpace {
                free,
                total: 128_000_000_000,
            })
        })));
        let wall = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .and_then(|d| d.and_hms_opt(9, 30, 0))
            .unwrap_or_default();
        console.refresh(
            self.shell.app(),
            self.shell.language_state(),
            &engine.read(),
            now,
            wall,
        );
        if self.worst_case.get() {
            fill_worst_case_app(self.shell.app(), self.shell.language_state());
            fill_worst_case_console(self.shell.app(), self.shell.language_state());
        }
        let frame = self.render();
        look(self);
        adapter.set_tab(crate::ui::components::ConsoleTab::Stress);
        adapter.set_criteria_open(false);
        adapter.set_report_open(false);
        engine.call_quiet(crate::engine::Command::Install(None));
        console.refresh(
            self.shell.app(),
            self.shell.language_state(),
            &engine.read(),
            now,
            wall,
        );
        Some(frame)
    }

    /// Puts the shell on the screen or key state called `name` (see
    /// [`crate::gallery::screens::SCREENS`]) in `lang` and `theme` and draws it; `None` for an
    /// unknown name.
    pub fn render_named(&self, name: &str, lang: Language, theme: ThemeName) -> Option<Frame> {
        self.shell.set_language(lang);
        self.shell.set_theme(theme);
        let shown = show_named(&self.shell, name);
        if self.worst_case.get() {
            fill_worst_case_app(self.shell.app(), self.shell.language_state());
        }
        shown.then(|| self.render())
    }

    /// Renders every screen × language × theme into `dir` as
    /// `<screen>.<lang>.<theme>.png`; returns the files written.
    pub fn render_all(&self, dir: &Path) -> Result<Vec<PathBuf>, ScreenshotError> {
        let mut written = Vec::new();
        for (name, _) in SCREENS {
            for lang in Language::ALL {
                for theme in [ThemeName::Day, ThemeName::Night] {
                    let path = dir.join(format!("{name}.{}.{}.png", lang.tag(), theme.name()));
                    self.render_named(name, lang, theme)
                        .expect("every name in SCREENS is shown")
                        .write_png(&path)?;
                    written.push(path);
                }
            }
        }
        for state in crate::gallery::console::PREVIEWS {
            for lang in Language::ALL {
                for theme in [ThemeName::Day, ThemeName::Night] {
                    let path = dir.join(format!(
                        "technologist-{state}.{}.{}.png",
                        lang.tag(),
                        theme.name()
                    ));
                    if let Some(frame) = self.render_console(state, lang, theme) {
                        frame.write_png(&path)?;
                        written.push(path);
                    }
                }
            }
        }
        Ok(written)
    }
}
