//! Helpers shared by the UI tests (each runs under Slint's testing backend).
#![allow(dead_code)]

use cmr_kiosk::store::Store;
use cmr_kiosk::ui::shell::Shell;
use i_slint_backend_testing::{AccessibleRole, ElementHandle};

/// The element with the qualified id `Component::id`.
pub fn element(shell: &Shell, id: &str) -> ElementHandle {
    ElementHandle::find_by_element_id(shell.app(), id)
        .next()
        .unwrap_or_else(|| panic!("element {id} exists"))
}

/// The accessible label (for a text: the text) of the element with that id.
pub fn label_of(shell: &Shell, id: &str) -> String {
    element(shell, id)
        .accessible_label()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Whether any element carries this accessible label.
pub fn has_label(shell: &Shell, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(shell.app(), label)
        .next()
        .is_some()
}

/// Touches the control with this accessible label (its default action).
pub fn tap(shell: &Shell, label: &str) {
    ElementHandle::find_by_accessible_label(shell.app(), label)
        .next()
        .unwrap_or_else(|| panic!("a control labelled {label:?}"))
        .invoke_accessible_default_action();
    shell.settle();
}

/// Presses the `n`-th button (not a text) labelled `label`; lists the buttons on the
/// screen when there is none.
pub fn press_nth(shell: &Shell, label: &str, n: usize) {
    // Buttons and the console's page tabs.
    let touchable = |e: &ElementHandle| {
        matches!(
            e.accessible_role(),
            Some(AccessibleRole::Button | AccessibleRole::Tab)
        )
    };
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(shell.app(), label)
        .filter(touchable)
        .collect();
    if found.is_empty() {
        let all: Vec<String> = i_slint_backend_testing::ElementRoot::root_element(shell.app())
            .query_descendants()
            .find_all()
            .iter()
            .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .filter_map(|e| e.accessible_label().map(|s| s.to_string()))
            .collect();
        eprintln!("buttons: {all:?}");
    }
    let e = found
        .get(n)
        .unwrap_or_else(|| panic!("button #{n} labelled {label:?} ({} found)", found.len()));
    e.invoke_accessible_default_action();
    shell.settle();
}

/// Presses the first button labelled `label`.
pub fn press(shell: &Shell, label: &str) {
    press_nth(shell, label, 0);
}

/// Types `text` on the keypad or keyboard (English labels: the tests run in English).
pub fn keys(shell: &Shell, text: &str) {
    for c in text.chars() {
        if c == ' ' {
            press(shell, "Space");
        } else {
            press(shell, &c.to_string());
        }
    }
}

/// The kiosk's own store at `url`, opened with the kiosk's keys (the key folder
/// beside the file, as the kiosk itself finds it).
pub async fn kiosk_store(url: &str) -> Store {
    let db = cmr_kiosk::config::Database {
        url: url.to_string(),
        ..Default::default()
    };
    Store::open_kiosk(&db).await.unwrap()
}

/// Runs `f` against the kiosk's store (a second connection, as an auditor would).
pub fn with_store<T>(url: &str, f: impl AsyncFnOnce(Store) -> T) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { f(kiosk_store(url).await).await })
}

/// An English kiosk window at 1280×800 recording to its own SQLite file in `dir` as
/// `device`, its record open (and migrated) before a second connection: the shell,
/// the database URL and the bundles.
pub fn english_kiosk(
    dir: &std::path::Path,
    device: &str,
) -> (Shell, String, std::rc::Rc<cmr_kiosk::i18n::Localizer>) {
    english_kiosk_with(dir, device, |_| {})
}

/// [`english_kiosk`] with `setup` applied to its configuration first.
pub fn english_kiosk_with(
    dir: &std::path::Path,
    device: &str,
    setup: impl FnOnce(&mut cmr_kiosk::config::Config),
) -> (Shell, String, std::rc::Rc<cmr_kiosk::i18n::Localizer>) {
    use cmr_kiosk::config::{Config, Language};
    use slint::ComponentHandle;
    i_slint_backend_testing::init_no_event_loop();
    let url = format!("sqlite://{}", dir.join("kiosk.db").display());
    let mut config = Config::default();
    setup(&mut config);
    config.database.url = url.clone();
    config.database.device_id = device.into();
    config.ui.language = Language::EnUs;
    let loc = std::rc::Rc::new(cmr_kiosk::i18n::Localizer::embedded().unwrap());
    let mut shell = Shell::new(config, loc.clone()).unwrap();
    shell
        .app()
        .window()
        .set_size(slint::PhysicalSize::new(1280, 800));
    shell.start_recorder().unwrap();
    shell.settle();
    (shell, url, loc)
}

/// Confirms the dose-changing step waiting on the console's confirm panel (issue 17):
/// waits out the arm delay on the mock clock, then touches the panel's confirm button.
pub fn confirm_step(shell: &Shell) {
    use slint::ComponentHandle;
    let adapter = shell
        .app()
        .global::<cmr_kiosk::ui::components::ConsoleAdapter>();
    assert!(adapter.get_confirm_open(), "a confirm panel is open");
    i_slint_backend_testing::mock_elapsed_time(
        cmr_kiosk::ui::console::view::CONFIRM_ARM_DELAY + std::time::Duration::from_millis(50),
    );
    let action = adapter.get_confirm_action().to_string();
    press(shell, &action);
    shell.console_tick();
}

/// Scrolls the list with the element id `list` (a Flickable) until a button labelled
/// `label` is on screen: first down, then back up.
pub fn scroll_to(shell: &Shell, list: &str, label: &str) {
    let shown = || {
        ElementHandle::find_by_accessible_label(shell.app(), label)
            .any(|e| e.accessible_role() == Some(AccessibleRole::Button))
    };
    for delta in [-60.0, 60.0] {
        for _ in 0..40 {
            if shown() {
                return;
            }
            element(shell, list).scroll(0.0, delta);
            shell.settle();
        }
    }
}

/// Presses the button labelled `label` inside the scrolled list `list`.
pub fn press_in(shell: &Shell, list: &str, label: &str) {
    scroll_to(shell, list, label);
    press(shell, label);
}

/// The text shown when a step was tried and refused for `reason_key` ("Refused: …").
pub fn refused(
    loc: &cmr_kiosk::i18n::Localizer,
    lang: cmr_kiosk::config::Language,
    reason_key: &str,
) -> String {
    let mut args = fluent::FluentArgs::new();
    args.set("reason", loc.tr(lang, reason_key));
    loc.tr_args(lang, "refused-step", &args)
}

/// Adds a staff account straight into the kiosk's store at `url` (as an
/// administrator would on the admin screen).
pub fn add_staff(
    url: &str,
    username: &str,
    display_name: &str,
    role: cmr_kiosk::store::accounts::Role,
    pin: &str,
) {
    with_store(url, async |store| {
        store
            .add_staff(
                &crate::support::support_device(),
                None,
                crate::support::support_at(),
                &cmr_kiosk::store::accounts::NewStaff {
                    username: username.into(),
                    display_name: display_name.into(),
                    role,
                    pin: pin.into(),
                },
            )
            .await
            .unwrap();
    });
}
