//! Exam-type rules in one place (3.1–3.2.3): what each type needs, and the one
//! inference the console and `dicom scan` share when no type was chosen.

use cmr_kiosk::domain::protocol::{ExamEvidence, ExamType, infer_exam_type};
use cmr_kiosk::domain::stress::StressDrug;

#[test]
fn clause_3_2_3_each_exam_type_says_what_it_gives() {
    assert!(!ExamType::Routine.needs_contrast());
    assert!(ExamType::Contrast.needs_contrast());
    assert!(ExamType::AdenosineStress.needs_contrast());
    assert!(ExamType::RegadenosonStress.needs_contrast());
    assert_eq!(ExamType::Routine.stress_drug(), None);
    assert_eq!(ExamType::Contrast.stress_drug(), None);
    assert_eq!(
        ExamType::AdenosineStress.stress_drug(),
        Some(StressDrug::Adenosine)
    );
    assert_eq!(
        ExamType::RegadenosonStress.stress_drug(),
        Some(StressDrug::Regadenoson)
    );
}

#[test]
fn clause_3_2_3_the_record_tells_the_type_when_none_was_chosen() {
    let e = |stress_drug, stress_perfusion, contrast| ExamEvidence {
        stress_drug,
        stress_perfusion,
        contrast,
    };
    assert_eq!(infer_exam_type(e(None, false, false)), ExamType::Routine);
    assert_eq!(infer_exam_type(e(None, false, true)), ExamType::Contrast);
    // Stress perfusion images without a logged drug: the standard's default agent.
    assert_eq!(
        infer_exam_type(e(None, true, true)),
        ExamType::AdenosineStress
    );
    // A logged drug decides, whatever the images show.
    assert_eq!(
        infer_exam_type(e(Some(StressDrug::Regadenoson), true, true)),
        ExamType::RegadenosonStress
    );
    assert_eq!(
        infer_exam_type(e(Some(StressDrug::Adenosine), false, false)),
        ExamType::AdenosineStress
    );
}

#[rstest::rstest]
#[case::clause_3_2_1_valve_disease_adds_flow(
    cmr_kiosk::domain::protocol::Indication::ValveDisease,
    Some(cmr_kiosk::domain::protocol::ProtocolStep::Flow)
)]
#[case::clause_3_2_1_hcm_adds_flow(
    cmr_kiosk::domain::protocol::Indication::Hcm,
    Some(cmr_kiosk::domain::protocol::ProtocolStep::Flow)
)]
#[case::clause_3_2_2_iron_overload_adds_t2star(
    cmr_kiosk::domain::protocol::Indication::IronOverload,
    Some(cmr_kiosk::domain::protocol::ProtocolStep::T2StarMap)
)]
#[case::clause_2_1_1_coronary_disease_adds_nothing(
    cmr_kiosk::domain::protocol::Indication::CoronaryDisease,
    None
)]
fn clause_2_1_1_indications_add_their_supplementary_steps(
    #[case] indication: cmr_kiosk::domain::protocol::Indication,
    #[case] step: Option<cmr_kiosk::domain::protocol::ProtocolStep>,
) {
    use cmr_kiosk::domain::protocol::{ExamType, required_steps, required_steps_for};
    use cmr_kiosk::domain::{Exam, ExamEvent, Instant, ProtocolSettings};
    let base = required_steps(ExamType::Contrast);
    let with = required_steps_for(ExamType::Contrast, &[indication, indication]);
    assert_eq!(&with[..base.len()], &base[..], "the type's steps first");
    assert_eq!(
        with.len(),
        base.len() + usize::from(step.is_some()),
        "each once"
    );
    if let Some(step) = step {
        assert_eq!(with.last(), Some(&step));
    }
    // The exam's required steps and the console's checklist follow the record.
    let mut e = Exam::new(ProtocolSettings::default());
    for ev in [
        ExamEvent::ExamTypeChosen {
            exam_type: ExamType::Contrast,
        },
        ExamEvent::IndicationsRecorded {
            indications: vec![indication],
        },
    ] {
        e.handle(ev, Instant::ZERO).unwrap();
    }
    assert_eq!(e.required_steps(), with);
    let rows =
        cmr_kiosk::ui::console::model::checklist_for(ExamType::Contrast, e.indications(), &[]);
    assert_eq!(rows.iter().filter(|r| r.required).count(), with.len());
}
