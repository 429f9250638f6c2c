//! The kiosk started on an incoming folder full of hostile DICOM files (issue 19)
//! keeps running, logs nothing from them, and shows the staff a technical notice
//! naming the latest refused file in their language; "Seen" hides it until another
//! file is refused. A restart does not read the refused files again.

use crate::support::hostile_dicom;

use std::rc::Rc;
use std::time::{Duration, Instant};

use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::ui::components::Screen;
use cmr_kiosk::ui::shell::{DICOM_SKIP_LEDGER, Shell};
use i_slint_backend_testing::ElementHandle;

fn pump_until(shell: &Shell, what: &str, cond: impl Fn(&Shell) -> bool) {
    let started = Instant::now();
    while !cond(shell) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(250));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn notice(shell: &Shell) -> String {
    shell.app().get_technical_notice_text().to_string()
}

#[test]
fn kiosk_on_a_hostile_incoming_folder_keeps_running_and_shows_the_notice() {
    i_slint_backend_testing::init_no_event_loop();
    let base = tempfile::tempdir().unwrap();
    let folder = hostile_dicom::hostile_folder(base.path(), 64);
    let state = base.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let config = || {
        let mut c = Config::default();
        c.database.url = format!("sqlite://{}", state.join("kiosk.db").display());
        c.database.device_id = "hostile-test".into();
        c.dicom.incoming = folder.dir.display().to_string();
        c.dicom.poll_interval_s = 0.2;
        c.ui.language = Language::EnUs;
        c
    };
    let loc = Rc::new(Localizer::embedded().unwrap());
    let mut shell = Shell::new(config(), loc.clone()).unwrap();
    shell.start_recorder().unwrap();
    shell.start_dicom_watch().unwrap();
    shell.app().set_screen(Screen::Technologist);
    pump_until(&shell, "the notice", |s| !notice(s).is_empty());
    // Every file the reader refuses lands in the ledger: the four crafted files and
    // every truncation (all cut inside the header).
    let ledger = state.join(DICOM_SKIP_LEDGER);
    let expected = 4 + folder.truncated.len();
    pump_until(&shell, "every refusal in the ledger", |_| {
        std::fs::read_to_string(&ledger).is_ok_and(|t| t.lines().count() == expected)
    });
    pump_until(&shell, "the notice to count them all", |s| {
        // …plus the four folder entries the walk refuses (self loop, both links of the
        // pair loop, the link out of the folder).
        notice(s).contains(&format!("{} DICOM", expected + 4))
    });
    let text = notice(&shell);
    assert!(text.starts_with("Technical notice:"), "{text}");
    assert!(
        text.contains(".dcm") || text.contains("out") || text.contains("self"),
        "names the file: {text}"
    );
    // Shown on the console as a band with its dismiss button.
    let band: Vec<_> =
        ElementHandle::find_by_element_id(shell.app(), "AppWindow::technical-notice").collect();
    assert_eq!(band.len(), 1, "the notice band is on screen");
    assert_eq!(band[0].accessible_label().unwrap_or_default(), text);
    // Patient mode never shows it.
    shell.app().set_screen(Screen::Patient);
    assert_eq!(
        ElementHandle::find_by_element_id(shell.app(), "AppWindow::technical-notice").count(),
        0
    );
    shell.app().set_screen(Screen::Technologist);
    // In Chinese, no English word but the file name.
    shell.app().invoke_toggle_language();
    i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(300));
    let zh = notice(&shell);
    assert!(zh.starts_with("技术提示"), "{zh}");
    // "Seen" hides it.
    ElementHandle::find_by_accessible_label(
        shell.app(),
        &loc.tr(Language::ZhCn, "technical-notice-dismiss"),
    )
    .next()
    .expect("the Seen button")
    .invoke_accessible_default_action();
    shell.settle();
    assert!(notice(&shell).is_empty());
    let remembered = std::fs::read_to_string(&ledger).unwrap();
    assert!(remembered.contains("nest-10000.dcm"), "{remembered}");
    assert!(remembered.contains("length-fffffff0.dcm"));
    drop(shell);

    // A restart on the same folder: refused files are reported from the ledger, not
    // read again (the ledger does not grow), and the kiosk still runs.
    let lines_before = remembered.lines().count();
    let mut again = Shell::new(config(), loc.clone()).unwrap();
    again.start_recorder().unwrap();
    again.start_dicom_watch().unwrap();
    again.app().set_screen(Screen::Technologist);
    pump_until(&again, "the notice after the restart", |s| {
        !notice(s).is_empty()
    });
    let after = std::fs::read_to_string(&ledger).unwrap();
    assert_eq!(
        after.lines().count(),
        lines_before,
        "nothing new refused: not re-read"
    );
}
