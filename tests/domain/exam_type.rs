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
