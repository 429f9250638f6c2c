//! The technique section (clause 5.2.3) rendered from a simulated exam's facts in both
//! languages, and every step, agent and method has words in both locales.

use cmr_kiosk::config::Language;
use cmr_kiosk::domain::contrast::{AgentId, InjectionMethod};
use cmr_kiosk::domain::protocol::ProtocolStep;
use cmr_kiosk::domain::technique::TechniqueFacts;
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::report::{key_for, mmol, mmol_per_kg, mmol_per_kg_against, number, technique_lines};

fn facts_of(scenario: &str) -> TechniqueFacts {
    let path = format!("{}/tests/scenarios/{scenario}", env!("CARGO_MANIFEST_DIR"));
    let lines =
        cmr_kiosk::cli::simulate::run_scenario(&std::fs::read_to_string(path).unwrap()).unwrap();
    let summary = lines.last().unwrap();
    assert_eq!(summary["kind"], "summary");
    serde_json::from_value(summary["technique"].clone()).unwrap()
}

#[test]
fn clause_5_2_3_stress_exam_in_english() {
    let mut facts = facts_of("full_stress_rest.json");
    facts.vendor = Some("Siemens".into());
    facts.model = Some("MAGNETOM Vida".into());
    facts.field_strength_t = Some(3.0);
    let loc = Localizer::embedded().unwrap();
    let text = technique_lines(&loc, Language::EnUs, &facts).join("\n");
    assert!(text.starts_with("Technique\n"), "{text}");
    assert!(
        text.contains(
            "Contrast-enhanced cardiac MR examination with pharmacological stress perfusion."
        ),
        "{text}"
    );
    assert!(
        text.contains("Scanner: Siemens MAGNETOM Vida, 3 T."),
        "{text}"
    );
    assert!(text.contains("stress first-pass perfusion"), "{text}");
    assert!(
        text.contains("Contrast agent: gadoterate meglumine;"),
        "{text}"
    );
    assert!(
        text.contains(&format!("total {} mL", number(facts.total_ml, 1))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} mmol/kg", mmol_per_kg(facts.total_mmol_kg))),
        "{text}"
    );
    assert!(text.contains("power injector at"), "{text}");
    assert!(
        text.contains("Stress: adenosine infusion 140 µg/kg/min"),
        "{text}"
    );
    assert!(
        !text.contains('{') && !text.contains("report-"),
        "no raw keys: {text}"
    );
}

#[test]
fn clause_5_2_3_stress_exam_in_chinese() {
    let facts = facts_of("full_stress_rest.json");
    let loc = Localizer::embedded().unwrap();
    let text = technique_lines(&loc, Language::ZhCn, &facts).join("\n");
    assert!(text.starts_with("检查技术\n"), "{text}");
    // Issue 17: a stress study is named as one, not only as "增强检查".
    assert!(text.contains("心脏磁共振药物负荷灌注增强检查"), "{text}");
    assert!(text.contains("设备：未记录。"), "{text}");
    assert!(text.contains("对比剂：钆特酸葡胺"), "{text}");
    assert!(text.contains("负荷首过灌注"), "{text}");
    assert!(text.contains("腺苷静脉输注 140 µg/kg/min"), "{text}");
    assert!(
        !text.contains('{') && !text.contains("step-"),
        "no raw keys: {text}"
    );
}

#[test]
fn clause_5_2_3_routine_exam_says_no_contrast() {
    let facts = facts_of("conditional_pacemaker.json");
    let loc = Localizer::embedded().unwrap();
    let en = technique_lines(&loc, Language::EnUs, &facts).join("\n");
    assert!(
        en.contains("Routine (non-contrast)") && en.contains("Contrast agent: none."),
        "{en}"
    );
    let zh = technique_lines(&loc, Language::ZhCn, &facts).join("\n");
    assert!(
        zh.contains("平扫") && zh.contains("对比剂：未使用。"),
        "{zh}"
    );
}

#[test]
fn every_step_agent_and_method_has_words_in_both_languages() {
    let loc = Localizer::embedded().unwrap();
    let agents = [
        AgentId::Gadobutrol,
        AgentId::Gadoterate,
        AgentId::Gadoteridol,
        AgentId::Gadobenate,
        AgentId::Gadopentetate,
        AgentId::Gadodiamide,
        AgentId::Gadoxetate,
    ];
    let mut keys: Vec<String> = ProtocolStep::ALL
        .iter()
        .map(|s| key_for("step", s))
        .collect();
    keys.extend(agents.iter().map(|a| key_for("agent", a)));
    keys.extend(
        [InjectionMethod::PowerInjector, InjectionMethod::Hand]
            .iter()
            .map(|m| key_for("method", m)),
    );
    for lang in Language::ALL {
        for key in &keys {
            assert!(loc.has(lang, key), "{key} missing in {}", lang.tag());
        }
    }
}

/// Issue 17: amounts as people write them, not 10.875 mmol.
#[test]
fn issue_17_mmol_is_written_to_a_tenth_and_doses_to_a_hundredth() {
    assert_eq!(mmol(10.875), "10.9");
    assert_eq!(mmol(7.0), "7");
    assert_eq!(mmol(0.375), "0.38");
    assert_eq!(mmol_per_kg(0.15), "0.15");
    assert_eq!(mmol_per_kg(0.2), "0.2");
    assert_eq!(mmol_per_kg(0.104_166), "0.1");
    assert_eq!(mmol_per_kg(0.075), "0.075");
    assert_eq!(mmol_per_kg(0.05), "0.05");
    // Halves round up, the same way for every amount: two 3.625 mL injections of a
    // 1 mmol/mL agent read 7.3 mL and 7.3 mmol, never 7.3 mL beside 7.2 mmol.
    assert_eq!(mmol(7.25), "7.3");
    assert_eq!(mmol(3.625 + 3.625), "7.3");
    assert_eq!(cmr_kiosk::report::number(0.05 * 72.5 * 2.0, 1), "7.3");
    assert_eq!(mmol(0.285), "0.29");
}

/// Clause 3.1.3.2's maximum beside the total: a dose just over 0.2 never reads "0.2".
#[test]
fn clause_3_1_3_2_a_total_beside_the_maximum_never_rounds_onto_it() {
    assert_eq!(mmol_per_kg_against(0.2049, 0.2), "0.205");
    assert_eq!(mmol_per_kg_against(0.2001, 0.2), "0.2001");
    assert_eq!(mmol_per_kg_against(0.1951, 0.2), "0.195");
    assert_eq!(mmol_per_kg_against(0.2, 0.2), "0.2");
    assert_eq!(mmol_per_kg_against(0.15, 0.2), "0.15");
}

proptest::proptest! {
    /// A total other than the limit is never written as the limit.
    #[test]
    fn clause_3_1_3_2_totals_off_the_limit_read_differently(v in 0.0f64..0.5, limit in proptest::sample::select(vec![0.1f64, 0.2])) {
        if (v - limit).abs() > 1e-6 {
            proptest::prop_assert_ne!(mmol_per_kg_against(v, limit), mmol_per_kg(limit));
        }
    }

    /// Rounded amounts stay within half a unit of the last digit written, and never
    /// carry more decimals than their rule allows.
    #[test]
    fn issue_17_rounded_amounts_stay_within_half_a_step(v in 0.0f64..500.0, d in 0.0f64..0.6) {
        let m = mmol(v);
        let step = if v >= 1.0 { 0.1 } else { 0.01 };
        let back: f64 = m.parse().unwrap();
        proptest::prop_assert!((back - v).abs() <= step / 2.0 + 1e-9, "{v} -> {m}");
        let decimals = m.split('.').nth(1).map_or(0, str::len);
        proptest::prop_assert!(decimals <= if v >= 1.0 { 1 } else { 2 }, "{m}");
        let k = mmol_per_kg(d);
        let step = if d >= 0.1 { 0.01 } else { 0.001 };
        let back: f64 = k.parse().unwrap();
        proptest::prop_assert!((back - d).abs() <= step / 2.0 + 1e-9, "{d} -> {k}");
    }
}

#[test]
fn numbers_drop_trailing_zeros() {
    assert_eq!(number(3.0, 1), "3");
    assert_eq!(number(0.15, 3), "0.15");
    assert_eq!(number(10.5, 1), "10.5");
    assert_eq!(number(140.0, 0), "140");
}

/// The technique section of an exam built from events (no scenario file).
fn facts_from(events: Vec<(u64, cmr_kiosk::domain::ExamEvent)>) -> TechniqueFacts {
    use cmr_kiosk::domain::{Exam, ProtocolSettings};
    let mut e = Exam::new(ProtocolSettings::default());
    let mut last = 0;
    for (t, ev) in events {
        e.handle(ev, cmr_kiosk::domain::Instant::from_secs(t))
            .unwrap();
        last = t;
    }
    e.technique(cmr_kiosk::domain::Instant::from_secs(last))
}

fn base_events() -> Vec<(u64, cmr_kiosk::domain::ExamEvent)> {
    use cmr_kiosk::domain::ExamEvent;
    use cmr_kiosk::domain::screening::{Patient, Sex};
    vec![
        (
            0,
            ExamEvent::PatientRegistered {
                patient: Patient {
                    weight_kg: 70.0,
                    height_cm: None,
                    sex: Sex::Female,
                    age_years: 50,
                    egfr: Some(90.0),
                    egfr_date: None,
                },
            },
        ),
        (
            0,
            ExamEvent::VitalsReading {
                vitals: cmr_kiosk::domain::Vitals {
                    hr: Some(66.0),
                    sbp: Some(120.0),
                    ..Default::default()
                },
            },
        ),
    ]
}

fn inject(
    purpose: cmr_kiosk::domain::Purpose,
    dose: f64,
    flush_ml: f64,
) -> cmr_kiosk::domain::ExamEvent {
    cmr_kiosk::domain::ExamEvent::Injected(cmr_kiosk::domain::InjectionRequest {
        amount: cmr_kiosk::domain::Amount::DoseMmolKg(dose),
        rate_ml_s: 4.0,
        flush_ml,
        purpose,
        method: InjectionMethod::PowerInjector,
        authority: Default::default(),
    })
}

#[test]
fn clause_5_2_3_flush_is_worded_only_when_given_and_each_agent_is_named() {
    use cmr_kiosk::domain::{ExamEvent, Purpose};
    let loc = Localizer::embedded().unwrap();
    let agent = |agent| ExamEvent::AgentSelected { agent };

    // No flush at all: no flush wording.
    let mut ev = base_events();
    ev.push((1, agent(AgentId::Gadobutrol)));
    ev.push((2, inject(Purpose::Single, 0.1, 0.0)));
    let text = technique_lines(&loc, Language::EnUs, &facts_from(ev)).join("\n");
    assert!(!text.contains("flush"), "{text}");

    // One of two injections flushed, and the agent changed between them.
    let mut ev = base_events();
    ev.push((1, agent(AgentId::Gadobutrol)));
    ev.push((2, inject(Purpose::RestPerfusion, 0.05, 25.0)));
    ev.push((3, agent(AgentId::Gadoterate)));
    ev.push((4, inject(Purpose::Single, 0.05, 0.0)));
    let facts = facts_from(ev);
    assert_eq!(facts.agents, vec![AgentId::Gadobutrol, AgentId::Gadoterate]);
    let en = technique_lines(&loc, Language::EnUs, &facts).join("\n");
    assert!(
        en.contains("Contrast agent: gadobutrol, gadoterate meglumine;"),
        "{en}"
    );
    assert!(
        en.contains("1 injection(s) were followed by a saline flush (25 mL in total)."),
        "{en}"
    );
    assert!(!en.contains("Each injection"), "{en}");
    let zh = technique_lines(&loc, Language::ZhCn, &facts).join("\n");
    assert!(
        zh.contains("其中 1 次注射后以生理盐水冲管（共 25 mL）"),
        "{zh}"
    );
}

#[test]
fn clause_5_2_3_regadenoson_reversal_is_reported() {
    use cmr_kiosk::domain::{ExamEvent, StressDrug};
    let loc = Localizer::embedded().unwrap();
    let mut ev = base_events();
    ev.push((
        10,
        ExamEvent::StressStarted {
            drug: StressDrug::Regadenoson,
            dose: None,
            authority: Default::default(),
        },
    ));
    let facts = facts_from(ev.clone());
    let en = technique_lines(&loc, Language::EnUs, &facts).join("\n");
    assert!(!en.contains("aminophylline"), "{en}");
    ev.push((130, ExamEvent::StressStopped));
    let facts = facts_from(ev);
    let en = technique_lines(&loc, Language::EnUs, &facts).join("\n");
    assert!(
        en.contains("Reversal: aminophylline given 2 min 0 s after the bolus."),
        "{en}"
    );
    let zh = technique_lines(&loc, Language::ZhCn, &facts).join("\n");
    assert!(zh.contains("推注后 2 分 0 秒给予氨茶碱"), "{zh}");
}
