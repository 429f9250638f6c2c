//! Issue 17, layout under real data: every screen and every console state, in both
//! languages and themes, drawn by the software renderer with the kiosk's fonts and the
//! longest values it shows (live vitals with an hour-old blood pressure, both technical
//! bands, a long name and ID in the patient banner, three-digit vitals). Nothing may
//! widen the window (the layout's minimum stays within 1280 × 800, so a window manager
//! would not grow it) or push a control off the screen.

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::ComponentHandle;

use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::gallery::screens::SCREENS;
use cmr_kiosk::gallery::screenshot::Renderer;

const WIDTH: f32 = 1280.0;
const HEIGHT: f32 = 800.0;
/// Rounding of layout arithmetic, in logical pixels.
const SLACK: f32 = 0.5;

/// What is wrong with the state just drawn, as lines naming `what`.
fn problems(renderer: &Renderer, what: &str, out: &mut Vec<String>) {
    let (min_w, min_h) = renderer.content_min_size();
    if min_w > WIDTH + SLACK {
        out.push(format!("{what}: needs {min_w:.0} px wide (window {WIDTH})"));
    }
    if min_h > HEIGHT + SLACK {
        out.push(format!(
            "{what}: needs {min_h:.0} px high (window {HEIGHT})"
        ));
    }
    let app = renderer.shell().app();
    let size = app.window().size();
    if (size.width, size.height) != (WIDTH as u32, HEIGHT as u32) {
        out.push(format!("{what}: the window is {size:?}"));
    }
    // Every button and every text lies across the screen's width (lists scroll up and
    // down, never sideways), and has room.
    for role in [AccessibleRole::Button, AccessibleRole::Text] {
        for e in ElementQuery::from_root(app)
            .match_accessible_role(role)
            .find_all()
        {
            let s = e.size();
            if e.computed_opacity() == 0.0 || (s.width == 0.0 && s.height == 0.0) {
                continue;
            }
            let p = e.absolute_position();
            let label = e.accessible_label().unwrap_or_default();
            if p.x < -SLACK || p.x + s.width > WIDTH + SLACK {
                out.push(format!(
                    "{what}: {role:?} \"{label}\" spans x {:.0}..{:.0}",
                    p.x,
                    p.x + s.width
                ));
            }
            if role == AccessibleRole::Button && !label.is_empty() && s.width < 1.0 {
                out.push(format!(
                    "{what}: button \"{label}\" squeezed to {:.1} px",
                    s.width
                ));
            }
        }
    }
    // The status bar's controls are always wholly on screen.
    let lang = renderer.shell().language_state();
    for key in ["language-toggle-label", "theme-toggle-label"] {
        for e in ElementHandle::find_by_accessible_label(app, &lang.tr(key)) {
            let (p, s) = (e.absolute_position(), e.size());
            if p.y < -SLACK || p.y + s.height > HEIGHT + SLACK || p.x + s.width > WIDTH + SLACK {
                out.push(format!("{what}: {key} at {p:?} size {s:?} is off screen"));
            }
        }
    }
}

/// Where the touch map scrolls the nurse's safety facts (inside their list).
const FACTS_SCROLL_AT: (f32, f32) = (704.0, 600.0);
/// How far one mouse-wheel click scrolls a list in the kiosk (measured under Xvfb).
const WHEEL_CLICK_PX: f32 = 120.0;
/// Wheel clicks `scripts/xvfb-exam` scrolls the safety facts by.
const FACTS_WHEEL_CLICKS: f32 = 3.0;

/// With `CMR_TOUCH_MAP=FILE`, appends `state<TAB>label<TAB>x<TAB>y` for the centre of
/// every button, tab and check box drawn: `scripts/xvfb-exam` touches the real kiosk by label through it,
/// so its taps follow the layout instead of hard-coded coordinates.
fn touch_map(renderer: &Renderer, what: &str) {
    let Ok(path) = std::env::var("CMR_TOUCH_MAP") else {
        return;
    };
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let touchable = [
        AccessibleRole::Button,
        AccessibleRole::Tab,
        AccessibleRole::Checkbox,
    ];
    for e in touchable.into_iter().flat_map(|role| {
        ElementQuery::from_root(renderer.shell().app())
            .match_accessible_role(role)
            .find_all()
    }) {
        let (p, s) = (e.absolute_position(), e.size());
        let label = e
            .accessible_label()
            .unwrap_or_default()
            .replace(['\t', '\n'], " ");
        if s.width > 0.0 && !label.is_empty() {
            writeln!(
                file,
                "{what}\t{label}\t{:.0}\t{:.0}",
                p.x + s.width / 2.0,
                p.y + s.height / 2.0
            )
            .unwrap();
        }
    }
}

#[test]
fn issue_17_every_screen_keeps_its_size_and_controls_with_worst_case_values() {
    let renderer = Renderer::new(Config::default()).unwrap();
    renderer.set_worst_case(true);
    let mut found = Vec::new();
    let mut drawn = 0;
    for lang in Language::ALL {
        for theme in [ThemeName::Day, ThemeName::Night] {
            let tag = format!("{}.{}", lang.tag(), theme.name());
            for (name, _) in SCREENS {
                let frame = renderer.render_named(name, lang, theme).unwrap();
                assert_eq!((frame.width, frame.height), (WIDTH as u32, HEIGHT as u32));
                problems(&renderer, &format!("{name}.{tag}"), &mut found);
                drawn += 1;
            }
            for state in cmr_kiosk::gallery::console::PREVIEWS {
                let what = format!("technologist-{state}.{tag}");
                let frame = renderer.render_console_then(state, lang, theme, |r| {
                    problems(r, &what, &mut found);
                });
                assert!(frame.is_some(), "{what} is drawn");
                drawn += 1;
            }
        }
    }
    assert!(
        drawn >= (SCREENS.len() + cmr_kiosk::gallery::console::PREVIEWS.len()) * 4,
        "{drawn} states drawn"
    );
    assert!(
        found.is_empty(),
        "{} problems:\n{}",
        found.len(),
        found.join("\n")
    );

    // For scripts/xvfb-exam: the kiosk as it starts (Chinese, day, no bands).
    if std::env::var_os("CMR_TOUCH_MAP").is_some() {
        renderer.set_worst_case(false);
        renderer.shell().app().set_record_alarm_text("".into());
        renderer.shell().app().set_technical_notice_text("".into());
        for (name, _) in SCREENS {
            renderer.render_named(name, Language::ZhCn, ThemeName::Day);
            touch_map(&renderer, name);
            // The safety facts run below the fold: scrolled by three wheel clicks, as
            // the script scrolls the live list (one click moves it 120 px).
            if name == "nurse-facts" {
                let (x, y) = FACTS_SCROLL_AT;
                renderer.shell().app().window().dispatch_event(
                    slint::platform::WindowEvent::PointerScrolled {
                        position: slint::LogicalPosition::new(x, y),
                        delta_x: 0.0,
                        delta_y: -WHEEL_CLICK_PX * FACTS_WHEEL_CLICKS,
                    },
                );
                let f = renderer.render();
                if let Ok(p) = std::env::var("CMR_TOUCH_MAP_DEBUG") {
                    f.write_png(std::path::Path::new(&p)).unwrap();
                }
                touch_map(&renderer, "nurse-facts-scrolled");
            }
        }
        for state in cmr_kiosk::gallery::console::PREVIEWS {
            renderer.render_console_then(state, Language::ZhCn, ThemeName::Day, |r| {
                touch_map(r, &format!("technologist-{state}"))
            });
        }
    }
}

/// The check itself finds an overflow: a status bar text too long for the screen.
#[test]
fn the_layout_check_catches_a_status_bar_that_widens_the_window() {
    let renderer = Renderer::new(Config::default()).unwrap();
    renderer
        .render_named("home", Language::EnUs, ThemeName::Day)
        .unwrap();
    let mut found = Vec::new();
    problems(&renderer, "home", &mut found);
    assert!(found.is_empty(), "{found:?}");
    renderer
        .shell()
        .app()
        .set_clock_text("2026-11-27 09:30:00 ".repeat(12).into());
    renderer.render();
    problems(&renderer, "home with a long clock", &mut found);
    assert!(
        found.iter().any(|p| p.contains("px wide")),
        "the minimum width is reported: {found:?}"
    );
}
