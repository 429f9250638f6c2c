//! With nothing configured the kiosk reads the built-in simulated monitor in-process;
//! the status bar's board shows the latest values and blanks stale ones.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use cmr_kiosk::config::Config;
use cmr_kiosk::monitor::Measure;
use cmr_kiosk::monitor::feed::{MonitorFeed, VitalsBoard};
use cmr_kiosk::monitor::link::LinkEvent;
use cmr_kiosk::monitor::watchdog::WatchdogEvent;

#[test]
fn default_config_feeds_simulated_readings_and_the_board_follows() {
    let (tx, rx) = mpsc::channel();
    let feed = MonitorFeed::start(Config::default().monitor, move |ev| {
        let _ = tx.send(ev);
    })
    .unwrap();
    let mut board = VitalsBoard::default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && (board.hr_text().is_empty() || board.bp_text().is_empty()) {
        if let Ok(ev) = rx.recv_timeout(Duration::from_millis(200)) {
            board.apply(&ev);
        }
    }
    drop(feed);
    let hr: f64 = board.hr_text().parse().expect("HR shown as digits");
    assert!((40.0..120.0).contains(&hr), "resting HR {hr}");
    assert!(
        board.bp_text().contains('/'),
        "BP shown: {}",
        board.bp_text()
    );
    assert!(!board.lost);
    assert_eq!(
        board.nibp_age_minutes(Instant::now()),
        Some(0),
        "fresh NIBP"
    );
    assert_eq!(
        board.nibp_age_minutes(Instant::now() + Duration::from_secs(185)),
        Some(3),
        "NIBP age counts up on the monotonic clock"
    );

    // A stale HR is blanked (shown as "--" by the UI); data lost and restored toggle.
    board.apply(&LinkEvent::Watchdog(WatchdogEvent::Stale {
        measure: Measure::Hr,
        silent_for: Duration::from_secs(2),
    }));
    assert_eq!(board.hr_text(), "");
    board.apply(&LinkEvent::Watchdog(WatchdogEvent::DataLost));
    assert!(board.lost);
    board.apply(&LinkEvent::Watchdog(WatchdogEvent::DataRestored));
    assert!(!board.lost);
}
