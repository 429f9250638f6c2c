//! Property tests: the contrast ledger's arithmetic and invariants, the infusion
//! formula, and the exam aggregate's time order under arbitrary inputs.

use cmr_kiosk::domain::contrast::{
    AgentCatalogue, AgentId, Amount, ContrastLedger, ContrastSettings, InjectError,
    InjectionMethod, InjectionRequest, Purpose, dose_to_volume_ml, volume_to_dose_mmol_kg,
};
use cmr_kiosk::domain::exam::{Exam, ExamEvent, Outcome, ProtocolSettings};
use cmr_kiosk::domain::output::{Decision, StressImagingReason};
use cmr_kiosk::domain::screening::{Patient, ScreeningAnswers, Sex};
use cmr_kiosk::domain::stress::{
    StressDose, StressDrug, StressProtocol, StressSettings, Vitals, infusion_rate_ml_h,
};
use cmr_kiosk::domain::time::Instant;
use proptest::prelude::*;

fn agent_id() -> impl Strategy<Value = AgentId> {
    prop_oneof![
        Just(AgentId::Gadobutrol),
        Just(AgentId::Gadoterate),
        Just(AgentId::Gadoteridol),
        Just(AgentId::Gadobenate),
        Just(AgentId::Gadopentetate),
        Just(AgentId::Gadodiamide),
    ]
}

fn purpose() -> impl Strategy<Value = Purpose> {
    prop_oneof![
        Just(Purpose::StressPerfusion),
        Just(Purpose::RestPerfusion),
        Just(Purpose::Single),
        Just(Purpose::TopUp),
    ]
}

/// Amounts including impossible ones (negative, zero, NaN, infinite).
fn amount() -> impl Strategy<Value = Amount> {
    let num = prop_oneof![
        8 => 0.001f64..0.3,
        1 => Just(0.0),
        1 => -1.0f64..0.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ];
    let vol = prop_oneof![8 => 0.1f64..40.0, 1 => -10.0f64..0.0, 1 => Just(f64::NAN)];
    prop_oneof![
        num.prop_map(Amount::DoseMmolKg),
        vol.prop_map(Amount::VolumeMl)
    ]
}

fn request() -> impl Strategy<Value = InjectionRequest> {
    (
        amount(),
        prop_oneof![9 => 0.5f64..10.0, 1 => Just(-1.0), 1 => Just(f64::NAN)],
        prop_oneof![9 => 0.0f64..40.0, 1 => Just(-5.0)],
        purpose(),
    )
        .prop_map(|(amount, rate_ml_s, flush_ml, purpose)| InjectionRequest {
            amount,
            rate_ml_s,
            flush_ml,
            purpose,
            method: InjectionMethod::PowerInjector,
            authority: Default::default(),
        })
}

proptest! {
    #[test]
    fn cumulative_is_the_sum_of_accepted_injections_and_refusals_change_nothing(
        weight in 1.0f64..350.0,
        id in agent_id(),
        reqs in prop::collection::vec(request(), 0..25),
    ) {
        let agent = AgentCatalogue::default().get(id).unwrap().clone();
        let mut ledger = ContrastLedger::new(weight, ContrastSettings::default()).unwrap();
        let mut accepted_mmol = 0.0;
        let mut accepted_ml = 0.0;
        let mut n = 0;
        for (i, r) in reqs.iter().enumerate() {
            let before = ledger.clone();
            match ledger.inject(&agent, r, Instant::from_secs(i as u64 * 60)) {
                Ok(a) => {
                    n += 1;
                    accepted_mmol += a.injection.mmol;
                    accepted_ml += a.injection.volume_ml;
                    prop_assert!(a.injection.volume_ml > 0.0 && a.injection.volume_ml.is_finite());
                }
                Err(InjectError::Invalid(e)) => {
                    prop_assert_eq!(&ledger, &before);
                    prop_assert!(!e.to_string().is_empty());
                }
                Err(InjectError::Refused(_)) => {
                    prop_assert_eq!(&ledger, &before);
                    prop_assert_eq!(r.purpose, Purpose::TopUp);
                }
            }
        }
        prop_assert_eq!(ledger.injections().len(), n);
        prop_assert!((ledger.cumulative_mmol() - accepted_mmol).abs() < 1e-9);
        prop_assert!((ledger.cumulative_ml() - accepted_ml).abs() < 1e-9);
        prop_assert!((ledger.cumulative_mmol_kg() - accepted_mmol / weight).abs() < 1e-12);
        let sum_kg: f64 = ledger.injections().iter().map(|i| i.mmol_kg).sum();
        prop_assert!((ledger.cumulative_mmol_kg() - sum_kg).abs() < 1e-9);
    }

    #[test]
    fn volume_and_dose_convert_both_ways(
        weight in 1.0f64..350.0,
        id in agent_id(),
        dose in 0.001f64..0.3,
    ) {
        let c = AgentCatalogue::default().get(id).unwrap().mmol_per_ml;
        let v = dose_to_volume_ml(dose, weight, c);
        let back = volume_to_dose_mmol_kg(v, weight, c);
        prop_assert!((back - dose).abs() <= 1e-12 * dose.max(1.0));
        // A ledger given the volume records the same dose as one given the dose.
        let agent = AgentCatalogue::default().get(id).unwrap().clone();
        let mut a = ContrastLedger::new(weight, ContrastSettings::default()).unwrap();
        let mut b = a.clone();
        let r = |amount| InjectionRequest { amount, rate_ml_s: 4.0, flush_ml: 25.0, purpose: Purpose::Single, method: InjectionMethod::Hand, authority: Default::default(), };
        let ia = a.inject(&agent, &r(Amount::DoseMmolKg(dose)), Instant::ZERO).unwrap().injection;
        let ib = b.inject(&agent, &r(Amount::VolumeMl(v)), Instant::ZERO).unwrap().injection;
        prop_assert!((ia.mmol - ib.mmol).abs() < 1e-9);
        prop_assert!((ia.volume_ml - ib.volume_ml).abs() < 1e-9);
    }

    #[test]
    fn infusion_rate_formula(
        dose in 50.0f64..300.0,
        weight in 1.0f64..350.0,
        conc in 100.0f64..6000.0,
    ) {
        let r = infusion_rate_ml_h(dose, weight, conc);
        prop_assert!((r * conc / (weight * 60.0) - dose).abs() < 1e-9 * dose);
        prop_assert!((infusion_rate_ml_h(dose * 1.5, weight, conc) - 1.5 * r).abs() < 1e-9 * r);
        prop_assert!((infusion_rate_ml_h(dose, weight * 2.0, conc) - 2.0 * r).abs() < 1e-9 * r);
    }

    #[test]
    fn unresponsive_stress_falls_due_exactly_240_s_after_start(
        start_ms in 0u64..10_000_000,
        hr in 40.0f64..120.0,
        sbp in 90.0f64..200.0,
        drift in -9.0f64..9.0,
    ) {
        let mut p = StressProtocol::new(StressSettings::default(), 70.0);
        p.vitals(&Vitals { hr: Some(hr), sbp: Some(sbp), ..Default::default() }, Instant::ZERO);
        let start = Instant::from_millis(start_ms);
        p.start(StressDrug::Adenosine, StressDose::UgKgMin(140.0), start).unwrap();
        p.vitals(&Vitals { hr: Some(hr + drift), sbp: Some(sbp + drift.abs() - 9.0 + 0.5), ..Default::default() }, start);
        let due = Instant::from_millis(start_ms + 240_000);
        prop_assert_eq!(p.poll_timeout(), Some(due));
        p.handle_timeout(Instant::from_millis(start_ms + 1_000_000));
        let fired: Vec<_> = std::iter::from_fn(|| p.poll())
            .filter(|o| matches!(o.decision, Decision::StressImagingDue { .. }))
            .collect();
        prop_assert_eq!(fired.len(), 1);
        prop_assert_eq!(fired[0].at, due);
        prop_assert_eq!(&fired[0].decision, &Decision::StressImagingDue { reason: StressImagingReason::MaxDuration });
    }
}

#[derive(Debug, Clone)]
enum Step {
    Vitals(Option<f64>, Option<f64>),
    Start(bool),
    Stop,
    Inject(InjectionRequest),
    Acquired(u8),
    Lost,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (prop::option::of(40.0f64..150.0), prop::option::of(60.0f64..180.0)).prop_map(|(h, s)| Step::Vitals(h, s)),
        1 => any::<bool>().prop_map(Step::Start),
        1 => Just(Step::Stop),
        2 => request().prop_map(Step::Inject),
        1 => (0u8..4).prop_map(Step::Acquired),
        1 => Just(Step::Lost),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn exam_never_panics_outputs_are_time_ordered_and_refusals_change_no_ledger(
        weight in 1.0f64..350.0,
        egfr in 10.0f64..120.0,
        steps in prop::collection::vec((0u64..120_000, step()), 0..60),
    ) {
        let mut exam = Exam::new(ProtocolSettings::default());
        let patient = Patient { weight_kg: weight, height_cm: None, sex: Sex::Male, age_years: 50, egfr: Some(egfr), egfr_date: None };
        exam.handle(ExamEvent::PatientRegistered { patient }, Instant::ZERO).unwrap();
        exam.handle(ExamEvent::ScreeningAnswered { answers: ScreeningAnswers::default() }, Instant::ZERO).unwrap();
        exam.handle(ExamEvent::AgentSelected { agent: AgentId::Gadobutrol }, Instant::ZERO).unwrap();
        let mut now = 0u64;
        let mut outputs = exam.drain();
        for (dt, st) in steps {
            now += dt;
            let ev = match st {
                Step::Vitals(hr, sbp) => ExamEvent::VitalsReading { vitals: Vitals { hr, sbp, ..Default::default() } },
                Step::Start(adenosine) => ExamEvent::StressStarted {
                    drug: if adenosine { StressDrug::Adenosine } else { StressDrug::Regadenoson },
                    dose: None, authority: Default::default(), },
                Step::Stop => ExamEvent::StressStopped,
                Step::Inject(r) => ExamEvent::Injected(r),
                Step::Acquired(k) => ExamEvent::SeriesAcquired {
                    step: [
                        cmr_kiosk::domain::protocol::ProtocolStep::StressPerfusion,
                        cmr_kiosk::domain::protocol::ProtocolStep::RestPerfusion,
                        cmr_kiosk::domain::protocol::ProtocolStep::Lge,
                        cmr_kiosk::domain::protocol::ProtocolStep::CineSax,
                    ][k as usize],
                    params: None,
                    acquisition: None, safety: None, geometry: None, psir: None },
                Step::Lost => ExamEvent::MonitorDataLost,
            };
            let before = exam.ledger().cloned();
            match exam.handle(ev, Instant::from_millis(now)) {
                Ok(Outcome::Accepted) => {}
                Ok(Outcome::Rejected(_)) | Err(_) => prop_assert_eq!(exam.ledger().cloned(), before),
            }
            outputs.extend(exam.drain());
        }
        prop_assert!(outputs.windows(2).all(|w| w[0].at <= w[1].at));
        prop_assert!(outputs.iter().all(|o| o.at <= Instant::from_millis(now)));
    }
}
