//! The DICOM receiver (`harness = false`; `scripts/bench` runs it), on the kiosk's
//! real path: dcmtk's `storescu` sends a whole synthetic exam with pixel data over
//! loopback to the kiosk's receiver, which syncs each file and its folder before it
//! acknowledges it; the same exam is sent to dcmtk's own `storescp` (which writes
//! without syncing) as the baseline. The folder is `$CMR_BENCH_DIR` or
//! `target/bench-data` (refused on tmpfs: a sync there proves nothing).
//!
//! Then the time from the acknowledgement of a series' last file to its report by
//! the exam's folder watch (`SeriesAcquired`), at the kiosk's default poll interval
//! (a file is read once it has held still for one poll; a series is reported once
//! it gained nothing for one poll), and at the shortest interval the configuration
//! allows.
//!
//! Lines starting with `@bench` are the table `scripts/bench` prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cmr_kiosk::dicom::Rules;
use cmr_kiosk::dicom::node::{Counters, NodeEvent, Receiver, ReceiverSettings};
use cmr_kiosk::dicom::synth::{SynthStudy, VendorStyle, standard_series, write_series};
use cmr_kiosk::dicom::watch::{FolderWatch, WatchEvent};
use cmr_kiosk::domain::protocol::ProtocolStep;

fn table(measure: &str, figure: String, baseline: String, ratio: Option<f64>) {
    println!(
        "@bench\t{measure}\t{figure}\t{baseline}\t{}",
        ratio.map_or_else(|| "–".to_string(), |r| format!("{r:.2}×"))
    );
}

fn data_dir() -> PathBuf {
    let base = std::env::var_os("CMR_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"));
    std::fs::create_dir_all(&base).expect("the bench folder");
    let tmpfs = nix::sys::statfs::statfs(&base)
        .map(|s| s.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
        .unwrap_or(false);
    assert!(
        !tmpfs,
        "{} is tmpfs: set CMR_BENCH_DIR to a folder on a real disk",
        base.display()
    );
    base
}

fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    dir.to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn storescu(port: u16, dir: &Path) -> Duration {
    let t = Instant::now();
    let out = Command::new("storescu")
        .args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd", "+r"])
        .arg("127.0.0.1")
        .arg(port.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("storescu (dcmtk: scripts/setup --test)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

fn bytes_under(dir: &Path) -> u64 {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                n += m.len();
            }
        }
    }
    n
}

fn main() {
    let base = data_dir();
    let src = fresh(&base.join("node-source"));
    let root = "1.2.826.0.1.3680043.9.7146";
    let study = SynthStudy::new(VendorStyle::Siemens, root);
    let mut files = 0;
    for (k, step) in ProtocolStep::ALL.into_iter().enumerate() {
        let mut s = standard_series(VendorStyle::Siemens, step, root);
        s.number = 1 + k as i32;
        s.uid = format!("{root}.{}", s.number);
        files += write_series(&src, &study, &s, true).unwrap().len();
    }
    let mb = bytes_under(&src) as f64 / 1e6;
    println!("a synthetic exam: {files} files, {mb:.1} MB (pixel data included)");

    // The kiosk's receiver.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = fresh(&base.join("node-store"));
    let counters = Arc::new(Counters::default());
    let (tx, mut rx) = tokio::sync::mpsc::channel(cmr_kiosk::dicom::node::receiver::EVENT_QUEUE);
    let port = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Receiver::new(
            ReceiverSettings {
                ae_title: "CMR_KIOSK".into(),
                callers: Vec::new(),
                store: store.clone(),
                keep_bytes: 1 << 40,
                idle: Duration::from_secs(30),
                discard_after: None,
            },
            counters.clone(),
            tx,
        )
        .unwrap();
        tokio::spawn(r.serve(listener));
        port
    });
    let mut best_kiosk = Duration::MAX;
    for _ in 0..3 {
        for e in std::fs::read_dir(&store).unwrap().flatten() {
            if !e.file_name().to_string_lossy().starts_with('.') {
                std::fs::remove_dir_all(e.path()).unwrap();
            }
        }
        best_kiosk = best_kiosk.min(storescu(port, &src));
    }
    while rx.try_recv().is_ok() {}
    assert_eq!(
        counters.snapshot()[3] as usize,
        3 * files,
        "every file stored"
    );

    // dcmtk's storescp as the baseline.
    let scp_dir = fresh(&base.join("node-storescp"));
    let scp_port = free_port();
    let mut scp = Command::new("storescp")
        .args(["-aet", "CMR_KIOSK", "-od"])
        .arg(&scp_dir)
        .arg(scp_port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("storescp");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", scp_port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let mut best_scp = Duration::MAX;
    for _ in 0..3 {
        best_scp = best_scp.min(storescu(scp_port, &src));
    }
    let _ = scp.kill();
    let _ = scp.wait();
    let rate = |d: Duration| files as f64 / d.as_secs_f64();
    println!(
        "received over loopback (best of 3): kiosk {:.0} files/s ({:.1} MB/s, each synced before its answer), \
         storescp {:.0} files/s (not synced)",
        rate(best_kiosk),
        mb / best_kiosk.as_secs_f64(),
        rate(best_scp)
    );
    table(
        "DICOM receiver, files per second",
        format!("{:.0} files/s", rate(best_kiosk)),
        format!("storescp {:.0} files/s", rate(best_scp)),
        Some(rate(best_kiosk) / rate(best_scp)),
    );

    // Last file acknowledged → the watch reports the series.
    for poll_s in [2.0, 0.2] {
        let watched = fresh(&base.join("node-watched"));
        let settings = ReceiverSettings {
            ae_title: "CMR_KIOSK".into(),
            callers: Vec::new(),
            store: watched.clone(),
            keep_bytes: 1 << 40,
            idle: Duration::from_secs(30),
            discard_after: None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
        let port = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let r = Receiver::new(settings, Arc::new(Counters::default()), tx).unwrap();
            tokio::spawn(r.serve(listener));
            port
        });
        let (seen_tx, seen_rx) = std::sync::mpsc::channel::<Instant>();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let dir = watched.clone();
        let watcher = std::thread::spawn(move || {
            let mut watch = FolderWatch::new(&dir, Rules::builtin());
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                for ev in watch.poll() {
                    if matches!(ev, WatchEvent::Series { .. }) {
                        let _ = seen_tx.send(Instant::now());
                    }
                }
                std::thread::sleep(Duration::from_secs_f64(poll_s));
            }
        });
        let mut delays = Vec::new();
        for k in 0..5 {
            let one = fresh(&base.join("node-one"));
            let mut s = standard_series(VendorStyle::Siemens, ProtocolStep::Lge, root);
            s.number = 500 + k;
            s.uid = format!("{root}.{}", s.number);
            write_series(&one, &study, &s, true).unwrap();
            storescu(port, &one);
            let mut last_ack = None;
            while let Ok(ev) = rx.try_recv() {
                if matches!(ev, NodeEvent::Stored { .. }) {
                    last_ack = Some(Instant::now());
                }
            }
            // storescu returned after the last answer: the acknowledgement is no later.
            let acked = last_ack.unwrap_or_else(Instant::now);
            let seen = seen_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the series is reported");
            delays.push(seen.saturating_duration_since(acked));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        watcher.join().unwrap();
        delays.sort();
        let median = delays[delays.len() / 2];
        println!(
            "last file acknowledged → series reported by the watch (poll {poll_s} s): median {:.2} s, max {:.2} s",
            median.as_secs_f64(),
            delays[delays.len() - 1].as_secs_f64()
        );
        table(
            &format!("last file → SeriesAcquired, poll {poll_s} s"),
            format!("{:.2} s", median.as_secs_f64()),
            format!("two polls {:.1} s", 2.0 * poll_s),
            Some(median.as_secs_f64() / (2.0 * poll_s)),
        );
    }
}
