//! Issue 17: every dose-changing step goes through a confirm panel that shows what will
//! be recorded; only the ordered drug's start is offered, and only until the protocol
//! is past it. Regadenoson's own sequence by touch: bolus, stop criterion, reversal.

use crate::support::ui as common;
use common::*;

use slint::{ComponentHandle, Model};

use cmr_kiosk::config::Language;
use cmr_kiosk::domain::contrast::{Amount, InjectionMethod, InjectionRequest, Purpose};
use cmr_kiosk::domain::protocol::ExamType;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::engine::Command;
use cmr_kiosk::engine::session::ExamSession;
use cmr_kiosk::ui::components::{ConsoleAdapter, Screen};
use cmr_kiosk::ui::console::view::{CONFIRM_KEYS, Pending, RowValue};
use cmr_kiosk::ui::shell::Shell;

fn exam_of(exam_type: ExamType) -> Exam {
    let mut e = Exam::new(ProtocolSettings::default());
    let t0 = Instant::from_secs(0);
    e.handle(
        ExamEvent::PatientRegistered {
            patient: Patient {
                weight_kg: 70.0,
                height_cm: None,
                sex: Sex::Female,
                age_years: 58,
                egfr: Some(85.0),
                egfr_date: None,
            },
        },
        t0,
    )
    .unwrap();
    e.handle(ExamEvent::ExamTypeChosen { exam_type }, t0)
        .unwrap();
    e.handle(
        ExamEvent::VitalsReading {
            vitals: Vitals {
                hr: Some(66.0),
                sbp: Some(124.0),
                dbp: Some(76.0),
                ..Default::default()
            },
        },
        Instant::from_secs(10),
    )
    .unwrap();
    e
}

fn at(shell: &Shell, secs: u64) {
    shell
        .engine()
        .call(Command::ResumeAt(Instant::from_secs(secs)))
        .unwrap();
    shell.console_tick();
}

fn rows(shell: &Shell) -> Vec<(String, String)> {
    shell
        .app()
        .global::<ConsoleAdapter>()
        .get_confirm_rows()
        .iter()
        .map(|r| (r.label.to_string(), r.value.to_string()))
        .collect()
}

#[test]
fn issue_17_regadenoson_bolus_is_confirmed_before_it_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut shell, _url, loc) = english_kiosk(dir.path(), "confirm-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    let s = ExamSession::preview(exam_of(ExamType::RegadenosonStress), Instant::from_secs(20));
    shell
        .engine()
        .call(Command::Install(Some(Box::new(s))))
        .unwrap();
    shell.start_console();
    shell.app().set_screen(Screen::Technologist);
    at(&shell, 30);
    let console = || shell.app().global::<ConsoleAdapter>();
    let given = |shell: &Shell| {
        shell
            .engine()
            .read()
            .session()
            .unwrap()
            .exam()
            .stress()
            .runs()
            .len()
    };

    // A regadenoson exam offers regadenoson only.
    assert!(has_label(&shell, &en("console-start-regadenoson")));
    assert!(!has_label(&shell, &en("console-start-adenosine")));

    // The start opens the panel: the fixed dose and how it is given; nothing yet.
    press(&shell, &en("console-start-regadenoson"));
    assert!(console().get_confirm_open());
    assert_eq!(
        console().get_confirm_title(),
        en("confirm-title-regadenoson")
    );
    let shown = rows(&shell);
    assert!(
        shown.contains(&(en("confirm-dose"), "0.4 mg".into())),
        "{shown:?}"
    );
    assert!(
        shown.contains(&(en("confirm-route"), en("confirm-regadenoson-route"))),
        "{shown:?}"
    );
    assert_eq!(given(&shell), 0, "nothing given before the confirmation");

    // Cancelled: nothing recorded; started again and confirmed: one bolus.
    press(&shell, &en("keypad-cancel"));
    assert!(!console().get_confirm_open());
    at(&shell, 31);
    assert_eq!(given(&shell), 0);
    press(&shell, &en("console-start-regadenoson"));
    press(&shell, &en("console-start-regadenoson"));
    confirm_step(&shell);
    at(&shell, 32);
    assert_eq!(given(&shell), 1, "one bolus for a double tap");
    assert!(has_label(
        &shell,
        &loc.tr_args(Language::EnUs, "console-dose-bolus", &{
            let mut a = fluent::FluentArgs::new();
            a.set("mg", "0.4");
            a
        })
    ));
    // Past the start: no start button any more, even after the drug wears off.
    assert!(!has_label(&shell, &en("console-start-regadenoson")));

    // A stop criterion: the alarm, acknowledged; the reversal given by touch.
    press(&shell, &en("console-note-criterion"));
    press(&shell, &en("criterion-wheeze"));
    at(&shell, 33);
    assert!(has_label(
        &shell,
        &format!("*** {}", en("alarm-adverse_reaction"))
    ));
    press(&shell, &en("console-acknowledge"));
    press(&shell, &en("console-reverse-regadenoson"));
    at(&shell, 34);
    assert!(
        shell
            .engine()
            .read()
            .session()
            .map(|s| !s.exam().stress().drug_active(s.now()))
            .unwrap()
    );
    at(&shell, 2000);
    assert!(!has_label(&shell, &en("console-start-regadenoson")));
    assert!(!has_label(&shell, &en("console-start-adenosine")));
}

/// The panels' contents for each dose-changing step, from the exam as it stands:
/// adenosine's pump rate at the assumed concentration, the escalation's new rate, and
/// an injection's volume and the total after it.
#[test]
fn issue_17_confirm_panels_show_what_will_be_recorded() {
    let plain = |p: &Pending, key: &str| {
        p.rows
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{key} on the panel: {:?}", p.rows))
    };
    let mut exam = exam_of(ExamType::AdenosineStress);
    let start = ExamEvent::StressStarted {
        drug: StressDrug::Adenosine,
        dose: None,
        authority: Default::default(),
    };
    let p = Pending::for_event(start.clone(), &exam).unwrap();
    assert_eq!(p.title, "confirm-title-adenosine");
    assert_eq!(plain(&p, "confirm-weight"), RowValue::Plain("70 kg".into()));
    assert_eq!(
        plain(&p, "confirm-dose"),
        RowValue::Plain("140 µg/kg/min".into())
    );
    assert_eq!(
        plain(&p, "confirm-concentration"),
        RowValue::Plain("3 mg/mL".into())
    );
    // 140 µg/kg/min × 70 kg × 60 min/h ÷ 3000 µg/mL = 196 mL/h.
    assert_eq!(
        plain(&p, "confirm-pump-rate"),
        RowValue::Plain("196 mL/h".into())
    );
    exam.handle(start, Instant::from_secs(20)).unwrap();
    let p = Pending::for_event(
        ExamEvent::StressEscalated {
            dose_ug_kg_min: Some(210.0),
            authority: Default::default(),
        },
        &exam,
    )
    .unwrap();
    assert_eq!(
        plain(&p, "confirm-dose"),
        RowValue::Plain("140 → 210 µg/kg/min".into())
    );
    assert_eq!(
        plain(&p, "confirm-pump-rate"),
        RowValue::Plain("196 → 294 mL/h".into())
    );
    exam.handle(
        ExamEvent::AgentSelected {
            agent: cmr_kiosk::domain::contrast::AgentId::Gadoterate,
        },
        Instant::from_secs(30),
    )
    .unwrap();
    let p = Pending::for_event(
        ExamEvent::Injected(InjectionRequest {
            amount: Amount::DoseMmolKg(0.05),
            rate_ml_s: 4.0,
            flush_ml: 20.0,
            purpose: Purpose::StressPerfusion,
            method: InjectionMethod::PowerInjector,
            authority: Default::default(),
        }),
        &exam,
    )
    .unwrap();
    // 0.05 mmol/kg × 70 kg = 3.5 mmol = 7 mL of a 0.5 mmol/mL agent.
    assert_eq!(plain(&p, "confirm-volume"), RowValue::Plain("7 mL".into()));
    assert_eq!(
        plain(&p, "confirm-dose"),
        RowValue::Plain("0.05 mmol/kg (3.5 mmol)".into())
    );
    assert_eq!(
        plain(&p, "confirm-total-after"),
        RowValue::Plain("0.05 / 0.2 mmol/kg".into())
    );
    // Every label and title is a listed locale key (the locale test checks the list).
    for key in p.rows.iter().map(|(k, _)| *k).chain([p.title, p.action]) {
        assert!(CONFIRM_KEYS.contains(&key), "{key}");
    }
    // A step that changes no dose has no panel.
    assert!(Pending::for_event(ExamEvent::StressStopped, &exam).is_none());
}

/// Issue 17, far view: while adenosine runs, the time on the drug, the time to
/// imaging and the HR and SBP changes are drawn with a digit height of at least
/// 15 mm at the configured DPI, readable from the scanner console.
#[test]
fn issue_17_far_view_numbers_stand_at_least_15_mm_high() {
    use cmr_kiosk::ui::theme::{DIGIT_HEIGHT_EM, FAR_CAP_HEIGHT_MM, mm_to_logical_px};
    let dir = tempfile::tempdir().unwrap();
    let (mut shell, _url, loc) = english_kiosk(dir.path(), "far-view-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    let mut e = exam_of(ExamType::AdenosineStress);
    e.handle(
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        },
        Instant::from_secs(20),
    )
    .unwrap();
    let s = ExamSession::preview(e, Instant::from_secs(20));
    shell
        .engine()
        .call(Command::Install(Some(Box::new(s))))
        .unwrap();
    shell.start_console();
    shell.app().set_screen(Screen::Technologist);
    at(&shell, 95);
    let font = shell
        .app()
        .global::<cmr_kiosk::ui::components::Theme>()
        .get_font_far();
    // The default screen: 96 dpi, scale 1.
    let needed = mm_to_logical_px(FAR_CAP_HEIGHT_MM, 96.0, 1.0);
    assert!(
        f64::from(font) * DIGIT_HEIGHT_EM >= needed - 0.01,
        "{font} px font gives {} px digits, {needed} px needed",
        f64::from(font) * DIGIT_HEIGHT_EM
    );
    // Each far-view number is on screen, as tall as the far-view font.
    for value in ["01:15", "02:45"] {
        let shown =
            i_slint_backend_testing::ElementHandle::find_by_accessible_label(shell.app(), value)
                .next()
                .unwrap_or_else(|| panic!("{value} in the far view"));
        assert!(
            shown.size().height >= font,
            "{value}: {} px high",
            shown.size().height
        );
    }
    assert!(has_label(&shell, &en("far-time-adenosine")));
    assert!(has_label(&shell, &en("far-next-image-latest")));
    // The chart has its units and a time axis with labelled ticks (HH:MM).
    assert!(has_label(&shell, &en("console-chart-units")));
    let ticks = shell.app().global::<ConsoleAdapter>().get_chart_ticks();
    assert!(ticks.row_count() >= 2, "time ticks: {}", ticks.row_count());
    for t in ticks.iter() {
        assert_eq!(t.label.len(), 5, "{}", t.label);
        assert!(has_label(&shell, &t.label), "tick {} drawn", t.label);
    }
}

/// Issue 17, patient banner: the console names the patient in full; the lock screen,
/// which anyone in the room may see, only the name's first character and the ID's last
/// four characters, with sex, age, weight and exam type.
#[test]
fn issue_17_lock_screen_banner_masks_the_patient() {
    use cmr_kiosk::domain::screening::Sex;
    use cmr_kiosk::ui::console::view::patient_banner_text;
    use cmr_kiosk::ui::nurse::registration::Registration;
    let dir = tempfile::tempdir().unwrap();
    let (shell, _url, loc) = english_kiosk(dir.path(), "banner-test");
    let en = |k: &str| loc.tr(Language::EnUs, k);
    let reg = Registration {
        name: "王小明".into(),
        patient_id: "P20261206-0457".into(),
        sex: Sex::Female,
        birth_date: chrono::NaiveDate::from_ymd_opt(1968, 3, 2).unwrap(),
        weight_kg: 70.0,
        height_cm: None,
        department: String::new(),
        question: String::new(),
        exam_type: ExamType::AdenosineStress,
        order: None,
    };
    let session = ExamSession::preview(exam_of(ExamType::AdenosineStress), Instant::from_secs(20))
        .with_record(reg.to_json());
    let full = patient_banner_text(shell.language_state(), &session, false);
    assert!(full.contains("王小明 · P20261206-0457"), "{full}");
    let masked = patient_banner_text(shell.language_state(), &session, true);
    assert!(masked.contains("王** · …0457"), "{masked}");
    assert!(
        !masked.contains("小明") && !masked.contains("P2026"),
        "{masked}"
    );
    assert!(
        masked.contains(&en("sex-female")) && masked.contains("58") && masked.contains("70 kg"),
        "{masked}"
    );
}
