//! HL7 end to end: simulator → link → readings over pseudo-terminals and TCP,
//! with ACKs checked.

use std::time::Duration;

use cmr_kiosk::monitor::hl7::{self, AckCode, MllpCodec};
use cmr_kiosk::monitor::link::{self, LinkEvent, LinkSettings};
use cmr_kiosk::monitor::sim::{self, Profile, SimConfig};
use cmr_kiosk::monitor::{Measure, Protocol, Unit};
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::codec::Framed;

const T: Duration = Duration::from_secs(10);

fn fast_sim(n: u64) -> SimConfig {
    let mut cfg = SimConfig::new(Profile::AdenosineResponder);
    cfg.send_interval = Duration::from_millis(20);
    cfg.nibp_interval = Duration::ZERO;
    cfg.max_messages = Some(n);
    cfg
}

#[tokio::test]
async fn hl7_over_pty_end_to_end() {
    let (a, b) = tokio_serial::SerialStream::pair().expect("pty pair");
    let mut link = link::start_on_stream(b, "pty", LinkSettings::for_protocol(Protocol::Hl7));
    let sim = tokio::spawn(sim::run_hl7_simulator(a, fast_sim(5)));
    let mut hr = 0;
    let mut sys = 0;
    while hr < 5 || sys < 5 {
        let r = timeout(T, link.next_reading())
            .await
            .expect("in time")
            .expect("reading");
        match r.reading.measure {
            Measure::Hr => {
                hr += 1;
                assert_eq!(r.reading.unit, Unit::PerMinute);
                assert!(r.reading.observed_at.is_some());
            }
            Measure::NibpSys => sys += 1,
            _ => {}
        }
    }
    let stats = timeout(T, sim)
        .await
        .expect("sim done")
        .expect("join")
        .expect("sim ok");
    assert_eq!(stats.sent, 5);
    assert_eq!(stats.acked_ok, 5, "{stats:?}");
    let c = link.counters();
    assert_eq!(c.good, 5);
    assert_eq!(c.bad_total(), 0, "{c:?}");
}

#[tokio::test]
async fn hl7_over_tcp_acks_and_survives_peer_close() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut link = link::start_tcp_listener(
        listener,
        LinkSettings::for_protocol(Protocol::Hl7),
        link::ListenerLimits::default(),
    );

    for round in 0..2 {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let stats = timeout(T, sim::run_hl7_simulator(stream, fast_sim(3)))
            .await
            .expect("in time")
            .expect("sim");
        assert_eq!(stats.acked_ok, 3, "round {round}: {stats:?}");
        // The simulator dropped its stream: the link reports the close and keeps listening.
        let mut readings = 0;
        loop {
            match timeout(T, link.recv())
                .await
                .expect("in time")
                .expect("event")
            {
                LinkEvent::Reading(_) => readings += 1,
                LinkEvent::Disconnected { reason, .. } => {
                    assert!(reason.contains("closed"), "{reason}");
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(
            readings,
            3 * 5,
            "HR, SpO2 and three NIBP values per message"
        );
    }
    assert_eq!(link.counters().good, 6);
}

#[tokio::test]
async fn hl7_tcp_ack_codes_checked_by_raw_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _link = link::start_tcp_listener(
        listener,
        LinkSettings::for_protocol(Protocol::Hl7),
        link::ListenerLimits::default(),
    );
    let stream = TcpStream::connect(addr).await.expect("connect");
    let mut framed = Framed::new(stream, MllpCodec::new());

    let oru = "MSH|^~\\&|GW|ICU|KIOSK|CMR|20250106090000||ORU^R01^ORU_R01|CTRL-42|P|2.6\rOBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|71|/min^/min^UCUM|||||R|||20250106090000\r";
    framed.send(oru.as_bytes()).await.expect("send");
    let ack = timeout(T, framed.next())
        .await
        .expect("in time")
        .expect("frame")
        .expect("io")
        .expect("good");
    let text = String::from_utf8_lossy(&ack).to_string();
    assert!(text.contains("\rMSA|AA|CTRL-42"), "{text}");
    assert!(text.contains("|ACK^R01^ACK|"), "{text}");

    let adt = "MSH|^~\\&|GW|ICU|KIOSK|CMR|20250106090000||ADT^A01|CTRL-43|P|2.6\r";
    framed.send(adt.as_bytes()).await.expect("send");
    let ack = timeout(T, framed.next())
        .await
        .expect("in time")
        .expect("frame")
        .expect("io")
        .expect("good");
    let parsed = hl7::parse_ack(&ack).expect("ack");
    assert_eq!(parsed.code, AckCode::Reject);
    assert_eq!(parsed.acknowledged_id, "CTRL-43");
    assert!(
        parsed
            .text
            .unwrap_or_default()
            .contains("unsupported message type")
    );

    framed
        .send(&b"garbage that is no HL7"[..])
        .await
        .expect("send");
    let ack = timeout(T, framed.next())
        .await
        .expect("in time")
        .expect("frame")
        .expect("io")
        .expect("good");
    let parsed = hl7::parse_ack(&ack).expect("ack");
    assert_eq!(parsed.code, AckCode::Reject);
    assert_eq!(parsed.acknowledged_id, "");
}
