//! The on-screen keypad and keyboard under Slint's testing backend: a weight typed
//! with a live range check, a masked PIN, and short text edited by keys and by a
//! system input method in turn.
//! (The testing backend can be initialised once per process: one test function.)

use crate::support::ui as common;
use common::*;

use std::cell::RefCell;
use std::rc::Rc;

use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::ui::components::{KeyboardAdapter, KeypadAdapter};
use cmr_kiosk::ui::input::model::{NumberEntry, NumberSpec};
use cmr_kiosk::ui::shell::Shell;
use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;

#[test]
fn keypad_weight_and_pin_and_keyboard_text() {
    i_slint_backend_testing::init_no_event_loop();
    let loc = Rc::new(Localizer::embedded().unwrap());
    let shell = Shell::new(Config::default(), loc.clone()).unwrap();
    let zh = |key: &str| loc.tr(Language::ZhCn, key);

    // Weight: 400 is refused with a message, 72.5 is taken.
    let weight = Rc::new(RefCell::new(None));
    let w = weight.clone();
    shell
        .input()
        .open_number(NumberEntry::new(NumberSpec::weight_kg()), move |e| {
            *w.borrow_mut() = e.value();
        });
    assert!(shell.app().global::<KeypadAdapter>().get_open());
    for k in ["4", "0", "0"] {
        tap(&shell, k);
    }
    assert_eq!(label_of(&shell, "Keypad::value"), "400");
    let message = label_of(&shell, "Keypad::message");
    assert!(message.contains(&zh("keypad-above-max")), "{message}");
    assert!(message.contains("1–350"), "{message}");
    tap(&shell, &zh("keypad-ok"));
    assert!(
        shell.app().global::<KeypadAdapter>().get_open(),
        "OK refused"
    );
    assert_eq!(*weight.borrow(), None);
    tap(&shell, &zh("keypad-clear"));
    for k in ["7", "2"] {
        tap(&shell, k);
    }
    tap(&shell, &zh("keypad-point-label"));
    tap(&shell, "5");
    tap(&shell, "5"); // one decimal only
    tap(&shell, &zh("keypad-backspace-label"));
    tap(&shell, "5");
    assert_eq!(label_of(&shell, "Keypad::value"), "72.5");
    assert!(label_of(&shell, "Keypad::message").contains(&zh("keypad-valid")));
    // Keys are at least the staff target (10 mm at 96 dpi ≈ 38 px).
    let ok = ElementHandle::find_by_element_id(shell.app(), "Keypad::ok")
        .next()
        .unwrap();
    assert!(
        ok.size().height >= 37.0 && ok.size().width >= 37.0,
        "{:?}",
        ok.size()
    );
    tap(&shell, &zh("keypad-ok"));
    assert!(!shell.app().global::<KeypadAdapter>().get_open());
    assert_eq!(*weight.borrow(), Some(72.5));

    // PIN: digits never shown; at least four; no decimal point offered.
    let pin = Rc::new(RefCell::new(String::new()));
    let p = pin.clone();
    shell
        .input()
        .open_number(NumberEntry::new(NumberSpec::pin()), move |e| {
            *p.borrow_mut() = e.text().to_string();
        });
    assert!(
        ElementHandle::find_by_accessible_label(shell.app(), &zh("keypad-point-label"))
            .next()
            .is_none()
    );
    for k in ["1", "2", "3"] {
        tap(&shell, k);
    }
    assert_eq!(label_of(&shell, "Keypad::value"), "•••");
    assert!(label_of(&shell, "Keypad::message").contains(&zh("keypad-pin-too-short")));
    tap(&shell, &zh("keypad-ok"));
    assert_eq!(*pin.borrow(), "");
    tap(&shell, "4");
    assert_eq!(label_of(&shell, "Keypad::value"), "••••");
    tap(&shell, &zh("keypad-ok"));
    assert_eq!(*pin.borrow(), "1234");

    // Issue 17: the same keys in the same places on every keypad: Clear, Cancel and
    // OK on the bottom row whether or not the field takes a decimal point.
    let key_at = |label: &str| {
        let key = ElementHandle::find_by_accessible_label(shell.app(), label)
            .find(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
            .unwrap_or_else(|| panic!("{label} key"));
        let p = key.absolute_position();
        (p.x.round() as i32, p.y.round() as i32)
    };
    let mut layouts = Vec::new();
    for spec in [
        NumberSpec::weight_kg(),
        NumberSpec::height_cm(),
        NumberSpec::pin(),
    ] {
        shell.input().open_number(NumberEntry::new(spec), |_| {});
        layouts.push(
            [
                "keypad-clear",
                "keypad-cancel",
                "keypad-ok",
                "keypad-backspace-label",
            ]
            .map(|k| key_at(&zh(k))),
        );
        shell.input().close();
    }
    assert!(layouts.windows(2).all(|w| w[0] == w[1]), "{layouts:?}");
    let [clear, cancel, ok, _] = layouts[0];
    assert!(clear.1 == cancel.1 && cancel.1 == ok.1 && clear.0 < cancel.0 && cancel.0 < ok.0);

    // Cancel closes without a result.
    shell
        .input()
        .open_number(NumberEntry::new(NumberSpec::height_cm()), |_| {
            panic!("no result after cancel")
        });
    tap(&shell, "1");
    tap(&shell, &zh("keypad-cancel"));
    assert!(!shell.app().global::<KeypadAdapter>().get_open());

    // Keyboard: shift, letters, space; a system input method writes Chinese into the
    // same text; backspace removes a whole character.
    let name = Rc::new(RefCell::new(String::new()));
    let n = name.clone();
    shell
        .input()
        .open_text("keyboard-title-name", "", move |t| *n.borrow_mut() = t);
    let kb = shell.app().global::<KeyboardAdapter>();
    assert!(kb.get_open());
    tap(&shell, &zh("keyboard-shift"));
    tap(&shell, "W");
    for k in ["a", "n", "g"] {
        tap(&shell, k);
    }
    tap(&shell, &zh("keyboard-space"));
    assert_eq!(kb.get_text(), "Wang ");
    kb.set_text("Wang 王小明".into()); // as an input method would
    tap(&shell, &zh("keypad-backspace-label"));
    assert_eq!(kb.get_text(), "Wang 王小");
    tap(&shell, "2");
    tap(&shell, &zh("keypad-ok"));
    assert!(!kb.get_open());
    assert_eq!(*name.borrow(), "Wang 王小2");
}
