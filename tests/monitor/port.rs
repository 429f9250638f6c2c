//! The monitor's TCP port under attack (issue 19): a connection cap, a peer allow
//! list, and a timeout for unfinished frames keep memory bounded and the real
//! monitor's frames arriving while 2,000 loopback connections knock.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use cmr_kiosk::monitor::hl7::MllpCodec;
use cmr_kiosk::monitor::link::{self, LinkEvent, LinkSettings, ListenerLimits};
use cmr_kiosk::monitor::{Measure, Protocol};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_util::codec::Framed;

const T: Duration = Duration::from_secs(10);

/// Connections the attack opens (issue 19).
const ATTACK_CONNECTIONS: usize = 2_000;

/// Bytes of an unfinished frame each attacking connection sends.
const PARTIAL_FRAME_BYTES: usize = 64 * 1024;

/// The most the test process may grow while under attack.
const MAX_RSS_GROWTH_KIB: u64 = 64 * 1024;

fn oru(id: u32, hr: u32) -> String {
    format!(
        "MSH|^~\\&|MON|ICU|KIOSK|CMR|20250106090000||ORU^R01^ORU_R01|C{id}|P|2.6\rOBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|{hr}|/min^/min^UCUM|||||R|||20250106090000\r"
    )
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Raises the open-files limit to its hard maximum (2,000 client sockets).
fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
}

async fn next_hr(link: &mut link::MonitorLink) -> f64 {
    loop {
        match timeout(T, link.recv())
            .await
            .expect("in time")
            .expect("event")
        {
            LinkEvent::Reading(r) if r.reading.measure == Measure::Hr => return r.reading.value,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_port_caps_connections_drops_slow_senders_and_keeps_the_monitor() {
    raise_nofile();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ListenerLimits {
        allow: Vec::new(),
        max_connections: 2,
        frame_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(30),
    };
    let mut link =
        link::start_tcp_listener(listener, LinkSettings::for_protocol(Protocol::Hl7), limits);

    // The real monitor connects first and is heard.
    let monitor = TcpStream::connect(addr).await.unwrap();
    let mut monitor = Framed::new(monitor, MllpCodec::new());
    monitor.send(oru(1, 70).as_bytes()).await.unwrap();
    assert_eq!(next_hr(&mut link).await, 70.0);
    let _ack = timeout(T, monitor.next()).await.unwrap();

    // The attack: 2,000 connections, each starting a frame it never finishes.
    let before = rss_kib();
    let mut attackers = Vec::with_capacity(ATTACK_CONNECTIONS);
    let partial = {
        let mut v = vec![0x0B];
        v.extend(std::iter::repeat_n(b'A', PARTIAL_FRAME_BYTES - 1));
        v
    };
    for _ in 0..ATTACK_CONNECTIONS {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            // Refused connections are closed by the kiosk: the write may fail.
            let _ = timeout(Duration::from_millis(50), s.write_all(&partial)).await;
            attackers.push(s);
        }
    }
    // Meanwhile the monitor's frames still arrive.
    for (i, hr) in [(2, 71), (3, 72)] {
        monitor.send(oru(i, hr).as_bytes()).await.unwrap();
        assert_eq!(next_hr(&mut link).await, f64::from(hr));
        let _ack = timeout(T, monitor.next()).await.unwrap();
    }
    let grown = rss_kib().saturating_sub(before);
    let counters = link.counters();
    eprintln!(
        "attack: {} connections opened, refused at cap {}, RSS growth {grown} KiB",
        attackers.len(),
        counters.bad_for("tcp_refused_cap")
    );
    assert!(
        counters.bad_for("tcp_refused_cap") as usize >= ATTACK_CONNECTIONS - 20,
        "beyond the cap refused: {counters:?}"
    );
    assert!(
        grown < MAX_RSS_GROWTH_KIB,
        "memory bounded: grew {grown} KiB"
    );
    drop(attackers);

    // A slow sender (1 byte per 200 ms, a frame never finished) is dropped after
    // the frame timeout; the monitor keeps its connection.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut dropped = false;
    for b in std::iter::once(0x0B)
        .chain(std::iter::repeat(b'x'))
        .take(100)
    {
        if slow.write_all(&[b]).await.is_err() {
            dropped = true;
            break;
        }
        let mut buf = [0u8; 16];
        if let Ok(Ok(0)) | Ok(Err(_)) =
            timeout(Duration::from_millis(200), slow.read(&mut buf)).await
        {
            dropped = true;
            break;
        }
    }
    let waited = started.elapsed();
    assert!(dropped, "the slow sender was dropped");
    assert!(
        waited < Duration::from_secs(5),
        "dropped after about the 1 s frame timeout, not later: {waited:?}"
    );
    assert!(link.counters().bad_for("tcp_frame_timeout") >= 1);
    monitor.send(oru(4, 73).as_bytes()).await.unwrap();
    assert_eq!(next_hr(&mut link).await, 73.0);
}

#[tokio::test]
async fn monitor_port_refuses_peers_outside_the_allow_list() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ListenerLimits {
        allow: vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))],
        ..ListenerLimits::default()
    };
    let mut link =
        link::start_tcp_listener(listener, LinkSettings::for_protocol(Protocol::Hl7), limits);
    // From 127.0.0.2 (another loopback address): refused and counted.
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0))
        .unwrap();
    let mut stranger = sock.connect(addr).await.unwrap();
    let _ = stranger.write_all(oru(9, 99).as_bytes()).await;
    let mut buf = [0u8; 64];
    let n = timeout(T, stranger.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "the stranger is closed: {n:?}");
    assert_eq!(link.counters().bad_for("tcp_refused_peer"), 1);
    // From 127.0.0.1: heard.
    let mut friend = Framed::new(TcpStream::connect(addr).await.unwrap(), MllpCodec::new());
    friend.send(oru(10, 64).as_bytes()).await.unwrap();
    assert_eq!(next_hr(&mut link).await, 64.0);
}

#[tokio::test]
async fn monitor_port_closes_a_silent_connection_after_the_idle_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ListenerLimits {
        idle_timeout: Duration::from_millis(1500),
        ..ListenerLimits::default()
    };
    let link =
        link::start_tcp_listener(listener, LinkSettings::for_protocol(Protocol::Hl7), limits);
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = timeout(T, silent.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "closed: {n:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(link.counters().bad_for("tcp_idle_timeout"), 1);
}
