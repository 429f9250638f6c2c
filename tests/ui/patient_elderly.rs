//! Patient mode for an older man booked for adenosine stress (issue 17), under Slint's
//! testing backend: he is not asked about pregnancy (2.1.2 concerns pregnancy only),
//! every answer button is at least the patient target (≥ 20 mm) with large words, and
//! before the electrodes he reads what adenosine feels like and that it passes within a
//! minute or two (2.3.2); a man booked for a rest-only contrast exam is not shown it.

use crate::support::ui as common;
use common::*;

use std::rc::Rc;

use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::domain::ExamType;
use cmr_kiosk::domain::screening::Sex;
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::ui::patient::model::{Question, VecSink};
use cmr_kiosk::ui::shell::Shell;
use i_slint_backend_testing::ElementHandle;

#[test]
fn clause_2_3_2_an_older_man_is_not_asked_about_pregnancy_and_reads_about_adenosine() {
    i_slint_backend_testing::init_no_event_loop();
    let loc = Rc::new(Localizer::embedded().unwrap());
    let shell = Shell::new(Config::default(), loc.clone()).unwrap();
    let en = |key: &str| loc.tr(Language::EnUs, key);
    let zh = |key: &str| loc.tr(Language::ZhCn, key);
    tap(&shell, &zh("role-patient"));
    tap(&shell, &zh("language-toggle-label"));

    for (exam, stress) in [
        (ExamType::AdenosineStress, true),
        (ExamType::Contrast, false),
    ] {
        let sink = Rc::new(VecSink::default());
        shell.patient().set_sink(sink.clone());
        shell.patient().set_patient(Some("Wang Xiaoming"));
        shell.patient().set_exam(Some(Sex::Male), Some(exam));
        tap(&shell, &en("patient-identity-yes"));

        // Seven questions, none about pregnancy.
        let mut asked = Vec::new();
        while let Some(q) =
            ElementHandle::find_by_element_id(shell.app(), "PatientQuestionnaire::question")
                .next()
                .and_then(|e| e.accessible_label())
        {
            asked.push(q.to_string());
            assert!(
                label_of(&shell, "PatientQuestionnaire::progress").ends_with("/ 7"),
                "{}",
                label_of(&shell, "PatientQuestionnaire::progress")
            );
            for id in ["yes", "no", "not-sure"] {
                // 20 mm at 96 dpi is 75.6 px.
                let size = element(&shell, &format!("PatientQuestionnaire::{id}")).size();
                assert!(size.width >= 76.0 && size.height >= 76.0, "{id}: {size:?}");
            }
            tap(&shell, &en("patient-answer-no"));
            tap(&shell, &en("patient-confirm-no"));
        }
        assert_eq!(asked.len(), 7);
        assert!(!asked.contains(&en(Question::Pregnancy.key())));
        assert_eq!(sink.events().len(), 8, "seven answers and the screening");

        // The stress drug's page for the stress exam only.
        assert_eq!(
            label_of(&shell, "PatientInstructions::title"),
            en("patient-instructions-title")
        );
        tap(&shell, &en("patient-next"));
        let shown = ElementHandle::find_by_element_id(shell.app(), "PatientStressDrug::title")
            .next()
            .is_some();
        assert_eq!(shown, stress, "{exam:?}");
        if stress {
            for key in [
                "patient-stress-what-adenosine",
                "patient-stress-feel",
                "patient-stress-passes-adenosine",
                "patient-stress-tell",
            ] {
                assert!(has_label(&shell, &en(key)), "{key}");
            }
            assert!(has_label(&shell, &en("patient-stress-picture")));
            tap(&shell, &en("patient-next"));
        }
        assert_eq!(
            label_of(&shell, "PatientElectrodes::title"),
            en("patient-electrodes-title")
        );
    }
}
