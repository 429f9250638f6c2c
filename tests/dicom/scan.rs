//! DICOM scan tests on files generated at run time (`dicom::synth`): every step of
//! the standard in four vendors' naming styles, geometry in and out of range,
//! phase-encoding directions, technique facts, enhanced multi-frame MR.

use std::path::Path;

use cmr_kiosk::dicom::classify::{Classification, Rules};
use cmr_kiosk::dicom::header::read_header;
use cmr_kiosk::dicom::render_table;
use cmr_kiosk::dicom::scan::{ExamTypeSource, ScanOptions, ScanReport, scan_dir, scan_dir_with};
use cmr_kiosk::dicom::series::OrientationClass;
use cmr_kiosk::dicom::synth::{
    self, AXIAL, SynthStudy, VendorStyle, standard_series, write_enhanced, write_series,
    write_standard_exam,
};
use cmr_kiosk::domain::protocol::{ExamType, FindingCode, PhaseEncoding, ProtocolStep};
use rstest::rstest;

fn study(vendor: VendorStyle) -> SynthStudy {
    SynthStudy::new(vendor, "1.2.826.0.1.3680043.10.1234")
}

fn scan(dir: &Path) -> ScanReport {
    scan_dir(dir, &Rules::builtin()).expect("folder scans")
}

fn step_of(r: &ScanReport, description: &str) -> Option<ProtocolStep> {
    r.series
        .iter()
        .find(|s| s.summary.description.as_deref() == Some(description))
        .and_then(|s| s.classification.step())
}

#[rstest]
#[case::siemens(VendorStyle::Siemens)]
#[case::ge(VendorStyle::Ge)]
#[case::philips(VendorStyle::Philips)]
#[case::united_imaging(VendorStyle::UnitedImaging)]
fn every_step_of_the_standard_is_classified_and_compliant_3_1(#[case] vendor: VendorStyle) {
    let dir = tempfile::tempdir().unwrap();
    write_standard_exam(dir.path(), &study(vendor), false).unwrap();
    let r = scan(dir.path());
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.series.len(), ProtocolStep::ALL.len());
    for step in ProtocolStep::ALL {
        let (desc, _, _) = vendor.names(step);
        assert_eq!(
            step_of(&r, desc),
            Some(step),
            "{vendor:?} series {desc:?} should be {step:?}"
        );
    }
    for s in &r.series {
        assert!(
            s.findings.is_empty(),
            "{:?} {:?}: {:?}",
            vendor,
            s.summary.description,
            s.findings
        );
    }
    // Stress perfusion present → adenosine stress inferred; nothing missing.
    assert_eq!(r.exam_type, ExamType::AdenosineStress);
    assert_eq!(r.exam_type_source, ExamTypeSource::Inferred);
    assert!(r.missing_steps.is_empty(), "{:?}", r.missing_steps);
    // Technique facts offered to 5.2.3.
    assert_eq!(r.technique.vendor.as_deref(), Some(vendor.manufacturer()));
    assert_eq!(r.technique.model.as_deref(), Some(vendor.model()));
    let scanner = r.technique.scanner().expect("scanner facts");
    let expected_t = if vendor.field_strength() > 2.0 {
        3.0
    } else {
        1.5
    };
    assert!(
        (scanner.field_strength_t - expected_t).abs() < 0.11,
        "{scanner:?}"
    );
    assert_eq!(r.technique.steps.len(), ProtocolStep::ALL.len());
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn geometry_of_the_standard_series_is_derived() {
    let dir = tempfile::tempdir().unwrap();
    write_standard_exam(dir.path(), &study(VendorStyle::Siemens), false).unwrap();
    let r = scan(dir.path());
    let get = |step| {
        r.series
            .iter()
            .find(|s| s.classification.step() == Some(step))
            .map(|s| s.summary.clone())
            .unwrap()
    };
    let sax = get(ProtocolStep::CineSax);
    assert_eq!(sax.slices, 9);
    assert_eq!(sax.phases, 5);
    assert_eq!(sax.fov_mm, Some(320.0));
    assert_eq!(sax.slice_thickness_mm, Some(8.0));
    assert_eq!(sax.spacing_mm, Some(10.0));
    assert_eq!(sax.gap_mm, Some(2.0));
    assert_eq!(sax.orientation, Some(OrientationClass::Oblique));
    assert_eq!(sax.phase_encoding, Some(PhaseEncoding::Ap));
    assert_eq!(sax.files, 45);

    let loc = get(ProtocolStep::Localiser);
    assert_eq!(loc.orientation, Some(OrientationClass::Mixed));
    assert_eq!(loc.slices, 9);

    let bb = get(ProtocolStep::BlackBlood);
    // Two stacks, axial and coronal (3.1.1.1).
    assert_eq!(bb.orientation, Some(OrientationClass::Mixed));
    assert_eq!(bb.geometry.planes.len(), 2);
    assert_eq!(bb.fov_mm, Some(340.0));
    assert_eq!(bb.gap_mm, Some(2.0));

    let perf = get(ProtocolStep::StressPerfusion);
    assert_eq!(perf.slices, 3);
    assert_eq!(perf.phases, 4);
    assert_eq!(perf.fov_mm, Some(450.0));
    assert_eq!(perf.gap_mm, Some(10.0));

    let lvot_cor = get(ProtocolStep::CineLvotCoronal);
    assert_eq!(lvot_cor.phase_encoding, Some(PhaseEncoding::Lr));

    // Acquisition times: series start/end and study span.
    let t = |h: u32, m: u32, s: u32| {
        chrono::NaiveDate::from_ymd_opt(2025, 3, 14)
            .unwrap()
            .and_hms_opt(h, m, s)
            .unwrap()
    };
    assert_eq!(sax.start, Some(t(9, 15, 0)));
    assert_eq!(sax.end, Some(t(9, 16, 24)));
    assert_eq!(r.studies.len(), 1);
    assert_eq!(r.studies[0].start, Some(t(9, 0, 0)));
    assert_eq!(r.studies[0].patient_id.as_deref(), Some("P0001"));
    assert_eq!(r.studies[0].institution.as_deref(), Some("Fuwai Hospital"));
}

#[test]
fn out_of_range_geometry_gives_findings_with_clause_and_value_3_1_2_4() {
    let dir = tempfile::tempdir().unwrap();
    let st = study(VendorStyle::Ge);
    let mut sax = standard_series(VendorStyle::Ge, ProtocolStep::CineSax, "1.2.3");
    sax.pixel_mm = 1.5625; // 256 × 1.5625 = 400 mm
    sax.thickness_mm = 10.0;
    sax.spacing_mm = 14.0; // gap 4
    sax.slices = 12;
    sax.phases = 2;
    write_series(dir.path(), &st, &sax, false).unwrap();
    let r = scan(dir.path());
    let s = &r.series[0];
    assert_eq!(s.classification.step(), Some(ProtocolStep::CineSax));
    let codes: Vec<FindingCode> = s.findings.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        vec![
            FindingCode::FovOutOfRange,
            FindingCode::SliceOutOfRange,
            FindingCode::GapOutOfRange,
            FindingCode::SliceCountOutOfRange
        ]
    );
    assert!(s.findings.iter().all(|f| f.clause == "3.1.2.4"));
    assert_eq!(s.findings[0].measured, "400 mm");
    assert_eq!(s.findings[0].expected, "280–340 mm");
    assert_eq!(s.findings[2].measured, "4 mm");
    assert_eq!(s.findings[3].measured, "12", "a count has no English unit");
    let table = render_table(&r);
    assert!(table.contains("clause 3.1.2.4"), "{table}");
    assert!(table.contains("400 mm"));
}

#[rstest]
// 2-chamber allows A-P only; phase along the rows of this plane is L-R.
#[case::cine_2ch_lr_3_1_2_2(ProtocolStep::Cine2ch, "ROW", Some("3.1.2.2"))]
#[case::cine_2ch_ap_3_1_2_2(ProtocolStep::Cine2ch, "COL", None)]
// LVOT coronal allows L-R only.
#[case::lvot_coronal_ap_3_1_2_6(ProtocolStep::CineLvotCoronal, "COL", Some("3.1.2.6"))]
#[case::lvot_coronal_lr_3_1_2_6(ProtocolStep::CineLvotCoronal, "ROW", None)]
// LGE allows either.
#[case::lge_ap_3_1_4_4(ProtocolStep::Lge, "COL", None)]
fn phase_encoding_direction_is_checked(
    #[case] step: ProtocolStep,
    #[case] dir: &'static str,
    #[case] clause: Option<&str>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = standard_series(VendorStyle::Philips, step, "1.2.3");
    s.phase_dir = dir;
    write_series(tmp.path(), &study(VendorStyle::Philips), &s, false).unwrap();
    let r = scan(tmp.path());
    let sr = &r.series[0];
    assert_eq!(sr.classification.step(), Some(step));
    let pe: Vec<_> = sr
        .findings
        .iter()
        .filter(|f| f.code == FindingCode::PhaseEncodingNotAllowed)
        .collect();
    match clause {
        Some(c) => {
            assert_eq!(pe.len(), 1, "{:?}", sr.findings);
            assert_eq!(pe[0].clause, c);
        }
        None => assert!(pe.is_empty(), "{:?}", sr.findings),
    }
}

#[test]
fn axial_stack_with_phase_head_foot_is_not_allowed_for_static_imaging_3_1_1() {
    // Coronal black-blood stack with phase along columns (head-foot).
    let tmp = tempfile::tempdir().unwrap();
    let mut s = standard_series(
        VendorStyle::UnitedImaging,
        ProtocolStep::BlackBlood,
        "1.2.3",
    );
    s.planes = vec![synth::CORONAL];
    write_series(tmp.path(), &study(VendorStyle::UnitedImaging), &s, false).unwrap();
    let r = scan(tmp.path());
    let sr = &r.series[0];
    assert_eq!(sr.summary.orientation, Some(OrientationClass::Coronal));
    assert_eq!(sr.summary.phase_encoding, Some(PhaseEncoding::Hf));
    assert_eq!(sr.findings.len(), 1);
    assert_eq!(sr.findings[0].measured, "H-F");
    assert_eq!(sr.findings[0].clause, "3.1.1");
}

#[test]
fn unknown_names_stay_unclassified_and_are_not_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = standard_series(VendorStyle::Siemens, ProtocolStep::CineSax, "1.2.3");
    s.description = "research_sequence_xyz".into();
    s.protocol = "research_sequence_xyz".into();
    s.sequence_name = "*epi".into();
    s.pixel_mm = 3.0; // would be out of range if it were checked
    write_series(tmp.path(), &study(VendorStyle::Siemens), &s, false).unwrap();
    let r = scan(tmp.path());
    assert_eq!(r.series[0].classification, Classification::Unclassified);
    assert!(r.series[0].findings.is_empty());
    assert!(render_table(&r).contains("unclassified"));
}

#[test]
fn ti_scout_is_not_taken_for_a_localiser_or_lge() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = standard_series(VendorStyle::Siemens, ProtocolStep::Lge, "1.2.3");
    s.description = "TI scout".into();
    s.protocol = "TI scout".into();
    s.sequence_name = "*tfi2d1_71".into();
    write_series(tmp.path(), &study(VendorStyle::Siemens), &s, false).unwrap();
    let r = scan(tmp.path());
    assert_eq!(r.series[0].classification, Classification::Unclassified);
}

#[test]
fn site_rules_come_first() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = standard_series(VendorStyle::Siemens, ProtocolStep::CineSax, "1.2.3");
    s.description = "Fuwai_SA_cine_v2".into();
    s.protocol = "Fuwai_SA_cine_v2".into();
    s.sequence_name = "*xx".into();
    write_series(tmp.path(), &study(VendorStyle::Siemens), &s, false).unwrap();
    let site = r#"
[[rule]]
id = "fuwai.sax"
step = "cine_sax"
require = [["glob:fuwai_sa_cine*"]]
"#;
    let rules = Rules::builtin().with_site(site, "site.toml").unwrap();
    let r = scan_dir(tmp.path(), &rules).unwrap();
    assert_eq!(
        r.series[0].classification,
        Classification::Classified {
            step: ProtocolStep::CineSax,
            rule: "fuwai.sax".into()
        }
    );
    // A site rule may not reuse a shipped id.
    let clash = "[[rule]]\nid='generic.lge'\nstep='lge'\nrequire=[['x']]\n";
    assert!(Rules::builtin().with_site(clash, "site.toml").is_err());
}

#[test]
fn missing_required_steps_per_exam_type_3_1_2_1() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(VendorStyle::Ge);
    for step in [
        ProtocolStep::Localiser,
        ProtocolStep::Cine4ch,
        ProtocolStep::CineSax,
    ] {
        write_series(
            tmp.path(),
            &st,
            &standard_series(VendorStyle::Ge, step, "1.2.3"),
            false,
        )
        .unwrap();
    }
    let r = scan(tmp.path());
    assert_eq!(r.exam_type, ExamType::Routine);
    assert_eq!(
        r.missing_steps,
        vec![
            ProtocolStep::BlackBlood,
            ProtocolStep::Cine2ch,
            ProtocolStep::CineLvot
        ]
    );
    let given = scan_dir_with(
        tmp.path(),
        &Rules::builtin(),
        &ScanOptions {
            exam_type: Some(ExamType::AdenosineStress),
        },
    )
    .unwrap();
    assert_eq!(given.exam_type_source, ExamTypeSource::Given);
    assert!(given.missing_steps.contains(&ProtocolStep::StressPerfusion));
    assert!(given.missing_steps.contains(&ProtocolStep::Lge));
    assert!(render_table(&given).contains("stress_perfusion (3.1.3.5)"));
}

#[test]
fn enhanced_multiframe_mr_is_read_from_functional_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(VendorStyle::Philips);
    let s = standard_series(VendorStyle::Philips, ProtocolStep::CineSax, "1.2.3");
    let path = write_enhanced(tmp.path(), &st, &s, true).unwrap();
    let h = read_header(&path).unwrap();
    assert!(h.enhanced);
    assert_eq!(h.number_of_frames, 45);
    assert_eq!(h.frames.len(), 45);
    assert_eq!(h.geometry.pixel_spacing, Some([1.25, 1.25]));
    assert_eq!(h.geometry.slice_thickness, Some(8.0));
    assert_eq!(h.timing.tr_ms, Some(3.1));
    assert_eq!(h.timing.flip_angle_deg, Some(55.0));
    assert_eq!(h.frames[1].trigger_time_ms, Some(40.0));
    assert_eq!(h.series.sequence_name.as_deref(), Some("BTFE"));
    assert!(h.frames[0].orientation.is_some());
    assert!(h.frames[44].acquired_at > h.frames[0].acquired_at);

    let r = scan(tmp.path());
    let sr = &r.series[0];
    assert_eq!(sr.classification.step(), Some(ProtocolStep::CineSax));
    assert!(sr.summary.enhanced);
    assert_eq!(sr.summary.files, 1);
    assert_eq!(sr.summary.images, 45);
    assert_eq!(sr.summary.slices, 9);
    assert_eq!(sr.summary.phases, 5);
    assert_eq!(sr.summary.fov_mm, Some(320.0));
    assert_eq!(sr.summary.gap_mm, Some(2.0));
    assert_eq!(sr.summary.phase_encoding, Some(PhaseEncoding::Ap));
    assert!(sr.findings.is_empty(), "{:?}", sr.findings);
}

#[test]
fn json_report_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let st = study(VendorStyle::Siemens);
    let mut s = standard_series(VendorStyle::Siemens, ProtocolStep::Lge, "1.2.3");
    s.thickness_mm = 10.0;
    write_series(tmp.path(), &st, &s, false).unwrap();
    let r = scan(tmp.path());
    let json = r.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["series"][0]["classification"]["status"], "classified");
    assert_eq!(v["series"][0]["classification"]["step"], "lge");
    assert_eq!(v["series"][0]["findings"][0]["code"], "slice_out_of_range");
    assert_eq!(v["series"][0]["findings"][0]["clause"], "3.1.4.4");
    assert_eq!(v["series"][0]["summary"]["phase_encoding"], "lr");
    assert_eq!(v["exam_type"], "contrast");
    let back: ScanReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn axial_plane_constant_is_axial() {
    assert_eq!(
        cmr_kiosk::dicom::series::orientation_class(&AXIAL),
        Some(OrientationClass::Axial)
    );
}

/// Hidden entries are files being written (the DICOM receiver's spool, a copy
/// tool's temporary file): the folder walk never reads them, so half a file is
/// neither a skipped file nor a series.
#[test]
fn issue_14_hidden_files_and_folders_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = study(VendorStyle::Siemens);
    let sax = standard_series(
        VendorStyle::Siemens,
        ProtocolStep::CineSax,
        "1.2.826.0.1.3680043.9.7153",
    );
    write_series(dir.path(), &s, &sax, false).unwrap();
    std::fs::write(dir.path().join(".s001_00001.dcm.part"), b"DICM half a file").unwrap();
    let spool = dir.path().join(".receiving");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("abc.part"), vec![0u8; 300]).unwrap();
    let r = scan(dir.path());
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.series.len(), 1);
    // Visible, the same bytes are refused as unreadable.
    std::fs::rename(spool.join("abc.part"), dir.path().join("abc.part")).unwrap();
    assert_eq!(scan(dir.path()).skipped.len(), 1);
}
