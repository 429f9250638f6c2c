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

/// A 2-hour adenosine stress exam on a clock that always moves: a reading every
/// 500 ms (the live feed's rate) through baseline, infusion, perfusion, stop,
/// recovery, rest perfusion, the LGE window and a top-up, with every timer handled
/// when it falls due. Each reading's `handle` + `drain` (and any timers due) is
/// timed on its own: median, p99, max, per phase.
fn every_phase() {
    let mut e = registered();
    let steps = phase_actions();
    let mut next = steps.iter().peekable();
    let mut phase = "baseline";
    let mut by_phase: Vec<(&str, Vec<u64>)> = vec![(phase, Vec::new())];
    let mut outputs = 0usize;
    let readings: u64 = 2 * 7200;
    for i in 0..readings {
        let now = Instant::from_millis(i * 500);
        while let Some((at, name, _)) = next.peek() {
            if Instant::from_secs(*at) > now {
                break;
            }
            let (_, name2, ev) = next.next().unwrap();
            debug_assert_eq!(name, name2);
            e.handle(ev.clone(), now).unwrap();
            outputs += e.drain().len();
            if *name2 != phase {
                phase = name2;
                by_phase.push((phase, Vec::new()));
            }
        }
        let t = Wall::now();
        while let Some(due) = e.poll_timeout() {
            if due > now {
                break;
            }
            e.handle_timeout(due);
        }
        e.handle(black_box(vitals(i)), now).unwrap();
        outputs += e.drain().len();
        let ns = t.elapsed().as_nanos() as u64;
        if let Some((_, v)) = by_phase.last_mut() {
            v.push(ns);
        }
    }
    black_box(outputs);
    let mut all: Vec<u64> = Vec::new();
    println!("domain, 2-hour stress exam, a reading every 500 ms, clock always moving:");
    for (name, mut v) in by_phase {
        all.extend(&v);
        v.sort_unstable();
        if v.is_empty() {
            continue;
        }
        println!(
            "  {name:<18} n={:>5} median {:>7} ns p99 {:>7} ns max {:>8} ns",
            v.len(),
            v[v.len() / 2],
            v[(v.len() - 1) * 99 / 100],
            v[v.len() - 1]
        );
    }
    all.sort_unstable();
    let p99 = all[(all.len() - 1) * 99 / 100];
    println!(
        "@bench\tdomain: reading handled, p99 over every phase\t{:.1} µs\ttarget 1000 µs\t{:.4}×",
        p99 as f64 / 1e3,
        p99 as f64 / 1e6
    );
}

/// The actions of [`every_phase`]: (exam second, phase it starts, event).
fn phase_actions() -> Vec<(u64, &'static str, ExamEvent)> {
    let acquired = |step| ExamEvent::SeriesAcquired {
        step,
        params: None,
        acquisition: None,
        safety: None,
        geometry: None,
        psir: None,
    };
    vec![
        (60, "baseline", acquired(ProtocolStep::Localiser)),
        (600, "baseline", acquired(ProtocolStep::CineSax)),
        (
            1200,
            "infusion",
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: None,
                authority: Default::default(),
            },
        ),
        (1440, "stress perfusion", inject(Purpose::StressPerfusion)),
        (
            1450,
            "stress perfusion",
            acquired(ProtocolStep::StressPerfusion),
        ),
        (1455, "recovery", ExamEvent::StressStopped),
        (2100, "rest perfusion", inject(Purpose::RestPerfusion)),
        (
            2130,
            "rest perfusion",
            acquired(ProtocolStep::RestPerfusion),
        ),
        (2200, "LGE window", acquired(ProtocolStep::CineLvot)),
        (2500, "LGE window", acquired(ProtocolStep::Lge)),
        (3000, "top-up", inject(Purpose::TopUp)),
        (3400, "late LGE", acquired(ProtocolStep::Lge)),
    ]
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
    every_phase();

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
