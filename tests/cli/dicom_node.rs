//! `cmr-kiosk dicom echo|worklist|listen` as an installer runs them (issue 14),
//! against dcmtk's peers: the receiver alone prints what arrives and each settled
//! series; echo answers; the worklist prints as a table and as JSON.

use crate::support::cli as cli_support;
use crate::support::mwl::{self, Scheduled, free_port, tool, wait_listening};
use cli_support::kiosk;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use cmr_kiosk::dicom::synth::{SynthStudy, VendorStyle, standard_series, write_series};
use cmr_kiosk::domain::protocol::ProtocolStep;

#[test]
fn issue_14_dicom_listen_prints_each_file_and_series_and_answers_echo() {
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut listen = kiosk()
        .args(["dicom", "listen", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--store")
        .arg(store.path())
        .args(["--seconds", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port);

    // `dicom echo` against it (the kiosk's own client and server).
    let out = kiosk()
        .args(["dicom", "echo", &format!("CMR_KIOSK@127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("answered C-ECHO"));
    // A wrong AE title: exit status 2 with the reason.
    let out = kiosk()
        .args(["dicom", "echo", &format!("WRONG_AE@127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("called AE title not recognized"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A series from storescu.
    let src = tempfile::tempdir().unwrap();
    let root = "1.2.826.0.1.3680043.9.7148";
    let study = SynthStudy::new(VendorStyle::UnitedImaging, root);
    let mut lge = standard_series(VendorStyle::UnitedImaging, ProtocolStep::Lge, root);
    lge.number = 12;
    let files = write_series(src.path(), &study, &lge, false).unwrap();
    let out = tool("storescu")
        .args(["-aet", "SCANNER", "-aec", "CMR_KIOSK", "+sd"])
        .arg("127.0.0.1")
        .arg(port.to_string())
        .arg(src.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Its lines: one per file stored, then the settled series.
    let mut stored = 0;
    let mut series = None;
    for line in BufReader::new(listen.stdout.take().unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        match v["event"].as_str() {
            Some("stored") => stored += 1,
            Some("series") => {
                series = Some(v);
                break;
            }
            _ => {}
        }
    }
    let _ = listen.kill();
    let _ = listen.wait();
    assert_eq!(stored, files.len());
    let series = series.expect("the series settled");
    assert_eq!(series["files"], files.len());
    assert!(
        series["classification"].as_str().unwrap().contains("Lge"),
        "{series}"
    );
}

#[test]
fn issue_14_dicom_worklist_prints_the_day_as_a_table_and_as_json() {
    let wlm = mwl::serve(&[
        Scheduled {
            charset: "GB18030",
            name: "欧阳^娜娜",
            id: "P000901".into(),
            sex: "F",
            accession: "ACC00901".into(),
            procedure: "心脏磁共振瑞加德松负荷灌注",
            date: "20261207".into(),
            time: "101500".into(),
            study_uid: "1.2.826.0.1.3680043.9.7149.1".into(),
        },
        Scheduled {
            charset: "ISO_IR 192",
            name: "Smith^John",
            id: "P000902".into(),
            sex: "M",
            accession: "ACC00902".into(),
            procedure: "Cardiac MR non-contrast",
            date: "20261207".into(),
            time: "081500".into(),
            study_uid: "1.2.826.0.1.3680043.9.7149.2".into(),
        },
    ]);
    let provider = format!("RIS_MWL@127.0.0.1:{}", wlm.port);
    let out = kiosk()
        .args([
            "dicom",
            "worklist",
            "--date",
            "2026-12-07",
            "--provider",
            &provider,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("欧阳娜娜") && table.contains("Smith John"),
        "{table}"
    );
    assert!(table.contains("2 scheduled"), "{table}");
    // Scheduled order: 08:15 before 10:15.
    assert!(
        table.find("08:15").unwrap() < table.find("10:15").unwrap(),
        "{table}"
    );

    let out = kiosk()
        .args([
            "dicom",
            "worklist",
            "--date",
            "20261207",
            "--json",
            "--provider",
            &provider,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.len(), 2);
    let ouyang = items.iter().find(|i| i["patient_id"] == "P000901").unwrap();
    assert_eq!(ouyang["display_name"], "欧阳娜娜");
    assert_eq!(ouyang["accession"], "ACC00901");
    assert_eq!(ouyang["suggested_exam"], "regadenoson_stress");

    // Nobody there: exit status 2 with the reason, not a hang.
    let out = kiosk()
        .args([
            "dicom",
            "worklist",
            "--provider",
            &format!("RIS_MWL@127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no association"));
}
