//! The admin screens by touch under Slint's testing backend against a real SQLite
//! record: on a kiosk without accounts the first administrator is created on the
//! touchscreen; the administrator adds a nurse, disables an account, and changes site
//! settings (scanner vendor, field strength, idle lock time, default theme), which are
//! validated, written to site.toml beside the database, audited, and read again by the
//! next kiosk start. (One test function: the testing backend initialises once.)

use crate::support::ui::{keys, press, with_store};
use i_slint_backend_testing::{AccessibleRole, ElementHandle};

use std::rc::Rc;

use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::store::accounts::Role;
use cmr_kiosk::ui::components::{AdminAdapter, KeypadAdapter, Screen, SignInAdapter};
use cmr_kiosk::ui::shell::Shell;
use slint::{ComponentHandle, Model};

#[test]
fn admin_creates_accounts_and_changes_site_settings_by_touch() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kiosk.db").display());
    let mut config = Config::default();
    config.database.url = url.clone();
    config.database.device_id = "admin-test".into();
    config.ui.language = Language::EnUs;
    let loc = Rc::new(Localizer::embedded().unwrap());
    let en = |k: &str| loc.tr(Language::EnUs, k);
    let mut shell = Shell::new(config.clone(), loc.clone()).unwrap();
    shell
        .app()
        .window()
        .set_size(slint::PhysicalSize::new(1280, 800));
    shell.start_recorder().unwrap();
    let admin = || shell.app().global::<AdminAdapter>();

    // No account yet: the nurse area says so; the admin area offers the first admin.
    press(&shell, &en("role-nurse"));
    assert!(shell.app().global::<SignInAdapter>().get_open());
    assert_eq!(
        shell.app().global::<SignInAdapter>().get_message(),
        en("signin-no-accounts")
    );
    press(&shell, &en("back"));
    assert_eq!(shell.app().get_screen(), Screen::Home);
    press(&shell, &en("role-admin"));
    assert!(shell.app().global::<SignInAdapter>().get_first_admin());
    press(&shell, &en("signin-first-admin"));
    keys(&shell, "chen");
    press(&shell, &en("keypad-ok"));
    keys(&shell, "975310");
    press(&shell, &en("keypad-ok"));
    assert!(!shell.app().global::<SignInAdapter>().get_open());
    assert_eq!(shell.app().get_screen(), Screen::Admin);
    assert_eq!(admin().get_staff().row_count(), 1);

    // Add a nurse: refused without a role, then saved.
    press(&shell, &en("admin-add-account"));
    assert!(admin().get_add_open());
    press(&shell, &en("admin-username"));
    keys(&shell, "nurse2");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("admin-display-name"));
    keys(&shell, "liu");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("admin-pin"));
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("nurse-save"));
    assert_eq!(admin().get_add_error(), en("admin-choose-role"));
    press(&shell, &en("staff-role-nurse"));
    press(&shell, &en("nurse-save"));
    assert!(!admin().get_add_open());
    assert_eq!(admin().get_staff().row_count(), 2);
    let added = with_store(&url, async |s| s.staff("nurse2").await.unwrap()).unwrap();
    assert_eq!(
        (added.role, added.display_name.as_str()),
        (Role::Nurse, "liu")
    );

    // Disable it (disabling one's own account is refused).
    let disables = ElementHandle::find_by_accessible_label(shell.app(), &en("admin-disable"))
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .count();
    assert_eq!(disables, 2);
    let row = admin()
        .get_staff()
        .iter()
        .position(|r| r.name == "liu")
        .unwrap();
    ElementHandle::find_by_accessible_label(shell.app(), &en("admin-disable"))
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .nth(row)
        .unwrap()
        .invoke_accessible_default_action();
    shell.settle();
    assert!(
        with_store(&url, async |s| s.staff("nurse2").await.unwrap())
            .unwrap()
            .disabled
    );
    let own = admin()
        .get_staff()
        .iter()
        .position(|r| r.name == "chen")
        .unwrap();
    ElementHandle::find_by_accessible_label(shell.app(), &en("admin-disable"))
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .nth(own)
        .unwrap()
        .invoke_accessible_default_action();
    shell.settle();
    assert_eq!(admin().get_notice(), en("signin-not-allowed"));
    assert!(
        !with_store(&url, async |s| s.staff("chen").await.unwrap())
            .unwrap()
            .disabled
    );

    // Site settings.
    press(&shell, &en("admin-tab-settings"));
    press(&shell, &en("admin-setting-scanner-vendor"));
    press(&shell, &en("keyboard-shift"));
    press(&shell, "S");
    keys(&shell, "iemens");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("admin-setting-scanner-field-strength-t"));
    press(&shell, &en("admin-setting-ui-idle-lock-s"));
    press(&shell, &en("keypad-clear"));
    keys(&shell, "10");
    press(&shell, &en("keypad-ok"));
    assert!(
        shell.app().global::<KeypadAdapter>().get_open(),
        "10 s is below the range"
    );
    press(&shell, &en("keypad-clear"));
    keys(&shell, "300");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("admin-setting-ui-theme"));
    assert_eq!(shell.theme(), ThemeName::Night, "the theme changes at once");
    assert!(admin().get_notice().contains("ui.theme"));
    let cfg = shell.staff().config();
    assert_eq!(cfg.scanner.vendor, "Siemens");
    assert_eq!(cfg.scanner.field_strength_t, 3.0);
    assert_eq!(cfg.ui.idle_lock_s, 300.0);

    // Written beside the database and audited.
    let site = std::fs::read_to_string(dir.path().join("site.toml")).unwrap();
    assert!(site.contains("vendor = \"Siemens\""), "{site}");
    assert!(site.contains("idle_lock_s = 300"), "{site}");
    let audited = with_store(&url, async |s| {
        s.entries_after("admin-test", 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "audit")
            .map(|e| e.payload)
            .collect::<Vec<_>>()
    });
    let settings: Vec<_> = audited
        .iter()
        .filter(|p| p.contains("\"settings_changed\""))
        .collect();
    assert_eq!(settings.len(), 4, "{audited:#?}");
    assert!(
        settings
            .iter()
            .any(|p| p.contains("scanner.vendor = Siemens"))
    );
    assert!(audited.iter().any(|p| p.contains("\"user_added\"")));
    assert!(audited.iter().any(|p| p.contains("\"user_disabled\"")));

    // The next start reads them.
    drop(shell);
    let again = Shell::new(config, loc.clone()).unwrap();
    assert_eq!(again.theme(), ThemeName::Night);
    assert_eq!(again.staff().config().scanner.vendor, "Siemens");
}
