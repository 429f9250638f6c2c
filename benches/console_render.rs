//! The technologist console drawn by Slint's software renderer at 1280×800 while the
//! trend chart and the countdowns animate (plain `harness = false` bench; run with
//! `cargo bench --bench console_render`).
//!
//! * time from process start (and from `Shell::new`) to the first console frame;
//! * per frame over 200 frames: a monitor reading handled by the engine and logged, the console
//!   refreshed (chart, countdowns, alarm flash) on a simulated clock advancing 250 ms,
//!   and the whole frame rendered (median and p99);
//! * resident memory (VmRSS) after the run.

use std::time::Instant as Wall;

use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::domain::ExamEvent;
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::{Duration, Instant};
use cmr_kiosk::engine::Command;
use cmr_kiosk::engine::recorder::Recorder;
use cmr_kiosk::gallery::console::preview_session;
use cmr_kiosk::gallery::screenshot::Renderer;
use cmr_kiosk::ui::components::Screen;
use cmr_kiosk::ui::console::view::ConsoleUi;

const FRAMES: usize = 200;

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
    let (session, mut now) = preview_session("stress").expect("the stress preview");
    let engine = shell.engine().clone();
    engine
        .call(Command::Install(Some(Box::new(session))))
        .expect("the engine takes the preview");
    let mut console = ConsoleUi::default();
    let wall0 = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .and_then(|d| d.and_hms_opt(9, 30, 0))
        .expect("a date");
    let wall = |now: Instant| wall0 + chrono::Duration::milliseconds(now.as_millis() as i64);
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

    let recorder = Recorder::start(&config.database, |_| {}).expect("the recorder starts");
    engine
        .call(Command::AttachRecorder(std::sync::Arc::new(recorder)))
        .expect("the engine takes the recorder");
    let mut frame_ms = Vec::with_capacity(FRAMES);
    let mut render_ms = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        now += Duration::from_millis(250);
        engine
            .call(Command::ResumeAt(now))
            .expect("the clock moves");
        let t = Wall::now();
        // One HR reading per frame (4 Hz, faster than a monitor sends), NIBP every 60 s.
        let hr = 72.0 + (i % 20) as f64 * 0.5;
        let sbp = (i % 240 == 0).then_some(118.0 - (i / 240) as f64);
        let vitals = Vitals {
            hr: Some(hr),
            sbp,
            dbp: sbp.map(|s| s * 0.62),
            ..Default::default()
        };
        engine
            .handle(ExamEvent::VitalsReading { vitals }, "monitor")
            .expect("a valid reading");
        console.refresh(
            shell.app(),
            shell.language_state(),
            &engine.read(),
            now,
            wall(now),
        );
        let r = Wall::now();
        let frame = renderer.render();
        std::hint::black_box(frame.pixels.len());
        render_ms.push(r.elapsed().as_secs_f64() * 1e3);
        frame_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    frame_ms.sort_by(f64::total_cmp);
    render_ms.sort_by(f64::total_cmp);
    println!(
        "console_render: 1280x800, software renderer, {FRAMES} frames, chart + countdowns animating"
    );
    println!(
        "  first frame: {:.1} ms after Shell::new began, {:.1} ms after process start",
        to_first_frame.as_secs_f64() * 1e3,
        since_process.as_secs_f64() * 1e3
    );
    println!(
        "  per frame (reading + refresh + render): median {:.2} ms, p99 {:.2} ms",
        percentile(&frame_ms, 0.5),
        percentile(&frame_ms, 0.99)
    );
    println!(
        "  render only: median {:.2} ms, p99 {:.2} ms",
        percentile(&render_ms, 0.5),
        percentile(&render_ms, 0.99)
    );
    match vm_rss_kib() {
        Some(kib) => println!("  resident memory (VmRSS): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  resident memory: /proc/self/status not readable"),
    }
}
