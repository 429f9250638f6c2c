//! Issue 18 (keyboard part): a Chinese name typed by touch in pinyin mode into the
//! registration form; the 中/英 key, the candidate bar and its paging; Latin-only
//! fields offer no pinyin mode.

use crate::support::ui as common;
use common::*;

use slint::{ComponentHandle, Model};

use cmr_kiosk::config::Language;
use cmr_kiosk::store::accounts::Role;
use cmr_kiosk::ui::components::KeyboardAdapter;

fn candidates(shell: &cmr_kiosk::ui::shell::Shell) -> Vec<String> {
    shell
        .app()
        .global::<KeyboardAdapter>()
        .get_candidates()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn issue_18_a_chinese_name_is_typed_by_touch_into_registration() {
    let dir = tempfile::tempdir().unwrap();
    let (shell, url, loc) = english_kiosk(dir.path(), "pinyin-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    add_staff(&url, "nurse1", "Nurse Zhang", Role::Nurse, "2468");
    press(&shell, &en("role-nurse"));
    press(&shell, "Nurse Zhang");
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("nurse-tab-register"));
    let keyboard = || shell.app().global::<KeyboardAdapter>();

    // The name field: Latin first, the 中/英 key switches to pinyin.
    press(&shell, &en("reg-name"));
    assert!(keyboard().get_open());
    assert!(keyboard().get_offers_chinese());
    assert!(!keyboard().get_chinese());
    press(&shell, &en("keyboard-mode-label"));
    assert!(keyboard().get_chinese());

    // "wang": the surname 王 is on the bar (a name field ranks surnames first).
    keys(&shell, "wang");
    assert_eq!(keyboard().get_composing(), "wang");
    let bar = candidates(&shell);
    assert_eq!(bar.first().map(String::as_str), Some("王"), "{bar:?}");
    press(&shell, "王");
    assert_eq!(keyboard().get_text(), "王");
    assert_eq!(keyboard().get_composing(), "");

    // "xiaoming": the given name, picked whole.
    keys(&shell, "xiaoming");
    let bar = candidates(&shell);
    assert!(bar.contains(&"小明".to_string()), "{bar:?}");
    press(&shell, "小明");
    assert_eq!(keyboard().get_text(), "王小明");

    // Paging: the next page differs; back again.
    keys(&shell, "li");
    let first = candidates(&shell);
    assert!(keyboard().get_has_more());
    press(&shell, &en("keyboard-page-next"));
    let second = candidates(&shell);
    assert_ne!(first, second);
    press(&shell, &en("keyboard-page-prev"));
    assert_eq!(candidates(&shell), first);
    // Backspace takes pinyin letters first, then characters.
    press(&shell, &en("keypad-backspace-label"));
    press(&shell, &en("keypad-backspace-label"));
    assert_eq!(keyboard().get_composing(), "");
    assert_eq!(keyboard().get_text(), "王小明");

    press(&shell, &en("keypad-ok"));
    assert_eq!(shell.nurse().form().name, "王小明");

    // The patient ID is Latin only: no 中/英 key.
    press(&shell, &en("reg-patient-id"));
    assert!(keyboard().get_open());
    assert!(!keyboard().get_offers_chinese());
    keys(&shell, "p0012345");
    press(&shell, &en("keypad-ok"));

    // The rest of the form, then the exam opens under the name in characters.
    press(&shell, &en("reg-birth-date"));
    keys(&shell, "19650302");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-weight"));
    keys(&shell, "70");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-department"));
    keys(&shell, "cardiology");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-question"));
    keys(&shell, "ischaemia");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("sex-male"));
    press(&shell, &en("exam-type-contrast"));
    press(&shell, &en("nurse-register"));
    assert!(shell.engine().read().session().is_some(), "the exam opened");

    // Patient mode: the patient confirms the full name and the date of birth.
    let welcome = |id: &str| {
        i_slint_backend_testing::ElementHandle::find_by_element_id(shell.app(), id)
            .next()
            .and_then(|e| e.accessible_label())
            .map(|l| l.to_string())
            .unwrap_or_default()
    };
    shell
        .app()
        .set_screen(cmr_kiosk::ui::components::Screen::Patient);
    shell.patient().refresh();
    assert_eq!(welcome("PatientWelcome::name"), "王小明");
    assert!(
        welcome("PatientWelcome::birth").ends_with("1965-03-02"),
        "{}",
        welcome("PatientWelcome::birth")
    );
    press(&shell, &en("patient-identity-yes"));
    assert_eq!(
        shell.patient().with(|c, _| c.step()),
        cmr_kiosk::ui::patient::model::Step::Questionnaire
    );
}
