//! Monitor frame to exam engine, through the kiosk's real path (`harness = false`;
//! run with `cargo bench --bench engine`):
//!
//! pseudo-terminal → the serial port opened by the kiosk's monitor feed (tokio-serial)
//! → MLLP codec and HL7 parser → link → engine thread → domain (and the row queued to
//! the recorder on an SQLite file).
//!
//! * frame → domain: from the moment just before the frame is written into the pty —
//!   stamped by a separate writer process (this bench re-run as a child, its stdout
//!   the pty's master) on the shared monotonic clock, then one `write(2)` — to the
//!   moment the engine had handled its first reading in the domain (median, p99, max);
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

/// The shared monotonic clock (CLOCK_MONOTONIC, as `std::time::Instant`), in ns.
fn mono_ns() -> i128 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("the clock");
    t.tv_sec() as i128 * 1_000_000_000 + t.tv_nsec() as i128
}

/// The writer process: reads "index hr" lines on stdin; for each, builds the frame,
/// stamps the clock, writes the frame with one `write(2)` to its stdout (the pty's
/// master) and reports "index stamp_ns" on stderr.
fn writer() {
    use std::io::BufRead;
    let mut pty = std::fs::File::from(
        std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .expect("stdout's descriptor"),
    );
    let mut report = std::io::stderr();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut parts = line.split_whitespace();
        let (Some(i), Some(hr)) = (
            parts.next().and_then(|x| x.parse::<u64>().ok()),
            parts.next().and_then(|x| x.parse::<f64>().ok()),
        ) else {
            break;
        };
        let bytes = frame(i, hr);
        let stamp = mono_ns();
        pty.write_all(&bytes).expect("write into the pty");
        writeln!(report, "{i} {stamp}").expect("report");
    }
}

/// The writer child and its stamps.
struct Writer {
    child: std::process::Child,
    stamps: std::io::BufReader<std::process::ChildStderr>,
}

impl Writer {
    fn spawn(master: std::os::fd::OwnedFd) -> Writer {
        let mut child = std::process::Command::new(std::env::current_exe().expect("this bench"))
            .env("CMR_BENCH_WRITER", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::from(master))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the writer process");
        let stamps = std::io::BufReader::new(child.stderr.take().expect("its stderr"));
        Writer { child, stamps }
    }

    /// Has frame `i` written; returns its stamp (ns on the monotonic clock).
    fn send(&mut self, i: u64, hr: f64) -> i128 {
        use std::io::BufRead;
        let stdin = self.child.stdin.as_mut().expect("its stdin");
        writeln!(stdin, "{i} {hr}").expect("to the writer");
        stdin.flush().expect("to the writer");
        let mut line = String::new();
        self.stamps.read_line(&mut line).expect("a stamp");
        line.split_whitespace()
            .nth(1)
            .and_then(|x| x.parse().ok())
            .expect("a stamp")
    }
}

fn main() {
    if std::env::var_os("CMR_BENCH_WRITER").is_some() {
        writer();
        return;
    }
    i_slint_backend_testing::init_no_event_loop();
    // std's Instant is CLOCK_MONOTONIC: one reading of both maps an Instant to ns.
    let (origin, origin_ns) = (Instant::now(), mono_ns());
    let ns_of = |t: Instant| origin_ns + t.saturating_duration_since(origin).as_nanos() as i128;
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let mut raw = nix::sys::termios::tcgetattr(pty.slave.as_fd()).expect("termios");
    nix::sys::termios::cfmakeraw(&mut raw);
    nix::sys::termios::tcsetattr(pty.slave.as_fd(), nix::sys::termios::SetArg::TCSANOW, &raw)
        .expect("raw mode");
    let port = nix::unistd::ttyname(pty.slave.as_fd()).expect("the pty's name");
    let monitor = std::fs::File::from(pty.master);
    let mut writer = Writer::spawn(
        monitor
            .as_fd()
            .try_clone_to_owned()
            .expect("a handle for the writer"),
    );
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
        writer.send(i, 70.0);
        i += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(300));

    let mut to_domain = Vec::with_capacity(FRAMES);
    for n in 0..FRAMES {
        let before = engine.read().readings_handled();
        let stamp = writer.send(i + n as u64, 60.0 + (n % 50) as f64);
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
        to_domain.push(Duration::from_nanos((ns_of(handled) - stamp).max(0) as u64));
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
        let stamp = writer.send(i + n as u64, hr as f64);
        let shown = loop {
            let since = grid.elapsed().as_nanos() / REDRAW.as_nanos();
            let next = grid + REDRAW * (since as u32 + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            shell.console_tick();
            if a.get_hr().as_str() == hr.to_string() {
                break Instant::now();
            }
        };
        to_screen.push(Duration::from_nanos((ns_of(shown) - stamp).max(0) as u64));
    }

    println!("engine: HL7 over a pty, real feed, engine and recorder (SQLite)");
    let mut sorted = to_domain.clone();
    sorted.sort();
    let p99 = percentile(&sorted, 0.99);
    println!(
        "@bench\tmonitor frame → domain p99 (pty, writer process)\t{:.3} ms\ttarget 1 ms\t{:.2}×",
        p99.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
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
