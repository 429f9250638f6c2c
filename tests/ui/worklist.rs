//! Issue 14: the nurse picks today's patient from the RIS worklist by touch (a real
//! provider: dcmtk's wlmscpfs); the exam opens with the worklist's identity and the
//! log's `exam_opened` row carries the accession number. Without a reachable
//! provider the form says so and registration by hand goes on.

use crate::support::mwl::{self, Scheduled};
use crate::support::ui as common;
use common::*;

use cmr_kiosk::config::Language;
use cmr_kiosk::domain::ExamType;
use cmr_kiosk::store::accounts::Role;
use cmr_kiosk::ui::components::NurseAdapter;
use cmr_kiosk::ui::nurse::registration::Registration;
use slint::{ComponentHandle, Model};

fn scheduled(
    i: usize,
    charset: &'static str,
    name: &'static str,
    procedure: &'static str,
) -> Scheduled<'static> {
    let today = chrono::Local::now().date_naive();
    Scheduled {
        charset,
        name,
        id: format!("P{i:06}"),
        sex: if i.is_multiple_of(2) { "F" } else { "M" },
        accession: format!("ACC{i:05}"),
        procedure,
        date: today.format("%Y%m%d").to_string(),
        time: format!("{:02}3000", 8 + i),
        study_uid: format!("1.2.826.0.1.3680043.9.7144.{i}"),
    }
}

#[test]
fn issue_14_the_nurse_picks_the_patient_from_the_worklist_by_touch() {
    let wlm = mwl::serve(&[
        scheduled(0, "GB18030", "李^娜", "心脏磁共振增强"),
        scheduled(1, "ISO_IR 192", "王^小明", "心脏磁共振腺苷负荷灌注"),
        scheduled(2, "ISO_IR 192", "Smith^John", "Cardiac MR non-contrast"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let port = wlm.port;
    let (shell, url, loc) = english_kiosk_with(dir.path(), "worklist-test", |c| {
        c.dicom.worklist.provider = format!("RIS_MWL@127.0.0.1:{port}");
        c.dicom.worklist.station_ae = "MR_SCANNER".into();
    });
    let en = |k: &str| loc.tr(Language::EnUs, k);
    add_staff(&url, "nurse1", "Nurse Zhang", Role::Nurse, "2468");
    let nurse = || shell.app().global::<NurseAdapter>();
    press(&shell, &en("role-nurse"));
    press(&shell, "Nurse Zhang");
    keys(&shell, "2468");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("nurse-tab-register"));
    shell.settle();
    assert_eq!(
        nurse().get_worklist().row_count(),
        3,
        "{}",
        nurse().get_worklist_status()
    );
    assert!(!nurse().get_worklist_bad());
    let (row, order) = (0..3)
        .map(|i| {
            let r = nurse().get_worklist().row_data(i).unwrap();
            (r.text.to_string(), r.hint.to_string())
        })
        .find(|(r, _)| r.contains("王小明"))
        .expect("the Chinese name decoded");
    assert!(row.contains("P000001"), "{row}");
    assert!(
        order.contains("ACC00001") && order.contains("腺苷"),
        "{order}"
    );

    // One touch fills the form; the nurse types what the RIS did not send.
    press(&shell, &row);
    let form = shell.nurse().form();
    assert_eq!(form.name, "王小明");
    assert_eq!(form.patient_id, "P000001");
    assert_eq!(form.weight_kg, Some(68.5));
    assert_eq!(form.exam_type, Some(ExamType::AdenosineStress));
    assert!(nurse().get_notice().contains("ACC00001"));
    press(&shell, &en("reg-department"));
    keys(&shell, "cardiology");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("reg-question"));
    keys(&shell, "ischaemia");
    press(&shell, &en("keypad-ok"));
    press(&shell, &en("nurse-register"));
    {
        let open = shell.engine().read();
        let s = open.session().expect("the exam is open");
        let reg = Registration::from_json(s.record()).unwrap();
        assert_eq!(reg.name, "王小明");
        assert_eq!(reg.patient_id, "P000001");
        let order = reg.order.expect("the worklist order");
        assert_eq!(order.accession, "ACC00001");
        assert_eq!(order.study_uid, "1.2.826.0.1.3680043.9.7144.1");
    }
    shell.settle();
    // The log's exam_opened row carries the accession number.
    let opened = with_store(&url, async |store| {
        store
            .entries_after("worklist-test", 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "exam_opened")
            .map(|e| e.payload)
            .collect::<Vec<_>>()
    });
    assert_eq!(opened.len(), 1);
    assert!(
        opened[0].contains("\"accession\":\"ACC00001\""),
        "{}",
        opened[0]
    );

    // The RIS goes away: asking again says so, and the form stays usable.
    drop(wlm);
    press(&shell, &en("nurse-worklist-refresh"));
    shell.settle();
    assert!(nurse().get_worklist_bad());
    assert!(
        nurse()
            .get_worklist_status()
            .contains("type the patient in"),
        "{}",
        nurse().get_worklist_status()
    );
    assert_eq!(nurse().get_worklist().row_count(), 0);
}
