//! Monitor frame to exam engine, through the kiosk's real path (`harness = false`;
//! run with `cargo bench --bench engine`):
//!
//! pseudo-terminal → the serial port opened by the kiosk's monitor feed (tokio-serial)
//! → MLLP codec and HL7 parser → link → engine thread → domain (and the row queued to
//! the recorder on an SQLite file).
//!
//! * frame → domain: from the moment the frame's last byte has been written into the
//!   pty to the moment the engine had handled its first reading (median, p99, max);
//! * frame → screen: from the same moment to the end of the first console redraw that
//!   shows the new heart rate, with the console's 250 ms redraw timer (its ticks laid
//!   on a fixed grid as the kiosk's `slint::Timer` lays them).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use cmr_kiosk::config::{Config, MonitorProtocol, MonitorSource};
use cmr_kiosk::domain::ExamEvent;
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::engine::Command;
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::monitor::hl7::MllpCodec;
use cmr_kiosk::monitor::sim;
use cmr_kiosk::ui::components::ConsoleAdapter;
use cmr_kiosk::ui::shell::Shell;
use slint::ComponentHandle;
use tokio_util::codec::Encoder;

/// Frames timed to the domain.
const FRAMES: usize = 1000;
/// Frames timed to the screen (each waits for a redraw).
const SCREEN_FRAMES: usize = 120;
/// The console's redraw period (`Shell::start_console`).
const REDRAW: Duration = Duration::from_millis(250);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name:<34} n={} median {:?} p99 {:?} max {:?}",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or_default()
    );
}

fn frame(index: u64, hr: f64) -> Vec<u8> {
    let wall = NaiveDate::from_ymd_opt(2026, 12, 2)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("a date");
    let vitals = sim::Vitals {
        hr,
        spo2: 98.0,
        sys: 120.0,
        dia: 75.0,
        mean: 90.0,
    };
    let msg = sim::hl7_message_of(index, &vitals, wall, None);
    let mut out = bytes::BytesMut::new();
    MllpCodec::new()
        .encode(msg.as_bytes(), &mut out)
        .expect("encode");
    out.to_vec()
}

fn main() {
    i_slint_backend_testing::init_no_event_loop();
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let mut raw = nix::sys::termios::tcgetattr(pty.slave.as_fd()).expect("termios");
    nix::sys::termios::cfmakeraw(&mut raw);
    nix::sys::termios::tcsetattr(pty.slave.as_fd(), nix::sys::termios::SetArg::TCSANOW, &raw)
        .expect("raw mode");
    let port = nix::unistd::ttyname(pty.slave.as_fd()).expect("the pty's name");
    let mut monitor = std::fs::File::from(pty.master);
    // The kiosk's ACKs are read and dropped, as a monitor would.
    let mut acks = monitor.try_clone().expect("a second handle");
    std::thread::spawn(move || {
        let mut sink = [0u8; 4096];
        while matches!(acks.read(&mut sink), Ok(k) if k > 0) {}
    });

    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.database.device_id = "bench".into();
    config.monitor.source = MonitorSource::Serial;
    config.monitor.protocol = MonitorProtocol::Hl7;
    config.monitor.port = port.display().to_string();
    config.monitor.baud = 115_200;
    let loc = Rc::new(Localizer::embedded().expect("locales"));
    let mut shell = Shell::new(config, loc).expect("the shell");
    shell.start_recorder().expect("the recorder");
    shell.start_monitor().expect("the monitor feed");
    shell.start_console();
    let engine = shell.engine().clone();
    engine
        .call(Command::Open {
            settings: Default::default(),
            actor: "bench".into(),
            record: serde_json::json!({}),
        })
        .expect("an exam opens");
    engine
        .handle(
            ExamEvent::PatientRegistered {
                patient: Patient {
                    weight_kg: 70.0,
                    height_cm: Some(172.0),
                    sex: Sex::Male,
                    age_years: 61,
                    egfr: Some(82.0),
                    egfr_date: None,
                },
            },
            "bench",
        )
        .expect("registered");

    // Wait for the feed to open the port: the first frame's reading reaches the engine.
    let first = engine.read().readings_handled();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut i = 0u64;
    while engine.read().readings_handled() == first {
        assert!(Instant::now() < deadline, "the kiosk reads the pty");
        monitor.write_all(&frame(i, 70.0)).expect("write");
        i += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(300));

    let mut to_domain = Vec::with_capacity(FRAMES);
    for n in 0..FRAMES {
        let before = engine.read().readings_handled();
        let bytes = frame(i + n as u64, 60.0 + (n % 50) as f64);
        monitor.write_all(&bytes).expect("write");
        let written = Instant::now();
        // HR and SpO2: two readings per frame.
        let handled = loop {
            {
                let published = engine.read();
                if published.readings_handled() >= before + 2 {
                    // The frame's first reading (HR), read once both are in.
                    let n = published.handled_readings().count();
                    let first = published.handled_readings().nth(n - 2);
                    break first.expect("two readings").handled;
                }
            }
            // The instant measured is the engine's own; polling only costs a short lock.
            std::thread::sleep(Duration::from_micros(200));
        };
        to_domain.push(handled.saturating_duration_since(written));
        std::thread::sleep(Duration::from_millis(5));
    }
    i += FRAMES as u64;

    let a = shell.app().global::<ConsoleAdapter>();
    let grid = Instant::now();
    let mut to_screen = Vec::with_capacity(SCREEN_FRAMES);
    for n in 0..SCREEN_FRAMES {
        let hr = 100 + (n % 2) as u64; // alternates, so every frame changes the strip
        // Frames arrive at any point between two redraws.
        std::thread::sleep(Duration::from_millis(37 + (n as u64 * 53) % 200));
        monitor
            .write_all(&frame(i + n as u64, hr as f64))
            .expect("write");
        let written = Instant::now();
        let shown = loop {
            let since = grid.elapsed().as_nanos() / REDRAW.as_nanos();
            let next = grid + REDRAW * (since as u32 + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            shell.console_tick();
            if a.get_hr().as_str() == hr.to_string() {
                break Instant::now();
            }
        };
        to_screen.push(shown.saturating_duration_since(written));
    }

    println!("engine: HL7 over a pty, real feed, engine and recorder (SQLite)");
    report("frame → domain (engine)", to_domain);
    report("frame → screen (250 ms redraw)", to_screen);
    let published = engine.read();
    let received_to_handled: Vec<Duration> = published
        .handled_readings()
        .map(|h| h.handled.saturating_duration_since(h.received))
        .collect();
    report("link receive → domain", received_to_handled);
    println!(
        "  readings dropped at the engine: {}",
        published.readings_dropped()
    );
}
