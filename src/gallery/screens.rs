//! Every screen and key state by name, and the demonstration states behind them
//! (a made-up patient on a fixed clock), for `cmr-kiosk screenshot` and the gallery.

use std::cell::Cell;
use std::rc::Rc;

use crate::config::Language;
use crate::domain::time::Instant;
use crate::ui::components::{AdminTab, Screen};
use crate::ui::input::model::{NumberEntry, NumberSpec};
use crate::ui::patient::model::{Answer, PatientController};
use crate::ui::shell::{DicomNotice, Shell};

/// Every screen and key state with its command-line name, in the order the gallery
/// shows them. Names other than the bare screen names put the screen into a
/// demonstration state first (see [`show_named`]).
pub const SCREENS: [(&str, Screen); 37] = [
    ("home", Screen::Home),
    ("patient", Screen::Patient),
    ("patient-welcome", Screen::Patient),
    ("patient-not-me", Screen::Patient),
    ("patient-questionnaire", Screen::Patient),
    ("patient-instructions", Screen::Patient),
    ("patient-stress-drug", Screen::Patient),
    ("patient-electrodes", Screen::Patient),
    ("patient-breath-hold-ready", Screen::Patient),
    ("patient-breath-hold", Screen::Patient),
    ("patient-breath-hold-again", Screen::Patient),
    ("patient-breath-hold-result", Screen::Patient),
    ("patient-breath-hold-short", Screen::Patient),
    ("keypad", Screen::Nurse),
    ("keypad-out-of-range", Screen::Nurse),
    ("keypad-pin", Screen::Home),
    ("keyboard", Screen::Nurse),
    ("keyboard-pinyin", Screen::Nurse),
    ("signin", Screen::Nurse),
    ("lock", Screen::Technologist),
    ("nurse", Screen::Nurse),
    ("nurse-register", Screen::Nurse),
    ("nurse-worklist", Screen::Nurse),
    ("nurse-facts", Screen::Nurse),
    ("nurse-indications", Screen::Nurse),
    ("nurse-review", Screen::Nurse),
    ("nurse-override", Screen::Nurse),
    ("nurse-implant", Screen::Nurse),
    ("nurse-blocked", Screen::Nurse),
    ("nurse-prepare", Screen::Nurse),
    ("nurse-signed-off", Screen::Nurse),
    ("technologist", Screen::Technologist),
    ("staff-notice", Screen::Technologist),
    ("admin", Screen::Admin),
    ("admin-add", Screen::Admin),
    ("admin-settings", Screen::Admin),
    ("admin-maintenance", Screen::Admin),
];

/// The demonstration patient of screenshots (never shown in the kiosk itself).
pub const DEMO_PATIENT_NAME: [(Language, &str); 2] = [
    (Language::ZhCn, "王小明"),
    (Language::EnUs, "Wang Xiaoming"),
];

/// The screen called `name` on the command line.
pub fn screen_from_name(name: &str) -> Option<Screen> {
    SCREENS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Shows the screen or key state called `name` in [`SCREENS`]; states other than
/// a bare screen are demonstrations with a made-up patient ([`DEMO_PATIENT_NAME`])
/// on a fixed clock, for screenshots. Returns `false` for an unknown name.
pub fn show_named(shell: &Shell, name: &str) -> bool {
    let Some(screen) = screen_from_name(name) else {
        return false;
    };
    shell.input().close();
    shell.staff().demo_reset();
    shell.nurse().demo_reset();
    shell
        .engine()
        .call_quiet(crate::engine::Command::Install(None));
    *shell.dicom_notice().borrow_mut() = DicomNotice::default();
    shell.app().set_technical_notice_text("".into());
    let demo_name = DEMO_PATIENT_NAME
        .iter()
        .find(|(l, _)| *l == shell.language())
        .map_or("", |(_, n)| *n);
    // A fixed clock: the demonstration breath starts at 0 s and is drawn at 12.4 s.
    let demo_now = Rc::new(Cell::new(Instant::from_millis(12_400)));
    let now = demo_now.clone();
    shell.patient().set_clock(Rc::new(move || now.get()));
    let at = |ms| Instant::from_millis(ms);
    // The demonstration patient: a man booked for adenosine stress (no pregnancy
    // question; the stress drug is explained).
    let greeted = |c: &mut PatientController| {
        c.set_patient_identity(Some(demo_name), chrono::NaiveDate::from_ymd_opt(1965, 3, 2));
        c.set_exam(
            Some(crate::domain::screening::Sex::Male),
            Some(crate::domain::ExamType::AdenosineStress),
        );
        c.confirm_identity(true);
    };
    let answered = |c: &mut PatientController| {
        greeted(c);
        while c.step() == crate::ui::patient::model::Step::Questionnaire {
            c.choose(Answer::No);
            c.confirm();
        }
    };
    match name {
        "patient" => shell.patient().set_patient(None),
        "patient-welcome" => shell.patient().with(|c, _| {
            greeted(c);
            c.previous();
        }),
        "patient-not-me" => shell.patient().with(|c, _| {
            c.set_patient(Some(demo_name));
            c.confirm_identity(false);
        }),
        "patient-questionnaire" => shell.patient().with(|c, _| {
            greeted(c);
            for _ in 0..2 {
                c.choose(Answer::No);
                c.confirm();
            }
            // Touched, not yet confirmed.
            c.choose(Answer::NotSure);
        }),
        "patient-instructions" => shell.patient().with(|c, _| answered(c)),
        "patient-stress-drug" => shell.patient().with(|c, _| {
            answered(c);
            c.next();
        }),
        "patient-electrodes" => shell.patient().with(|c, _| {
            answered(c);
            c.next();
            c.next();
        }),
        "patient-breath-hold-ready" => shell.patient().with(|c, _| {
            answered(c);
            c.next();
            c.next();
            c.next();
        }),
        "patient-breath-hold" => shell.patient().with(|c, _| {
            answered(c);
            c.next();
            c.next();
            c.next();
            c.start_breath(at(0));
        }),
        "patient-breath-hold-again" => shell.patient().with(|c, _| {
            answered(c);
            c.next();
            c.next();
            c.next();
            c.start_breath(at(0));
            c.end_hold(at(8_000 + 17_000));
        }),
        "patient-breath-hold-result" | "patient-breath-hold-short" => {
            let hold_ms = if name.ends_with("short") {
                9_000
            } else {
                18_000
            };
            shell.patient().with(|c, _| {
                answered(c);
                c.next();
                c.next();
                c.next();
                c.start_breath(at(0));
                c.end_hold(at(8_000 + 12_000));
                c.start_breath(at(30_000));
                c.end_hold(at(38_000 + hold_ms));
                c.finish_practice(at(60_000));
            });
        }
        "keypad" | "keypad-out-of-range" => {
            let typed = if name == "keypad" { "72.5" } else { "400" };
            let mut entry = NumberEntry::new(NumberSpec::weight_kg());
            for k in typed.chars() {
                entry.key(&k.to_string());
            }
            shell.input().open_number(entry, |_| {});
        }
        "keypad-pin" => {
            let mut entry = NumberEntry::new(NumberSpec::pin());
            for k in "123".chars() {
                entry.key(&k.to_string());
            }
            shell.input().open_number(entry, |_| {});
        }
        "keyboard" => shell
            .input()
            .open_text("keyboard-title-name", "Wang Xiaom", |_| {}),
        "keyboard-pinyin" => {
            // Pinyin mode in a name field: the surname picked, the given name composing.
            let input = shell.input();
            input.open_text_of(
                "keyboard-title-name",
                "",
                crate::ui::input::model::TextKind::Name,
                |_| {},
            );
            input.edit_entry(|e| {
                e.toggle_chinese();
                for k in "wang".chars() {
                    e.key(&k.to_string());
                }
                e.pick(0);
                for k in "xiaom".chars() {
                    e.key(&k.to_string());
                }
            });
        }
        "signin" => {
            shell.app().set_screen(screen);
            shell.staff().demo_signin(screen, false);
        }
        "lock" => {
            if let Some((exam, now)) = super::console::preview_exam("alarm") {
                let session = crate::engine::session::ExamSession::preview(exam, now);
                shell
                    .engine()
                    .call_quiet(crate::engine::Command::Install(Some(Box::new(session))));
                let wall = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
                    .and_then(|d| d.and_hms_opt(9, 30, 0))
                    .unwrap_or_default();
                crate::ui::console::view::ConsoleUi::default().refresh(
                    shell.app(),
                    shell.language_state(),
                    &shell.engine().read(),
                    now,
                    wall,
                );
            }
            shell.app().set_screen(screen);
            shell.staff().demo_signin(screen, true);
        }
        "staff-notice" => {
            // The console behind the band shows no exam (no earlier state left over).
            crate::ui::console::view::ConsoleUi::default().refresh(
                shell.app(),
                shell.language_state(),
                &crate::engine::EngineState::default(),
                Instant::ZERO,
                chrono::NaiveDateTime::default(),
            );
            let mut notice = shell.dicom_notice().borrow_mut();
            for n in 1..=3 {
                notice.add(&crate::dicom::scan::SkippedFile {
                    file: format!("incoming/1.2.826.0.1.3680043.9.7/IM_{n:04}.dcm").into(),
                    reason: crate::dicom::SkipReason::OutOfBounds,
                    detail: String::new(),
                });
            }
            shell
                .app()
                .set_technical_notice_text(notice.text(shell.language_state()).into());
        }
        "admin-maintenance" => {
            shell.app().set_screen(screen);
            shell.staff().demo_admin(AdminTab::Maintenance, false);
            shell.staff().demo_maintenance();
        }
        "admin" | "admin-add" | "admin-settings" => {
            shell.app().set_screen(screen);
            shell.staff().demo_admin(
                if name == "admin-settings" {
                    AdminTab::Settings
                } else {
                    AdminTab::Accounts
                },
                name == "admin-add",
            );
        }
        _ => {
            if let Some(demo) = name.strip_prefix("nurse-") {
                let reg = super::nurse::demo_registration(demo_name);
                let exam = super::nurse::demo_exam(demo, &reg);
                if demo != "register" && demo != "worklist" {
                    let session = crate::engine::session::ExamSession::preview_with_record(
                        exam,
                        Instant::from_secs(120),
                        reg.to_json(),
                    );
                    shell
                        .engine()
                        .call_quiet(crate::engine::Command::Install(Some(Box::new(session))));
                }
                shell.nurse().demo(demo, demo_name);
            } else if name == "nurse" {
                shell.nurse().invalidate();
                shell.nurse().refresh();
            }
        }
    }
    shell.app().set_screen(screen);
    true
}
