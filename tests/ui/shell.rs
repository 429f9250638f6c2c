//! The shell under Slint's testing backend: tapping the language toggle switches the
//! home screen's text at run time; the theme toggle and the role buttons route.
//! (The testing backend can be initialised once per process: one test function.)

use crate::support::ui as common;
use common::*;

use std::rc::Rc;

use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::ui::components::{Screen, Theme};
use cmr_kiosk::ui::shell::Shell;
use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;

#[test]
fn home_screen_language_theme_and_roles() {
    i_slint_backend_testing::init_no_event_loop();
    let loc = Rc::new(Localizer::embedded().unwrap());
    let shell = Shell::new(Config::default(), loc.clone()).unwrap();

    // zh-CN by default.
    assert_eq!(shell.language(), Language::ZhCn);
    assert_eq!(
        label_of(&shell, "HomeView::title"),
        loc.tr(Language::ZhCn, "home-title")
    );
    assert_eq!(
        label_of(&shell, "StatusBar::monitor-text"),
        loc.tr(Language::ZhCn, "monitor-simulated")
    );

    // Tap the language toggle: the home screen now speaks English.
    tap(&shell, &loc.tr(Language::ZhCn, "language-toggle-label"));
    assert_eq!(shell.language(), Language::EnUs);
    assert_eq!(
        label_of(&shell, "HomeView::title"),
        "Who is using the kiosk?"
    );
    assert_eq!(
        label_of(&shell, "StatusBar::monitor-text"),
        "SIMULATED MONITOR"
    );
    assert_eq!(
        label_of(&shell, "HomeView::hint"),
        loc.tr(Language::EnUs, "home-hint")
    );

    // And back again.
    tap(&shell, &loc.tr(Language::EnUs, "language-toggle-label"));
    assert_eq!(
        label_of(&shell, "HomeView::title"),
        loc.tr(Language::ZhCn, "home-title")
    );
    tap(&shell, &loc.tr(Language::ZhCn, "language-toggle-label"));

    // The theme toggle switches to night colours and back.
    assert!(!shell.app().global::<Theme>().get_night());
    tap(&shell, &loc.tr(Language::EnUs, "theme-toggle-label"));
    assert_eq!(shell.theme(), ThemeName::Night);
    assert!(shell.app().global::<Theme>().get_night());
    tap(&shell, &loc.tr(Language::EnUs, "theme-toggle-label"));
    assert_eq!(shell.theme(), ThemeName::Day);

    // Role buttons lead to their areas; Back returns home.
    tap(&shell, "Nurse");
    assert_eq!(shell.app().get_screen(), Screen::Nurse);
    tap(&shell, "Back");
    assert_eq!(shell.app().get_screen(), Screen::Home);
    tap(&shell, "Technologist");
    assert_eq!(shell.app().get_screen(), Screen::Technologist);

    // Touch targets: the home role buttons are at least the patient target (22 mm at
    // 96 dpi ≈ 83 px) and status-bar buttons at least the staff target (10 mm ≈ 38 px).
    tap(&shell, "Back");
    let nurse = ElementHandle::find_by_element_id(shell.app(), "HomeView::nurse")
        .next()
        .unwrap();
    assert!(
        nurse.size().height >= 83.0 && nurse.size().width >= 83.0,
        "{:?}",
        nurse.size()
    );
    let toggle = ElementHandle::find_by_element_id(shell.app(), "StatusBar::language-toggle")
        .next()
        .unwrap();
    assert!(toggle.size().height >= 37.0, "{:?}", toggle.size());
}
