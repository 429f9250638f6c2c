//! A recorder on a test database, and its first report (the running exam found).
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use cmr_kiosk::config::Database;
use cmr_kiosk::engine::recorder::{Recorder, RecorderReport};

/// An SQLite database at `path` logged under `device`.
pub fn db(path: &std::path::Path, device: &str) -> Database {
    Database {
        url: format!("sqlite://{}", path.display()),
        device_id: device.into(),
        central_url: String::new(),
        ..Default::default()
    }
}

/// Starts the recorder; its reports arrive on the receiver.
pub fn start(db: &Database) -> (Recorder, mpsc::Receiver<RecorderReport>) {
    let (tx, rx) = mpsc::channel();
    let rec = Recorder::start(db, move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    (rec, rx)
}

/// Waits for the store to open; the running exam it found, if any.
pub fn opened(rx: &mpsc::Receiver<RecorderReport>) -> Option<cmr_kiosk::store::RecoveredExam> {
    loop {
        match rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the recorder reports")
        {
            RecorderReport::Opened { recovered, .. } => return recovered,
            RecorderReport::OpenFailed(e) => panic!("open failed: {e}"),
            RecorderReport::Alarm(_) => {}
        }
    }
}
