//! `cmr-kiosk dicom synth` writes a series the kiosk's own scanner-side reading
//! classifies as the step asked for; a wrong step is refused by name.

use crate::support::cli as cli_support;
use cli_support::kiosk;

#[test]
fn a_synthetic_series_is_read_back_as_its_step() {
    let dir = tempfile::tempdir().unwrap();
    for (step, number) in [("stress_perfusion", 7), ("lge", 12)] {
        let out = kiosk()
            .args(["dicom", "synth", "--step", step, "--number"])
            .arg(number.to_string())
            .arg("--out")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let scan = kiosk()
        .args(["dicom", "scan", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(scan.status.success(), "{scan:?}");
    let text = String::from_utf8(scan.stdout).unwrap();
    assert!(text.contains("\"stress_perfusion\""), "{text}");
    assert!(text.contains("\"lge\""), "{text}");

    let bad = kiosk()
        .args(["dicom", "synth", "--step", "nonsense", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nonsense"));
}
