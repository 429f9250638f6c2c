//! Checks across an exam's series read from DICOM files (3.1.1.1, 3.1.4.2, 3.1.4.3):
//! the planes each series brings, whether LGE is PSIR, and the scan report's gaps.

use std::path::Path;

use cmr_kiosk::dicom::classify::Rules;
use cmr_kiosk::dicom::scan::{ScanReport, scan_dir};
use cmr_kiosk::dicom::synth::{
    AXIAL, CORONAL, OBLIQUE, SynthStudy, VendorStyle, standard_series, write_series,
    write_standard_exam,
};
use cmr_kiosk::dicom::watch::acquired_event;
use cmr_kiosk::domain::ExamEvent;
use cmr_kiosk::domain::coverage::{CoverageCode, OrientationClass};
use cmr_kiosk::domain::protocol::ProtocolStep;
use rstest::rstest;

const ROOT: &str = "1.2.826.0.1.3680043.10.4242";

/// A double-oblique plane about 60° from [`OBLIQUE`] (a different cardiac view).
const OTHER_VIEW: [f64; 6] = [0.0, 0.8, 0.6, 1.0, 0.0, 0.0];

fn study(vendor: VendorStyle) -> SynthStudy {
    SynthStudy::new(vendor, ROOT)
}

fn scan(dir: &Path) -> ScanReport {
    scan_dir(dir, &Rules::builtin()).expect("folder scans")
}

fn write(
    dir: &Path,
    vendor: VendorStyle,
    step: ProtocolStep,
    edit: impl FnOnce(&mut cmr_kiosk::dicom::synth::SynthSeries),
) {
    let mut s = standard_series(vendor, step, ROOT);
    edit(&mut s);
    write_series(dir, &study(vendor), &s, false).unwrap();
}

#[rstest]
#[case::siemens(VendorStyle::Siemens)]
#[case::ge(VendorStyle::Ge)]
#[case::philips(VendorStyle::Philips)]
#[case::united_imaging(VendorStyle::UnitedImaging)]
fn clause_3_1_standard_exam_meets_every_check_across_series(#[case] vendor: VendorStyle) {
    let dir = tempfile::tempdir().unwrap();
    write_standard_exam(dir.path(), &study(vendor), false).unwrap();
    let r = scan(dir.path());
    assert!(r.coverage.is_empty(), "{vendor:?}: {:?}", r.coverage);
    let lge = r
        .series
        .iter()
        .find(|s| s.classification.step() == Some(ProtocolStep::Lge))
        .unwrap();
    assert!(lge.summary.psir, "{vendor:?} LGE is PSIR");
    let text = cmr_kiosk::dicom::render_table(&r);
    assert!(
        text.contains("Checks across series (3.1.1.1, 3.1.4.2, 3.1.4.3): met"),
        "{text}"
    );
}

#[test]
fn clause_3_1_1_1_static_imaging_in_one_orientation_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        VendorStyle::Siemens,
        ProtocolStep::BlackBlood,
        |s| {
            s.planes = vec![AXIAL];
        },
    );
    let r = scan(dir.path());
    let gap = r
        .coverage
        .iter()
        .find(|g| g.code == CoverageCode::StaticOrientations)
        .expect("one orientation is not enough");
    assert_eq!(gap.seen, vec![OrientationClass::Axial]);
    let text = cmr_kiosk::dicom::render_table(&r);
    assert!(
        text.contains("clause 3.1.1.1: static imaging in axial only"),
        "{text}"
    );

    // A coronal bright-blood stack beside it meets the clause.
    write(
        dir.path(),
        VendorStyle::Siemens,
        ProtocolStep::BrightBlood,
        |s| {
            s.planes = vec![CORONAL];
            s.description = "trufi_cor_multi".into();
            s.protocol = "trufi_cor_multi".into();
        },
    );
    let r = scan(dir.path());
    assert!(
        !r.coverage
            .iter()
            .any(|g| g.code == CoverageCode::StaticOrientations),
        "{:?}",
        r.coverage
    );
}

#[test]
fn clause_3_1_4_2_lge_without_psir_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), VendorStyle::Ge, ProtocolStep::Lge, |s| {
        s.description = "MDE SAX".into();
    });
    let r = scan(dir.path());
    assert_eq!(r.series.len(), 1);
    assert_eq!(r.series[0].classification.step(), Some(ProtocolStep::Lge));
    assert!(!r.series[0].summary.psir);
    assert!(
        r.coverage
            .iter()
            .any(|g| g.code == CoverageCode::LgeWithoutPsir)
    );
    // The exam event says so: the exam reminds the technologist (3.1.4.2).
    match acquired_event(&r.series[0]) {
        Some(ExamEvent::SeriesAcquired { psir, geometry, .. }) => {
            assert_eq!(psir, Some(false));
            assert_eq!(geometry.unwrap().planes.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn clause_3_1_4_3_lge_outside_the_cine_planes_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let v = VendorStyle::Siemens;
    write(dir.path(), v, ProtocolStep::Cine2ch, |s| {
        s.planes = vec![OTHER_VIEW]
    });
    write(dir.path(), v, ProtocolStep::Cine4ch, |s| {
        s.planes = vec![OBLIQUE]
    });
    write(dir.path(), v, ProtocolStep::CineSax, |s| {
        s.planes = vec![OBLIQUE]
    });
    // LGE only in the short-axis / 4-chamber orientation.
    write(dir.path(), v, ProtocolStep::Lge, |s| {
        s.planes = vec![OBLIQUE]
    });
    let r = scan(dir.path());
    let gap = r
        .coverage
        .iter()
        .find(|g| g.code == CoverageCode::LgePlanesUnmatched)
        .expect("the 2-chamber plane has no LGE");
    assert_eq!(gap.views, vec![ProtocolStep::Cine2ch]);
    let text = cmr_kiosk::dicom::render_table(&r);
    assert!(
        text.contains("clause 3.1.4.3: LGE not in the plane of cine_2ch"),
        "{text}"
    );

    // A 2-chamber LGE block closes it.
    write(dir.path(), v, ProtocolStep::Lge, |s| {
        s.planes = vec![OTHER_VIEW];
        s.number = 40;
        s.uid = format!("{ROOT}.2.40");
        s.description = "de_tfl_psir_2ch".into();
    });
    let r = scan(dir.path());
    assert!(
        !r.coverage
            .iter()
            .any(|g| g.code == CoverageCode::LgePlanesUnmatched),
        "{:?}",
        r.coverage
    );
}
