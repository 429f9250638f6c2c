//! Sign-off to the technologist: table-driven over the standard's clauses. The nurse
//! may hand over only a registered exam of a chosen type, with every preparation item
//! confirmed (2.2.1, 2.2.2), not blocked by screening (2.1.2), and with contrast or the
//! stress drug allowed where the exam type needs them (2.3.1, 3.1.3.2, 3.2.3).

use cmr_kiosk::domain::exam::{Exam, ExamEvent, Outcome, ProtocolSettings};
use cmr_kiosk::domain::output::RejectCode;
use cmr_kiosk::domain::preparation::PrepItem;
use cmr_kiosk::domain::protocol::ExamType;
use cmr_kiosk::domain::screening::{
    Implant, ImplantKind, MrStatus, Patient, ReasonCode, ScreeningAnswers, Sex,
};
use cmr_kiosk::domain::time::Instant;
use rstest::rstest;

fn patient(egfr: Option<f64>) -> Patient {
    Patient {
        weight_kg: 70.0,
        height_cm: Some(170.0),
        sex: Sex::Male,
        age_years: 60,
        egfr,
        egfr_date: Some("2026-11-20".into()),
    }
}

fn prepared(exam: &mut Exam, skip: Option<PrepItem>) {
    for item in PrepItem::ALL {
        if Some(item) != skip {
            exam.handle(
                ExamEvent::PreparationChecked {
                    item,
                    by: "nurse1".into(),
                },
                Instant::from_secs(10),
            )
            .unwrap();
        }
    }
}

fn exam(exam_type: Option<ExamType>, egfr: Option<f64>, answers: ScreeningAnswers) -> Exam {
    let mut e = Exam::new(ProtocolSettings::default());
    e.handle(
        ExamEvent::PatientRegistered {
            patient: patient(egfr),
        },
        Instant::from_secs(1),
    )
    .unwrap();
    if let Some(t) = exam_type {
        e.handle(
            ExamEvent::ExamTypeChosen { exam_type: t },
            Instant::from_secs(2),
        )
        .unwrap();
    }
    e.handle(
        ExamEvent::ScreeningAnswered { answers },
        Instant::from_secs(3),
    )
    .unwrap();
    e
}

fn sign(e: &mut Exam) -> Outcome {
    sign_at(e, 20)
}

fn clip(status: MrStatus) -> ScreeningAnswers {
    ScreeningAnswers {
        implants: vec![Implant {
            kind: ImplantKind::AneurysmClip,
            mr_status: status,
            conditions: None,
        }],
        ..Default::default()
    }
}

#[rstest]
#[case::clause_2_2_all_done_routine(
    Some(ExamType::Routine),
    Some(90.0),
    ScreeningAnswers::default(),
    None,
    None
)]
#[case::clause_2_2_all_done_adenosine(
    Some(ExamType::AdenosineStress),
    Some(90.0),
    ScreeningAnswers::default(),
    None,
    None
)]
#[case::registration_needs_exam_type(
    None,
    Some(90.0),
    ScreeningAnswers::default(),
    None,
    Some(RejectCode::NoExamType)
)]
#[case::clause_2_2_2_electrodes_spacing_open(
    Some(ExamType::Routine),
    Some(90.0),
    ScreeningAnswers::default(),
    Some(PrepItem::ElectrodesWithin15cm),
    Some(RejectCode::PreparationIncomplete)
)]
#[case::clause_2_2_1_earplugs_open(
    Some(ExamType::Routine),
    Some(90.0),
    ScreeningAnswers::default(),
    Some(PrepItem::Earplugs),
    Some(RejectCode::PreparationIncomplete)
)]
#[case::clause_2_1_2_answers_not_reviewed(
    Some(ExamType::Routine),
    Some(90.0),
    ScreeningAnswers::default(),
    Some(PrepItem::AnswersReviewed),
    Some(RejectCode::PreparationIncomplete)
)]
#[case::clause_2_1_2_unknown_aneurysm_clip(
    Some(ExamType::Routine),
    Some(90.0),
    clip(MrStatus::Unknown),
    None,
    Some(RejectCode::ExamBlocked)
)]
#[case::clause_2_1_2_unsafe_aneurysm_clip(
    Some(ExamType::Contrast),
    Some(90.0),
    clip(MrStatus::Unsafe),
    None,
    Some(RejectCode::ExamBlocked)
)]
#[case::clause_3_1_3_2_egfr_25_contrast_exam(
    Some(ExamType::Contrast),
    Some(25.0),
    ScreeningAnswers::default(),
    None,
    Some(RejectCode::ContrastBlocked)
)]
#[case::clause_3_1_3_2_egfr_25_routine_exam_allowed(
    Some(ExamType::Routine),
    Some(25.0),
    ScreeningAnswers::default(),
    None,
    None
)]
#[case::clause_3_2_3_asthma_stress_exam(Some(ExamType::AdenosineStress), Some(90.0), ScreeningAnswers { asthma: true, ..Default::default() }, None, Some(RejectCode::StressDrugBlocked))]
#[case::clause_3_2_3_asthma_contrast_exam_allowed(Some(ExamType::Contrast), Some(90.0), ScreeningAnswers { asthma: true, ..Default::default() }, None, None)]
fn sign_off(
    #[case] exam_type: Option<ExamType>,
    #[case] egfr: Option<f64>,
    #[case] answers: ScreeningAnswers,
    #[case] skip: Option<PrepItem>,
    #[case] refused: Option<RejectCode>,
) {
    let mut e = exam(exam_type, egfr, answers);
    prepared(&mut e, skip);
    assert_eq!(e.sign_off_blockers().first().copied(), refused);
    let outcome = sign(&mut e);
    match refused {
        None => {
            assert_eq!(outcome, Outcome::Accepted);
            assert_eq!(e.signed_off(), Some("nurse1"));
        }
        Some(code) => {
            assert_eq!(outcome, Outcome::Rejected(code));
            assert_eq!(e.signed_off(), None);
        }
    }
}

/// Clause 3.1.3.2: eGFR 25 blocks contrast until a physician's override lifts it, and
/// then the contrast exam may be signed off.
#[test]
fn clause_3_1_3_2_override_lifts_the_egfr_block_for_sign_off() {
    let mut e = exam(
        Some(ExamType::Contrast),
        Some(25.0),
        ScreeningAnswers::default(),
    );
    prepared(&mut e, None);
    assert_eq!(sign(&mut e), Outcome::Rejected(RejectCode::ContrastBlocked));
    e.handle(
        ExamEvent::OverrideRecorded {
            rule: ReasonCode::EgfrBelow30,
            by: "Dr Li".into(),
            reason: "benefit outweighs risk; nephrology consulted".into(),
        },
        Instant::from_secs(30),
    )
    .unwrap();
    assert!(e.sign_off_blockers().is_empty());
    assert_eq!(sign_at(&mut e, 31), Outcome::Accepted);
}

fn sign_at(e: &mut Exam, secs: u64) -> Outcome {
    e.handle(
        ExamEvent::SignedOff {
            by: "nurse1".into(),
        },
        Instant::from_secs(secs),
    )
    .unwrap()
}

/// Replaying the log gives the same exam type, preparation and sign-off.
#[test]
fn preparation_and_sign_off_survive_replay() {
    use cmr_kiosk::domain::exam::LoggedEvent;
    let events = vec![
        ExamEvent::PatientRegistered {
            patient: patient(Some(90.0)),
        },
        ExamEvent::ExamTypeChosen {
            exam_type: ExamType::RegadenosonStress,
        },
    ]
    .into_iter()
    .chain(
        PrepItem::ALL
            .into_iter()
            .map(|item| ExamEvent::PreparationChecked {
                item,
                by: "n".into(),
            }),
    )
    .chain([ExamEvent::SignedOff { by: "n".into() }])
    .enumerate()
    .map(|(i, event)| LoggedEvent {
        at: Instant::from_secs(i as u64),
        event,
    })
    .collect::<Vec<_>>();
    let e = Exam::replay(ProtocolSettings::default(), &events).unwrap();
    assert_eq!(e.exam_type(), Some(ExamType::RegadenosonStress));
    assert_eq!(e.prepared().len(), PrepItem::ALL.len());
    assert_eq!(e.signed_off(), Some("n"));
}

/// Issue 15: finishing an exam lists what is still open (sign-off, required steps
/// not acquired, unacknowledged alarms, a stress drug still acting), is never refused,
/// and keeps that list with the end.
#[test]
fn issue_15_finishing_keeps_what_was_open() {
    use cmr_kiosk::domain::exam::Outstanding;
    use cmr_kiosk::domain::protocol::ProtocolStep;
    use cmr_kiosk::domain::stress::StressDrug;
    let mut e = exam(
        Some(ExamType::AdenosineStress),
        Some(90.0),
        ScreeningAnswers::default(),
    );
    let step = |e: &mut Exam, event: ExamEvent, s: u64| {
        e.handle(event, Instant::from_secs(s)).unwrap();
    };
    let open = e.outstanding(Instant::from_secs(20));
    assert_eq!(open[0], Outstanding::NotSignedOff);
    assert!(open.contains(&Outstanding::StepNotDone {
        step: ProtocolStep::Lge
    }));
    assert!(!open.contains(&Outstanding::StressNotOver));

    step(
        &mut e,
        ExamEvent::VitalsReading {
            vitals: cmr_kiosk::domain::stress::Vitals {
                hr: Some(70.0),
                sbp: Some(125.0),
                dbp: Some(78.0),
                map: None,
                spo2: Some(98.0),
            },
        },
        25,
    );
    step(
        &mut e,
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        },
        30,
    );
    let during = e.outstanding(Instant::from_secs(60));
    assert!(during.contains(&Outstanding::StressNotOver), "{during:?}");

    step(
        &mut e,
        ExamEvent::ExamFinished {
            by: "tech.wang".into(),
        },
        90,
    );
    let finished = e.finished().expect("finishing is never refused");
    assert_eq!(finished.by, "tech.wang");
    assert_eq!(finished.at, Instant::from_secs(90));
    assert!(finished.outstanding.contains(&Outstanding::StressNotOver));
    assert!(finished.outstanding.contains(&Outstanding::NotSignedOff));
}
