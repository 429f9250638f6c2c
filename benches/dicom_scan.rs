//! Header-only scan speed: `dicom::scan_dir` over a folder of ~3000 generated MR
//! files (each with a real-size 256×256×2-byte pixel data element that must not
//! be read), compared in the same run with pydicom's
//! `dcmread(stop_before_pixels=True)` over the same folder when pydicom is installed.
//!
//! Run: `cargo bench --bench dicom_scan` (harness = false).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cmr_kiosk::dicom::classify::Rules;
use cmr_kiosk::dicom::scan::scan_dir;
use cmr_kiosk::dicom::synth::{SynthStudy, VendorStyle, standard_series, write_series};
use cmr_kiosk::domain::protocol::ProtocolStep;

const TARGET_FILES: usize = 3000;

fn generate(dir: &Path) -> usize {
    let mut total = 0;
    'outer: for (i, vendor) in VendorStyle::ALL.iter().cycle().enumerate() {
        let root = format!("1.2.826.0.1.3680043.10.77.{i}");
        let study = SynthStudy::new(*vendor, &root);
        let sub = dir.join(format!("exam{i:02}"));
        std::fs::create_dir_all(&sub).expect("create folder");
        for step in ProtocolStep::ALL {
            let mut s = standard_series(*vendor, step, &root);
            s.matrix = 256;
            if s.phases > 1 {
                s.phases = if step.is_contrast() { 40 } else { 25 };
            }
            total += write_series(&sub, &study, &s, true)
                .expect("write series")
                .len();
            if total >= TARGET_FILES {
                break 'outer;
            }
        }
    }
    total
}

/// pydicom doing the kiosk's work: every file's header (never its pixels), the same
/// ~70 attributes the kiosk decodes (identity, timing, geometry, sequence parameters,
/// contrast, safety, the enhanced MR functional groups when present), grouped into
/// series with their slice positions and phases counted, as `scan_dir` does.
const PYDICOM: &str = r#"
import os, sys, time
import pydicom
KEYWORDS = """AccessionNumber AcquisitionDate AcquisitionDateTime AcquisitionMatrix
AcquisitionTime CardiacNumberOfImages Columns ContentTime ContrastBolusAgent
ContrastBolusIngredient ContrastBolusIngredientConcentration ContrastBolusRoute
ContrastBolusStartTime ContrastBolusStopTime ContrastBolusTotalDose ContrastBolusVolume
ContrastFlowDuration ContrastFlowRate dBdt EchoTime FlipAngle HeartRate
ImageOrientationPatient ImagePositionPatient ImageType InstanceNumber InstitutionName
InversionTime InPlanePhaseEncodingDirection MagneticFieldStrength Manufacturer
ManufacturerModelName Modality MRAcquisitionType NominalCardiacTriggerDelayTime
NumberOfFrames PatientAge PatientID PatientName PatientSex PatientWeight
PercentPhaseFieldOfView PixelSpacing ProtocolName PulseSequenceName
ReconstructionDiameter RepetitionTime Rows SAR ScanningSequence SequenceName
SequenceVariant SeriesDate SeriesDescription SeriesInstanceUID SeriesNumber SeriesTime
SliceThickness SoftwareVersions SOPClassUID SOPInstanceUID SpacingBetweenSlices
SpecificCharacterSet StationName StudyDate StudyDescription StudyInstanceUID StudyTime
TriggerTime""".split()
paths = []
for root, _, files in os.walk(sys.argv[1]):
    paths.extend(os.path.join(root, f) for f in files)
paths.sort()
t = time.perf_counter()
series = {}
n = 0
for p in paths:
    ds = pydicom.dcmread(p, stop_before_pixels=True)
    h = {k: ds.get(k) for k in KEYWORDS}
    for seq in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        for item in ds.get(seq, []) or []:
            for sub in item:
                if sub.VR == "SQ":
                    for inner in sub.value:
                        for e in inner:
                            h.setdefault(e.keyword, e.value)
    s = series.setdefault(str(h["SeriesInstanceUID"]), [])
    s.append(h)
    n += 1
summary = []
for uid, items in series.items():
    items.sort(key=lambda h: int(h["InstanceNumber"] or 0))
    iop = items[0]["ImageOrientationPatient"]
    if iop is not None and len(iop) == 6:
        r, c = [float(x) for x in iop[:3]], [float(x) for x in iop[3:]]
        nrm = (r[1]*c[2]-r[2]*c[1], r[2]*c[0]-r[0]*c[2], r[0]*c[1]-r[1]*c[0])
    else:
        nrm = (0.0, 0.0, 1.0)
    positions = {}
    for h in items:
        ipp = h["ImagePositionPatient"]
        d = round(sum(float(a)*b for a, b in zip(ipp, nrm)), 1) if ipp is not None else 0.0
        positions[d] = positions.get(d, 0) + 1
    summary.append((uid, len(items), len(positions), max(positions.values())))
print(f"{n} {time.perf_counter() - t:.6f} {pydicom.__version__} {len(summary)}")
"#;

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t0 = Instant::now();
    let files = generate(tmp.path());
    let bytes: u64 = walk_size(tmp.path());
    println!(
        "generated {files} files, {:.1} MB, in {:.1} s",
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    let rules = Rules::builtin();
    // Warm the page cache once so both readers see the same conditions.
    let _ = scan_dir(tmp.path(), &rules);
    let mut best = f64::MAX;
    let mut series = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let report = scan_dir(tmp.path(), &rules).expect("scan");
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(report.files_read, files);
        assert!(report.skipped.is_empty());
        series = report.series.len();
    }
    println!(
        "cmr-kiosk scan_dir: {files} files ({series} series) in {:.3} s best of 3 → {:.0} files/s",
        best,
        files as f64 / best
    );

    let python = std::env::var("CMR_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let have = Command::new(&python)
        .args(["-c", "import pydicom"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        println!("pydicom not installed (scripts/bench installs it in a virtual environment)");
        println!(
            "@bench\tDICOM header scan, {files} files\t{best:.3} s\tpydicom: not installed\t–"
        );
        return;
    }
    let mut py_best = f64::MAX;
    let mut version = String::new();
    for _ in 0..2 {
        let out = Command::new(&python)
            .args(["-c", PYDICOM])
            .arg(tmp.path())
            .output()
            .expect("run python3");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let n: usize = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let secs: f64 = parts
            .next()
            .and_then(|x| x.parse().ok())
            .unwrap_or(f64::NAN);
        version = parts.next().unwrap_or("?").to_string();
        let py_series: usize = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        assert_eq!(py_series, series, "pydicom grouped the same series");
        assert_eq!(
            n,
            files,
            "pydicom read {n} files: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        py_best = py_best.min(secs);
    }
    println!(
        "pydicom {version} dcmread(stop_before_pixels=True), same attributes and grouping: {files} files in {:.3} s best of 2 → {:.0} files/s",
        py_best,
        files as f64 / py_best
    );
    println!("ratio: {:.1}× pydicom", py_best / best);
    println!(
        "@bench\tDICOM header scan + series, {files} files\t{best:.3} s\tpydicom {version} {py_best:.3} s\t{:.3}×",
        best / py_best
    );
}

fn walk_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk_size(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
