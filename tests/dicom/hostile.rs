//! Hostile input never takes the kiosk down (issue 19): crafted DICOM files and
//! folders are refused with a reason, in bounded memory and time, by `dicom scan`
//! and by the incoming-folder watch, which remembers what it refused across
//! restarts (and a file that stopped the process while it was being read).

use crate::support::hostile_dicom;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cmr_kiosk::dicom::bounds::{Bound, MAX_HEADER_BYTES, MAX_NESTING_DEPTH, WalkError, walk};
use cmr_kiosk::dicom::watch::{FolderWatch, WatchEvent};
use cmr_kiosk::dicom::{Rules, SkipReason};
use hostile_dicom::*;

const BIN: &str = env!("CARGO_BIN_EXE_cmr-kiosk");

/// The most memory `dicom scan` may use on the hostile folder (issue 19).
const MAX_SCAN_RSS_KIB: i64 = 200 * 1024;

/// How long the scan of the hostile folder may take before the test gives up.
const SCAN_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Peak resident memory of terminated children of this test process, in KiB.
fn children_peak_rss_kib() -> i64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss()
}

#[test]
fn hostile_dicom_folder_is_scanned_in_bounded_memory_with_every_file_reported() {
    let base = tempfile::tempdir().unwrap();
    let folder = hostile_folder(base.path(), usize::MAX);
    // An empty configuration of the test's own: nothing from the machine.
    let config = base.path().join("kiosk.toml");
    std::fs::write(&config, "").unwrap();
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["dicom", "scan"])
        .arg(&folder.dir)
        .arg("--json")
        .env("CMR_KIOSK_CONFIG", &config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain stdout while waiting (the report is large: every truncation is listed).
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > SCAN_TIME_LIMIT {
            let _ = child.kill();
            panic!("dicom scan did not finish within {SCAN_TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let out = reader.join().unwrap();
    let peak = children_peak_rss_kib();
    eprintln!(
        "hostile scan: {} files, {elapsed:?}, peak RSS {peak} KiB",
        folder.refused.len() + folder.truncated.len() + folder.readable.len()
    );
    assert_eq!(status.code(), Some(2), "skipped files make exit code 2");
    assert!(
        peak < MAX_SCAN_RSS_KIB,
        "peak RSS {peak} KiB, over {MAX_SCAN_RSS_KIB} KiB"
    );
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    let skipped = report["skipped"].as_array().unwrap();
    let reason_of = |p: &std::path::Path| {
        skipped
            .iter()
            .find(|s| s["file"].as_str() == Some(&p.display().to_string()))
            .map(|s| s["reason"].as_str().unwrap().to_string())
    };
    for (file, reason) in &folder.refused {
        assert_eq!(
            reason_of(file).as_deref(),
            Some(*reason),
            "{} reported with its reason",
            file.display()
        );
    }
    // The pair loop: one of the two links is refused as a loop, and each file counts once.
    let loops = skipped
        .iter()
        .filter(|s| s["detail"].as_str().unwrap_or("").contains("loop"))
        .count();
    assert_eq!(
        loops, 3,
        "self loop and both links of the pair loop reported"
    );
    assert_eq!(
        report["files_read"].as_u64().unwrap() as usize,
        report["files_seen"].as_u64().unwrap() as usize - skipped.len()
    );
    for f in &folder.readable {
        assert!(reason_of(f).is_none(), "{} is read", f.display());
    }
    // Each file once: 4 crafted + 2 valid copies + the truncations, plus 4 refused
    // walk entries (the self loop, both links of the pair loop — each leads to a
    // folder already walked — and the link outside).
    assert_eq!(
        report["files_seen"].as_u64().unwrap() as usize,
        6 + folder.truncated.len() + 4,
        "every file counted once, loops not followed"
    );
    // Every truncation is either read (cut inside the pixel data, or exactly between
    // two header elements, which leaves a shorter but well-formed header) or refused
    // with a reason; none crashes or hangs the scan.
    let pix = pixel_data_offset(&std::fs::read(&folder.readable[0]).unwrap()).unwrap();
    let mut refused_cuts = 0;
    for (len, f) in folder.truncated.iter().enumerate() {
        match reason_of(f).as_deref() {
            Some(r) if len >= pix + 4 => {
                panic!("cut at {len}, inside the pixel data, is refused: {r}")
            }
            Some(r) => {
                refused_cuts += 1;
                if len < 132 {
                    assert!(
                        matches!(r, "not_dicom" | "missing_meta"),
                        "cut at {len}: {r}"
                    );
                }
            }
            None => {}
        }
    }
    eprintln!("truncations: {refused_cuts} of {pix} header cuts refused");
    assert!(
        refused_cuts * 10 >= pix * 8,
        "most header cuts fall inside an element and are refused: {refused_cuts} of {pix}"
    );
}

#[test]
fn bounds_are_named_and_checked_before_parsing() {
    // Nesting one past the bound: refused by the walk, not by a stack overflow.
    match walk(deep_nesting(MAX_NESTING_DEPTH + 1), true) {
        Err(WalkError::Bound {
            bound: Bound::NestingDepth,
            detail,
        }) => assert!(detail.contains("MAX_NESTING_DEPTH"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(walk(deep_nesting(MAX_NESTING_DEPTH), true).is_ok());
    // An element longer than the header bound is refused whatever the file size.
    match walk(huge_length(0xFFFF_FFF0), true) {
        Err(WalkError::Bound {
            bound: Bound::ElementLength,
            detail,
        }) => assert!(detail.contains(&MAX_HEADER_BYTES.to_string()), "{detail}"),
        other => panic!("{other:?}"),
    }
    // Within the bound but beyond the file: truncated, and nothing is allocated for it.
    assert!(matches!(
        walk(huge_length(1_000_000), true),
        Err(WalkError::Truncated(_))
    ));
}

fn skipped(events: &[WatchEvent]) -> Vec<&cmr_kiosk::dicom::scan::SkippedFile> {
    events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Skipped(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn poll_until_quiet(watch: &mut FolderWatch) -> Vec<WatchEvent> {
    let mut all = Vec::new();
    for _ in 0..4 {
        all.extend(watch.poll());
    }
    all
}

#[test]
fn refused_files_are_remembered_and_not_read_again_after_a_restart() {
    let base = tempfile::tempdir().unwrap();
    let folder = hostile_folder(base.path(), 40);
    let ledger = base.path().join("dicom-skipped.tsv");

    let mut watch = FolderWatch::new(&folder.dir, Rules::builtin()).with_ledger(&ledger);
    let first = poll_until_quiet(&mut watch);
    let first_skips = skipped(&first);
    for (file, _) in folder.refused.iter().filter(|(_, r)| *r != "not_walked") {
        assert!(
            first_skips.iter().any(|s| &s.file == file),
            "{} refused",
            file.display()
        );
    }
    assert_eq!(watch.skipped_count(), first_skips.len());
    let ledger_text = std::fs::read_to_string(&ledger).unwrap();
    assert!(ledger_text.contains("nest-10000.dcm"), "{ledger_text}");

    // A restart: the same files are not read again, only reported as refused before.
    let mut again = FolderWatch::new(&folder.dir, Rules::builtin()).with_ledger(&ledger);
    let second = poll_until_quiet(&mut again);
    let nest = skipped(&second)
        .into_iter()
        .find(|s| s.file.ends_with("nest-10000.dcm"))
        .expect("reported again");
    assert!(nest.detail.contains("refused before"), "{}", nest.detail);

    // A file whose read never finished (the marker is left behind by a process that
    // died) is reported at the next start and not read.
    let victim = &folder.readable[0];
    let meta = std::fs::metadata(victim).unwrap();
    let mtime = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let marker = format!("{}\t{}\t{mtime}\treading\n", victim.display(), meta.len());
    std::fs::write(base.path().join("dicom-skipped.tsv.reading"), marker).unwrap();
    let mut third = FolderWatch::new(&folder.dir, Rules::builtin()).with_ledger(&ledger);
    let events = poll_until_quiet(&mut third);
    let crashed: Vec<_> = skipped(&events)
        .into_iter()
        .filter(|s| &s.file == victim)
        .collect();
    assert!(!crashed.is_empty(), "the crashing file is reported");
    assert!(
        crashed
            .iter()
            .all(|s| s.reason == SkipReason::Unreadable && !s.detail.is_empty()),
        "{crashed:?}"
    );
    assert!(
        !base.path().join("dicom-skipped.tsv.reading").exists(),
        "the marker is cleared"
    );
    let series = events
        .iter()
        .filter(|e| matches!(e, WatchEvent::Series { .. }))
        .count();
    // in-a.dcm is the same image (same series): still read; the victim is not.
    assert!(series <= 1);
}

#[test]
fn folders_deeper_than_the_walk_bound_are_refused_not_walked() {
    use cmr_kiosk::dicom::scan::MAX_WALK_DEPTH;
    let base = tempfile::tempdir().unwrap();
    let mut deep = base.path().to_path_buf();
    for i in 0..=MAX_WALK_DEPTH {
        deep.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("x.dcm"), b"deep").unwrap();
    let report = cmr_kiosk::dicom::scan_dir(base.path(), &Rules::builtin()).unwrap();
    let refused: Vec<_> = report
        .skipped
        .iter()
        .filter(|s| s.reason == SkipReason::NotWalked)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].detail.contains("MAX_WALK_DEPTH"));
    assert!(
        !report.skipped.iter().any(|s| s.file.ends_with("x.dcm")),
        "the file below the bound is never read"
    );
}
