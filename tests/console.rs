//! The technologist's console state through a whole adenosine stress exam on a
//! simulated clock: every countdown checked to the second, with its wall-clock end
//! (clauses 3.2.3 and 3.1.4).

use chrono::NaiveDate;

use cmr_kiosk::console::{ConsoleState, console_state, mm_ss};
use cmr_kiosk::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest, Purpose};
use cmr_kiosk::domain::protocol::ProtocolStep;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDose, StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{Exam, ExamEvent, ProtocolSettings};

fn wall(secs: u64) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        + chrono::Duration::seconds(secs as i64)
}

fn at(exam: &mut Exam, secs: u64, event: ExamEvent) {
    exam.handle(event, Instant::from_secs(secs)).unwrap();
}

fn view(exam: &Exam, secs: u64) -> ConsoleState {
    console_state(exam, Instant::from_secs(secs), wall(secs))
}

fn inject(purpose: Purpose) -> ExamEvent {
    ExamEvent::Injected(InjectionRequest {
        amount: Amount::DoseMmolKg(0.05),
        rate_ml_s: 4.0,
        flush_ml: 25.0,
        purpose,
        method: InjectionMethod::PowerInjector,
    })
}

fn vitals(hr: f64, sbp: Option<f64>) -> ExamEvent {
    ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(hr),
            sbp,
            dbp: sbp.map(|_| 78.0),
            ..Default::default()
        },
    }
}

#[test]
fn clause_3_2_3_stress_panel_and_clause_3_1_4_lge_countdown_to_the_second() {
    let mut exam = Exam::new(ProtocolSettings::default());
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Male,
        age_years: 61,
        egfr: Some(80.0),
        egfr_date: None,
    };
    at(&mut exam, 0, ExamEvent::PatientRegistered { patient });
    at(
        &mut exam,
        0,
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    );
    at(&mut exam, 10, vitals(64.0, Some(126.0)));
    assert!(view(&exam, 10).stress.is_none());
    at(
        &mut exam,
        30,
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: Some(StressDose::UgKgMin(140.0)),
        },
    );

    // 70 s into the infusion: 170 s left to the 4-minute limit, ending 09:04:30.
    let s = view(&exam, 100).stress.unwrap();
    assert_eq!(s.elapsed_s, 70);
    assert!(s.infusing);
    let max = s.max_time.as_ref().unwrap();
    assert_eq!(max.remaining_s, 170);
    assert_eq!(max.mm_ss(), "02:50");
    assert_eq!(max.clock(), "09:04:30");
    // 140 µg/kg/min × 70 kg × 60 / 3000 µg/mL = 196 mL/h.
    assert!((s.rate_ml_h.unwrap() - 196.0).abs() < 1e-9);
    assert_eq!(s.baseline_hr, Some(64.0));
    assert!(!s.image_now);

    // HR +11: image now.
    at(&mut exam, 150, vitals(75.0, None));
    let s = view(&exam, 150).stress.unwrap();
    assert!(s.image_now && s.max_time.is_none());
    assert_eq!(s.hr_rise, Some(11.0));

    at(&mut exam, 160, inject(Purpose::StressPerfusion));
    at(
        &mut exam,
        220,
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::StressPerfusion,
            params: None,
            acquisition: None,
        },
    );
    assert!(
        view(&exam, 221).stress.unwrap().stop_now,
        "stop the infusion"
    );
    at(&mut exam, 225, ExamEvent::StressStopped);

    // Recovery: rest perfusion ready 600 s after the stop, at 825 s (09:13:45).
    let s = view(&exam, 300).stress.unwrap();
    assert!(!s.stop_now && !s.infusing);
    assert_eq!(s.elapsed_s, 195);
    let rec = s.recovery.unwrap();
    assert_eq!(
        (rec.remaining_s, rec.mm_ss(), rec.clock()),
        (525, "08:45".to_string(), "09:13:45".to_string())
    );
    assert_eq!(
        view(&exam, 825)
            .stress
            .unwrap()
            .recovery
            .unwrap()
            .remaining_s,
        0
    );

    // Rest injection at 830 s: LGE opens 300 s later (1130 s) and closes at 2630 s.
    at(&mut exam, 830, inject(Purpose::RestPerfusion));
    assert!(
        view(&exam, 1000).stress.unwrap().recovery.is_none(),
        "rest perfusion given: the wait is over"
    );
    let l = view(&exam, 1000).lge.unwrap();
    assert_eq!(
        (l.opens.remaining_s, l.opens.clock()),
        (130, "09:18:50".to_string())
    );
    assert_eq!(l.closes.remaining_s, 1630);
    assert!(!l.open);
    assert!(view(&exam, 1130).lge.unwrap().open);
    assert!(!view(&exam, 2630).lge.unwrap().open);

    let c = view(&exam, 1000).contrast.unwrap();
    assert_eq!(c.injections, 2);
    assert!((c.cumulative_mmol_kg - 0.1).abs() < 1e-9);
    assert!((c.of_ceiling - 0.5).abs() < 1e-9);
    assert!(
        (c.cumulative_ml - 7.0).abs() < 1e-9,
        "gadobutrol 1.0 mmol/mL: 2 × 3.5 mL"
    );
}

#[test]
fn countdowns_round_up_and_format_long_minutes() {
    assert_eq!(mm_ss(0), "00:00");
    assert_eq!(mm_ss(61), "01:01");
    assert_eq!(mm_ss(3725), "62:05");
    let c = cmr_kiosk::console::Countdown::new(
        Instant::from_millis(10_500),
        Instant::from_millis(10_001),
        wall(0),
    );
    assert_eq!(c.remaining_s, 1, "499 ms left shows as 00:01, not 00:00");
}

#[test]
fn every_warning_refusal_alarm_and_purpose_has_words_in_both_languages() {
    use cmr_kiosk::config::Language;
    use cmr_kiosk::domain::output::{AlarmCode, RejectCode, WarningCode};
    use cmr_kiosk::report::key_for;
    let loc = cmr_kiosk::i18n::Localizer::embedded().unwrap();
    let mut keys = Vec::new();
    for w in [
        "rate_out_of_range",
        "flush_out_of_range",
        "cumulative_above_0_2",
        "acr_group_i_with_low_egfr",
        "egfr_unknown",
        "lge_before_window",
        "lge_after_window",
        "lge_early_start_not_low_dose",
        "regadenoson_before_rest",
        "series_out_of_range",
        "infusion_overdue",
    ] {
        let code: WarningCode = serde_json::from_value(serde_json::json!(w)).unwrap();
        keys.push(key_for("warning", &code));
    }
    for r in [
        "contrast_blocked",
        "top_up_above_0_05",
        "no_patient",
        "no_agent_selected",
        "agent_not_for_cmr",
        "stress_drug_blocked",
        "sbp_below_90",
        "stress_already_running",
        "no_stress_running",
        "escalation_not_allowed",
        "exam_blocked",
    ] {
        let code: RejectCode = serde_json::from_value(serde_json::json!(r)).unwrap();
        keys.push(key_for("rejected", &code));
    }
    for a in [
        "sbp_low",
        "sbp_below_stop_limit",
        "spo2_low",
        "monitor_lost",
        "adverse_reaction",
    ] {
        let code: AlarmCode = serde_json::from_value(serde_json::json!(a)).unwrap();
        keys.push(key_for("alarm", &code));
    }
    for (purpose, _) in cmr_kiosk::console_ui::INJECTIONS {
        keys.push(key_for("purpose", &purpose));
    }
    for lang in Language::ALL {
        for k in &keys {
            assert!(loc.has(lang, k), "{k} missing in {}", lang.tag());
        }
    }
}
