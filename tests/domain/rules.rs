//! Table-driven tests of every rule the clinical core enforces; case names cite
//! the standard's clause (or "practice" for clinical.md defaults).

use cmr_kiosk::domain::contrast::{
    AgentCatalogue, AgentId, Amount, ContrastError, ContrastLedger, ContrastSettings, InjectError,
    InjectionMethod, InjectionRequest, Purpose, dose_to_volume_ml,
};
use cmr_kiosk::domain::exam::{Exam, ExamError, ExamEvent, LoggedEvent, Outcome, ProtocolSettings};
use cmr_kiosk::domain::lge::{EarlyStart, LgeSettings, LgeWindow, WindowBasis};
use cmr_kiosk::domain::output::{
    AlarmCode, AlarmPriority, Decision, Output, RejectCode, StressImagingReason, WarningCode,
};
use cmr_kiosk::domain::protocol::{
    ExamType, FindingCode, PhaseEncoding, ProtocolStep, SeriesParams, check_series, missing_steps,
    required_steps, venc_guidance,
};
use cmr_kiosk::domain::screening::{
    Claustrophobia, ClearanceStatus, Implant, ImplantKind, MrStatus, Override, Patient, Permission,
    ReasonCode, ScreeningAnswers, ScreeningSettings, Sex, assess,
};
use cmr_kiosk::domain::stress::{
    Escalation, StressDose, StressDrug, StressProtocol, StressSettings, Vitals, infusion_rate_ml_h,
};
use cmr_kiosk::domain::technique::ExamKind;
use cmr_kiosk::domain::time::{Duration, Instant};
use rstest::rstest;

fn s(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

fn patient(weight_kg: f64, egfr: Option<f64>) -> Patient {
    Patient {
        weight_kg,
        height_cm: Some(170.0),
        sex: Sex::Female,
        age_years: 58,
        egfr,
        egfr_date: Some("2025-11-20".into()),
    }
}

fn ovr(rule: ReasonCode) -> Override {
    Override {
        rule,
        by: "Dr Wang".into(),
        reason: "documented plan".into(),
    }
}

fn implant(kind: ImplantKind, mr_status: MrStatus) -> Implant {
    Implant {
        kind,
        mr_status,
        conditions: None,
    }
}

/// An MR-conditional device whose label's field strengths are recorded.
fn labelled(kind: ImplantKind) -> Implant {
    Implant {
        conditions: Some(cmr_kiosk::domain::screening::ImplantConditions {
            field_strength_t: vec![1.5, 3.0],
            ..Default::default()
        }),
        ..implant(kind, MrStatus::Conditional)
    }
}

// ---------------------------------------------------------------- screening

type Tweak = fn(&mut ScreeningAnswers);

#[rstest]
#[case::nothing_found_clears(|_: &mut ScreeningAnswers| {}, Some(85.0), vec![], ClearanceStatus::Cleared, Permission::Allowed, Permission::Allowed, vec![])]
#[case::clause_2_1_2_unknown_implant_blocks(|a: &mut ScreeningAnswers| a.implants.push(implant(ImplantKind::AneurysmClip, MrStatus::Unknown)), Some(85.0), vec![], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::ImplantUnknown])]
#[case::clause_2_1_2_unknown_implant_not_overridable(|a: &mut ScreeningAnswers| a.implants.push(implant(ImplantKind::Pacemaker, MrStatus::Unknown)), Some(85.0), vec![ReasonCode::ImplantUnknown], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::ImplantUnknown])]
#[case::clause_2_1_2_unsafe_implant_blocks(|a: &mut ScreeningAnswers| a.implants.push(implant(ImplantKind::Neurostimulator, MrStatus::Unsafe)), Some(85.0), vec![], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::ImplantUnsafe])]
#[case::clause_2_1_2_conditional_pacemaker_with_its_conditions_is_conditional(|a: &mut ScreeningAnswers| a.implants.push(labelled(ImplantKind::Pacemaker)), Some(85.0), vec![], ClearanceStatus::Conditional, Permission::Allowed, Permission::Allowed, vec![ReasonCode::ImplantConditional])]
#[case::clause_2_1_2_conditional_pacemaker_without_conditions_blocks(|a: &mut ScreeningAnswers| a.implants.push(implant(ImplantKind::Pacemaker, MrStatus::Conditional)), Some(85.0), vec![ReasonCode::ConditionalImplantWithoutConditions], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::ImplantConditional, ReasonCode::ConditionalImplantWithoutConditions])]
#[case::clause_2_1_2_mr_safe_implant_clears(|a: &mut ScreeningAnswers| a.implants.push(implant(ImplantKind::HeartValve, MrStatus::Safe)), Some(85.0), vec![], ClearanceStatus::Cleared, Permission::Allowed, Permission::Allowed, vec![])]
#[case::clause_2_1_2_first_trimester_pregnancy_needs_physician(|a: &mut ScreeningAnswers| a.pregnancy_first_trimester = true, Some(85.0), vec![], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::PregnancyFirstTrimester, ReasonCode::PregnancyContrast, ReasonCode::PregnancyStress])]
#[case::clause_2_1_2_first_trimester_pregnancy_override_allows_a_non_contrast_exam_only(|a: &mut ScreeningAnswers| a.pregnancy_first_trimester = true, Some(85.0), vec![ReasonCode::PregnancyFirstTrimester], ClearanceStatus::Conditional, Permission::Blocked, Permission::Blocked, vec![ReasonCode::PregnancyFirstTrimester, ReasonCode::PregnancyContrast, ReasonCode::PregnancyStress])]
#[case::clause_2_1_2_first_trimester_pregnancy_each_rule_its_own_override(|a: &mut ScreeningAnswers| a.pregnancy_first_trimester = true, Some(85.0), vec![ReasonCode::PregnancyFirstTrimester, ReasonCode::PregnancyContrast, ReasonCode::PregnancyStress], ClearanceStatus::Conditional, Permission::Allowed, Permission::Allowed, vec![ReasonCode::PregnancyFirstTrimester, ReasonCode::PregnancyContrast, ReasonCode::PregnancyStress])]
#[case::clause_2_1_2_pregnancy_contrast_override_alone_does_not_allow_the_exam(|a: &mut ScreeningAnswers| a.pregnancy_first_trimester = true, Some(85.0), vec![ReasonCode::PregnancyContrast], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::PregnancyFirstTrimester, ReasonCode::PregnancyContrast, ReasonCode::PregnancyStress])]
#[case::clause_2_1_2_severe_claustrophobia_blocks(|a: &mut ScreeningAnswers| a.claustrophobia = Claustrophobia::Severe, Some(85.0), vec![], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::SevereClaustrophobia])]
#[case::clause_2_1_2_severe_claustrophobia_with_sedation_plan(|a: &mut ScreeningAnswers| a.claustrophobia = Claustrophobia::Severe, Some(85.0), vec![ReasonCode::SevereClaustrophobia], ClearanceStatus::Conditional, Permission::Allowed, Permission::Allowed, vec![ReasonCode::SevereClaustrophobia])]
#[case::clause_2_1_2_mild_claustrophobia_no_rule(|a: &mut ScreeningAnswers| a.claustrophobia = Claustrophobia::Mild, Some(85.0), vec![], ClearanceStatus::Cleared, Permission::Allowed, Permission::Allowed, vec![])]
#[case::clause_2_1_2_haemodynamic_instability_blocks(|a: &mut ScreeningAnswers| a.haemodynamically_unstable = true, Some(85.0), vec![], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::HaemodynamicallyUnstable])]
#[case::clause_2_1_2_haemodynamic_instability_override_ignored(|a: &mut ScreeningAnswers| a.haemodynamically_unstable = true, Some(85.0), vec![ReasonCode::HaemodynamicallyUnstable], ClearanceStatus::Blocked, Permission::Blocked, Permission::Blocked, vec![ReasonCode::HaemodynamicallyUnstable])]
#[case::clause_2_3_1_contrast_allergy_blocks_contrast(|a: &mut ScreeningAnswers| a.contrast_allergy = true, Some(85.0), vec![], ClearanceStatus::Conditional, Permission::Blocked, Permission::Allowed, vec![ReasonCode::ContrastAllergy])]
#[case::clause_2_3_1_contrast_allergy_with_override(|a: &mut ScreeningAnswers| a.contrast_allergy = true, Some(85.0), vec![ReasonCode::ContrastAllergy], ClearanceStatus::Conditional, Permission::Allowed, Permission::Allowed, vec![ReasonCode::ContrastAllergy])]
#[case::clause_3_1_3_2_egfr_25_blocks_contrast(|_: &mut ScreeningAnswers| {}, Some(25.0), vec![], ClearanceStatus::Conditional, Permission::Blocked, Permission::Allowed, vec![ReasonCode::EgfrBelow30])]
#[case::clause_3_1_3_2_egfr_25_with_override_allows_contrast(|_: &mut ScreeningAnswers| {}, Some(25.0), vec![ReasonCode::EgfrBelow30], ClearanceStatus::Conditional, Permission::Allowed, Permission::Allowed, vec![ReasonCode::EgfrBelow30])]
#[case::clause_3_1_3_2_egfr_30_is_not_below_30(|_: &mut ScreeningAnswers| {}, Some(30.0), vec![], ClearanceStatus::Cleared, Permission::Allowed, Permission::Allowed, vec![])]
#[case::clause_2_3_1_egfr_unknown_blocks_contrast(|_: &mut ScreeningAnswers| {}, None, vec![], ClearanceStatus::Conditional, Permission::Blocked, Permission::Allowed, vec![ReasonCode::EgfrUnknown])]
#[case::clause_2_3_1_egfr_unknown_lifted_by_its_override(|_: &mut ScreeningAnswers| {}, None, vec![ReasonCode::EgfrUnknown], ClearanceStatus::Conditional, Permission::Allowed, Permission::Allowed, vec![ReasonCode::EgfrUnknown])]
#[case::clause_3_2_3_asthma_blocks_stress_drug(|a: &mut ScreeningAnswers| a.asthma = true, Some(85.0), vec![], ClearanceStatus::Conditional, Permission::Allowed, Permission::Blocked, vec![ReasonCode::Asthma])]
#[case::clause_3_2_3_av_block_blocks_stress_drug(|a: &mut ScreeningAnswers| a.av_block = true, Some(85.0), vec![ReasonCode::AvBlock], ClearanceStatus::Conditional, Permission::Allowed, Permission::Blocked, vec![ReasonCode::AvBlock])]
#[case::clause_3_2_3_av_block_with_pacemaker_allowed(|a: &mut ScreeningAnswers| { a.av_block = true; a.implants.push(labelled(ImplantKind::Pacemaker)) }, Some(85.0), vec![], ClearanceStatus::Conditional, Permission::Allowed, Permission::Allowed, vec![ReasonCode::ImplantConditional])]
#[case::clause_3_2_3_caffeine_6_h_ago_blocks_stress_drug(|a: &mut ScreeningAnswers| a.caffeine_hours_ago = Some(6.0), Some(85.0), vec![], ClearanceStatus::Conditional, Permission::Allowed, Permission::Blocked, vec![ReasonCode::CaffeineWithin12h])]
#[case::clause_3_2_3_caffeine_12_h_ago_allowed(|a: &mut ScreeningAnswers| a.caffeine_hours_ago = Some(12.0), Some(85.0), vec![], ClearanceStatus::Cleared, Permission::Allowed, Permission::Allowed, vec![])]
#[case::clause_3_2_3_dipyridamole_10_h_ago_blocks_stress_drug(|a: &mut ScreeningAnswers| a.dipyridamole_hours_ago = Some(10.0), Some(85.0), vec![], ClearanceStatus::Conditional, Permission::Allowed, Permission::Blocked, vec![ReasonCode::DipyridamoleWithin24h])]
fn screening_rule(
    #[case] tweak: Tweak,
    #[case] egfr: Option<f64>,
    #[case] overrides: Vec<ReasonCode>,
    #[case] status: ClearanceStatus,
    #[case] contrast: Permission,
    #[case] stress: Permission,
    #[case] codes: Vec<ReasonCode>,
) {
    let mut answers = ScreeningAnswers::default();
    tweak(&mut answers);
    let overrides: Vec<Override> = overrides.into_iter().map(ovr).collect();
    let c = assess(
        Some(&patient(70.0, egfr)),
        &answers,
        &overrides,
        &ScreeningSettings::default(),
        &Default::default(),
    );
    assert_eq!(c.status, status, "status");
    assert_eq!(c.contrast, contrast, "contrast");
    assert_eq!(c.stress_drug, stress, "stress drug");
    assert_eq!(c.codes(), codes, "codes");
}

#[rstest]
#[case::clause_2_1_2(ReasonCode::ImplantUnknown, "2.1.2")]
#[case::clause_2_1_2_pregnancy(ReasonCode::PregnancyFirstTrimester, "2.1.2")]
#[case::clause_2_3_1(ReasonCode::ContrastAllergy, "2.3.1")]
#[case::clause_3_1_3_2(ReasonCode::EgfrBelow30, "3.1.3.2")]
#[case::clause_3_2_3(ReasonCode::CaffeineWithin12h, "3.2.3")]
fn reason_carries_its_clause(#[case] code: ReasonCode, #[case] clause: &str) {
    assert_eq!(code.clause(), clause);
    let json = serde_json::to_value(code).unwrap();
    assert_eq!(json, code.as_str());
}

#[test]
fn practice_caffeine_window_is_configurable() {
    let answers = ScreeningAnswers {
        caffeine_hours_ago: Some(20.0),
        ..Default::default()
    };
    let strict = ScreeningSettings {
        caffeine_abstinence_h: 24.0,
        ..Default::default()
    };
    let c = assess(
        Some(&patient(70.0, Some(90.0))),
        &answers,
        &[],
        &strict,
        &Default::default(),
    );
    assert_eq!(c.stress_drug, Permission::Blocked);
}

#[test]
fn override_needs_name_and_reason() {
    let mut o = ovr(ReasonCode::EgfrBelow30);
    o.by = " ".into();
    assert!(o.validate().is_err());
    let c = assess(
        Some(&patient(70.0, Some(20.0))),
        &ScreeningAnswers::default(),
        &[o],
        &ScreeningSettings::default(),
        &Default::default(),
    );
    assert_eq!(c.contrast, Permission::Blocked);
}

// ---------------------------------------------------------------- contrast

fn ledger(weight: f64) -> ContrastLedger {
    ContrastLedger::new(weight, ContrastSettings::default()).unwrap()
}

fn req(amount: Amount, rate: f64, flush: f64, purpose: Purpose) -> InjectionRequest {
    InjectionRequest {
        amount,
        rate_ml_s: rate,
        flush_ml: flush,
        purpose,
        method: InjectionMethod::PowerInjector,
        authority: Default::default(),
    }
}

fn agent(id: AgentId) -> cmr_kiosk::domain::contrast::AgentInfo {
    AgentCatalogue::default().get(id).unwrap().clone()
}

#[rstest]
#[case::practice_gadoterate_70_kg_0_1_is_14_ml(AgentId::Gadoterate, 70.0, 0.1, 14.0)]
#[case::practice_gadobutrol_70_kg_0_1_is_7_ml(AgentId::Gadobutrol, 70.0, 0.1, 7.0)]
#[case::practice_gadoteridol_50_kg_0_05_is_5_ml(AgentId::Gadoteridol, 50.0, 0.05, 5.0)]
fn dose_to_volume_for_weight(
    #[case] id: AgentId,
    #[case] kg: f64,
    #[case] dose: f64,
    #[case] ml: f64,
) {
    let a = agent(id);
    assert!((dose_to_volume_ml(dose, kg, a.mmol_per_ml) - ml).abs() < 1e-9);
}

#[test]
fn practice_catalogue_flags_gadoxetate_not_for_cmr() {
    let cat = AgentCatalogue::default();
    assert_eq!(cat.agents.len(), 7);
    assert!(!cat.get(AgentId::Gadoxetate).unwrap().for_cmr);
    assert_eq!(cat.get(AgentId::Gadoxetate).unwrap().mmol_per_ml, 0.25);
}

#[rstest]
#[case::clause_3_1_3_2_rate_2_9_warns(2.9, 25.0, vec![WarningCode::RateOutOfRange])]
#[case::clause_3_1_3_2_rate_3_ok(3.0, 25.0, vec![])]
#[case::clause_3_1_3_2_rate_7_ok(7.0, 25.0, vec![])]
#[case::clause_3_1_3_2_rate_7_1_warns(7.1, 25.0, vec![WarningCode::RateOutOfRange])]
#[case::clause_3_1_3_2_flush_19_warns(4.0, 19.0, vec![WarningCode::FlushOutOfRange])]
#[case::clause_3_1_3_2_flush_20_ok(4.0, 20.0, vec![])]
#[case::clause_3_1_3_2_flush_30_ok(4.0, 30.0, vec![])]
#[case::clause_3_1_3_2_flush_31_warns(4.0, 31.0, vec![WarningCode::FlushOutOfRange])]
#[case::clause_3_1_3_2_both_warn_in_order(8.0, 15.0, vec![WarningCode::RateOutOfRange, WarningCode::FlushOutOfRange])]
fn injection_rate_and_flush(
    #[case] rate: f64,
    #[case] flush: f64,
    #[case] warnings: Vec<WarningCode>,
) {
    let mut l = ledger(70.0);
    let a = l
        .inject(
            &agent(AgentId::Gadobutrol),
            &req(Amount::DoseMmolKg(0.1), rate, flush, Purpose::Single),
            s(0),
        )
        .unwrap();
    assert_eq!(a.warnings, warnings);
}

#[rstest]
#[case::clause_3_1_3_2_cumulative_0_2_no_warning(0.1, false)]
#[case::clause_3_1_3_2_cumulative_0_21_warns(0.11, true)]
fn cumulative_above_0_2(#[case] second: f64, #[case] warns: bool) {
    let mut l = ledger(70.0);
    let g = agent(AgentId::Gadobutrol);
    l.inject(
        &g,
        &req(Amount::DoseMmolKg(0.1), 4.0, 25.0, Purpose::StressPerfusion),
        s(0),
    )
    .unwrap();
    let a = l
        .inject(
            &g,
            &req(
                Amount::DoseMmolKg(second),
                4.0,
                25.0,
                Purpose::RestPerfusion,
            ),
            s(600),
        )
        .unwrap();
    assert_eq!(a.warnings.contains(&WarningCode::CumulativeAbove0_2), warns);
}

#[rstest]
#[case::clause_3_1_4_1_top_up_0_05_accepted(Amount::DoseMmolKg(0.05), true)]
#[case::clause_3_1_4_1_top_up_0_051_refused(Amount::DoseMmolKg(0.051), false)]
#[case::clause_3_1_4_1_top_up_by_volume_3_5_ml_accepted(Amount::VolumeMl(3.5), true)]
#[case::clause_3_1_4_1_top_up_by_volume_3_6_ml_refused(Amount::VolumeMl(3.6), false)]
fn top_up_limit(#[case] amount: Amount, #[case] accepted: bool) {
    let mut l = ledger(70.0);
    let g = agent(AgentId::Gadobutrol);
    l.inject(
        &g,
        &req(Amount::DoseMmolKg(0.1), 4.0, 25.0, Purpose::Single),
        s(0),
    )
    .unwrap();
    let before = l.clone();
    let r = l.inject(&g, &req(amount, 4.0, 25.0, Purpose::TopUp), s(900));
    assert_eq!(r.is_ok(), accepted);
    if !accepted {
        assert_eq!(
            r.unwrap_err(),
            InjectError::Refused(RejectCode::TopUpAbove0_05)
        );
        assert_eq!(l, before, "a refused top-up changes nothing");
    }
}

#[rstest]
#[case::weight_zero(0.0)]
#[case::weight_negative(-70.0)]
#[case::weight_above_350(350.5)]
#[case::weight_nan(f64::NAN)]
#[case::weight_infinite(f64::INFINITY)]
fn impossible_weight_is_an_error(#[case] kg: f64) {
    let e = ContrastLedger::new(kg, ContrastSettings::default()).unwrap_err();
    assert!(matches!(e, ContrastError::Weight(_)));
    assert!(e.to_string().contains("weight_kg"));
}

#[rstest]
#[case::negative_volume(Amount::VolumeMl(-5.0), 4.0, 25.0, "volume_ml")]
#[case::nan_volume(Amount::VolumeMl(f64::NAN), 4.0, 25.0, "volume_ml")]
#[case::zero_dose(Amount::DoseMmolKg(0.0), 4.0, 25.0, "dose_mmol_kg")]
#[case::infinite_dose(Amount::DoseMmolKg(f64::INFINITY), 4.0, 25.0, "dose_mmol_kg")]
#[case::negative_rate(Amount::DoseMmolKg(0.1), -4.0, 25.0, "rate_ml_s")]
#[case::nan_rate(Amount::DoseMmolKg(0.1), f64::NAN, 25.0, "rate_ml_s")]
#[case::negative_flush(Amount::DoseMmolKg(0.1), 4.0, -1.0, "flush_ml")]
fn impossible_injection_is_an_error_and_changes_nothing(
    #[case] amount: Amount,
    #[case] rate: f64,
    #[case] flush: f64,
    #[case] field: &str,
) {
    let mut l = ledger(70.0);
    let before = l.clone();
    let e = l
        .inject(
            &agent(AgentId::Gadobutrol),
            &req(amount, rate, flush, Purpose::Single),
            s(0),
        )
        .unwrap_err();
    assert!(matches!(e, InjectError::Invalid(_)));
    assert!(e.to_string().contains(field), "{e}");
    assert_eq!(l, before);
}

// ---------------------------------------------------------------- stress

fn drain(p: &mut StressProtocol) -> Vec<Output> {
    std::iter::from_fn(|| p.poll()).collect()
}

fn vitals(hr: Option<f64>, sbp: Option<f64>) -> Vitals {
    Vitals {
        hr,
        sbp,
        ..Default::default()
    }
}

fn started(settings: StressSettings, start: Instant) -> StressProtocol {
    let mut p = StressProtocol::new(settings, 70.0);
    p.vitals(&vitals(Some(64.0), Some(126.0)), Instant::ZERO);
    p.start(StressDrug::Adenosine, StressDose::UgKgMin(140.0), start)
        .unwrap();
    drain(&mut p);
    p
}

fn imaging(outputs: &[Output]) -> Vec<(Instant, StressImagingReason)> {
    outputs
        .iter()
        .filter_map(|o| match o.decision {
            Decision::StressImagingDue { reason } => Some((o.at, reason)),
            _ => None,
        })
        .collect()
}

#[rstest]
#[case::practice_140_ug_70_kg_is_196_ml_h(140.0, 70.0, 3000.0, 196.0)]
#[case::practice_210_ug_70_kg_is_294_ml_h(210.0, 70.0, 3000.0, 294.0)]
#[case::practice_140_ug_80_kg_at_1_mg_ml(140.0, 80.0, 1000.0, 672.0)]
fn infusion_rate(#[case] dose: f64, #[case] kg: f64, #[case] conc: f64, #[case] ml_h: f64) {
    assert!((infusion_rate_ml_h(dose, kg, conc) - ml_h).abs() < 1e-9);
}

#[test]
fn clause_3_2_3_max_duration_falls_due_at_240_s_to_the_millisecond() {
    let start = Instant::from_millis(30_250);
    let mut p = started(StressSettings::default(), start);
    assert_eq!(p.poll_timeout(), Some(Instant::from_millis(270_250)));
    p.handle_timeout(Instant::from_millis(270_249));
    assert!(imaging(&drain(&mut p)).is_empty());
    p.handle_timeout(s(400));
    assert_eq!(
        imaging(&drain(&mut p)),
        vec![(
            Instant::from_millis(270_250),
            StressImagingReason::MaxDuration
        )]
    );
}

#[rstest]
#[case::clause_3_2_3_hr_plus_10_fires(Some(74.0), None, Some(StressImagingReason::HrRise))]
#[case::clause_3_2_3_hr_plus_9_does_not(Some(73.0), None, None)]
#[case::clause_3_2_3_sbp_minus_10_fires(None, Some(116.0), Some(StressImagingReason::SbpDrop))]
#[case::clause_3_2_3_sbp_minus_9_does_not(None, Some(117.0), None)]
#[case::clause_3_2_3_both_at_once_hr_first(
    Some(80.0),
    Some(110.0),
    Some(StressImagingReason::HrRise)
)]
fn stress_criteria(
    #[case] hr: Option<f64>,
    #[case] sbp: Option<f64>,
    #[case] want: Option<StressImagingReason>,
) {
    // 130 s into the infusion: past the minimum infusion time (120 s).
    let mut p = started(StressSettings::default(), s(30));
    p.vitals(&vitals(hr, sbp), s(160));
    let got = imaging(&drain(&mut p));
    assert_eq!(
        got,
        want.map(|r| (s(160), r)).into_iter().collect::<Vec<_>>()
    );
}

#[test]
fn clause_3_2_3_image_now_once_per_run() {
    let mut p = started(StressSettings::default(), s(30));
    p.vitals(&vitals(Some(75.0), None), s(160));
    p.vitals(&vitals(Some(90.0), Some(100.0)), s(170));
    p.handle_timeout(s(600));
    assert_eq!(
        imaging(&drain(&mut p)),
        vec![(s(160), StressImagingReason::HrRise)]
    );
}

#[test]
fn baseline_is_the_last_value_of_each_measure_before_start() {
    let mut p = StressProtocol::new(StressSettings::default(), 70.0);
    p.vitals(&vitals(Some(60.0), Some(140.0)), s(0));
    p.vitals(&vitals(Some(70.0), None), s(10)); // SBP keeps 140
    p.start(StressDrug::Adenosine, StressDose::UgKgMin(140.0), s(20))
        .unwrap();
    let b = p.current().unwrap().baseline;
    assert_eq!((b.hr, b.sbp), (Some(70.0), Some(140.0)));
    drain(&mut p);
    p.vitals(&vitals(Some(79.0), None), s(60));
    assert!(imaging(&drain(&mut p)).is_empty(), "79 < 70 + 10");
}

#[test]
fn clause_3_2_3_stop_due_when_stress_perfusion_acquired_and_rest_ready_600_s_after_stop() {
    let mut p = started(StressSettings::default(), s(30));
    p.vitals(&vitals(Some(80.0), None), s(150));
    p.stress_perfusion_acquired(s(220), s(220));
    let out = drain(&mut p);
    assert!(
        out.iter()
            .any(|o| o.at == s(220) && matches!(o.decision, Decision::StopStressDue { .. }))
    );
    p.stop(Instant::from_millis(225_500)).unwrap();
    // First the aminophylline check (60 s after the stop), then the recovery.
    assert_eq!(p.poll_timeout(), Some(Instant::from_millis(285_500)));
    p.handle_timeout(Instant::from_millis(285_500));
    assert_eq!(p.poll_timeout(), Some(Instant::from_millis(825_500)));
    p.handle_timeout(s(2000));
    let ready: Vec<Instant> = drain(&mut p)
        .iter()
        .filter(|o| o.decision == Decision::RestPerfusionReady)
        .map(|o| o.at)
        .collect();
    assert_eq!(ready, vec![Instant::from_millis(825_500)]);
    // Acquiring stress perfusion after the stop asks for nothing.
    p.stress_perfusion_acquired(s(2001), s(2001));
    assert!(drain(&mut p).is_empty());
}

#[test]
fn practice_recovery_wait_is_configurable() {
    let settings = StressSettings {
        recovery: Duration::from_secs(720),
        ..Default::default()
    };
    let mut p = started(settings, s(0));
    p.stop(s(100)).unwrap();
    p.handle_timeout(s(160));
    assert_eq!(p.poll_timeout(), Some(s(820)));
}

#[test]
fn practice_escalation_offered_at_240_s_and_max_duration_moves_to_420_s() {
    let settings = StressSettings {
        escalation: Some(Escalation::default()),
        ..Default::default()
    };
    let mut p = started(settings, s(30));
    assert_eq!(p.poll_timeout(), Some(s(270)));
    p.handle_timeout(s(270));
    let out = drain(&mut p);
    assert!(
        matches!(out[0].decision, Decision::EscalationDue { dose_ug_kg_min, rate_ml_h } if dose_ug_kg_min == 210.0 && (rate_ml_h - 294.0).abs() < 1e-9)
    );
    p.escalate(None, s(275)).unwrap();
    assert_eq!(p.current().unwrap().max_dose_ug_kg_min, Some(210.0));
    assert_eq!(p.poll_timeout(), Some(s(450)));
    p.handle_timeout(s(450));
    assert_eq!(
        imaging(&drain(&mut p)),
        vec![(s(450), StressImagingReason::MaxDuration)]
    );
}

#[test]
fn practice_start_refused_when_baseline_sbp_below_90() {
    let mut p = StressProtocol::new(StressSettings::default(), 70.0);
    p.vitals(&vitals(Some(60.0), Some(88.0)), s(0));
    assert_eq!(
        p.start(StressDrug::Adenosine, StressDose::UgKgMin(140.0), s(10)),
        Err(RejectCode::SbpBelow90)
    );
    assert!(p.runs().is_empty());
}

fn alarms(out: &[Output]) -> Vec<(AlarmCode, AlarmPriority)> {
    out.iter()
        .filter_map(|o| match o.decision {
            Decision::Alarm { code, priority } => Some((code, priority)),
            _ => None,
        })
        .collect()
}

#[rstest]
#[case::practice_sbp_89_is_sbp_low_high(89.0, vec![(AlarmCode::SbpLow, AlarmPriority::High)], false)]
#[case::practice_sbp_79_is_a_stop_criterion(79.0, vec![(AlarmCode::SbpLow, AlarmPriority::High), (AlarmCode::SbpBelowStopLimit, AlarmPriority::High)], true)]
#[case::practice_sbp_90_no_alarm(90.0, vec![], false)]
fn hypotension_during_stress(
    #[case] sbp: f64,
    #[case] want: Vec<(AlarmCode, AlarmPriority)>,
    #[case] stop: bool,
) {
    let mut p = started(StressSettings::default(), s(30));
    p.vitals(&vitals(None, Some(sbp)), s(90));
    let out = drain(&mut p);
    assert_eq!(alarms(&out), want);
    assert_eq!(
        out.iter()
            .any(|o| matches!(o.decision, Decision::StopStressDue { .. })),
        stop
    );
    // Latched: the same condition does not re-alarm.
    p.vitals(&vitals(None, Some(sbp)), s(95));
    assert!(alarms(&drain(&mut p)).is_empty());
}

#[test]
fn practice_sbp_floor_is_configurable() {
    let settings = StressSettings {
        sbp_floor: 100.0,
        ..Default::default()
    };
    let mut p = started(settings, s(30));
    p.vitals(&vitals(None, Some(95.0)), s(90));
    assert_eq!(
        alarms(&drain(&mut p)),
        vec![(AlarmCode::SbpLow, AlarmPriority::High)]
    );
}

#[rstest]
#[case::monitor_lost_while_infusing_is_high(true, AlarmPriority::High)]
#[case::monitor_lost_outside_stress_is_low(false, AlarmPriority::Low)]
fn monitor_lost(#[case] infusing: bool, #[case] priority: AlarmPriority) {
    let mut p = if infusing {
        started(StressSettings::default(), s(30))
    } else {
        StressProtocol::new(StressSettings::default(), 70.0)
    };
    p.monitor(true, s(60));
    assert_eq!(
        alarms(&drain(&mut p)),
        vec![(AlarmCode::MonitorLost, priority)]
    );
}

#[test]
fn practice_regadenoson_imaging_60_s_after_bolus_and_no_stop_due() {
    let mut p = StressProtocol::new(StressSettings::default(), 90.0);
    p.start(
        StressDrug::Regadenoson,
        StressDose::Mg(0.4),
        Instant::from_millis(400_500),
    )
    .unwrap();
    assert_eq!(p.poll_timeout(), Some(Instant::from_millis(460_500)));
    p.handle_timeout(s(500));
    p.stress_perfusion_acquired(s(500), s(500));
    let out = drain(&mut p);
    assert_eq!(
        imaging(&out),
        vec![(
            Instant::from_millis(460_500),
            StressImagingReason::BolusDelay
        )]
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o.decision, Decision::StopStressDue { .. }))
    );
    assert_eq!(p.poll_timeout(), None);
}

// ---------------------------------------------------------------- LGE

fn window_of(l: &mut LgeWindow) -> (Instant, Instant, Instant) {
    let out: Vec<Output> = std::iter::from_fn(|| l.poll()).collect();
    out.iter()
        .rev()
        .find_map(|o| match o.decision {
            Decision::LgeWindow {
                opens_at,
                closes_at,
                best_from,
                ..
            } => Some((opens_at, closes_at, best_from)),
            _ => None,
        })
        .expect("an lge_window decision")
}

#[rstest]
#[case::clause_3_1_4_1_single_opens_10_closes_30_min(WindowBasis::SingleInjection, 120, 720, 1920)]
#[case::clause_3_1_4_1_second_injection_opens_5_min(
    WindowBasis::SecondPerfusionInjection,
    980,
    1280,
    2780
)]
#[case::clause_3_1_4_1_top_up_recomputes(WindowBasis::TopUp, 950, 1250, 2750)]
fn lge_window(
    #[case] basis: WindowBasis,
    #[case] at: u64,
    #[case] opens: u64,
    #[case] closes: u64,
) {
    let mut l = LgeWindow::new(LgeSettings::default());
    l.set(basis, s(at), 0.1);
    let (o, c, _) = window_of(&mut l);
    assert_eq!((o, c), (s(opens), s(closes)));
    assert_eq!(l.poll_timeout(), Some(s(opens)));
    l.handle_timeout(s(opens));
    assert_eq!(l.poll_timeout(), Some(s(closes)));
    l.handle_timeout(s(closes));
    assert_eq!(l.poll_timeout(), None);
}

#[rstest]
#[case::practice_0_1_mmol_kg_best_after_10_min(0.1, 600)]
#[case::practice_0_15_mmol_kg_best_after_15_min(0.15, 900)]
#[case::practice_0_2_mmol_kg_best_after_20_min(0.2, 1200)]
#[case::practice_0_05_mmol_kg_not_before_opening(0.05, 600)]
fn lge_best_contrast_depends_on_cumulative_dose(#[case] cum: f64, #[case] delay: u64) {
    let mut l = LgeWindow::new(LgeSettings::default());
    l.set(WindowBasis::SingleInjection, s(0), cum);
    let (opens, _, best) = window_of(&mut l);
    assert_eq!(opens, s(600), "the contract's opening is kept");
    assert_eq!(best, s(delay));
    let mut dd = LgeWindow::new(LgeSettings {
        dose_dependent_opening: true,
        ..Default::default()
    });
    dd.set(WindowBasis::SingleInjection, s(0), cum);
    assert_eq!(window_of(&mut dd).0, s(delay));
}

#[test]
fn clause_3_1_4_1_low_dose_early_start_allowed_and_recorded() {
    let mut l = LgeWindow::new(LgeSettings::default());
    l.set(WindowBasis::SingleInjection, s(0), 0.05);
    l.record_early_start(EarlyStart {
        at: s(300),
        by: "RT Chen".into(),
        reason: "blood pool darker than enhanced myocardium".into(),
        cumulative_mmol_kg: 0.05,
    });
    l.acquired(s(320), s(320), false);
    let out: Vec<Output> = std::iter::from_fn(|| l.poll()).collect();
    assert!(
        !out.iter()
            .any(|o| matches!(o.decision, Decision::Warning { .. }))
    );
    assert_eq!(l.early_starts().len(), 1);
}

#[test]
fn clause_3_1_4_1_early_start_at_full_dose_warns() {
    let mut l = LgeWindow::new(LgeSettings::default());
    l.set(WindowBasis::SingleInjection, s(0), 0.2);
    l.record_early_start(EarlyStart {
        at: s(300),
        by: "RT Chen".into(),
        reason: "hurry".into(),
        cumulative_mmol_kg: 0.2,
    });
    let out: Vec<Output> = std::iter::from_fn(|| l.poll()).collect();
    assert!(out.iter().any(|o| o.decision
        == Decision::Warning {
            code: WarningCode::LgeEarlyStartNotLowDose
        }));
}

// ---------------------------------------------------------------- protocol

fn params(
    fov: f64,
    slice: f64,
    gap: Option<f64>,
    pe: PhaseEncoding,
    slices: Option<u32>,
) -> SeriesParams {
    SeriesParams {
        fov_mm: Some(fov),
        slice_mm: Some(slice),
        gap_mm: gap,
        phase_encoding: Some(pe),
        slices,
    }
}

#[rstest]
#[case::clause_3_1_1_static_in_range(ProtocolStep::BlackBlood, params(300.0, 7.0, Some(2.0), PhaseEncoding::Ap, None), vec![], "")]
#[case::clause_3_1_1_static_lr_not_allowed(ProtocolStep::BrightBlood, params(300.0, 7.0, Some(2.0), PhaseEncoding::Lr, None), vec![FindingCode::PhaseEncodingNotAllowed], "3.1.1")]
#[case::clause_3_1_2_2_cine_2ch_fov_300_too_small(ProtocolStep::Cine2ch, params(300.0, 7.0, None, PhaseEncoding::Ap, None), vec![FindingCode::FovOutOfRange], "3.1.2.2")]
#[case::clause_3_1_2_3_cine_4ch_slice_10(ProtocolStep::Cine4ch, params(300.0, 10.0, None, PhaseEncoding::Ap, None), vec![FindingCode::SliceOutOfRange], "3.1.2.3")]
#[case::clause_3_1_2_4_cine_sax_10_slices(ProtocolStep::CineSax, params(300.0, 8.0, Some(2.0), PhaseEncoding::Lr, Some(10)), vec![FindingCode::SliceCountOutOfRange], "3.1.2.4")]
#[case::clause_3_1_2_4_cine_sax_gap_4(ProtocolStep::CineSax, params(300.0, 8.0, Some(4.0), PhaseEncoding::Ap, Some(9)), vec![FindingCode::GapOutOfRange], "3.1.2.4")]
#[case::clause_3_1_2_6_lvot_coronal_must_be_lr(ProtocolStep::CineLvotCoronal, params(330.0, 7.0, None, PhaseEncoding::Ap, None), vec![FindingCode::PhaseEncodingNotAllowed], "3.1.2.6")]
#[case::clause_3_1_3_5_perfusion_gap_5(ProtocolStep::StressPerfusion, params(450.0, 8.0, Some(5.0), PhaseEncoding::Ap, None), vec![FindingCode::GapOutOfRange], "3.1.3.5")]
#[case::clause_3_1_4_4_lge_fov_and_slice(ProtocolStep::Lge, params(300.0, 10.0, Some(0.0), PhaseEncoding::Lr, None), vec![FindingCode::FovOutOfRange, FindingCode::SliceOutOfRange], "3.1.4.4")]
fn series_compliance(
    #[case] step: ProtocolStep,
    #[case] p: SeriesParams,
    #[case] codes: Vec<FindingCode>,
    #[case] clause: &str,
) {
    let f = check_series(step, &p);
    assert_eq!(f.iter().map(|f| f.code).collect::<Vec<_>>(), codes);
    assert!(f.iter().all(|f| f.clause == clause));
}

#[test]
fn clause_3_1_2_2_finding_names_measured_and_expected() {
    let f = check_series(
        ProtocolStep::Cine2ch,
        &params(300.0, 7.0, None, PhaseEncoding::Ap, None),
    );
    assert_eq!(f[0].measured, "300 mm");
    assert_eq!(f[0].expected, "315–380 mm");
}

#[rstest]
#[case::clause_3_1_2_1_routine(ExamType::Routine, 6)]
#[case::clause_3_1_3_contrast(ExamType::Contrast, 8)]
#[case::clause_3_2_3_adenosine_stress(ExamType::AdenosineStress, 9)]
#[case::clause_3_2_3_regadenoson_stress(ExamType::RegadenosonStress, 9)]
fn required_steps_per_exam(#[case] exam: ExamType, #[case] n: usize) {
    assert_eq!(required_steps(exam).len(), n);
    assert_eq!(missing_steps(exam, &required_steps(exam)), vec![]);
}

#[test]
fn clause_3_1_1_bright_blood_stands_in_for_black_blood() {
    let acquired = [
        ProtocolStep::Localiser,
        ProtocolStep::BrightBlood,
        ProtocolStep::Cine2ch,
    ];
    let missing = missing_steps(ExamType::Routine, &acquired);
    assert_eq!(
        missing,
        vec![
            ProtocolStep::Cine4ch,
            ProtocolStep::CineSax,
            ProtocolStep::CineLvot
        ]
    );
}

#[rstest]
#[case::clause_3_2_1_venc_200(200.0, 220.0, 240.0, 260.0)]
#[case::clause_3_2_1_venc_150(150.0, 165.0, 180.0, 195.0)]
fn venc(#[case] peak: f64, #[case] lo: f64, #[case] mid: f64, #[case] hi: f64) {
    let g = venc_guidance(peak).unwrap();
    assert!(
        (g.min_cm_s - lo).abs() < 1e-9
            && (g.suggested_cm_s - mid).abs() < 1e-9
            && (g.max_cm_s - hi).abs() < 1e-9
    );
}

#[rstest]
#[case(0.0)]
#[case(-10.0)]
#[case(f64::NAN)]
fn clause_3_2_1_venc_rejects_impossible_velocity(#[case] v: f64) {
    assert!(venc_guidance(v).is_err());
}

// ---------------------------------------------------------------- exam aggregate

fn exam_with(egfr: Option<f64>, answers: ScreeningAnswers) -> Exam {
    let mut e = Exam::new(ProtocolSettings::default());
    e.handle(
        ExamEvent::PatientRegistered {
            patient: patient(70.0, egfr),
        },
        s(0),
    )
    .unwrap();
    e.handle(ExamEvent::ScreeningAnswered { answers }, s(0))
        .unwrap();
    e.handle(
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
        s(0),
    )
    .unwrap();
    e.drain();
    e
}

fn inject(purpose: Purpose, dose: f64) -> ExamEvent {
    ExamEvent::Injected(req(Amount::DoseMmolKg(dose), 4.0, 25.0, purpose))
}

#[test]
fn clause_3_1_3_2_contrast_refused_while_clearance_blocks_it() {
    let mut e = exam_with(Some(25.0), ScreeningAnswers::default());
    let out = e.handle(inject(Purpose::Single, 0.1), s(60)).unwrap();
    assert_eq!(out, Outcome::Rejected(RejectCode::ContrastBlocked));
    assert_eq!(e.ledger().unwrap().injections().len(), 0);
    assert_eq!(e.lge().window(), None);
    e.handle(
        ExamEvent::OverrideRecorded {
            rule: ReasonCode::EgfrBelow30,
            by: "Dr Wang".into(),
            reason: "benefit outweighs risk".into(),
        },
        s(70),
    )
    .unwrap();
    assert_eq!(
        e.handle(inject(Purpose::Single, 0.1), s(80)).unwrap(),
        Outcome::Accepted
    );
}

#[test]
fn gadoxetate_cannot_be_selected() {
    let mut e = exam_with(Some(90.0), ScreeningAnswers::default());
    let out = e
        .handle(
            ExamEvent::AgentSelected {
                agent: AgentId::Gadoxetate,
            },
            s(1),
        )
        .unwrap();
    assert_eq!(out, Outcome::Rejected(RejectCode::AgentNotForCmr));
    assert_eq!(e.agent(), Some(AgentId::Gadobutrol));
}

#[test]
fn clause_3_1_4_1_stress_then_rest_window_opens_300_s_after_rest() {
    let mut e = exam_with(Some(90.0), ScreeningAnswers::default());
    e.handle(
        ExamEvent::VitalsReading {
            vitals: vitals(Some(64.0), Some(126.0)),
        },
        s(0),
    )
    .unwrap();
    let start = ExamEvent::StressStarted {
        drug: StressDrug::Adenosine,
        dose: None,
        authority: Default::default(),
    };
    assert_eq!(e.handle(start, s(30)).unwrap(), Outcome::Accepted);
    e.handle(inject(Purpose::StressPerfusion, 0.05), s(160))
        .unwrap();
    let w = e.lge().window().unwrap();
    assert!(w.provisional, "the rest injection is still to come");
    assert_eq!((w.opens_at, w.closes_at), (s(760), s(1960)));
    e.handle(ExamEvent::StressStopped, s(220)).unwrap();
    e.handle(inject(Purpose::RestPerfusion, 0.05), s(900))
        .unwrap();
    let w = e.lge().window().unwrap();
    assert!(!w.provisional);
    assert_eq!((w.opens_at, w.closes_at), (s(1200), s(2700)));
}

#[test]
fn exam_fires_deadlines_in_time_order_before_the_event() {
    let mut e = exam_with(Some(90.0), ScreeningAnswers::default());
    e.handle(
        ExamEvent::VitalsReading {
            vitals: vitals(Some(64.0), Some(126.0)),
        },
        s(0),
    )
    .unwrap();
    e.handle(
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        },
        s(30),
    )
    .unwrap();
    e.handle(inject(Purpose::Single, 0.1), s(35)).unwrap();
    e.drain();
    // Nothing for 10 minutes: max duration at 270 s, window opens at 635 s, then the event.
    e.handle(
        ExamEvent::VitalsReading {
            vitals: vitals(Some(66.0), None),
        },
        s(700),
    )
    .unwrap();
    let out = e.drain();
    let ats: Vec<u64> = out.iter().map(|o| o.at.as_millis() / 1000).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "{ats:?}");
    assert!(out.iter().any(|o| o.at == s(270)
        && o.decision
            == Decision::StressImagingDue {
                reason: StressImagingReason::MaxDuration
            }));
    assert!(
        out.iter()
            .any(|o| o.at == s(635) && o.decision == Decision::LgeWindowOpen)
    );
}

#[test]
fn exam_refuses_time_going_backwards() {
    let mut e = exam_with(Some(90.0), ScreeningAnswers::default());
    e.handle(ExamEvent::MonitorDataRestored, s(100)).unwrap();
    assert!(matches!(
        e.handle(ExamEvent::MonitorDataRestored, s(99)),
        Err(ExamError::TimeWentBackwards { .. })
    ));
}

#[test]
fn exam_event_is_a_tagged_snake_case_log_payload() {
    let ev = inject(Purpose::TopUp, 0.05);
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["event"], "injected");
    assert_eq!(json["purpose"], "top_up");
    assert_eq!(json["amount"]["dose_mmol_kg"], 0.05);
    let back: ExamEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, ev);
    let stop = serde_json::to_value(ExamEvent::MonitorDataLost).unwrap();
    assert_eq!(stop, serde_json::json!({"event": "monitor_data_lost"}));
}

#[test]
fn replaying_the_log_rebuilds_every_timer() {
    let log = vec![
        LoggedEvent {
            at: s(0),
            event: ExamEvent::PatientRegistered {
                patient: patient(70.0, Some(90.0)),
            },
        },
        LoggedEvent {
            at: s(0),
            event: ExamEvent::ScreeningAnswered {
                answers: ScreeningAnswers::default(),
            },
        },
        LoggedEvent {
            at: s(0),
            event: ExamEvent::AgentSelected {
                agent: AgentId::Gadobutrol,
            },
        },
        LoggedEvent {
            at: s(5),
            event: ExamEvent::VitalsReading {
                vitals: vitals(Some(64.0), Some(126.0)),
            },
        },
        LoggedEvent {
            at: Instant::from_millis(30_500),
            event: ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: None,
                authority: Default::default(),
            },
        },
        LoggedEvent {
            at: s(100),
            event: inject(Purpose::StressPerfusion, 0.05),
        },
    ];
    let json = serde_json::to_string(&log).unwrap();
    let parsed: Vec<LoggedEvent> = serde_json::from_str(&json).unwrap();
    let mut live = Exam::new(ProtocolSettings::default());
    for l in &log {
        live.handle(l.event.clone(), l.at).unwrap();
    }
    let rebuilt = Exam::replay(ProtocolSettings::default(), &parsed).unwrap();
    assert_eq!(rebuilt.poll_timeout(), Some(Instant::from_millis(270_500)));
    assert_eq!(rebuilt.poll_timeout(), live.poll_timeout());
    assert_eq!(rebuilt.ledger(), live.ledger());
    assert_eq!(rebuilt.stress().runs(), live.stress().runs());
}

#[test]
fn clause_5_2_3_technique_facts() {
    let mut e = exam_with(Some(90.0), ScreeningAnswers::default());
    e.handle(
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::Cine2ch,
            params: None,
            acquisition: None,
            safety: None,
            geometry: None,
            psir: None,
        },
        s(10),
    )
    .unwrap();
    e.handle(
        ExamEvent::VitalsReading {
            vitals: vitals(Some(64.0), Some(126.0)),
        },
        s(20),
    )
    .unwrap();
    e.handle(
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        },
        s(30),
    )
    .unwrap();
    e.handle(inject(Purpose::StressPerfusion, 0.05), s(160))
        .unwrap();
    e.handle(
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::StressPerfusion,
            params: None,
            acquisition: None,
            safety: None,
            geometry: None,
            psir: None,
        },
        s(200),
    )
    .unwrap();
    e.handle(ExamEvent::StressStopped, s(210)).unwrap();
    let t = e.technique(s(300));
    assert_eq!(t.exam_kind, ExamKind::ContrastEnhanced);
    assert_eq!(
        t.sequences,
        vec![ProtocolStep::Cine2ch, ProtocolStep::StressPerfusion]
    );
    assert_eq!(t.agent, Some(AgentId::Gadobutrol));
    assert_eq!(
        (t.total_mmol, t.total_mmol_kg, t.total_ml),
        (3.5, 0.05, 3.5)
    );
    assert_eq!(t.stress[0].duration_s, Some(180.0));
    assert_eq!(t.stress[0].dose, StressDose::UgKgMin(140.0));
}

/// 2.2.3: a breath-hold practice is recorded, changes no clinical decision, survives
/// replay, serialises in snake_case, and impossible numbers are refused.
#[test]
fn breath_hold_practice_2_2_3_is_recorded_only() {
    use cmr_kiosk::domain::breathing::BreathHoldPhase;
    let event = ExamEvent::BreathHoldPracticed {
        best_hold_s: 17.5,
        phase: BreathHoldPhase::EndExpiration,
        holds: 3,
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"event": "breath_hold_practiced", "best_hold_s": 17.5, "phase": "end_expiration", "holds": 3})
    );
    let mut exam = Exam::new(ProtocolSettings::default());
    let before = exam.clearance().clone();
    exam.drain();
    assert_eq!(
        exam.handle(event.clone(), s(10)).unwrap(),
        Outcome::Accepted
    );
    assert!(exam.drain().is_empty(), "no decision follows a practice");
    assert_eq!(exam.clearance(), &before);
    assert_eq!(exam.breath_hold().unwrap().best_hold_s, 17.5);
    let replayed = Exam::replay(
        ProtocolSettings::default(),
        &[LoggedEvent { at: s(10), event }],
    )
    .unwrap();
    assert_eq!(replayed.breath_hold().unwrap().holds, 3);
    for (best, holds) in [(f64::NAN, 1), (-1.0, 1), (10.0, 0)] {
        let bad = ExamEvent::BreathHoldPracticed {
            best_hold_s: best,
            phase: BreathHoldPhase::EndInspiration,
            holds,
        };
        assert!(matches!(
            exam.handle(bad, s(11)),
            Err(ExamError::BreathHold(..))
        ));
    }
    assert_eq!(exam.breath_hold().unwrap().holds, 3);
}

#[rstest]
#[case::clause_3_1_3_3_two_levels_are_too_few(2, true)]
#[case::clause_3_1_3_3_basal_mid_apical(3, false)]
#[case::clause_3_1_3_3_with_the_4_chamber(4, false)]
fn clause_3_1_3_3_perfusion_covers_three_short_axis_levels(
    #[case] slices: u32,
    #[case] finding: bool,
) {
    for step in [ProtocolStep::StressPerfusion, ProtocolStep::RestPerfusion] {
        let found = check_series(
            step,
            &SeriesParams {
                fov_mm: Some(440.0),
                slice_mm: Some(8.0),
                gap_mm: Some(10.0),
                phase_encoding: Some(PhaseEncoding::Ap),
                slices: Some(slices),
            },
        );
        let levels: Vec<_> = found
            .iter()
            .filter(|f| f.code == FindingCode::SliceCountOutOfRange)
            .collect();
        assert_eq!(!levels.is_empty(), finding, "{found:?}");
        assert!(levels.iter().all(|f| f.clause == "3.1.3.3"));
    }
}
