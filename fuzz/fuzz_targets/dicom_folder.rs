//! Fuzz the folder walk and scan (`cargo +nightly fuzz run dicom_folder`): the input
//! describes a small tree — folders, files with fuzzed contents, and symbolic links to
//! `.`, `..`, siblings or `/` — made in a temporary folder and scanned. The scan must
//! return with every file counted at most once and every link out of the folder or
//! into a loop refused.
#![no_main]

use std::path::PathBuf;

use cmr_kiosk::dicom::{Rules, scan_dir};
use libfuzzer_sys::fuzz_target;

/// The most tree entries one input makes.
const MAX_ENTRIES: usize = 32;

fuzz_target!(|data: &[u8]| {
    let Ok(root) = tempfile::tempdir() else { return };
    let mut dirs: Vec<PathBuf> = vec![root.path().to_path_buf()];
    let mut files = 0usize;
    let mut bytes = data.iter().copied();
    let mut n = 0;
    while let (Some(op), Some(arg)) = (bytes.next(), bytes.next()) {
        if n >= MAX_ENTRIES {
            break;
        }
        n += 1;
        let parent = dirs[usize::from(arg) % dirs.len()].clone();
        let name = format!("e{n}");
        match op % 4 {
            0 => {
                let d = parent.join(&name);
                if std::fs::create_dir(&d).is_ok() {
                    dirs.push(d);
                }
            }
            1 => {
                let len = usize::from(op / 4);
                let content: Vec<u8> = bytes.by_ref().take(len).collect();
                if std::fs::write(parent.join(&name), content).is_ok() {
                    files += 1;
                }
            }
            _ => {
                let target = match arg % 5 {
                    0 => ".".to_string(),
                    1 => "..".to_string(),
                    2 => "../..".to_string(),
                    3 => "/".to_string(),
                    _ => format!("e{}", usize::from(op) % n.max(1)),
                };
                let _ = std::os::unix::fs::symlink(target, parent.join(&name));
            }
        }
    }
    if let Ok(report) = scan_dir(root.path(), &Rules::builtin()) {
        let walked = report.files_seen - report.skipped.iter().filter(|s| s.file.is_symlink() || s.file.is_dir()).count();
        assert!(walked <= files, "a file counted twice: {walked} > {files}");
    }
});
