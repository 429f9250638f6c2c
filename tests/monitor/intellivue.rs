//! IntelliVue end to end over a pseudo-terminal: the link associates, answers
//! the MDS create event, polls numerics and receives HR and NIBP.

use std::time::Duration;

use cmr_kiosk::monitor::link::{self, LinkEvent, LinkSettings};
use cmr_kiosk::monitor::sim::{self, Profile, SimConfig};
use cmr_kiosk::monitor::{Measure, Protocol, Unit};
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);

fn settings() -> LinkSettings {
    let mut s = LinkSettings::for_protocol(Protocol::Intellivue);
    s.poll_interval = Duration::from_millis(30);
    s.keep_alive_interval = Duration::from_millis(100);
    s
}

#[tokio::test]
async fn intellivue_over_pty_end_to_end() {
    let (a, b) = tokio_serial::SerialStream::pair().expect("pty pair");
    let mut cfg = SimConfig::new(Profile::Resting);
    cfg.nibp_interval = Duration::from_secs(600);
    let sim = tokio::spawn(sim::run_intellivue_simulator(a, cfg));
    let mut link = link::start_on_stream(b, "pty", settings());
    let mut associated = false;
    let mut hr = 0;
    let mut nibp = [false; 3];
    while hr < 5 || nibp.contains(&false) {
        match timeout(T, link.recv())
            .await
            .expect("in time")
            .expect("event")
        {
            LinkEvent::Connected { peer } if peer.contains("associated") => associated = true,
            LinkEvent::Reading(r) => {
                let rd = r.reading;
                match rd.measure {
                    Measure::Hr => {
                        hr += 1;
                        assert_eq!(rd.unit, Unit::PerMinute);
                        assert!((60.0..80.0).contains(&rd.value), "{rd:?}");
                    }
                    Measure::NibpSys => {
                        nibp[0] = true;
                        assert_eq!(rd.value, 122.0);
                        assert!(rd.observed_at.is_some());
                    }
                    Measure::NibpDia => nibp[1] = true,
                    Measure::NibpMean => nibp[2] = true,
                    _ => {}
                }
            }
            LinkEvent::Rejected { detail, .. } => panic!("rejected: {detail}"),
            LinkEvent::Fault(f) => panic!("fault: {f}"),
            _ => {}
        }
    }
    assert!(associated);
    // Keep-alives are answered too (keep-alive interval 100 ms).
    tokio::time::sleep(Duration::from_millis(250)).await;
    drop(link);
    let stats = timeout(T, sim)
        .await
        .expect("sim ends")
        .expect("join")
        .expect("sim ok");
    assert_eq!(stats.associations, 1);
    assert!(stats.polls_answered >= 5, "{stats:?}");
}

#[tokio::test]
async fn intellivue_over_duplex_counts_good_frames() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let sim = tokio::spawn(sim::run_intellivue_simulator(
        a,
        SimConfig::new(Profile::AdenosineResponder),
    ));
    let mut link = link::start_on_stream(b, "duplex", settings());
    for _ in 0..10 {
        timeout(T, link.next_reading())
            .await
            .expect("in time")
            .expect("reading");
    }
    let c = link.counters();
    assert!(c.good >= 3, "{c:?}");
    assert_eq!(c.bad_total(), 0, "{c:?}");
    drop(link);
    let _ = timeout(T, sim).await;
}
