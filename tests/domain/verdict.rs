//! The clearance as a verdict for the exam ordered (issue 17): each test is named after
//! the clause it checks. A finding holds back only an exam that uses what it
//! restricts; an exam held back names the most complete exam still possible and a next
//! step for every finding that holds it.

use cmr_kiosk::domain::protocol::ExamType;
use cmr_kiosk::domain::screening::{
    Claustrophobia, Clearance, ExamContext, Implant, ImplantConditions, ImplantKind, MrStatus,
    Override, Patient, ReasonCode, ScreeningAnswers, ScreeningSettings, Sex, assess,
};
use cmr_kiosk::domain::verdict::{Go, Holding, NextStep, verdict};
use rstest::rstest;

fn patient(egfr: Option<f64>) -> Patient {
    Patient {
        weight_kg: 70.0,
        height_cm: Some(170.0),
        sex: Sex::Male,
        age_years: 81,
        egfr,
        egfr_date: None,
    }
}

fn clearance(egfr: Option<f64>, answers: ScreeningAnswers, overrides: &[Override]) -> Clearance {
    assess(
        Some(&patient(egfr)),
        &answers,
        overrides,
        &ScreeningSettings::default(),
        &ExamContext::default(),
    )
}

fn holding(codes: &[(ReasonCode, NextStep)]) -> Vec<Holding> {
    codes
        .iter()
        .map(|&(code, next)| Holding { code, next })
        .collect()
}

#[test]
fn clause_3_1_3_2_and_3_2_3_adenosine_exam_with_contrast_and_stress_blocked_cannot_go_ahead_non_contrast_possible()
 {
    // eGFR 25 (gadolinium forbidden) and coffee 3 h ago (no adenosine).
    let c = clearance(
        Some(25.0),
        ScreeningAnswers {
            caffeine_hours_ago: Some(3.0),
            ..Default::default()
        },
        &[],
    );
    let v = verdict(&c, ExamType::AdenosineStress);
    assert_eq!(v.go, Go::No);
    assert_eq!(v.fallback, Some(ExamType::Routine));
    assert_eq!(
        v.holding,
        holding(&[
            (ReasonCode::EgfrBelow30, NextStep::PhysicianOverride),
            (ReasonCode::CaffeineWithin12h, NextStep::PhysicianOverride),
        ])
    );
    // The same clearance lets a non-contrast exam go ahead (nothing it uses is
    // restricted).
    assert_eq!(verdict(&c, ExamType::Routine).go, Go::Yes);
}

#[rstest]
#[case::adenosine(ExamType::AdenosineStress)]
#[case::regadenoson(ExamType::RegadenosonStress)]
fn clause_3_2_3_caffeine_blocks_the_stress_drug_only_a_contrast_exam_without_stress_is_possible(
    #[case] t: ExamType,
) {
    let c = clearance(
        Some(80.0),
        ScreeningAnswers {
            caffeine_hours_ago: Some(2.0),
            ..Default::default()
        },
        &[],
    );
    let v = verdict(&c, t);
    assert_eq!((v.go, v.fallback), (Go::No, Some(ExamType::Contrast)));
    assert_eq!(verdict(&c, ExamType::Contrast).go, Go::Yes);
}

#[test]
fn clause_2_1_2_an_unstable_patient_has_no_exam_and_the_physician_is_called() {
    let c = clearance(
        Some(80.0),
        ScreeningAnswers {
            haemodynamically_unstable: true,
            ..Default::default()
        },
        &[],
    );
    for t in [
        ExamType::Routine,
        ExamType::Contrast,
        ExamType::AdenosineStress,
    ] {
        let v = verdict(&c, t);
        assert_eq!((v.go, v.fallback), (Go::No, None), "{t:?}");
        assert_eq!(
            v.holding,
            holding(&[(
                ReasonCode::HaemodynamicallyUnstable,
                NextStep::CallPhysician
            )])
        );
    }
}

#[test]
fn clause_2_1_2_an_implant_of_unknown_label_needs_the_label_recorded() {
    let c = clearance(
        Some(80.0),
        ScreeningAnswers {
            implants: vec![Implant {
                kind: ImplantKind::AneurysmClip,
                mr_status: MrStatus::Unknown,
                conditions: None,
            }],
            ..Default::default()
        },
        &[],
    );
    let v = verdict(&c, ExamType::Contrast);
    assert_eq!((v.go, v.fallback), (Go::No, None));
    assert_eq!(
        v.holding,
        holding(&[(ReasonCode::ImplantUnknown, NextStep::RecordImplantLabel)])
    );
}

#[test]
fn clause_2_1_2_a_conditional_implant_within_its_conditions_goes_ahead_with_conditions() {
    let c = clearance(
        Some(80.0),
        ScreeningAnswers {
            implants: vec![Implant {
                kind: ImplantKind::Pacemaker,
                mr_status: MrStatus::Conditional,
                conditions: Some(ImplantConditions {
                    device: "Model X".into(),
                    label: "MR Conditional".into(),
                    checked_by: "nurse1".into(),
                    field_strength_t: vec![1.5],
                    ..Default::default()
                }),
            }],
            ..Default::default()
        },
        &[],
    );
    let v = verdict(&c, ExamType::Routine);
    assert_eq!((v.go, v.fallback), (Go::WithConditions, None));
    assert!(v.holding.is_empty());
}

#[test]
fn clause_2_3_1_an_unknown_egfr_does_not_hold_back_a_non_contrast_exam() {
    let c = clearance(None, ScreeningAnswers::default(), &[]);
    assert_eq!(verdict(&c, ExamType::Routine).go, Go::Yes);
    let v = verdict(&c, ExamType::Contrast);
    assert_eq!((v.go, v.fallback), (Go::No, Some(ExamType::Routine)));
    assert_eq!(
        v.holding,
        holding(&[(ReasonCode::EgfrUnknown, NextStep::RecordEgfr)])
    );
}

#[test]
fn clause_3_1_3_2_a_physicians_override_lets_the_contrast_exam_go_ahead_with_conditions() {
    let o = Override {
        rule: ReasonCode::EgfrBelow30,
        by: "Dr Li".into(),
        reason: "benefit outweighs risk".into(),
    };
    let c = clearance(Some(25.0), ScreeningAnswers::default(), &[o]);
    let v = verdict(&c, ExamType::Contrast);
    assert_eq!((v.go, v.fallback), (Go::WithConditions, None));
}

#[test]
fn clause_2_1_2_severe_claustrophobia_holds_every_exam_until_a_physician_decides() {
    let c = clearance(
        Some(80.0),
        ScreeningAnswers {
            claustrophobia: Claustrophobia::Severe,
            ..Default::default()
        },
        &[],
    );
    let v = verdict(&c, ExamType::Routine);
    assert_eq!((v.go, v.fallback), (Go::No, None));
    assert_eq!(
        v.holding,
        holding(&[(
            ReasonCode::SevereClaustrophobia,
            NextStep::PhysicianOverride
        )])
    );
}

#[test]
fn every_finding_has_a_next_step_with_words_in_both_languages() {
    use cmr_kiosk::config::Language;
    use cmr_kiosk::report::key_for;
    let loc = cmr_kiosk::i18n::Localizer::embedded().unwrap();
    let mut keys: Vec<String> = ReasonCode::ALL
        .iter()
        .map(|c| key_for("next", &c.next_step()))
        .collect();
    keys.extend(NextStep::ALL.iter().map(|n| key_for("next", n)));
    for t in [
        ExamType::Routine,
        ExamType::Contrast,
        ExamType::AdenosineStress,
        ExamType::RegadenosonStress,
    ] {
        keys.push(key_for("verdict-exam", &t));
        keys.push(key_for("verdict-instead", &t));
    }
    for lang in Language::ALL {
        for k in &keys {
            assert!(loc.has(lang, k), "{k} missing in {}", lang.tag());
        }
    }
}
