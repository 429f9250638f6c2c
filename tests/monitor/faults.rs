//! Fault tests: garbage, bad checksums, truncated frames, silence (stale within
//! the limit), a wrong baud rate, and an adapter that disappears and returns.
//! None panics, and every good frame around the bad ones still arrives.

use std::time::Duration;

use cmr_kiosk::monitor::link::{self, LinkEvent, LinkSettings, SerialSettings};
use cmr_kiosk::monitor::sim::{self, Fault, Profile, ScheduledFault, SimConfig};
use cmr_kiosk::monitor::watchdog::WatchdogEvent;
use cmr_kiosk::monitor::{Measure, Protocol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout};

const T: Duration = Duration::from_secs(10);

fn faults(list: &[(u64, Fault)]) -> Vec<ScheduledFault> {
    list.iter()
        .map(|&(at, fault)| ScheduledFault { at, fault })
        .collect()
}

#[tokio::test]
async fn hl7_garbage_bad_message_truncated_good_frames_survive() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut link = link::start_on_stream(b, "duplex", LinkSettings::for_protocol(Protocol::Hl7));
    let mut cfg = SimConfig::new(Profile::Resting);
    cfg.send_interval = Duration::from_millis(10);
    cfg.ack_timeout = Duration::from_millis(500);
    cfg.max_messages = Some(7);
    cfg.faults = faults(&[
        (1, Fault::Garbage(40)),
        (2, Fault::BadChecksum),
        (3, Fault::Truncated),
    ]);
    let stats = timeout(T, sim::run_hl7_simulator(a, cfg))
        .await
        .expect("in time")
        .expect("sim");
    assert_eq!(stats.sent, 7);
    assert_eq!(stats.acked_ok, 5, "0,1,4,5,6 accepted: {stats:?}");
    assert_eq!(stats.acked_other, 1, "corrupt MSH rejected: {stats:?}");
    let mut hr = 0;
    loop {
        match timeout(T, link.recv())
            .await
            .expect("in time")
            .expect("event")
        {
            LinkEvent::Reading(r) if r.reading.measure == Measure::Hr => hr += 1,
            LinkEvent::Disconnected { .. } => break,
            _ => {}
        }
    }
    assert_eq!(hr, 5);
    let c = link.counters();
    assert_eq!(c.good, 5, "{c:?}");
    assert_eq!(c.bad_for("garbage"), 1, "{c:?}");
    assert_eq!(c.bad_for("truncated"), 1, "{c:?}");
    assert_eq!(c.bad_for("hl7_message"), 1, "{c:?}");
}

fn iv_settings() -> LinkSettings {
    let mut s = LinkSettings::for_protocol(Protocol::Intellivue);
    s.poll_interval = Duration::from_millis(20);
    s
}

#[tokio::test]
async fn intellivue_garbage_bad_fcs_truncated_good_frames_survive() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut cfg = SimConfig::new(Profile::Resting);
    // Message 0 is the association response + MDS create; then poll replies.
    cfg.faults = faults(&[
        (3, Fault::Garbage(25)),
        (4, Fault::BadChecksum),
        (5, Fault::Truncated),
    ]);
    cfg.max_messages = Some(12);
    let sim = tokio::spawn(sim::run_intellivue_simulator(a, cfg));
    let mut link = link::start_on_stream(b, "duplex", iv_settings());
    let mut hr = 0;
    while hr < 9 {
        match timeout(T, link.recv())
            .await
            .expect("in time")
            .expect("event")
        {
            LinkEvent::Reading(r) if r.reading.measure == Measure::Hr => hr += 1,
            LinkEvent::Disconnected { reason, .. } => panic!("disconnected: {reason}"),
            _ => {}
        }
    }
    let stats = timeout(T, sim)
        .await
        .expect("sim")
        .expect("join")
        .expect("ok");
    assert_eq!(stats.faults_injected, 3);
    let c = link.counters();
    assert_eq!(c.bad_for("garbage"), 1, "{c:?}");
    assert_eq!(c.bad_for("bad_checksum"), 1, "{c:?}");
    assert_eq!(c.bad_for("truncated"), 1, "{c:?}");
}

#[tokio::test(start_paused = true)]
async fn silence_marks_hr_stale_within_one_second_then_recovers() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let settings = LinkSettings::for_protocol(Protocol::Hl7); // HR expected every 1 s
    let mut link = link::start_on_stream(b, "duplex", settings);
    let mut cfg = SimConfig::new(Profile::Resting);
    cfg.faults = faults(&[(3, Fault::Silence(Duration::from_secs(5)))]);
    cfg.max_messages = Some(8);
    let _sim = tokio::spawn(sim::run_hl7_simulator(a, cfg));

    let mut last_hr: Option<Instant> = None;
    let mut stale_seen = false;
    let mut lost_seen = false;
    loop {
        match timeout(Duration::from_secs(30), link.recv())
            .await
            .expect("in time")
            .expect("event")
        {
            LinkEvent::Reading(r) if r.reading.measure == Measure::Hr => {
                last_hr = Some(r.received_instant);
                if stale_seen {
                    break;
                }
            }
            LinkEvent::Watchdog(WatchdogEvent::Stale {
                measure: Measure::Hr,
                ..
            }) => {
                let last = last_hr.expect("HR before stale");
                let late = Instant::now() - last;
                // Expected update at last + 1 s; alarm within 1 s of it.
                assert!(late <= Duration::from_secs(2), "stale after {late:?}");
                assert!(late >= Duration::from_secs(1), "stale too early: {late:?}");
                stale_seen = true;
            }
            LinkEvent::Watchdog(WatchdogEvent::DataLost) => lost_seen = true,
            LinkEvent::Watchdog(WatchdogEvent::Stale { .. }) => {}
            _ => {}
        }
    }
    assert!(stale_seen && lost_seen);
    // After the silence: fresh again.
    let mut restored = false;
    while let Ok(Some(ev)) = timeout(Duration::from_secs(2), link.recv()).await {
        if ev == LinkEvent::Watchdog(WatchdogEvent::DataRestored) {
            restored = true;
            break;
        }
    }
    assert!(restored);
}

#[tokio::test]
async fn intellivue_silence_raises_data_lost_and_link_reassociates() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut cfg = SimConfig::new(Profile::Resting);
    cfg.faults = faults(&[(4, Fault::Silence(Duration::from_millis(1500)))]);
    let _sim = tokio::spawn(sim::run_intellivue_simulator(a, cfg));
    let mut s = iv_settings();
    s.expectations[0].interval = Duration::from_millis(100);
    s.stale_tolerance = Duration::from_millis(200);
    s.association_lost_after = Duration::from_millis(800);
    s.response_timeout = Duration::from_millis(500);
    let mut link = link::start_on_stream(b, "duplex", s);
    let start = Instant::now();
    let mut lost = false;
    let mut restored = false;
    while !(lost && restored) {
        match timeout(T, link.recv())
            .await
            .expect("in time")
            .expect("event")
        {
            LinkEvent::Watchdog(WatchdogEvent::DataLost) => lost = true,
            LinkEvent::Watchdog(WatchdogEvent::DataRestored) => restored = true,
            _ => {}
        }
    }
    assert!(start.elapsed() < T);
}

/// A wrong baud rate garbles every byte; model it by mangling bytes in a relay.
#[tokio::test]
async fn wrong_baud_rate_gives_counted_garbage_and_stale_not_readings() {
    let (sim_end, mut relay_in) = tokio::io::duplex(64 * 1024);
    let (mut relay_out, link_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok(n) = relay_in.read(&mut buf).await {
            if n == 0 {
                break;
            }
            // At the wrong speed a receiver samples other bits; frame bytes never survive.
            let garbled: Vec<u8> = buf[..n].iter().map(|b| b.rotate_left(3) ^ 0x55).collect();
            if relay_out.write_all(&garbled).await.is_err() {
                break;
            }
        }
    });
    let mut s = LinkSettings::for_protocol(Protocol::Hl7);
    s.expectations[0].interval = Duration::from_millis(200);
    let mut link = link::start_on_stream(link_end, "relay", s);
    let mut cfg = SimConfig::new(Profile::Resting);
    cfg.send_interval = Duration::from_millis(20);
    cfg.ack_timeout = Duration::from_millis(50);
    cfg.max_messages = Some(20);
    tokio::spawn(sim::run_hl7_simulator(sim_end, cfg));
    let mut lost = false;
    while !lost {
        match timeout(T, link.recv())
            .await
            .expect("in time")
            .expect("event")
        {
            LinkEvent::Reading(r) => panic!("garbled data produced a reading: {r:?}"),
            LinkEvent::Watchdog(WatchdogEvent::DataLost) => lost = true,
            _ => {}
        }
    }
    let c = link.counters();
    assert_eq!(c.good, 0);
    assert!(c.bad_total() > 0, "{c:?}");
}

/// The adapter disappears (pty closed) and a new one appears under the same
/// stable name (a symlink, as /dev/serial/by-id provides): the link reconnects
/// with backoff and no busy loop.
#[tokio::test]
async fn serial_by_path_reconnects_after_adapter_removed_and_returned() {
    use tokio_serial::SerialPort;
    let dir = std::env::temp_dir().join(format!("cmr-kiosk-monitor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let stable = dir.join("monitor-by-id");

    let new_pty = |stable: &std::path::Path| {
        let (master, slave) = tokio_serial::SerialStream::pair().expect("pty pair");
        let path = slave.name().expect("slave name");
        drop(slave);
        let _ = std::fs::remove_file(stable);
        std::os::unix::fs::symlink(&path, stable).expect("symlink");
        master
    };

    let mut cfg = SimConfig::new(Profile::Resting);
    cfg.send_interval = Duration::from_millis(20);
    cfg.ack_timeout = Duration::from_millis(200);
    let master = new_pty(&stable);
    let mut settings = LinkSettings::for_protocol(Protocol::Hl7);
    settings.backoff.initial = Duration::from_millis(50);
    settings.backoff.max = Duration::from_millis(400);
    let serial = SerialSettings::new(stable.to_string_lossy(), 115_200);
    let mut link = link::start_serial(serial, settings);
    // Start the simulator once the link holds the port open (a pty master
    // reads EIO while no slave is open).
    wait_connected(&mut link).await;
    let sim1 = tokio::spawn(sim::run_hl7_simulator(master, cfg.clone()));
    timeout(T, link.next_reading())
        .await
        .expect("first adapter")
        .expect("reading");

    // Pull the adapter.
    sim1.abort();
    let _ = sim1.await;
    let _ = std::fs::remove_file(&stable);
    let mut disconnects = 0;
    let absent = Instant::now();
    while absent.elapsed() < Duration::from_millis(1500) {
        match timeout(Duration::from_millis(100), link.recv()).await {
            Ok(Some(LinkEvent::Disconnected { .. })) => disconnects += 1,
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => panic!("link stopped"),
        }
    }
    assert!(disconnects >= 1, "the loss is reported");
    assert!(
        disconnects <= 10,
        "backoff, not a busy loop: {disconnects} retries in 1.5 s"
    );

    // Plug a new adapter in under the same name.
    let master = new_pty(&stable);
    wait_connected(&mut link).await;
    let _sim2 = tokio::spawn(sim::run_hl7_simulator(master, cfg));
    timeout(T, link.next_reading())
        .await
        .expect("second adapter")
        .expect("reading");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn wait_connected(link: &mut link::MonitorLink) {
    loop {
        if let LinkEvent::Connected { .. } = timeout(T, link.recv())
            .await
            .expect("connects")
            .expect("event")
        {
            return;
        }
    }
}
