//! The service manager's keep-alive and the data disk (issue 16), at the exam
//! engine: systemd's notification protocol received on a socket the test listens on
//! (CI has no systemd), a hung engine going silent, and the low-disk alarm.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use cmr_kiosk::config::Config;
use cmr_kiosk::engine::notify::{NotifyTarget, Watchdog};
use cmr_kiosk::engine::{Command, Engine};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::service::disk::{DISK_CRITICAL_BYTES, DISK_LOW_BYTES, DiskLevel, DiskSpace};
use cmr_kiosk::ui::components::ConsoleAdapter;
use cmr_kiosk::ui::shell::Shell;
use slint::ComponentHandle;

/// The keep-alive interval the tests give the engine.
const EVERY: Duration = Duration::from_millis(100);

/// Every notification that arrives within `for_how_long`, with its arrival time.
fn receive(rx: &UnixDatagram, for_how_long: Duration) -> Vec<(Instant, String)> {
    let until = Instant::now() + for_how_long;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return got;
        }
        rx.set_read_timeout(Some(left)).unwrap();
        match rx.recv(&mut buf) {
            Ok(n) => got.push((
                Instant::now(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            )),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return got;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn listening() -> (tempfile::TempDir, UnixDatagram, Watchdog) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let rx = UnixDatagram::bind(&path).unwrap();
    let w = Watchdog::new(NotifyTarget::Path(path), Some(EVERY));
    (dir, rx, w)
}

#[test]
fn issue_16_engine_sends_ready_then_keep_alives_from_its_own_wakes() {
    let (_dir, rx, w) = listening();
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachWatchdog(w)).unwrap();
    let got = receive(&rx, Duration::from_millis(1500));
    assert!(got[0].1.starts_with("READY=1\n"), "{got:?}");
    let alive = got.iter().filter(|(_, m)| m == "WATCHDOG=1\n").count();
    // No exam is open: the engine's own idle wakes (every 250 ms) carry them.
    assert!(alive >= 4, "{alive} keep-alives in 1.5 s: {got:?}");
    drop(engine);
    let after = receive(&rx, Duration::from_millis(300));
    assert_eq!(
        after.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>(),
        ["STOPPING=1\n"],
        "a stopping engine says so and then nothing more"
    );
}

#[test]
fn issue_16_a_hung_engine_stops_the_keep_alive() {
    let (_dir, rx, w) = listening();
    let engine = Engine::start().unwrap();
    engine.call(Command::AttachWatchdog(w)).unwrap();
    assert!(!receive(&rx, Duration::from_millis(600)).is_empty());
    // Fault injection: the engine's state held, as a deadlock would hold it; the
    // engine's loop cannot finish a wake.
    let hung_for = Duration::from_millis(1200);
    let (tx, hung) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let guard = engine.read();
            tx.send(Instant::now()).unwrap();
            std::thread::sleep(hung_for);
            drop(guard);
        });
        let since = hung.recv().unwrap();
        // One keep-alive may already be past the lock (sent after the wake's state
        // was released); none after that until the lock is let go.
        let during = receive(&rx, hung_for - Duration::from_millis(100));
        let late: Vec<_> = during
            .iter()
            .filter(|(at, _)| at.duration_since(since) > Duration::from_millis(300))
            .collect();
        assert!(
            late.is_empty(),
            "keep-alives from a hung engine: {late:?} (systemd would not restart it)"
        );
    });
    // Released: the keep-alive comes back by itself.
    let again = receive(&rx, Duration::from_millis(800));
    assert!(again.iter().any(|(_, m)| m == "WATCHDOG=1\n"), "{again:?}");
}

/// A kiosk whose engine samples a disk with `free` bytes left: its console's disk
/// banner and whether it is the technical alarm, and the engine's level.
fn console_with_disk(free: u64) -> (String, bool, DiskLevel) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("kiosk.db").display());
    config.database.device_id = "disk-console".into();
    config.ui.language = cmr_kiosk::config::Language::EnUs;
    let loc = std::rc::Rc::new(Localizer::embedded().unwrap());
    let mut shell = Shell::new(config, loc).unwrap();
    let probes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = probes.clone();
    shell
        .engine()
        .call(Command::WatchDisk(Box::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(DiskSpace {
                free,
                total: 100_000_000_000,
            })
        })))
        .unwrap();
    shell.engine().sync();
    let until = Instant::now() + Duration::from_secs(2);
    while shell.engine().read().disk().is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Sampled once, not on every wake.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(probes.load(std::sync::atomic::Ordering::SeqCst), 1);
    let level = shell.engine().read().disk().expect("sampled").level;
    shell.start_console();
    shell.console_tick();
    let a = shell.app().global::<ConsoleAdapter>();
    (
        a.get_disk_alarm().to_string(),
        a.get_disk_alarm_critical(),
        level,
    )
}

#[test]
fn issue_16_low_disk_is_a_console_warning_and_critical_a_technical_alarm() {
    i_slint_backend_testing::init_no_event_loop();
    let (text, critical, level) = console_with_disk(DISK_LOW_BYTES * 10);
    assert_eq!((text.as_str(), critical, level), ("", false, DiskLevel::Ok));

    let (text, critical, level) = console_with_disk(DISK_LOW_BYTES - 1);
    assert_eq!(level, DiskLevel::Low);
    assert!(!critical);
    assert!(
        text.contains("Data disk getting full") && text.contains("2.1 GB"),
        "{text}"
    );

    let (text, critical, level) = console_with_disk(DISK_CRITICAL_BYTES / 2);
    assert_eq!(level, DiskLevel::Critical);
    assert!(critical);
    assert!(
        text.contains("Technical alarm: data disk almost full") && text.contains("268 MB"),
        "{text}"
    );
}
