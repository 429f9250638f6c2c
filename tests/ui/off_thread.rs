//! Nothing that can block runs on the UI thread (issue 13): a sign-in's PIN check
//! (Argon2 and SQL) and the account list are handed to a worker; the touch returns at
//! once with "checking the PIN" on screen, and the outcome is drawn when it comes back.
//! Real SQLite record, Slint's testing backend.

use std::rc::Rc;

use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::store::accounts::{NewStaff, Role};
use cmr_kiosk::ui::components::{Screen, SignInAdapter};
use cmr_kiosk::ui::shell::Shell;
use slint::ComponentHandle;

#[test]
fn a_pin_check_and_the_account_list_run_off_the_ui_thread() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kiosk.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = crate::support::ui::kiosk_store(&url).await;
        store
            .add_staff(
                &crate::support::support_device(),
                None,
                crate::support::support_at(),
                &NewStaff {
                    username: "nurse1".into(),
                    display_name: "Nurse Zhang".into(),
                    role: Role::Nurse,
                    pin: "2468".into(),
                },
            )
            .await
            .unwrap();
    });
    let mut config = Config::default();
    config.database.url = url;
    config.database.device_id = "off-thread".into();
    config.ui.language = Language::EnUs;
    let loc = Rc::new(Localizer::embedded().unwrap());
    let mut shell = Shell::new(config, loc.clone()).unwrap();
    shell.start_recorder().unwrap();
    let signin = || shell.app().global::<SignInAdapter>();
    let jobs = shell.staff().jobs().clone();

    // The nurse screen: the overlay opens at once; the accounts are read by a job.
    shell.app().set_screen(Screen::Nurse);
    shell.staff().guard(Screen::Nurse);
    assert!(signin().get_open());
    assert!(
        jobs.pending() >= 1,
        "the account list is read off the UI thread"
    );
    shell.settle();
    assert_eq!(jobs.pending(), 0);
    assert!(!shell.staff().desk().borrow().signed_in_as(&[Role::Nurse]));

    // The PIN check: the call returns before the result, which is drawn later.
    shell.staff().sign_in("nurse1", "2468");
    assert_eq!(jobs.pending(), 1, "the PIN check is still out");
    assert!(
        signin().get_open(),
        "not signed in before the check is back"
    );
    assert_eq!(
        signin().get_message(),
        loc.tr(Language::EnUs, "signin-checking")
    );
    assert!(!shell.staff().desk().borrow().signed_in_as(&[Role::Nurse]));
    shell.settle();
    assert_eq!(jobs.pending(), 0);
    assert!(shell.staff().desk().borrow().signed_in_as(&[Role::Nurse]));
    assert!(!signin().get_open(), "signed in once the check came back");

    // A wrong PIN the same way: refused when it is back, with the reason.
    shell.staff().sign_out();
    shell.app().set_screen(Screen::Nurse);
    shell.staff().guard(Screen::Nurse);
    shell.settle();
    shell.staff().sign_in("nurse1", "1111");
    assert_eq!(jobs.pending(), 1);
    shell.settle();
    assert!(signin().get_open());
    assert!(signin().get_message_bad());
    assert!(!shell.staff().desk().borrow().signed_in_as(&[Role::Nurse]));
}
