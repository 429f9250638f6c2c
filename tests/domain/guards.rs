//! The Guards of the simulator contract (design/scenario-format.md, second edition):
//! every refusal code checked before the step is recorded, what lifts it and what
//! does not, the observation period, the timing rules, and two properties: no
//! accepted sequence of injections ends above the maximum without a countersign on
//! record, and a refused step changes nothing.

use cmr_kiosk::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest, Purpose};
use cmr_kiosk::domain::date::CivilDate;
use cmr_kiosk::domain::exam::{Exam, ExamEvent, LoggedEvent, Outcome, ProtocolSettings};
use cmr_kiosk::domain::guard::StepAuthority;
use cmr_kiosk::domain::output::{
    AlarmCode, AlarmPriority, Decision, Lift, RejectCode, ReminderCode,
};
use cmr_kiosk::domain::protocol::ProtocolStep;
use cmr_kiosk::domain::screening::{
    ExamContext, Implant, ImplantConditions, ImplantKind, MrStatus, Patient, ReasonCode,
    ScreeningAnswers, SeriesSafety, Sex, assess,
};
use cmr_kiosk::domain::stress::{StressDose, StressDrug, Vitals};
use cmr_kiosk::domain::technique::Scanner;
use cmr_kiosk::domain::time::Instant;
use proptest::prelude::*;
use rstest::rstest;

fn s(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

fn patient(egfr: Option<f64>) -> Patient {
    Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Male,
        age_years: 60,
        egfr,
        egfr_date: None,
    }
}

/// An exam with a registered patient, the answers and the agent; drained.
fn exam(egfr: Option<f64>, answers: ScreeningAnswers, agent: AgentId) -> Exam {
    let mut e = Exam::new(ProtocolSettings::default());
    for ev in [
        ExamEvent::PatientRegistered {
            patient: patient(egfr),
        },
        ExamEvent::ScreeningAnswered { answers },
        ExamEvent::AgentSelected { agent },
    ] {
        e.handle(ev, s(0)).unwrap();
    }
    e.drain();
    e
}

fn plain() -> Exam {
    exam(Some(90.0), ScreeningAnswers::default(), AgentId::Gadobutrol)
}

fn inject(purpose: Purpose, dose: f64, authority: StepAuthority) -> ExamEvent {
    ExamEvent::Injected(InjectionRequest {
        amount: Amount::DoseMmolKg(dose),
        rate_ml_s: 4.0,
        flush_ml: 25.0,
        purpose,
        method: InjectionMethod::PowerInjector,
        authority,
    })
}

fn vitals(e: &mut Exam, at: u64, hr: f64, sbp: f64) {
    let v = Vitals {
        hr: Some(hr),
        sbp: Some(sbp),
        ..Default::default()
    };
    e.handle(ExamEvent::VitalsReading { vitals: v }, s(at))
        .unwrap();
}

fn start(drug: StressDrug, dose: Option<StressDose>, authority: StepAuthority) -> ExamEvent {
    ExamEvent::StressStarted {
        drug,
        dose,
        authority,
    }
}

/// A physician's clearance override of eGFR < 30 (3.1.3.2).
fn override_egfr_below_30(e: &mut Exam) {
    e.handle(
        ExamEvent::OverrideRecorded {
            rule: ReasonCode::EgfrBelow30,
            by: "Dr Wang".into(),
            reason: "LGE needed".into(),
        },
        s(0),
    )
    .unwrap();
}

fn countersign() -> StepAuthority {
    StepAuthority::countersigned("Dr Wang", "benefit outweighs the risk")
}

fn confirm(code: RejectCode) -> StepAuthority {
    StepAuthority {
        countersign: None,
        confirmed: vec![code],
    }
}

/// An adenosine run started at 30 s with a baseline at 0 s.
fn adenosine_running() -> Exam {
    let mut e = plain();
    vitals(&mut e, 0, 64.0, 126.0);
    let out = e
        .handle(
            start(StressDrug::Adenosine, None, StepAuthority::default()),
            s(30),
        )
        .unwrap();
    assert_eq!(out, Outcome::Accepted);
    e.drain();
    e
}

/// What a step must not change when it is refused.
fn state(e: &Exam) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        e.ledger(),
        e.stress().runs(),
        e.lge().window(),
        e.acquired()
    )
}

/// The step is refused with `code`, changes nothing, and `lift` (when given) lets the
/// very same step through.
fn refused_then_lifted(
    mut e: Exam,
    at: u64,
    step: impl Fn(StepAuthority) -> ExamEvent,
    code: RejectCode,
    lift: Option<StepAuthority>,
) {
    let before = state(&e);
    let out = e.handle(step(StepAuthority::default()), s(at)).unwrap();
    assert_eq!(out, Outcome::Rejected(code));
    assert_eq!(state(&e), before, "a refused step changes nothing");
    let rejected: Vec<_> = e
        .drain()
        .into_iter()
        .filter(|o| matches!(o.decision, Decision::Rejected { .. }))
        .collect();
    assert_eq!(rejected.len(), 1);
    if let Some(lift) = lift {
        // The wrong kind of lift does not do.
        let wrong = match code.lifted_by() {
            Lift::Countersign => confirm(code),
            _ => countersign(),
        };
        assert_eq!(
            e.handle(step(wrong), s(at)).unwrap(),
            Outcome::Rejected(code),
            "only the right person lifts it"
        );
        assert_eq!(e.handle(step(lift), s(at)).unwrap(), Outcome::Accepted);
        assert_ne!(state(&e), before);
    }
}

#[test]
fn clause_3_1_3_2_dose_above_max_needs_a_countersign() {
    refused_then_lifted(
        plain(),
        10,
        |a| inject(Purpose::Single, 1.0, a),
        RejectCode::DoseAboveMax,
        Some(countersign()),
    );
}

#[rstest]
#[case::clause_3_1_3_2_egfr_below_30_override(Some(25.0), false, false)]
#[case::clause_3_1_3_2_dialysis(Some(80.0), true, false)]
#[case::clause_3_1_3_2_acute_kidney_injury(Some(80.0), false, true)]
fn clause_3_1_3_2_reduced_maximum(
    #[case] egfr: Option<f64>,
    #[case] dialysis: bool,
    #[case] aki: bool,
) {
    let answers = ScreeningAnswers {
        dialysis,
        acute_kidney_injury: aki,
        ..Default::default()
    };
    let mut e = exam(egfr, answers, AgentId::Gadobutrol);
    override_egfr_below_30(&mut e);
    assert!((e.dose_max_mmol_kg() - 0.1).abs() < 1e-12);
    assert_eq!(
        e.handle(
            inject(Purpose::RestPerfusion, 0.1, StepAuthority::default()),
            s(1)
        )
        .unwrap(),
        Outcome::Accepted
    );
    refused_then_lifted(
        e,
        700,
        |a| inject(Purpose::TopUp, 0.02, a),
        RejectCode::DoseAboveMax,
        Some(countersign()),
    );
}

#[test]
fn clause_3_1_3_2_dose_implausible_needs_a_named_confirmation() {
    refused_then_lifted(
        plain(),
        10,
        |a| {
            let mut ev = inject(Purpose::Single, 0.1, a);
            if let ExamEvent::Injected(r) = &mut ev {
                r.amount = Amount::VolumeMl(0.2);
            }
            ev
        },
        RejectCode::DoseImplausible,
        Some(confirm(RejectCode::DoseImplausible)),
    );
}

#[rstest]
#[case::clause_3_1_4_1_after_a_single(Purpose::Single)]
#[case::clause_3_1_4_1_after_a_top_up(Purpose::TopUp)]
fn clause_3_1_4_1_top_up_cap_by_what_was_given(#[case] first: Purpose) {
    let mut e = plain();
    let dose = if first == Purpose::TopUp { 0.05 } else { 0.1 };
    e.handle(inject(first, dose, StepAuthority::default()), s(0))
        .unwrap();
    for label in [Purpose::Single, Purpose::RestPerfusion, Purpose::TopUp] {
        refused_then_lifted(
            e.clone(),
            700,
            |a| inject(label, 0.06, a),
            RejectCode::TopUpAbove0_05,
            Some(countersign()),
        );
    }
}

#[test]
fn clause_3_1_4_1_top_up_cap_after_both_perfusion_injections() {
    let mut e = adenosine_running();
    e.handle(
        inject(Purpose::StressPerfusion, 0.05, StepAuthority::default()),
        s(160),
    )
    .unwrap();
    e.handle(ExamEvent::StressStopped, s(200)).unwrap();
    e.handle(
        inject(Purpose::RestPerfusion, 0.05, StepAuthority::default()),
        s(900),
    )
    .unwrap();
    refused_then_lifted(
        e,
        1300,
        |a| inject(Purpose::Single, 0.06, a),
        RejectCode::TopUpAbove0_05,
        Some(countersign()),
    );
}

#[rstest]
#[case::practice_gadopentetate(AgentId::Gadopentetate)]
#[case::practice_gadodiamide(AgentId::Gadodiamide)]
fn practice_group_i_agent_low_egfr_even_after_the_egfr_override(#[case] agent: AgentId) {
    let mut e = exam(Some(25.0), ScreeningAnswers::default(), agent);
    override_egfr_below_30(&mut e);
    refused_then_lifted(
        e,
        10,
        |a| inject(Purpose::Single, 0.1, a),
        RejectCode::GroupIAgentLowEgfr,
        Some(countersign()),
    );
}

#[test]
fn clause_3_1_3_2_contrast_blocked_is_lifted_only_by_a_clearance_override() {
    let e = exam(Some(25.0), ScreeningAnswers::default(), AgentId::Gadobutrol);
    refused_then_lifted(
        e.clone(),
        10,
        |a| inject(Purpose::Single, 0.1, a),
        RejectCode::ContrastBlocked,
        None,
    );
    let mut e = e;
    // Neither a countersign nor a confirmation on the step lifts a screening rule.
    for a in [countersign(), StepAuthority::default().confirm_all()] {
        assert_eq!(
            e.handle(inject(Purpose::Single, 0.1, a), s(10)).unwrap(),
            Outcome::Rejected(RejectCode::ContrastBlocked)
        );
    }
}

#[test]
fn clause_3_2_3_stress_blocked_is_lifted_only_by_a_clearance_override() {
    let answers = ScreeningAnswers {
        asthma: true,
        ..Default::default()
    };
    let mut e = exam(Some(90.0), answers, AgentId::Gadobutrol);
    vitals(&mut e, 0, 64.0, 126.0);
    refused_then_lifted(
        e,
        10,
        |a| start(StressDrug::Adenosine, None, a),
        RejectCode::StressDrugBlocked,
        None,
    );
}

#[rstest]
#[case::clause_3_2_3_adenosine_1400(StressDrug::Adenosine, StressDose::UgKgMin(1400.0))]
#[case::clause_3_2_3_adenosine_100(StressDrug::Adenosine, StressDose::UgKgMin(100.0))]
#[case::practice_regadenoson_4_mg(StressDrug::Regadenoson, StressDose::Mg(4.0))]
fn clause_3_2_3_stress_dose_out_of_range(#[case] drug: StressDrug, #[case] dose: StressDose) {
    let mut e = plain();
    vitals(&mut e, 0, 64.0, 126.0);
    refused_then_lifted(
        e,
        10,
        |a| start(drug, Some(dose), a),
        RejectCode::StressDoseOutOfRange,
        Some(countersign()),
    );
}

#[test]
fn clause_3_2_3_escalation_out_of_range() {
    refused_then_lifted(
        adenosine_running(),
        200,
        |a| ExamEvent::StressEscalated {
            dose_ug_kg_min: Some(2100.0),
            authority: a,
        },
        RejectCode::StressDoseOutOfRange,
        Some(countersign()),
    );
}

#[test]
fn clause_3_2_3_no_baseline_vitals() {
    let mut e = plain();
    vitals(&mut e, 0, 64.0, 126.0);
    // 301 s later the reading is no baseline any more.
    refused_then_lifted(
        e,
        301,
        |a| start(StressDrug::Adenosine, None, a),
        RejectCode::NoBaselineVitals,
        Some(confirm(RejectCode::NoBaselineVitals)),
    );
    let mut fresh = plain();
    vitals(&mut fresh, 0, 64.0, 126.0);
    assert_eq!(
        fresh
            .handle(
                start(StressDrug::Adenosine, None, StepAuthority::default()),
                s(300)
            )
            .unwrap(),
        Outcome::Accepted
    );
}

#[test]
fn clause_3_2_3_rest_before_recovery() {
    refused_then_lifted(
        adenosine_running(),
        100,
        |a| inject(Purpose::RestPerfusion, 0.05, a),
        RejectCode::RestBeforeRecovery,
        Some(confirm(RejectCode::RestBeforeRecovery)),
    );
    let mut e = adenosine_running();
    e.handle(ExamEvent::StressStopped, s(200)).unwrap();
    refused_then_lifted(
        e.clone(),
        799,
        |a| inject(Purpose::RestPerfusion, 0.05, a),
        RejectCode::RestBeforeRecovery,
        Some(confirm(RejectCode::RestBeforeRecovery)),
    );
    assert_eq!(
        e.handle(
            inject(Purpose::RestPerfusion, 0.05, StepAuthority::default()),
            s(800)
        )
        .unwrap(),
        Outcome::Accepted
    );
}

#[test]
fn clause_3_2_3_stress_perfusion_without_stress() {
    let mut e = adenosine_running();
    e.handle(ExamEvent::StressStopped, s(200)).unwrap();
    refused_then_lifted(
        e,
        300,
        |a| inject(Purpose::StressPerfusion, 0.05, a),
        RejectCode::StressPerfusionWithoutStress,
        Some(confirm(RejectCode::StressPerfusionWithoutStress)),
    );
}

// ---- Screening (2.1.2, 2.3.1) ----

fn clearance(patient: &Patient, answers: &ScreeningAnswers, ctx: &ExamContext) -> Vec<ReasonCode> {
    assess(Some(patient), answers, &[], &Default::default(), ctx).codes()
}

#[rstest]
#[case::clause_2_3_1_current(Some("2026-11-20"), false)]
#[case::clause_2_3_1_ninety_days_is_current(Some("2026-09-06"), false)]
#[case::clause_2_3_1_ninety_one_days_is_not(Some("2026-09-05"), true)]
#[case::clause_2_3_1_from_2012(Some("2012-03-01"), true)]
#[case::clause_2_3_1_dated_after_the_exam(Some("2026-12-06"), true)]
fn clause_2_3_1_egfr_older_than_the_site_limit_is_unknown(
    #[case] date: Option<&str>,
    #[case] unknown: bool,
) {
    let p = Patient {
        egfr_date: date.map(str::to_string),
        ..patient(Some(88.0))
    };
    let ctx = ExamContext {
        exam_date: CivilDate::parse("2026-12-05"),
        scanner_field_t: None,
    };
    let codes = clearance(&p, &ScreeningAnswers::default(), &ctx);
    assert_eq!(
        codes.contains(&ReasonCode::EgfrUnknown),
        unknown,
        "{codes:?}"
    );
}

fn conditional(conditions: Option<ImplantConditions>) -> ScreeningAnswers {
    ScreeningAnswers {
        implants: vec![Implant {
            kind: ImplantKind::Pacemaker,
            mr_status: MrStatus::Conditional,
            conditions,
        }],
        ..Default::default()
    }
}

#[test]
fn clause_2_1_2_conditional_implant_needs_its_field_strength_and_the_scanner_among_it() {
    let p = patient(Some(90.0));
    let none = clearance(&p, &conditional(None), &ExamContext::default());
    assert!(none.contains(&ReasonCode::ConditionalImplantWithoutConditions));
    let words_only = ImplantConditions {
        label: "SureScan".into(),
        ..Default::default()
    };
    let codes = clearance(&p, &conditional(Some(words_only)), &ExamContext::default());
    assert!(codes.contains(&ReasonCode::ConditionalImplantWithoutConditions));
    let labelled = ImplantConditions {
        field_strength_t: vec![1.5],
        ..Default::default()
    };
    let at = |t: f64| ExamContext {
        exam_date: None,
        scanner_field_t: Some(t),
    };
    assert_eq!(
        clearance(&p, &conditional(Some(labelled.clone())), &at(1.5)),
        vec![ReasonCode::ImplantConditional]
    );
    let c3 = assess(
        Some(&p),
        &conditional(Some(labelled)),
        &[],
        &Default::default(),
        &at(3.0),
    );
    assert!(c3.has(ReasonCode::ImplantFieldStrength));
    assert_eq!(
        c3.status,
        cmr_kiosk::domain::screening::ClearanceStatus::Blocked
    );
}

#[rstest]
#[case::clause_2_1_2_within(SeriesSafety { field_strength_t: Some(1.5), sar_w_kg: Some(1.9), b1rms_ut: Some(2.0), dbdt_t_s: Some(90.0) }, false)]
#[case::clause_2_1_2_sar(SeriesSafety { sar_w_kg: Some(2.6), ..Default::default() }, true)]
#[case::clause_2_1_2_b1rms(SeriesSafety { b1rms_ut: Some(3.2), ..Default::default() }, true)]
#[case::clause_2_1_2_dbdt(SeriesSafety { dbdt_t_s: Some(150.0), ..Default::default() }, true)]
#[case::clause_2_1_2_field_strength(SeriesSafety { field_strength_t: Some(2.89), ..Default::default() }, true)]
fn clause_2_1_2_implant_condition_exceeded_is_a_high_alarm_at_once(
    #[case] safety: SeriesSafety,
    #[case] alarm: bool,
) {
    let conditions = ImplantConditions {
        field_strength_t: vec![1.5],
        max_wb_sar_w_kg: Some(2.0),
        max_b1rms_ut: Some(2.8),
        max_dbdt_t_s: Some(100.0),
        ..Default::default()
    };
    let mut e = exam(
        Some(90.0),
        conditional(Some(conditions)),
        AgentId::Gadobutrol,
    );
    e.handle(
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::CineSax,
            params: None,
            acquisition: None,
            safety: Some(safety),
            geometry: None,
            psir: None,
        },
        s(120),
    )
    .unwrap();
    let raised = e.drain().into_iter().any(|o| {
        o.at == s(120)
            && o.decision
                == Decision::Alarm {
                    code: AlarmCode::ImplantConditionExceeded,
                    priority: AlarmPriority::High,
                }
    });
    assert_eq!(raised, alarm);
    assert_eq!(
        e.unacknowledged_alarms()
            .iter()
            .any(|(_, c, _)| *c == AlarmCode::ImplantConditionExceeded),
        alarm,
        "an alarm is state: it stays until acknowledged"
    );
}

#[test]
fn clause_2_1_2_the_configured_scanner_decides_the_field_strength_rule() {
    let labelled = ImplantConditions {
        field_strength_t: vec![1.5],
        ..Default::default()
    };
    let mut e = exam(Some(90.0), conditional(Some(labelled)), AgentId::Gadobutrol);
    assert!(!e.clearance().has(ReasonCode::ImplantFieldStrength));
    e.handle(
        ExamEvent::ScannerRecorded {
            scanner: Scanner {
                vendor: "Siemens".into(),
                model: "Vida".into(),
                field_strength_t: 3.0,
            },
        },
        s(1),
    )
    .unwrap();
    assert!(e.clearance().has(ReasonCode::ImplantFieldStrength));
}

// ---- Watching after the drug (3.2.3 step 3) ----

fn alarms_and_reminders(e: &mut Exam) -> Vec<(u64, String)> {
    e.drain()
        .into_iter()
        .filter_map(|o| match o.decision {
            Decision::Alarm { code, .. } => Some((o.at.as_millis() / 1000, format!("{code:?}"))),
            Decision::Reminder { code } => Some((o.at.as_millis() / 1000, format!("{code:?}"))),
            _ => None,
        })
        .collect()
}

#[test]
fn clause_3_2_3_alarms_continue_through_the_observation_after_adenosine() {
    let mut e = adenosine_running();
    e.handle(ExamEvent::StressStopped, s(200)).unwrap();
    e.drain();
    vitals(&mut e, 230, 35.0, 70.0);
    let got = alarms_and_reminders(&mut e);
    for code in ["HrLow", "SbpLow", "SbpBelowStopLimit"] {
        assert!(got.contains(&(230, code.to_string())), "{code}: {got:?}");
    }
    e.handle_timeout(s(260));
    assert!(
        alarms_and_reminders(&mut e).contains(&(260, "ConsiderAminophylline".into())),
        "a high alarm still present 60 s after the stop"
    );
    // After the observation period (900 s) nothing more is watched.
    vitals(&mut e, 400, 70.0, 120.0);
    e.drain();
    vitals(&mut e, 1101, 35.0, 70.0);
    assert!(alarms_and_reminders(&mut e).is_empty());
}

#[test]
fn clause_3_2_3_no_aminophylline_reminder_when_the_alarm_cleared_within_60_s() {
    let mut e = adenosine_running();
    e.handle(ExamEvent::StressStopped, s(200)).unwrap();
    vitals(&mut e, 210, 64.0, 85.0);
    vitals(&mut e, 240, 66.0, 118.0);
    e.handle_timeout(s(300));
    assert!(
        !alarms_and_reminders(&mut e)
            .iter()
            .any(|(_, c)| c == "ConsiderAminophylline")
    );
}

#[test]
fn practice_regadenoson_stop_criterion_prompts_the_reversal_drug() {
    let mut e = plain();
    vitals(&mut e, 0, 68.0, 124.0);
    e.handle(
        start(StressDrug::Regadenoson, None, StepAuthority::default()),
        s(10),
    )
    .unwrap();
    e.drain();
    e.handle(
        ExamEvent::StopCriterionNoted {
            criterion: cmr_kiosk::domain::stress::StopCriterion::Wheeze,
            note: None,
        },
        s(70),
    )
    .unwrap();
    let out = e.drain();
    assert!(out.iter().any(|o| o.decision
        == Decision::Reminder {
            code: ReminderCode::ConsiderAminophylline
        }));
    assert!(out.iter().any(|o| matches!(
        o.decision,
        Decision::Alarm {
            code: AlarmCode::AdverseReaction,
            priority: AlarmPriority::High
        }
    )));
}

// ---- Timing (3.2.3) ----

fn imaging_due(e: &mut Exam) -> Vec<u64> {
    e.drain()
        .into_iter()
        .filter(|o| matches!(o.decision, Decision::StressImagingDue { .. }))
        .map(|o| o.at.as_millis() / 1000)
        .collect()
}

#[test]
fn clause_3_2_3_image_now_no_earlier_than_the_minimum_infusion() {
    let mut e = adenosine_running();
    vitals(&mut e, 45, 80.0, 126.0);
    assert!(imaging_due(&mut e).is_empty(), "15 s in: not yet");
    assert_eq!(
        e.stress().imaging_deferred(),
        Some((
            s(150),
            cmr_kiosk::domain::output::StressImagingReason::HrRise
        )),
        "the console can say when"
    );
    e.handle_timeout(s(200));
    assert_eq!(imaging_due(&mut e), vec![150]);
}

#[test]
fn clause_3_2_3_escalation_moves_the_longest_infusion_deadline() {
    let mut e = adenosine_running();
    e.handle(
        ExamEvent::StressEscalated {
            dose_ug_kg_min: None,
            authority: StepAuthority::default(),
        },
        s(230),
    )
    .unwrap();
    e.handle_timeout(s(400));
    assert_eq!(imaging_due(&mut e), vec![350]);
}

// ---- Properties ----

fn step() -> impl Strategy<Value = (Purpose, f64, bool, u64)> {
    (
        prop_oneof![
            Just(Purpose::StressPerfusion),
            Just(Purpose::RestPerfusion),
            Just(Purpose::Single),
            Just(Purpose::TopUp)
        ],
        prop_oneof![4 => 0.005f64..0.12, 1 => 0.12f64..1.0],
        prop::bool::weighted(0.3),
        1u64..900,
    )
}

proptest! {
    #[test]
    fn no_accepted_sequence_ends_above_the_maximum_without_a_countersign(
        egfr in prop_oneof![Just(Some(90.0)), Just(Some(25.0)), Just(None)],
        dialysis in any::<bool>(),
        steps in prop::collection::vec(step(), 1..12),
    ) {
        let answers = ScreeningAnswers { dialysis, ..Default::default() };
        let mut e = exam(egfr, answers, AgentId::Gadoterate);
        for rule in [ReasonCode::EgfrBelow30, ReasonCode::EgfrUnknown] {
            e.handle(ExamEvent::OverrideRecorded { rule, by: "Dr Wang".into(), reason: "needed".into() }, s(0)).unwrap();
        }
        let max = e.dose_max_mmol_kg();
        let mut t = 0;
        let mut countersigned_over = false;
        for (purpose, dose, sign, dt) in steps {
            t += dt;
            let authority = if sign { countersign() } else { StepAuthority::default().confirm_all() };
            let before = state(&e);
            let out = e.handle(inject(purpose, dose, authority), s(t)).unwrap();
            let total = e.ledger().unwrap().cumulative_mmol_kg();
            match out {
                Outcome::Accepted => {
                    if total > max + 1e-9 {
                        // Only a countersigned step may cross the maximum.
                        prop_assert!(sign, "crossed {max} to {total} without a countersign");
                        countersigned_over = true;
                    }
                }
                Outcome::Rejected(_) => prop_assert_eq!(state(&e), before),
            }
            if total > max + 1e-9 {
                prop_assert!(countersigned_over, "above the maximum with no countersign on record");
            }
        }
    }

    #[test]
    fn a_refused_stress_step_changes_nothing(
        dose in 0.0f64..3000.0,
        mg in 0.0f64..10.0,
        reading_at in 0u64..600,
        start_at in 0u64..700,
        regadenoson in any::<bool>(),
    ) {
        let mut e = plain();
        vitals(&mut e, reading_at.min(start_at), 64.0, 126.0);
        let (drug, dose) = if regadenoson {
            (StressDrug::Regadenoson, StressDose::Mg(mg.max(0.01)))
        } else {
            (StressDrug::Adenosine, StressDose::UgKgMin(dose.max(1.0)))
        };
        let before = state(&e);
        let out = e.handle(start(drug, Some(dose), StepAuthority::default()), s(start_at)).unwrap();
        if let Outcome::Rejected(code) = out {
            prop_assert_eq!(state(&e), before);
            prop_assert!(matches!(code, RejectCode::StressDoseOutOfRange | RejectCode::NoBaselineVitals), "{code:?}");
        } else {
            prop_assert!(ProtocolSettings::default().stress.dose_in_range(drug, dose));
        }
    }
}

#[test]
fn practice_settings_recorded_first_rule_the_exam_and_its_replay() {
    use cmr_kiosk::domain::exam::{ExamError, LoggedEvent};
    use cmr_kiosk::domain::settings::ClinicalSettings;
    let strict = ClinicalSettings {
        dose_max_mmol_kg: 0.15,
        reduced_dose_max_mmol_kg: 0.1,
        ..Default::default()
    };
    let log = vec![
        LoggedEvent {
            at: s(0),
            event: ExamEvent::SettingsRecorded {
                settings: Box::new(strict.clone()),
            },
        },
        LoggedEvent {
            at: s(0),
            event: ExamEvent::PatientRegistered {
                patient: patient(Some(90.0)),
            },
        },
        LoggedEvent {
            at: s(0),
            event: ExamEvent::AgentSelected {
                agent: AgentId::Gadobutrol,
            },
        },
    ];
    // Replayed under the defaults, the logged values still rule.
    let mut e = Exam::replay(ProtocolSettings::default(), &log).unwrap();
    assert!((e.dose_max_mmol_kg() - 0.15).abs() < 1e-12);
    assert_eq!(
        e.handle(
            inject(Purpose::Single, 0.2, StepAuthority::default()),
            s(10)
        )
        .unwrap(),
        Outcome::Rejected(RejectCode::DoseAboveMax)
    );
    // Once the exam has begun, its values cannot change.
    let late = e.handle(
        ExamEvent::SettingsRecorded {
            settings: Box::new(ClinicalSettings::default()),
        },
        s(20),
    );
    assert!(matches!(late, Err(ExamError::Settings(_))));
    assert!((e.dose_max_mmol_kg() - 0.15).abs() < 1e-12);
}

/// 3.2.3: the staff screens stay unlocked while the stress drug acts, through its
/// observation period and the recovery wait, while an alarm is unacknowledged and
/// while the LGE window counts down; then nothing holds them.
#[test]
fn clause_3_2_3_the_idle_lock_is_held_off_while_the_patient_needs_watching() {
    use cmr_kiosk::domain::exam::LockHold;
    let mut e = plain();
    assert_eq!(e.lock_hold(s(0)), None);
    vitals(&mut e, 10, 70.0, 120.0);
    e.handle(
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: StepAuthority::default(),
        },
        s(20),
    )
    .unwrap();
    assert_eq!(e.lock_hold(s(100)), Some(LockHold::StressDrug));
    // SBP 70 during the infusion: an alarm until acknowledged.
    vitals(&mut e, 110, 90.0, 70.0);
    assert_eq!(e.lock_hold(s(111)), Some(LockHold::Alarm));
    for (_, code, _) in e.unacknowledged_alarms() {
        e.handle(
            ExamEvent::AlarmAcknowledged {
                code,
                by: "tech".into(),
            },
            s(112),
        )
        .unwrap();
    }
    vitals(&mut e, 113, 72.0, 118.0);
    assert_eq!(e.lock_hold(s(114)), Some(LockHold::StressDrug));
    e.handle(ExamEvent::StressStopped, s(240)).unwrap();
    assert_eq!(e.lock_hold(s(250)), Some(LockHold::Observation));
    let settings = e.stress().settings().clone();
    let after_observation = s(240) + settings.observation;
    assert_eq!(
        e.lock_hold(after_observation),
        if settings.recovery > settings.observation {
            Some(LockHold::Recovery)
        } else {
            None
        }
    );
    let rested = s(240) + settings.recovery + settings.observation;
    assert_eq!(e.lock_hold(rested), None);
    // Rest perfusion sets the LGE window: held until it opens.
    let t = rested.as_millis() / 1000;
    e.handle(
        inject(Purpose::RestPerfusion, 0.05, StepAuthority::default()),
        s(t),
    )
    .unwrap();
    let w = e.lge().window().expect("a window");
    assert_eq!(e.lock_hold(s(t + 2)), Some(LockHold::LgeCountdown));
    assert_eq!(e.lock_hold(w.opens_at), None);
}

/// Issue 17: a double tap on "record injection" records one injection; a second,
/// real injection of the same dose needs its check confirmed by name.
#[test]
fn clause_3_1_3_2_a_double_tap_records_one_injection() {
    let mut e = plain();
    let first = e
        .handle(
            inject(Purpose::Single, 0.05, StepAuthority::default()),
            s(10),
        )
        .unwrap();
    assert_eq!(first, Outcome::Accepted);
    let again = e
        .handle(
            inject(Purpose::Single, 0.05, StepAuthority::default()),
            s(11),
        )
        .unwrap();
    assert_eq!(again, Outcome::Rejected(RejectCode::PossibleDuplicate));
    assert_eq!(
        RejectCode::PossibleDuplicate.lifted_by(),
        Lift::Confirmation
    );
    assert_eq!(e.ledger().unwrap().injections().len(), 1);
    // A second injection of the same dose is confirmed by name.
    let confirmed = StepAuthority {
        confirmed: vec![RejectCode::PossibleDuplicate],
        ..Default::default()
    };
    assert_eq!(
        e.handle(inject(Purpose::Single, 0.05, confirmed), s(12))
            .unwrap(),
        Outcome::Accepted
    );
    assert_eq!(e.ledger().unwrap().injections().len(), 2);
}

/// Issue 17: an injection recorded by mistake is voided with a reason: it leaves every
/// total, the LGE window is worked out from what is left, the technique section
/// follows, and replaying the log gives the same state.
#[test]
fn clause_3_1_4_1_a_voided_injection_leaves_the_totals_and_the_lge_window() {
    let mut e = plain();
    e.handle(
        inject(Purpose::Single, 0.1, StepAuthority::default()),
        s(10),
    )
    .unwrap();
    let window_single = e.lge().window().unwrap();
    e.handle(
        inject(Purpose::TopUp, 0.05, StepAuthority::default()),
        s(1000),
    )
    .unwrap();
    assert_ne!(e.lge().window().unwrap().reference, window_single.reference);
    // Refused: no reason; no injection at that time.
    let no_reason = ExamEvent::InjectionVoided {
        injected_at: s(1000),
        by: "tech".into(),
        reason: " ".into(),
    };
    assert!(e.handle(no_reason, s(1005)).is_err());
    let nothing = ExamEvent::InjectionVoided {
        injected_at: s(999),
        by: "tech".into(),
        reason: "typo".into(),
    };
    assert_eq!(
        e.handle(nothing, s(1006)).unwrap(),
        Outcome::Rejected(RejectCode::NothingToVoid)
    );
    assert_eq!(e.ledger().unwrap().injections().len(), 2);
    let void = ExamEvent::InjectionVoided {
        injected_at: s(1000),
        by: "tech".into(),
        reason: "recorded twice; the top-up was not given".into(),
    };
    assert_eq!(e.handle(void.clone(), s(1010)).unwrap(), Outcome::Accepted);
    let ledger = e.ledger().unwrap();
    assert_eq!(ledger.injections().len(), 1);
    assert!((ledger.cumulative_mmol_kg() - 0.1).abs() < 1e-9);
    assert_eq!(ledger.voided().len(), 1);
    assert_eq!(
        ledger.voided()[0].reason,
        "recorded twice; the top-up was not given"
    );
    assert_eq!(e.lge().window().unwrap(), window_single);
    let out = e.drain();
    assert!(
        out.iter()
            .any(|o| matches!(o.decision, Decision::LgeWindow { .. }) && o.at == s(1010)),
        "{out:?}"
    );
    // Voiding the last one: no window at all, nothing in the technique section.
    e.handle(
        ExamEvent::InjectionVoided {
            injected_at: s(10),
            by: "tech".into(),
            reason: "wrong patient's entry".into(),
        },
        s(1020),
    )
    .unwrap();
    assert!(e.lge().window().is_none());
    assert!(e.technique(s(1030)).agents.is_empty());
    // Replay of the same log rebuilds the same ledger.
    let log: Vec<LoggedEvent> = [
        (10, inject(Purpose::Single, 0.1, StepAuthority::default())),
        (1000, inject(Purpose::TopUp, 0.05, StepAuthority::default())),
        (1010, void),
    ]
    .into_iter()
    .map(|(at, event)| LoggedEvent { at: s(at), event })
    .collect();
    let mut setup = plain();
    for l in &log {
        setup.handle(l.event.clone(), l.at).unwrap();
    }
    assert_eq!(setup.ledger().unwrap().injections().len(), 1);
    assert_eq!(setup.lge().window().unwrap(), window_single);
}

/// Issue 17 (IEC 60601-1-8: the cause shown with the alarm): each vital-sign alarm
/// names its measure, value and limit; the others have no measured cause.
#[test]
fn each_vital_sign_alarm_names_its_value_and_limit() {
    use cmr_kiosk::domain::stress::{StressSettings, VitalMeasure, alarm_cause};
    let s = StressSettings::default();
    let v = Vitals {
        hr: Some(35.0),
        sbp: Some(82.0),
        spo2: Some(88.0),
        ..Default::default()
    };
    let cause = |code| alarm_cause(code, &v, &s).map(|c| (c.measure, c.value, c.limit));
    assert_eq!(
        cause(AlarmCode::SbpLow),
        Some((VitalMeasure::Sbp, 82.0, s.sbp_floor))
    );
    assert_eq!(
        cause(AlarmCode::SbpBelowStopLimit),
        Some((VitalMeasure::Sbp, 82.0, s.sbp_stop))
    );
    assert_eq!(
        cause(AlarmCode::Spo2Low),
        Some((VitalMeasure::Spo2, 88.0, s.spo2_floor))
    );
    assert_eq!(
        cause(AlarmCode::HrLow),
        Some((VitalMeasure::Hr, 35.0, s.hr_low))
    );
    for code in [
        AlarmCode::MonitorLost,
        AlarmCode::AdverseReaction,
        AlarmCode::InfusionOverdue,
        AlarmCode::ImplantConditionExceeded,
    ] {
        assert_eq!(cause(code), None);
    }
    assert_eq!(alarm_cause(AlarmCode::SbpLow, &Vitals::default(), &s), None);
}
