//! The incoming-folder watch: files are read once they hold still, a series is reported
//! once it has settled, bad files are reported once, and a settled series is logged into
//! the running exam with the scanner's facts and its acquisition times.

use std::sync::mpsc;
use std::time::Duration;

use cmr_kiosk::config::Database;
use cmr_kiosk::dicom::Rules;
use cmr_kiosk::dicom::classify::Classification;
use cmr_kiosk::dicom::synth::{SynthStudy, VendorStyle, standard_series, write_series};
use cmr_kiosk::dicom::watch::{FolderWatch, WatchEvent};
use cmr_kiosk::domain::protocol::ProtocolStep;
use cmr_kiosk::domain::{ExamEvent, ProtocolSettings};
use cmr_kiosk::engine::recorder::{Recorder, RecorderReport};
use cmr_kiosk::engine::session::ExamSession;

fn series_events(events: &[WatchEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, WatchEvent::Series { .. }))
        .count()
}

#[test]
fn clause_3_1_series_are_reported_once_settled_and_bad_files_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut watch = FolderWatch::new(dir.path(), Rules::builtin());
    assert!(watch.poll().is_empty(), "an empty folder says nothing");

    let study = SynthStudy::new(VendorStyle::Siemens, "1.2.826.0.1.3680043.9.7");
    let sax = standard_series(
        VendorStyle::Siemens,
        ProtocolStep::CineSax,
        "1.2.826.0.1.3680043.9.7",
    );
    write_series(dir.path(), &study, &sax, false).unwrap();

    assert_eq!(
        series_events(&watch.poll()),
        0,
        "first sighting: files may still be written"
    );
    assert_eq!(
        series_events(&watch.poll()),
        0,
        "read, but the series may still grow"
    );
    let events = watch.poll();
    assert_eq!(series_events(&events), 1, "settled: reported");
    let WatchEvent::Series { report, technique } = &events[0] else {
        unreachable!()
    };
    assert!(
        matches!(
            report.classification,
            Classification::Classified {
                step: ProtocolStep::CineSax,
                ..
            }
        ),
        "{:?}",
        report.classification
    );
    assert!(
        report.findings.is_empty(),
        "compliant geometry: {:?}",
        report.findings
    );
    assert_eq!(technique.scanner().unwrap().field_strength_t, 3.0);
    assert!(watch.poll().is_empty(), "reported once");

    std::fs::write(dir.path().join("junk.dcm"), b"not a dicom file at all").unwrap();
    assert!(watch.poll().is_empty());
    let events = watch.poll();
    assert!(
        matches!(&events[..], [WatchEvent::Skipped(f)] if f.file.ends_with("junk.dcm")),
        "{events:?}"
    );
    assert!(watch.poll().is_empty(), "a bad file is reported once");

    let mut gone = FolderWatch::new(dir.path().join("missing"), Rules::builtin());
    assert!(matches!(&gone.poll()[..], [WatchEvent::FolderError(_)]));
    assert!(
        gone.poll().is_empty(),
        "the same folder error is not repeated"
    );
}

#[test]
fn clause_5_2_3_a_settled_series_is_logged_with_scanner_and_acquisition_times() {
    let dir = tempfile::tempdir().unwrap();
    let incoming = dir.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    let db = Database {
        url: format!("sqlite://{}", dir.path().join("kiosk.db").display()),
        device_id: "watch-test".into(),
        ..Default::default()
    };
    let (tx, rx) = mpsc::channel();
    let rec = Recorder::start(&db, move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    let mut session = ExamSession::open(ProtocolSettings::default(), &rec, "tech-li");

    let study = SynthStudy::new(VendorStyle::Ge, "1.2.826.0.1.3680043.9.8");
    let lge = standard_series(
        VendorStyle::Ge,
        ProtocolStep::Lge,
        "1.2.826.0.1.3680043.9.8",
    );
    write_series(&incoming, &study, &lge, false).unwrap();
    let mut watch = FolderWatch::new(&incoming, Rules::builtin());
    let events: Vec<_> = (0..4).flat_map(|_| watch.poll()).collect();
    let Some(WatchEvent::Series { report, technique }) = events.first() else {
        panic!("{events:?}")
    };
    assert!(session.apply_series(report, technique, &rec).unwrap());
    assert!(
        session
            .exam()
            .acquired()
            .iter()
            .any(|(_, s)| *s == ProtocolStep::Lge)
    );
    let facts = session.exam().technique(session.now());
    assert_eq!(
        facts.vendor.as_deref(),
        Some(VendorStyle::Ge.manufacturer())
    );
    assert_eq!(facts.field_strength_t, Some(1.5));
    drop(rec);

    // After a restart the log holds the scanner and the series with its times.
    let (tx, rx2) = mpsc::channel();
    let rec = Recorder::start(&db, move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    let recovered = loop {
        match rx2.recv_timeout(Duration::from_secs(20)).unwrap() {
            RecorderReport::Opened { recovered, .. } => break recovered.expect("running exam"),
            _ => continue,
        }
    };
    // The folder is read again by the restarted kiosk: the series is already in the
    // log and is not logged twice.
    let mut resumed = ExamSession::recover(ProtocolSettings::default(), &recovered).unwrap();
    let mut watch = FolderWatch::new(&incoming, Rules::builtin());
    let again: Vec<_> = (0..4).flat_map(|_| watch.poll()).collect();
    let Some(WatchEvent::Series { report, technique }) = again.first() else {
        panic!("{again:?}")
    };
    assert!(!resumed.apply_series(report, technique, &rec).unwrap());
    assert_eq!(resumed.exam().acquired().len(), 1);
    drop(rec);
    drop(rx);
    let kinds: Vec<_> = recovered.events.iter().map(|e| &e.event).collect();
    assert!(
        matches!(kinds[0], ExamEvent::ScannerRecorded { .. }),
        "{kinds:?}"
    );
    match kinds[1] {
        ExamEvent::SeriesAcquired {
            step,
            params,
            acquisition,
            ..
        } => {
            assert_eq!(*step, ProtocolStep::Lge);
            assert!(params.as_ref().unwrap().fov_mm.is_some());
            let a = acquisition.as_ref().unwrap();
            assert!(a.start.is_some() && a.end.is_some(), "{a:?}");
            assert!(!a.series_uid.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn clause_2_1_2_a_series_above_an_implant_condition_raises_the_high_alarm_from_its_header() {
    use cmr_kiosk::domain::output::{AlarmCode, AlarmPriority, Decision};
    use cmr_kiosk::domain::screening::{
        Implant, ImplantConditions, ImplantKind, MrStatus, Patient, ScreeningAnswers, Sex,
    };
    let dir = tempfile::tempdir().unwrap();
    let incoming = dir.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    let db = Database {
        url: format!("sqlite://{}", dir.path().join("kiosk.db").display()),
        device_id: "watch-implant".into(),
        ..Default::default()
    };
    let rec = Recorder::start(&db, |_| {}).unwrap();
    let mut session = ExamSession::open(ProtocolSettings::default(), &rec, "tech-li");
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Female,
        age_years: 54,
        egfr: Some(90.0),
        egfr_date: None,
    };
    let answers = ScreeningAnswers {
        implants: vec![Implant {
            kind: ImplantKind::Neurostimulator,
            mr_status: MrStatus::Conditional,
            conditions: Some(ImplantConditions {
                field_strength_t: vec![1.5],
                max_wb_sar_w_kg: Some(2.0),
                ..Default::default()
            }),
        }],
        ..Default::default()
    };
    session
        .handle(ExamEvent::PatientRegistered { patient }, "nurse-wang", &rec)
        .unwrap();
    session
        .handle(ExamEvent::ScreeningAnswered { answers }, "nurse-wang", &rec)
        .unwrap();
    session.exam_mut().drain();

    let root = "1.2.826.0.1.3680043.9.9";
    let study = SynthStudy::new(VendorStyle::Ge, root);
    // Within the label: 0.8 W/kg. Above it: 2.6 W/kg, as the header says.
    let cine = standard_series(VendorStyle::Ge, ProtocolStep::CineSax, root);
    let mut lge = standard_series(VendorStyle::Ge, ProtocolStep::Lge, root);
    lge.sar_w_kg = 2.6;
    let mut alarms = Vec::new();
    for series in [&cine, &lge] {
        write_series(&incoming, &study, series, false).unwrap();
        let mut watch = FolderWatch::new(&incoming, Rules::builtin());
        let events: Vec<_> = (0..4).flat_map(|_| watch.poll()).collect();
        for e in events {
            if let WatchEvent::Series { report, technique } = e
                && report.summary.series_uid == series.uid
            {
                assert_eq!(report.summary.safety.sar_w_kg, Some(series.sar_w_kg));
                session.apply_series(&report, &technique, &rec).unwrap();
            }
        }
        alarms.push(session.exam_mut().drain().into_iter().any(|o| {
            o.decision
                == Decision::Alarm {
                    code: AlarmCode::ImplantConditionExceeded,
                    priority: AlarmPriority::High,
                }
        }));
    }
    assert_eq!(alarms, vec![false, true], "only the series above 2.0 W/kg");
}
