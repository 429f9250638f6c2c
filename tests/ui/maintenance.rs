//! Issue 16: the maintenance screen by touch against a real SQLite record. The
//! administrator's PIN is asked again before it opens (a wrong PIN keeps it shut),
//! its facts are read off the UI thread (database, disk, backups, the log's
//! verification, the monitor link, the DICOM node, the clock), "Back up now" takes a
//! verified backup that is audited, and leaving the screen locks it again.

use crate::support::ui::{english_kiosk, keys, press, with_store};

use cmr_kiosk::store::accounts::{AuditAction, AuditEvent, AuditOutcome};
use cmr_kiosk::ui::components::{AdminAdapter, AdminTab, KeypadAdapter, Screen};
use slint::{ComponentHandle, Model};

/// The maintenance screen's lines as shown: (label, value, needs IT).
fn lines(shell: &cmr_kiosk::ui::shell::Shell) -> Vec<(String, String, bool)> {
    shell
        .app()
        .global::<AdminAdapter>()
        .get_service()
        .iter()
        .map(|r| (r.label.to_string(), r.value.to_string(), r.bad))
        .collect()
}

fn line(shell: &cmr_kiosk::ui::shell::Shell, label: &str) -> (String, bool) {
    lines(shell)
        .into_iter()
        .find(|(l, _, _)| l == label)
        .map(|(_, v, bad)| (v, bad))
        .unwrap_or_else(|| panic!("no line {label:?}: {:#?}", lines(shell)))
}

#[test]
fn issue_16_maintenance_asks_the_pin_again_shows_the_kiosk_health_and_backs_up() {
    let dir = tempfile::tempdir().unwrap();
    let (shell, url, loc) = english_kiosk(dir.path(), "maint-test");
    shell.install_live_facts();
    let en = |k: &str| loc.tr(cmr_kiosk::config::Language::EnUs, k);
    let admin = || shell.app().global::<AdminAdapter>();
    let keypad_open = || shell.app().global::<KeypadAdapter>().get_open();

    press(&shell, &en("role-admin"));
    press(&shell, &en("signin-first-admin"));
    keys(&shell, "chen");
    press(&shell, &en("keypad-ok"));
    keys(&shell, "975310");
    press(&shell, &en("keypad-ok"));
    assert_eq!(shell.app().get_screen(), Screen::Admin);
    // The agent catalogue shows concentrations as stocked (gadoxetate 0.25, not 0.3).
    press(&shell, &en("admin-tab-settings"));
    let agents: Vec<String> = admin().get_agents().iter().map(|a| a.to_string()).collect();
    assert!(
        agents
            .iter()
            .any(|a| a.starts_with("gadoxetate") && a.contains("0.25 mmol/mL")),
        "{agents:#?}"
    );

    // A wrong PIN: refused, the screen stays shut.
    press(&shell, &en("admin-tab-maintenance"));
    assert!(keypad_open(), "the PIN is asked first");
    keys(&shell, "111111");
    press(&shell, &en("keypad-ok"));
    shell.settle();
    assert_ne!(admin().get_tab(), AdminTab::Maintenance);
    assert!(admin().get_notice_bad(), "{}", admin().get_notice());
    assert!(lines(&shell).is_empty(), "nothing read before the PIN");

    // The right PIN: the screen opens with every fact read.
    press(&shell, &en("admin-tab-maintenance"));
    keys(&shell, "975310");
    press(&shell, &en("keypad-ok"));
    shell.settle();
    assert_eq!(admin().get_tab(), AdminTab::Maintenance);
    assert_eq!(admin().get_service_busy(), "");
    let (version, _) = line(&shell, &en("maint-version"));
    assert_eq!(version, format!("cmr-kiosk {}", env!("CARGO_PKG_VERSION")));
    let (db, bad) = line(&shell, &en("maint-database"));
    assert!(db.contains("kiosk.db") && db.contains("(current)"), "{db}");
    assert!(!bad);
    let (log, bad) = line(&shell, &en("maint-log"));
    assert!(
        log.starts_with("Intact: ") && log.ends_with(" rows verified"),
        "{log}"
    );
    assert!(!bad);
    let (backup, bad) = line(&shell, &en("maint-backup"));
    assert_eq!(
        (backup.as_str(), bad),
        (en("maint-backup-none").as_str(), true)
    );
    let (disk, _) = line(&shell, &en("maint-disk"));
    assert!(disk.contains(" free of "), "{disk}");
    let (monitor, _) = line(&shell, &en("maint-monitor"));
    assert!(monitor.starts_with("simulated"), "{monitor}");
    let (dicom, _) = line(&shell, &en("maint-dicom"));
    assert_eq!(dicom, en("maint-dicom-off"));
    // No systemd here: the clock's source is unknown, with the reason, and flagged.
    let (clock, bad) = line(&shell, &en("maint-clock"));
    assert!(
        clock.starts_with("unknown (") || clock.contains("synchronised"),
        "{clock}"
    );
    assert_eq!(bad, !clock.starts_with("synchronised"));

    // Back up now: verified, listed, audited.
    press(&shell, &en("maint-backup-now"));
    shell.settle();
    assert!(!admin().get_notice_bad(), "{}", admin().get_notice());
    assert!(
        admin().get_notice().starts_with("Backed up and verified: "),
        "{}",
        admin().get_notice()
    );
    let (backup, bad) = line(&shell, &en("maint-backup"));
    assert!(
        backup.contains(&en("maint-reason-manual")) && backup.contains("verified ("),
        "{backup}"
    );
    assert!(!bad);
    let files: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-manual.db"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let audit: Vec<AuditEvent> = with_store(&url, async |s| {
        crate::support::store::audit_trail(&s, "maint-test").await
    });
    assert!(
        audit
            .iter()
            .any(|a| a.action == AuditAction::Backup && a.outcome == AuditOutcome::Success),
        "{audit:#?}"
    );

    // Leaving the screen locks it: the PIN is asked again.
    press(&shell, &en("admin-tab-accounts"));
    assert_eq!(admin().get_tab(), AdminTab::Accounts);
    press(&shell, &en("admin-tab-maintenance"));
    assert!(keypad_open());
    assert_ne!(admin().get_tab(), AdminTab::Maintenance);
    press(&shell, &en("keypad-cancel"));
    assert_ne!(admin().get_tab(), AdminTab::Maintenance);
}
