//! Cost of the clinical core's decisions (plain `harness = false` bench).
//!
//! * one `Exam::handle(VitalsReading, now)` during an adenosine infusion,
//!   including draining its outputs;
//! * a 90-minute exam: vitals every second plus every action of a stress/rest
//!   exam, driven directly and through the scenario simulator (JSON in, lines out).

use std::hint::black_box;
use std::time::Instant as Wall;

use cmr_kiosk::cli::simulate::run_scenario;
use cmr_kiosk::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest, Purpose};
use cmr_kiosk::domain::exam::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::domain::protocol::ProtocolStep;
use cmr_kiosk::domain::screening::{Patient, ScreeningAnswers, Sex};
use cmr_kiosk::domain::stress::{StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;

fn registered() -> Exam {
    let mut e = Exam::new(ProtocolSettings::default());
    let patient = Patient {
        weight_kg: 72.0,
        height_cm: Some(170.0),
        sex: Sex::Male,
        age_years: 60,
        egfr: Some(80.0),
        egfr_date: None,
    };
    e.handle(ExamEvent::PatientRegistered { patient }, Instant::ZERO)
        .unwrap();
    e.handle(
        ExamEvent::ScreeningAnswered {
            answers: ScreeningAnswers::default(),
        },
        Instant::ZERO,
    )
    .unwrap();
    e.handle(
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
        Instant::ZERO,
    )
    .unwrap();
    e.drain();
    e
}

fn vitals(i: u64) -> ExamEvent {
    ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(64.0 + (i % 7) as f64),
            sbp: Some(126.0 - (i % 5) as f64),
            dbp: Some(78.0),
            map: None,
            spo2: Some(98.0),
        },
    }
}

fn inject(purpose: Purpose) -> ExamEvent {
    ExamEvent::Injected(InjectionRequest {
        amount: Amount::DoseMmolKg(0.05),
        rate_ml_s: 4.0,
        flush_ml: 25.0,
        purpose,
        method: InjectionMethod::PowerInjector,
        authority: Default::default(),
    })
}

fn one_decision() {
    let mut e = registered();
    e.handle(vitals(0), Instant::from_secs(1)).unwrap();
    e.handle(
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        },
        Instant::from_secs(2),
    )
    .unwrap();
    let n: u64 = 2_000_000;
    let t0 = Wall::now();
    let mut outputs = 0usize;
    for i in 0..n {
        // One reading per millisecond; stays within the 240 s infusion window.
        let now = Instant::from_millis(2_000 + (i % 200_000));
        let now = now.max(e.now());
        e.handle(black_box(vitals(i)), now).unwrap();
        outputs += e.drain().len();
    }
    let dt = t0.elapsed();
    black_box(outputs);
    println!(
        "handle(vitals, now) during infusion: {:.1} ns/op over {n} ops",
        dt.as_nanos() as f64 / n as f64
    );
}

fn ninety_minutes_direct() -> (usize, std::time::Duration) {
    let t0 = Wall::now();
    let mut e = registered();
    let mut outputs = 0usize;
    let actions: Vec<(u64, ExamEvent)> = vec![
        (
            60,
            ExamEvent::SeriesAcquired {
                step: ProtocolStep::Localiser,
                params: None,
                acquisition: None,
                safety: None,
                geometry: None,
                psir: None,
            },
        ),
        (
            600,
            ExamEvent::SeriesAcquired {
                step: ProtocolStep::CineSax,
                params: None,
                acquisition: None,
                safety: None,
                geometry: None,
                psir: None,
            },
        ),
        (
            1200,
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: None,
                authority: Default::default(),
            },
        ),
        (1400, inject(Purpose::StressPerfusion)),
        (
            1430,
            ExamEvent::SeriesAcquired {
                step: ProtocolStep::StressPerfusion,
                params: None,
                acquisition: None,
                safety: None,
                geometry: None,
                psir: None,
            },
        ),
        (1435, ExamEvent::StressStopped),
        (2100, inject(Purpose::RestPerfusion)),
        (
            2130,
            ExamEvent::SeriesAcquired {
                step: ProtocolStep::RestPerfusion,
                params: None,
                acquisition: None,
                safety: None,
                geometry: None,
                psir: None,
            },
        ),
        (
            2500,
            ExamEvent::SeriesAcquired {
                step: ProtocolStep::Lge,
                params: None,
                acquisition: None,
                safety: None,
                geometry: None,
                psir: None,
            },
        ),
        (3000, inject(Purpose::TopUp)),
        (
            3400,
            ExamEvent::SeriesAcquired {
                step: ProtocolStep::Lge,
                params: None,
                acquisition: None,
                safety: None,
                geometry: None,
                psir: None,
            },
        ),
    ];
    let mut next = actions.into_iter().peekable();
    for sec in 0..=5400u64 {
        let now = Instant::from_secs(sec);
        e.handle(vitals(sec), now).unwrap();
        while let Some((at, _)) = next.peek() {
            if *at != sec {
                break;
            }
            let (_, ev) = next.next().unwrap();
            e.handle(ev, now).unwrap();
        }
        outputs += e.drain().len();
    }
    black_box(e.technique(Instant::from_secs(5400)));
    (outputs, t0.elapsed())
}

fn ninety_minutes_scenario_json() -> String {
    let mut steps = Vec::new();
    let actions = [
        (60, r#""action": "acquired", "series": "localiser""#),
        (600, r#""action": "acquired", "series": "cine_sax""#),
        (
            1200,
            r#""action": "start_stress", "drug": "adenosine", "dose_ug_kg_min": 140"#,
        ),
        (
            1400,
            r#""action": "inject", "dose_mmol_kg": 0.05, "rate_ml_s": 4, "flush_ml": 25, "purpose": "stress_perfusion""#,
        ),
        (
            1430,
            r#""action": "acquired", "series": "stress_perfusion""#,
        ),
        (1435, r#""action": "stop_stress""#),
        (
            2100,
            r#""action": "inject", "dose_mmol_kg": 0.05, "rate_ml_s": 4, "flush_ml": 25, "purpose": "rest_perfusion""#,
        ),
        (2130, r#""action": "acquired", "series": "rest_perfusion""#),
        (2500, r#""action": "acquired", "series": "lge""#),
        (
            3000,
            r#""action": "inject", "dose_mmol_kg": 0.05, "rate_ml_s": 4, "flush_ml": 25, "purpose": "top_up""#,
        ),
        (3400, r#""action": "acquired", "series": "lge""#),
    ];
    for sec in 0..=5400u64 {
        steps.push(format!(
            r#"{{"at": {sec}, "vitals": {{"hr": {}, "sbp": {}, "spo2": 98}}}}"#,
            64 + sec % 7,
            126 - sec % 5
        ));
        for (at, a) in &actions {
            if *at == sec {
                steps.push(format!(r#"{{"at": {sec}, {a}}}"#));
            }
        }
    }
    format!(
        r#"{{"patient": {{"weight_kg": 72, "sex": "male", "age": 60, "egfr": 80}}, "agent": "gadobutrol", "steps": [{}]}}"#,
        steps.join(",\n")
    )
}

fn main() {
    one_decision();

    let runs = 20;
    let mut best = std::time::Duration::MAX;
    let mut outputs = 0;
    for _ in 0..runs {
        let (n, dt) = ninety_minutes_direct();
        outputs = n;
        best = best.min(dt);
    }
    println!(
        "90-minute exam, Exam driven directly (5401 vitals + 11 actions, {outputs} outputs): best {:.3} ms of {runs}",
        best.as_secs_f64() * 1e3
    );

    let json = ninety_minutes_scenario_json();
    let mut best = std::time::Duration::MAX;
    let mut lines = 0;
    for _ in 0..runs {
        let t0 = Wall::now();
        let out = run_scenario(black_box(&json)).unwrap();
        best = best.min(t0.elapsed());
        lines = out.len();
    }
    println!(
        "90-minute exam through the simulator (JSON {} KiB in, {lines} lines out): best {:.3} ms of {runs}",
        json.len() / 1024,
        best.as_secs_f64() * 1e3
    );
}
