//! The adapter between the on-screen keypad and keyboard (`ui/widgets/keypad.slint`,
//! `ui/widgets/keyboard.slint`) and the pure input models in [`crate::ui::input::model`].
//!
//! A view opens the keypad with [`InputPanels::open_number`] (or the keyboard with
//! [`InputPanels::open_text`]) and gets the result in its callback when the user
//! touches OK; Cancel closes without a result.

use std::cell::RefCell;
use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::ui::components::{AppWindow, KeyboardAdapter, KeypadAdapter};
use crate::ui::input::model::{NumberEntry, TextEntry, TextKind};

type NumberDone = Box<dyn Fn(&NumberEntry)>;
type TextDone = Box<dyn Fn(String)>;

struct Inner {
    app: slint::Weak<AppWindow>,
    number: RefCell<Option<(NumberEntry, Rc<NumberDone>)>>,
    text: RefCell<Option<(TextEntry, Rc<TextDone>)>>,
}

/// The keypad and keyboard of one window.
#[derive(Clone)]
pub struct InputPanels {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for InputPanels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputPanels").finish_non_exhaustive()
    }
}

const ROWS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjkl-", "zxcvbnm."];

fn row_model(keys: &str, shift: bool) -> ModelRc<SharedString> {
    let keys: Vec<SharedString> = keys
        .chars()
        .map(|c| {
            if shift {
                c.to_uppercase().collect::<String>().into()
            } else {
                c.to_string().into()
            }
        })
        .collect();
    ModelRc::new(VecModel::from(keys))
}

impl InputPanels {
    /// Wires the keypad and keyboard callbacks of `app`.
    pub fn install(app: &AppWindow) -> InputPanels {
        let panels = InputPanels {
            inner: Rc::new(Inner {
                app: app.as_weak(),
                number: RefCell::new(None),
                text: RefCell::new(None),
            }),
        };
        let keypad = app.global::<KeypadAdapter>();
        let p = panels.clone();
        keypad.on_key(move |k| {
            p.edit_number(|e| {
                e.key(k.as_str());
            })
        });
        let p = panels.clone();
        keypad.on_backspace(move || p.edit_number(NumberEntry::backspace));
        let p = panels.clone();
        keypad.on_clear(move || p.edit_number(NumberEntry::clear));
        let p = panels.clone();
        keypad.on_cancel(move || p.close());
        let p = panels.clone();
        keypad.on_ok(move || p.number_ok());

        let keyboard = app.global::<KeyboardAdapter>();
        let p = panels.clone();
        keyboard.on_key(move |k| {
            p.edit_text(|e| {
                e.key(k.as_str());
            })
        });
        let p = panels.clone();
        keyboard.on_backspace(move || p.edit_text(TextEntry::backspace));
        let p = panels.clone();
        keyboard.on_clear(move || p.edit_text(TextEntry::clear));
        let p = panels.clone();
        keyboard.on_shift_toggled(move || p.edit_text(TextEntry::toggle_shift));
        let p = panels.clone();
        keyboard.on_chinese_toggled(move || p.edit_text(TextEntry::toggle_chinese));
        let p = panels.clone();
        keyboard.on_pick(move |i| {
            p.edit_text(|e| {
                e.pick(usize::try_from(i).unwrap_or(usize::MAX));
            })
        });
        let p = panels.clone();
        keyboard.on_page(move |next| {
            p.edit_text(|e| {
                e.page(next);
            })
        });
        let p = panels.clone();
        keyboard.on_cancel(move || p.close());
        let p = panels.clone();
        keyboard.on_ok(move || p.text_ok());
        panels.show_rows(app, false);
        panels
    }

    /// Opens the keypad for `entry`; `done` gets the entry when OK is touched with a
    /// valid value.
    pub fn open_number(&self, entry: NumberEntry, done: impl Fn(&NumberEntry) + 'static) {
        self.close();
        *self.inner.number.borrow_mut() = Some((entry, Rc::new(Box::new(done))));
        self.show_number();
    }

    /// Opens the keyboard titled by the Fluent key `title_key`, starting with
    /// `initial`; `done` gets the text when OK is touched.
    pub fn open_text(&self, title_key: &str, initial: &str, done: impl Fn(String) + 'static) {
        self.open_text_of(title_key, initial, TextKind::Text, done);
    }

    /// [`InputPanels::open_text`] for a field of `kind` (Latin only, free text, or a
    /// name: the keyboard's pinyin mode and how it ranks candidates).
    pub fn open_text_of(
        &self,
        title_key: &str,
        initial: &str,
        kind: TextKind,
        done: impl Fn(String) + 'static,
    ) {
        self.close();
        *self.inner.text.borrow_mut() =
            Some((TextEntry::of_kind(initial, kind), Rc::new(Box::new(done))));
        if let Some(app) = self.inner.app.upgrade() {
            let k = app.global::<KeyboardAdapter>();
            k.set_title_key(title_key.into());
        }
        self.show_text();
    }

    /// Closes the keypad and keyboard without a result.
    pub fn close(&self) {
        self.inner.number.borrow_mut().take();
        self.inner.text.borrow_mut().take();
        if let Some(app) = self.inner.app.upgrade() {
            app.global::<KeypadAdapter>().set_open(false);
            app.global::<KeyboardAdapter>().set_open(false);
        }
    }

    /// The number being typed, if the keypad is open.
    pub fn number(&self) -> Option<NumberEntry> {
        self.inner.number.borrow().as_ref().map(|(e, _)| e.clone())
    }

    fn edit_number(&self, f: impl FnOnce(&mut NumberEntry)) {
        if let Some((entry, _)) = self.inner.number.borrow_mut().as_mut() {
            f(entry);
        }
        self.show_number();
    }

    fn number_ok(&self) {
        let open = self.inner.number.borrow().clone();
        if let Some((entry, done)) = open
            && entry.check().is_valid()
        {
            self.close();
            done(&entry);
        }
    }

    fn show_number(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let k = app.global::<KeypadAdapter>();
        let guard = self.inner.number.borrow();
        let Some((entry, _)) = guard.as_ref() else {
            k.set_open(false);
            return;
        };
        let spec = entry.spec();
        let check = entry.check();
        k.set_title_key(spec.title_key.into());
        k.set_unit_key(spec.unit_key.into());
        k.set_shown(entry.display().into());
        // A key not taken says so; else the live range check.
        k.set_message_key(entry.refused().unwrap_or(check.message_key()).into());
        k.set_range(spec.range_text().into());
        k.set_valid(check.is_valid());
        k.set_allow_point(entry.allows_point());
        k.set_pin(spec.pin);
        k.set_open(true);
    }

    /// Edits the open keyboard's entry without touches (worked states of the gallery).
    pub fn edit_entry(&self, f: impl FnOnce(&mut TextEntry)) {
        self.edit_text(f);
    }

    fn edit_text(&self, f: impl FnOnce(&mut TextEntry)) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let k = app.global::<KeyboardAdapter>();
        if let Some((entry, _)) = self.inner.text.borrow_mut().as_mut() {
            // The field may have been changed by a system input method since.
            entry.set_text(k.get_text().as_str());
            f(entry);
        }
        self.show_text();
    }

    fn text_ok(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let k = app.global::<KeyboardAdapter>();
        let open = self.inner.text.borrow().clone();
        if let Some((mut entry, done)) = open {
            // Pinyin still composing goes in as typed.
            entry.set_text(k.get_text().as_str());
            entry.finish();
            self.close();
            done(entry.text().to_string());
        }
    }

    fn show_text(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let k = app.global::<KeyboardAdapter>();
        let guard = self.inner.text.borrow();
        let Some((entry, _)) = guard.as_ref() else {
            k.set_open(false);
            return;
        };
        k.set_text(entry.text().into());
        k.set_offers_chinese(entry.offers_chinese());
        k.set_chinese(entry.chinese());
        k.set_composing(entry.composing().into());
        let page = entry.candidates();
        k.set_candidates(ModelRc::new(VecModel::from(
            page.candidates
                .iter()
                .map(|c| SharedString::from(c.text.as_str()))
                .collect::<Vec<_>>(),
        )));
        k.set_has_prev(page.page > 0);
        k.set_has_more(page.has_more);
        if k.get_shift() != entry.shift() {
            k.set_shift(entry.shift());
            self.show_rows(&app, entry.shift());
        }
        k.set_open(true);
    }

    fn show_rows(&self, app: &AppWindow, shift: bool) {
        let k = app.global::<KeyboardAdapter>();
        k.set_digits(row_model(ROWS[0], false));
        k.set_row_1(row_model(ROWS[1], shift));
        k.set_row_2(row_model(ROWS[2], shift));
        k.set_row_3(row_model(ROWS[3], shift));
    }
}
