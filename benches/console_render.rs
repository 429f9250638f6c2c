//! The technologist console at 1280×800 drawn by the renderer the kiosk uses on this
//! machine (`ui.renderer = "auto"` picks Slint's software renderer where there is no
//! GPU render node, as here), while the chart and countdowns animate, `harness = false`
//! (`scripts/bench` runs it):
//!
//! * time from process start (and from `Shell::new`) to the first console frame;
//! * the console's 250 ms tick (`ConsoleUi::refresh`, what the kiosk's redraw timer
//!   runs) and the frame it draws, with a real stress exam's journal 5 min, 1 h, 2 h
//!   and 4 h long, and 8 h for the ceiling (a reading every 500 ms, as the live feed writes): one reading
//!   handled by the engine and logged per tick, median and p99. The tick should cost
//!   the same at 4 h as at 5 min;
//! * resident memory (VmRSS) after the 4-hour run.

use std::time::Instant as Wall;

use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest, Purpose};
use cmr_kiosk::domain::protocol::ProtocolStep;
use cmr_kiosk::domain::screening::{Patient, ScreeningAnswers, Sex};
use cmr_kiosk::domain::stress::{StressDrug, Vitals};
use cmr_kiosk::domain::time::{Duration, Instant};
use cmr_kiosk::domain::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::engine::Command;
use cmr_kiosk::engine::recorder::Recorder;
use cmr_kiosk::engine::session::{ExamSession, JournalRow};
use cmr_kiosk::gallery::screenshot::Renderer;
use cmr_kiosk::ui::components::Screen;
use cmr_kiosk::ui::console::chart::TrendIndex;
use cmr_kiosk::ui::console::view::{CHART_COLUMNS, ConsoleUi};

/// Ticks timed per journal length.
const TICKS: usize = 200;
/// Journal lengths, in seconds of exam.
const LENGTHS: [(u64, &str); 5] = [
    (300, "5 min"),
    (3600, "1 h"),
    (7200, "2 h"),
    (14_400, "4 h"),
    // Past the point where every line fills its CHART_COLUMNS: the tick's ceiling.
    (28_800, "8 h"),
];

fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn vitals(i: u64) -> ExamEvent {
    ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(64.0 + (i % 9) as f64),
            sbp: i.is_multiple_of(120).then_some(124.0 - (i % 7) as f64),
            dbp: i.is_multiple_of(120).then_some(76.0),
            spo2: Some(98.0),
            ..Default::default()
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

fn acquired(step: ProtocolStep) -> ExamEvent {
    ExamEvent::SeriesAcquired {
        step,
        params: None,
        acquisition: None,
        safety: None,
        geometry: None,
        psir: None,
    }
}

/// A stress exam `secs` long, its journal as the kiosk keeps it: registration, a
/// reading every 500 ms, stress, perfusion, LGE and a top-up.
fn long_session(secs: u64) -> (ExamSession, Instant) {
    let mut actions: Vec<(u64, &str, ExamEvent)> = vec![
        (
            0,
            "nurse",
            ExamEvent::PatientRegistered {
                patient: Patient {
                    weight_kg: 72.0,
                    height_cm: Some(170.0),
                    sex: Sex::Male,
                    age_years: 60,
                    egfr: Some(80.0),
                    egfr_date: None,
                },
            },
        ),
        (
            0,
            "nurse",
            ExamEvent::ScreeningAnswered {
                answers: ScreeningAnswers::default(),
            },
        ),
        (
            0,
            "tech",
            ExamEvent::AgentSelected {
                agent: AgentId::Gadobutrol,
            },
        ),
        (60, "tech", acquired(ProtocolStep::Localiser)),
        (200, "tech", acquired(ProtocolStep::CineSax)),
        (
            240,
            "tech",
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: None,
                authority: Default::default(),
            },
        ),
        (290, "tech", inject(Purpose::StressPerfusion)),
        (295, "tech", acquired(ProtocolStep::StressPerfusion)),
        (298, "tech", ExamEvent::StressStopped),
        (1100, "tech", inject(Purpose::RestPerfusion)),
        (1130, "tech", acquired(ProtocolStep::RestPerfusion)),
        (1500, "tech", acquired(ProtocolStep::Lge)),
        (2400, "tech", inject(Purpose::TopUp)),
        (2900, "tech", acquired(ProtocolStep::Lge)),
    ];
    actions.retain(|(at, _, _)| *at < secs);
    let mut exam = Exam::new(ProtocolSettings::default());
    let mut journal = Vec::new();
    let mut next = actions.into_iter().peekable();
    for i in 0..secs * 2 {
        let now = Instant::from_millis(i * 500);
        while next
            .peek()
            .is_some_and(|(at, _, _)| Instant::from_secs(*at) <= now)
        {
            let (_, actor, event) = next.next().expect("peeked");
            exam.handle(event.clone(), now).expect("a valid step");
            journal.push(JournalRow::Event {
                at: now,
                actor: Some(actor.into()),
                event,
            });
        }
        while let Some(due) = exam.poll_timeout().filter(|d| *d <= now) {
            exam.handle_timeout(due);
        }
        let event = vitals(i);
        exam.handle(event.clone(), now).expect("a valid reading");
        journal.push(JournalRow::Event {
            at: now,
            actor: Some("monitor".into()),
            event,
        });
        exam.drain();
    }
    let now = Instant::from_secs(secs);
    (ExamSession::preview(exam, now).with_journal(journal), now)
}

fn main() {
    let process_start = Wall::now();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.database.device_id = "bench".into();

    let shell_start = Wall::now();
    let renderer = Renderer::new(config.clone()).expect("the headless renderer starts");
    let shell = renderer.shell();
    shell.set_language(Language::ZhCn);
    shell.set_theme(ThemeName::Day);
    shell.app().set_screen(Screen::Technologist);
    let engine = shell.engine().clone();
    let wall0 = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .expect("a date");
    let wall = |now: Instant| wall0 + chrono::Duration::milliseconds(now.as_millis() as i64);

    let (session, now) = long_session(LENGTHS[0].0);
    engine
        .call(Command::Install(Some(Box::new(session))))
        .expect("the engine takes the exam");
    let mut console = ConsoleUi::default();
    console.refresh(
        shell.app(),
        shell.language_state(),
        &engine.read(),
        now,
        wall(now),
    );
    let first = renderer.render();
    let to_first_frame = shell_start.elapsed();
    let since_process = process_start.elapsed();
    assert!(first.distinct_colours() > 20, "the first frame is drawn");
    println!("console: 1280x800, software renderer (the kiosk's choice without a GPU), zh-CN day");
    println!(
        "  first frame: {:.1} ms after Shell::new began, {:.1} ms after process start",
        to_first_frame.as_secs_f64() * 1e3,
        since_process.as_secs_f64() * 1e3
    );

    let recorder = Recorder::start(&config.database, |_| {}).expect("the recorder starts");
    engine
        .call(Command::AttachRecorder(std::sync::Arc::new(recorder)))
        .expect("the engine takes the recorder");
    let mut tick_at = Vec::new();
    for (secs, label) in LENGTHS {
        let (session, mut now) = long_session(secs);
        let rows = session.journal().len();
        engine
            .call(Command::Install(Some(Box::new(session))))
            .expect("the engine takes the exam");
        // A console that has followed the exam so far (its first redraw reads the
        // whole journal once, as after a restart).
        let mut console = ConsoleUi::default();
        console.refresh(
            shell.app(),
            shell.language_state(),
            &engine.read(),
            now,
            wall(now),
        );
        let _ = renderer.render();
        let (mut tick_ms, mut frame_ms) = (Vec::new(), Vec::new());
        for i in 0..TICKS as u64 {
            now += Duration::from_millis(250);
            engine
                .call(Command::ResumeAt(now))
                .expect("the clock moves");
            if i.is_multiple_of(2) {
                engine
                    .handle(vitals(secs * 2 + i), "monitor")
                    .expect("a valid reading");
            }
            // The engine's lock first (not the tick's work), then the tick.
            let published = engine.read();
            let t = Wall::now();
            console.refresh(
                shell.app(),
                shell.language_state(),
                &published,
                now,
                wall(now),
            );
            tick_ms.push(t.elapsed().as_secs_f64() * 1e3);
            drop(published);
            let r = Wall::now();
            let frame = renderer.render();
            std::hint::black_box(frame.pixels.len());
            frame_ms.push(r.elapsed().as_secs_f64() * 1e3);
        }
        // The chart alone, from a digest of the same journal.
        let chart_ms = {
            let published = engine.read();
            let journal = published.session().expect("an exam").journal();
            let mut index = TrendIndex::default();
            index.extend(journal);
            let mut v: Vec<f64> = (0..TICKS)
                .map(|_| {
                    let t = Wall::now();
                    std::hint::black_box(index.chart(now, CHART_COLUMNS));
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            v.sort_by(f64::total_cmp);
            percentile(&v, 0.5)
        };
        println!("  {label:>5}: chart alone median {chart_ms:.3} ms");
        tick_ms.sort_by(f64::total_cmp);
        frame_ms.sort_by(f64::total_cmp);
        println!(
            "  {label:>5} ({rows:>5} rows): tick median {:.3} ms p99 {:.3} ms; frame median {:.2} ms p99 {:.2} ms",
            percentile(&tick_ms, 0.5),
            percentile(&tick_ms, 0.99),
            percentile(&frame_ms, 0.5),
            percentile(&frame_ms, 0.99)
        );
        tick_at.push((label, percentile(&tick_ms, 0.5), percentile(&frame_ms, 0.5)));
    }
    let (_, tick5, frame5) = tick_at[0];
    for (label, tick, frame) in &tick_at[1..] {
        println!(
            "@bench\tconsole tick at {label} (median)\t{tick:.3} ms\tat 5 min {tick5:.3} ms\t{:.2}×",
            tick / tick5
        );
        if *label == "4 h" {
            println!(
                "@bench\tconsole frame at 4 h (median, software)\t{frame:.2} ms\tat 5 min {frame5:.2} ms\t{:.2}×",
                frame / frame5
            );
        }
    }
    // Once blood pressure (once a minute) fills its columns, near 4 h, the points
    // drawn stop growing: 8 h against 4 h shows the ceiling.
    if let (Some(four), Some(eight)) = (
        tick_at.iter().find(|t| t.0 == "4 h"),
        tick_at.iter().find(|t| t.0 == "8 h"),
    ) {
        println!(
            "@bench\tconsole tick at 8 h against 4 h (median)\t{:.3} ms\tat 4 h {:.3} ms\t{:.2}×",
            eight.1,
            four.1,
            eight.1 / four.1
        );
    }
    match vm_rss_kib() {
        Some(kib) => println!("  resident memory (VmRSS): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  resident memory: /proc/self/status not readable"),
    }
}
