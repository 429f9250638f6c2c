//! Checks across an exam's series (3.1.1.1, 3.1.4.2, 3.1.4.3), series timed by their
//! DICOM acquisition time rather than their arrival (3.1.4.1, 3.2.3), and what lifts a
//! clearance refusal (a finding no override lifts).

use chrono::NaiveDateTime;
use cmr_kiosk::domain::Acquisition;
use cmr_kiosk::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest, Purpose};
use cmr_kiosk::domain::coverage::{
    CoverageCode, MAX_SERIES_PLANES, OrientationClass, SeriesGeometry, same_plane,
};
use cmr_kiosk::domain::date::CivilDate;
use cmr_kiosk::domain::exam::{
    Exam, ExamEvent, MAX_SERIES_DELAY, ProtocolSettings, SCANNER_CLOCK_AHEAD_TOLERANCE,
};
use cmr_kiosk::domain::guard::StepAuthority;
use cmr_kiosk::domain::output::{Decision, Lift, RejectCode, ReminderCode, WarningCode};
use cmr_kiosk::domain::protocol::ProtocolStep;
use cmr_kiosk::domain::screening::{
    Implant, ImplantKind, MrStatus, Patient, ScreeningAnswers, Sex,
};
use cmr_kiosk::domain::stress::{StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;
use proptest::prelude::*;

fn s(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

const ANCHOR: &str = "2026-12-06T09:00:00";

fn wall(offset_s: i64) -> String {
    let t = NaiveDateTime::parse_from_str(ANCHOR, "%Y-%m-%dT%H:%M:%S").unwrap()
        + chrono::Duration::seconds(offset_s);
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// A registered exam; with `anchored`, the kiosk's wall clock read ANCHOR at 0 s.
fn exam(anchored: bool) -> Exam {
    let mut e = Exam::new(ProtocolSettings::default());
    let wall =
        anchored.then(|| NaiveDateTime::parse_from_str(ANCHOR, "%Y-%m-%dT%H:%M:%S").unwrap());
    for ev in [
        ExamEvent::ExamDated {
            date: CivilDate::new(2026, 12, 6).unwrap(),
            wall,
        },
        ExamEvent::PatientRegistered {
            patient: Patient {
                weight_kg: 70.0,
                height_cm: None,
                sex: Sex::Female,
                age_years: 50,
                egfr: Some(90.0),
                egfr_date: Some("2026-12-01".into()),
            },
        },
        ExamEvent::ScreeningAnswered {
            answers: ScreeningAnswers::default(),
        },
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    ] {
        e.handle(ev, s(0)).unwrap();
    }
    e.drain();
    e
}

fn series(
    step: ProtocolStep,
    start: Option<String>,
    planes: &[[f64; 3]],
    psir: Option<bool>,
) -> ExamEvent {
    ExamEvent::SeriesAcquired {
        step,
        params: None,
        acquisition: Some(Acquisition {
            series_uid: format!("1.2.3.{step:?}.{}", planes.len()),
            label: format!("{step:?}"),
            start,
            end: None,
        }),
        safety: None,
        geometry: (!planes.is_empty())
            .then(|| SeriesGeometry::from_normals(planes.iter().copied())),
        psir,
    }
}

fn single(e: &mut Exam, at: u64) {
    e.handle(
        ExamEvent::Injected(InjectionRequest {
            amount: Amount::DoseMmolKg(0.1),
            rate_ml_s: 4.0,
            flush_ml: 25.0,
            purpose: Purpose::Single,
            method: InjectionMethod::PowerInjector,
            authority: StepAuthority::default(),
        }),
        s(at),
    )
    .unwrap();
}

fn warnings(out: &[cmr_kiosk::domain::Output]) -> Vec<WarningCode> {
    out.iter()
        .filter_map(|o| match o.decision {
            Decision::Warning { code } => Some(code),
            _ => None,
        })
        .collect()
}

const AXIAL_N: [f64; 3] = [0.0, 0.0, 1.0];
const CORONAL_N: [f64; 3] = [0.0, 1.0, 0.0];
const VIEW_A: [f64; 3] = [0.6, 0.0, 0.8];
const VIEW_B: [f64; 3] = [0.0, 0.6, 0.8];

#[test]
fn clause_3_1_4_1_lge_window_judged_when_the_scanner_acquired_not_when_files_arrived() {
    // Gadolinium at 60 s: the window closes 30 min later, at 1860 s.
    let mut e = exam(true);
    single(&mut e, 60);
    e.drain();
    // Acquired at 1800 s (inside), its files arrive at 1900 s (after the close).
    e.handle(
        series(ProtocolStep::Lge, Some(wall(1800)), &[], None),
        s(1900),
    )
    .unwrap();
    let out = e.drain();
    assert!(
        !warnings(&out).contains(&WarningCode::LgeAfterWindow),
        "{out:?}"
    );
    assert_eq!(e.acquired().last().unwrap().0, s(1800));

    // Without the wall-clock anchor the arrival is all there is.
    let mut e = exam(false);
    single(&mut e, 60);
    e.drain();
    e.handle(
        series(ProtocolStep::Lge, Some(wall(1800)), &[], None),
        s(1900),
    )
    .unwrap();
    assert!(warnings(&e.drain()).contains(&WarningCode::LgeAfterWindow));
    assert_eq!(e.acquired().last().unwrap().0, s(1900));
}

#[test]
fn clause_3_2_3_stress_perfusion_acquired_during_the_infusion_counts_when_it_arrives_after_the_stop()
 {
    let run = |anchored: bool| {
        let mut e = exam(anchored);
        let v = Vitals {
            hr: Some(70.0),
            sbp: Some(120.0),
            ..Default::default()
        };
        e.handle(ExamEvent::VitalsReading { vitals: v }, s(10))
            .unwrap();
        e.handle(
            ExamEvent::StressStarted {
                drug: StressDrug::Adenosine,
                dose: None,
                authority: StepAuthority::default(),
            },
            s(20),
        )
        .unwrap();
        e.handle(ExamEvent::StressStopped, s(300)).unwrap();
        // Acquired at 250 s, during the infusion; in the kiosk at 320 s.
        e.handle(
            series(ProtocolStep::StressPerfusion, Some(wall(250)), &[], None),
            s(320),
        )
        .unwrap();
        e.stress().runs().last().unwrap().imaged
    };
    assert!(run(true), "imaged during the infusion");
    assert!(!run(false), "by arrival it came after the stop");
}

#[test]
fn a_scanner_clock_far_off_falls_back_to_the_arrival() {
    for offset in [-3 * 3600, 3 * 3600, 2000 + 120] {
        let mut e = exam(true);
        e.handle(
            series(ProtocolStep::Cine2ch, Some(wall(offset)), &[], None),
            s(2000),
        )
        .unwrap();
        assert_eq!(e.acquired().last().unwrap().0, s(2000), "offset {offset}");
    }
    // A scanner clock a little ahead (within the tolerance) is taken as the arrival.
    let mut e = exam(true);
    e.handle(
        series(ProtocolStep::Cine2ch, Some(wall(2030)), &[], None),
        s(2000),
    )
    .unwrap();
    assert_eq!(e.acquired().last().unwrap().0, s(2000));
    // An unreadable time is no time.
    let mut e = exam(true);
    e.handle(
        series(ProtocolStep::Cine2ch, Some("yesterday".into()), &[], None),
        s(2000),
    )
    .unwrap();
    assert_eq!(e.acquired().last().unwrap().0, s(2000));
}

#[test]
fn clause_3_1_4_2_an_lge_series_without_psir_reminds_and_stays_open_until_one_with_psir() {
    let mut e = exam(true);
    single(&mut e, 60);
    e.drain();
    e.handle(series(ProtocolStep::Lge, None, &[], Some(false)), s(900))
        .unwrap();
    let out = e.drain();
    assert!(out.iter().any(|o| o.decision
        == Decision::Reminder {
            code: ReminderCode::PsirRecommended
        }));
    assert!(
        e.coverage_gaps()
            .iter()
            .any(|g| g.code == CoverageCode::LgeWithoutPsir)
    );
    e.handle(series(ProtocolStep::Lge, None, &[], Some(true)), s(1000))
        .unwrap();
    let out = e.drain();
    assert!(!out.iter().any(|o| o.decision
        == Decision::Reminder {
            code: ReminderCode::PsirRecommended
        }));
    assert!(e.coverage_gaps().is_empty(), "{:?}", e.coverage_gaps());
    // Unknown reconstruction (typed by hand): no reminder, nothing open.
    let mut e = exam(true);
    e.handle(series(ProtocolStep::Lge, None, &[], None), s(900))
        .unwrap();
    assert!(e.coverage_gaps().is_empty());
}

#[test]
fn clause_3_1_1_1_static_imaging_needs_two_of_axial_sagittal_coronal() {
    let mut e = exam(true);
    e.handle(
        series(ProtocolStep::BlackBlood, None, &[AXIAL_N], None),
        s(100),
    )
    .unwrap();
    let gaps = e.coverage_gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].code, CoverageCode::StaticOrientations);
    assert_eq!(gaps[0].seen, vec![OrientationClass::Axial]);
    // A second axial stack does not help; a coronal bright-blood stack does.
    e.handle(
        series(ProtocolStep::BlackBlood, None, &[AXIAL_N], None),
        s(150),
    )
    .unwrap();
    assert_eq!(e.coverage_gaps().len(), 1);
    e.handle(
        series(ProtocolStep::BrightBlood, None, &[CORONAL_N], None),
        s(200),
    )
    .unwrap();
    assert!(e.coverage_gaps().is_empty());
    // Oblique static planes count for no orientation.
    let mut e = exam(true);
    e.handle(
        series(ProtocolStep::BlackBlood, None, &[VIEW_A, VIEW_B], None),
        s(100),
    )
    .unwrap();
    assert_eq!(e.coverage_gaps()[0].seen, vec![]);
}

#[test]
fn clause_3_1_4_3_lge_in_the_same_planes_as_the_cine() {
    let mut e = exam(true);
    e.handle(series(ProtocolStep::Cine2ch, None, &[VIEW_A], None), s(100))
        .unwrap();
    e.handle(series(ProtocolStep::Cine4ch, None, &[VIEW_B], None), s(110))
        .unwrap();
    e.handle(
        series(ProtocolStep::CineSax, None, &[AXIAL_N], None),
        s(120),
    )
    .unwrap();
    // No LGE yet: nothing to compare.
    assert!(e.coverage_gaps().is_empty());
    // LGE in the 2-chamber plane, its normal flipped: the same plane.
    let flipped = [-VIEW_A[0], -VIEW_A[1], -VIEW_A[2]];
    e.handle(series(ProtocolStep::Lge, None, &[flipped], None), s(900))
        .unwrap();
    let gaps = e.coverage_gaps();
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].code, CoverageCode::LgePlanesUnmatched);
    assert_eq!(
        gaps[0].views,
        vec![ProtocolStep::Cine4ch, ProtocolStep::CineSax]
    );
    // A plane 12° off the 4-chamber is not the 4-chamber.
    let tilt = 12f64.to_radians();
    let off = [
        0.0,
        0.6 * tilt.cos() - 0.8 * tilt.sin(),
        0.6 * tilt.sin() + 0.8 * tilt.cos(),
    ];
    e.handle(series(ProtocolStep::Lge, None, &[off], None), s(950))
        .unwrap();
    assert!(e.coverage_gaps()[0].views.contains(&ProtocolStep::Cine4ch));
    e.handle(
        series(ProtocolStep::Lge, None, &[VIEW_B, AXIAL_N], None),
        s(1000),
    )
    .unwrap();
    assert!(e.coverage_gaps().is_empty(), "{:?}", e.coverage_gaps());
}

#[test]
fn series_planes_are_bounded_and_cleaned() {
    // A hostile header with a thousand distinct planes keeps MAX_SERIES_PLANES.
    let many = (0..1000).map(|i| {
        let a = f64::from(i) * 0.003;
        [a.cos(), a.sin(), 0.1]
    });
    assert_eq!(
        SeriesGeometry::from_normals(many).planes.len(),
        MAX_SERIES_PLANES
    );
    // Zero and non-finite normals are dropped; near-duplicates merged.
    let g = SeriesGeometry::from_normals([
        [0.0, 0.0, 0.0],
        [f64::NAN, 0.0, 1.0],
        [0.0, 0.0, 2.0],
        [0.0, 0.001, 1.0],
    ]);
    assert_eq!(g.planes, vec![[0.0, 0.0, 1.0]]);
}

#[test]
fn a_clearance_refusal_held_by_a_finding_no_override_lifts_says_so() {
    let mut e = exam(true);
    let answers = |status| ScreeningAnswers {
        implants: vec![Implant {
            kind: ImplantKind::AneurysmClip,
            mr_status: status,
            conditions: None,
        }],
        ..Default::default()
    };
    e.handle(
        ExamEvent::ScreeningAnswered {
            answers: answers(MrStatus::Unknown),
        },
        s(10),
    )
    .unwrap();
    assert_eq!(e.lift_for(RejectCode::ExamBlocked), Lift::ResolveFinding);
    assert_eq!(
        e.lift_for(RejectCode::ContrastBlocked),
        Lift::ResolveFinding
    );
    // Limits other than the clearance keep their own lift.
    assert_eq!(e.lift_for(RejectCode::DoseAboveMax), Lift::Countersign);
    // An eGFR below 30 blocks contrast; a physician's override lifts it.
    let mut e = exam(true);
    e.handle(
        ExamEvent::PatientRegistered {
            patient: Patient {
                weight_kg: 70.0,
                height_cm: None,
                sex: Sex::Female,
                age_years: 50,
                egfr: Some(20.0),
                egfr_date: Some("2026-12-01".into()),
            },
        },
        s(10),
    )
    .unwrap();
    assert_eq!(
        e.lift_for(RejectCode::ContrastBlocked),
        Lift::ClearanceOverride
    );
}

proptest! {
    /// However the scanner's clock is set, a series is never placed after it arrived,
    /// nor earlier than MAX_SERIES_DELAY before it.
    #[test]
    fn acquisition_time_is_never_after_arrival_nor_long_before_it(
        offset in -100_000i64..100_000,
        arrival in 0u64..50_000,
    ) {
        let mut e = exam(true);
        e.handle(series(ProtocolStep::Cine4ch, Some(wall(offset)), &[], None), s(arrival)).unwrap();
        let at = e.acquired().last().unwrap().0;
        prop_assert!(at <= s(arrival));
        prop_assert!(at.as_millis() + MAX_SERIES_DELAY.as_millis() >= s(arrival).as_millis());
        let expected = if offset >= 0
            && offset as u64 <= arrival + SCANNER_CLOCK_AHEAD_TOLERANCE.as_millis() / 1000
            && (offset as u64) + MAX_SERIES_DELAY.as_millis() / 1000 >= arrival
        {
            s((offset as u64).min(arrival))
        } else {
            s(arrival)
        };
        prop_assert_eq!(at, expected);
    }

    /// Plane matching ignores the normal's sign and length.
    #[test]
    fn same_plane_ignores_sign_and_length(x in -1.0f64..1.0, y in -1.0f64..1.0, z in 0.1f64..1.0, k in 0.1f64..10.0) {
        let a = [x, y, z];
        let b = [-x * k, -y * k, -z * k];
        prop_assert!(same_plane(&a, &b, 0.5));
    }
}
