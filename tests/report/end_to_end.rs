//! Issue 15, end to end: a full simulated stress exam's log in a real SQLite file
//! becomes the PDF sheet (read back by poppler), the imaging-agent SR (read by dcmtk
//! and pydicom, stored to dcmtk's storescp) and the ORU^R01 (queued once, sent to a
//! python-hl7 RIS, parsed there); and the CLI produces each from a training exam it
//! recorded itself.

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use cmr_kiosk::config::{Config, Language};
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::report::{deliver, pdf, sections, sheet};

use super::ris::{Ris, parse_with_python_hl7};
use super::sections::{beijing, record_of, registration, store_with_exam};
use super::sr::{DSRDUMP_OWN_LIMITS, dsrdump, field, pydicom, storescp};
use crate::support::mwl::free_port;

fn site() -> sections::ReportSite {
    sections::ReportSite {
        institution: "示例医院".into(),
    }
}

fn run(c: &mut Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Pages of `pdf` rendered by pdftoppm: each has dark pixels (something is drawn).
fn pages_drawn(dir: &Path, pdf_file: &Path, prefix: &str) -> usize {
    let stem = dir.join(prefix);
    let (ok, _, err) = run(Command::new("pdftoppm")
        .args(["-r", "40", "-png"])
        .arg(pdf_file)
        .arg(&stem));
    assert!(ok, "pdftoppm: {err}");
    let mut pages = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with(prefix) && name.ends_with(".png")) {
            continue;
        }
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let bytes = &buf[..info.buffer_size()];
        let dark = bytes.iter().filter(|b| **b < 100).count();
        assert!(dark > 1000, "{name} is blank");
        pages += 1;
    }
    pages
}

/// The PDF sheet of the full stress exam, in both languages: pdftotext finds every
/// section, the identity, the technique lines and the log's head hash; every page is
/// drawn.
#[tokio::test]
async fn issue_15_the_pdf_sheet_of_a_full_stress_exam_holds_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let (store, exam) = store_with_exam(dir.path(), false).await;
    let record = record_of(&store, exam).await;
    let loc = Localizer::embedded().unwrap();
    let produced = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    for lang in [Language::ZhCn, Language::EnUs] {
        let s = sections::sections(&loc, lang, &site(), &record, produced, beijing());
        let sheet = sheet::sheet(&loc, lang, &record, &s, beijing());
        let bytes = pdf::render(&sheet).unwrap();
        let file = dir.path().join(format!("sheet.{}.pdf", lang.tag()));
        std::fs::write(&file, &bytes).unwrap();
        let (ok, text, err) = run(Command::new("pdftotext").arg(&file).arg("-"));
        assert!(ok, "pdftotext: {err}");
        let flat: String = text.split_whitespace().collect();
        let has = |needle: &str| {
            let n: String = needle.split_whitespace().collect();
            flat.contains(&n)
        };
        assert!(has(&s.title), "title");
        for section in &sheet.sections {
            assert!(has(&section.heading), "{}: {}", lang.tag(), section.heading);
        }
        assert!(has(&sheet.timeline.as_ref().unwrap().heading));
        for line in &s.technique.items {
            assert!(has(line), "{}: technique line {line}", lang.tag());
        }
        assert!(has("张伟") && has("P0012345") && has("ACC20261207001"));
        assert!(has(&record.head_hash), "the head hash");
        // Both injections are on the ledger, with their volumes.
        assert_eq!(flat.matches("8.2mL").count(), 2, "{text}");
        let pages = pages_drawn(dir.path(), &file, &format!("page-{}", lang.tag()));
        assert!((1..=3).contains(&pages), "{pages} pages");
    }
}

/// The SR of the full stress exam: dsrdump reads it without a structural warning,
/// pydicom finds each injection's volume and start, the stress agent is there, and
/// dcmtk's storescp keeps it as sent.
#[tokio::test]
async fn issue_15_the_sr_of_a_full_stress_exam_is_read_back_and_stored_to_storescp() {
    let dir = tempfile::tempdir().unwrap();
    let (store, exam) = store_with_exam(dir.path(), false).await;
    let record = record_of(&store, exam).await;
    let input = deliver::agent_administration(&record, &site(), None, beijing()).unwrap();
    assert_eq!(input.study_instance_uid, "1.2.826.0.1.3680043.10.1234.1");
    assert_eq!(input.injections.len(), 2);
    let file = dir.path().join("agents.dcm");
    cmr_kiosk::report::sr::write(&input, &file).unwrap();

    let (ok, out, err) = dsrdump(&file);
    assert!(ok, "dsrdump failed: {err}");
    for line in err
        .lines()
        .filter(|l| l.starts_with("W:") || l.starts_with("E:") || l.starts_with("F:"))
    {
        assert!(DSRDUMP_OWN_LIMITS.contains(&line.trim()), "dsrdump: {line}");
    }
    assert!(out.contains("张伟") || out.contains("张"), "{out}");

    let lines = pydicom(dir.path(), &file);
    let injections = field(&lines, "INJ");
    assert_eq!(injections.len(), 2, "{lines:?}");
    for (inj, given) in injections.iter().zip(&input.injections) {
        assert!(inj.contains("|8.2|"), "{inj}");
        let when = given.start.format("%Y%m%d%H%M%S").to_string();
        assert!(inj.contains(&when), "{inj} lacks {when}");
    }
    assert_eq!(field(&lines, "STRESS"), ["Adenosine"]);

    // Stored to the PACS stand-in, as sent.
    let received = dir.path().join("pacs");
    std::fs::create_dir_all(&received).unwrap();
    let port = free_port();
    let _scp = storescp(&received, port, &[]);
    let mut peer: cmr_kiosk::dicom::node::Peer = format!("PACS@127.0.0.1:{port}").parse().unwrap();
    peer.timeout = std::time::Duration::from_secs(10);
    let uid = deliver::send_sr("CMRKIOSK", &peer, &input).await.unwrap();
    let kept: Vec<_> = std::fs::read_dir(&received)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let object = dicom_object::open_file(&kept[0]).unwrap();
    assert_eq!(
        object
            .element(dicom_dictionary_std::tags::SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0'),
        uid
    );
}

/// Finishing sends the technique section to the RIS once: the ORU is queued (a
/// second finish queues nothing), the outbox sends it to a python-hl7 RIS, which
/// parses it with the accession as the order key and each technique line.
#[tokio::test]
async fn issue_15_the_oru_of_a_full_stress_exam_is_queued_once_and_acked_by_a_python_hl7_ris() {
    let dir = tempfile::tempdir().unwrap();
    let (store, exam) = store_with_exam(dir.path(), false).await;
    let record = record_of(&store, exam).await;
    let port = free_port();
    let mut config = Config::default();
    config.ris.address = format!("127.0.0.1:{port}");
    config.institution.name = "示例医院".into();

    let first = deliver::at_finish(&store, &config, &record, beijing()).await;
    assert_eq!(first.ris_queued, Some(true));
    let again = deliver::at_finish(&store, &config, &record, beijing()).await;
    assert_eq!(again.ris_queued, Some(false), "queued twice");

    let ris = Ris::start(dir.path(), port, "AA");
    let sent = cmr_kiosk::report::ris::send_pending_once(&store, &config.ris.address)
        .await
        .unwrap();
    assert_eq!(sent.sent, 1);
    let received = ris.received();
    assert_eq!(received.len(), 1);
    let m = parse_with_python_hl7(dir.path(), &received[0]);
    assert_eq!(m["msh9"], "ORU^R01^ORU_R01");
    assert_eq!(m["pid5"], "张伟");
    assert_eq!(m["obr3"], "ACC20261207001");
    let loc = Localizer::embedded().unwrap();
    let s = sections::sections(
        &loc,
        Language::ZhCn,
        &site(),
        &record,
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        beijing(),
    );
    let values: Vec<String> = m["obx"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap().to_string())
        .collect();
    for line in &s.technique.items {
        assert!(values.contains(line), "{line} not in {values:?}");
    }
    // Sent: nothing goes again.
    let again = cmr_kiosk::report::ris::send_pending_once(&store, &config.ris.address)
        .await
        .unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(ris.received().len(), 1);
    drop(registration());
}

/// The CLI: `simulate --record` writes a training exam into the kiosk's own log;
/// `report --list` marks it; `report` writes its text, JSON, PDF and SR, each marked
/// as training; the HL7 message is refused (no order to file it under) with a reason.
#[test]
fn issue_15_cli_records_a_training_exam_and_reports_it_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\ndevice_id = \"cli-kiosk\"\nurl = \"sqlite://{}\"\nkey_dir = \"{}\"\n",
            dir.path().join("kiosk.db").display(),
            dir.path().join("keys").display()
        ),
    )
    .unwrap();
    let kiosk = || {
        let mut c = Command::new(crate::support::cli::BIN);
        c.env("CMR_KIOSK_CONFIG", &config)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("HOME", dir.path())
            .env("TZ", "UTC")
            .env_remove("RUST_LOG");
        c
    };
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/full_stress_rest.json");
    let (ok, out, err) = run(kiosk().arg("simulate").arg(&scenario).arg("--record"));
    assert!(ok, "simulate --record: {err}");
    let exam = out.trim().to_string();
    assert_eq!(exam.len(), 36, "{out}");

    // The exam is dated back from now by its length: today, or yesterday just after
    // midnight (UTC, as the kiosk here runs).
    let today = chrono::Utc::now().date_naive();
    let mut listed = Vec::new();
    for day in [today, today.pred_opt().unwrap()] {
        let (ok, out, err) =
            run(kiosk().args(["report", "--list", "--json", "--date", &day.to_string()]));
        assert!(ok, "{err}");
        let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        listed.extend(list);
    }
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["exam"], exam.as_str());
    assert_eq!(listed[0]["training"], true);

    let (ok, text, err) = run(kiosk().args(["report", &exam, "--lang", "en-US"]));
    assert!(ok, "{err}");
    assert!(text.starts_with("[TRAINING EXAM"), "{text}");
    assert!(text.contains("Technique") && text.contains("Findings"));

    let (ok, json, err) = run(kiosk().args(["report", &exam, "--format", "json"]));
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["training"], true);
    assert_eq!(v["language"], "zh-CN");

    let pdf_file = dir.path().join("sheet.pdf");
    let (ok, _, err) = run(kiosk()
        .args(["report", &exam, "--format", "pdf", "--out"])
        .arg(&pdf_file));
    assert!(ok, "{err}");
    let (ok, text, _) = run(Command::new("pdftotext").arg(&pdf_file).arg("-"));
    assert!(ok);
    assert!(text.contains("训练检查"), "{text}");

    let sr_file = dir.path().join("sr.dcm");
    let (ok, _, err) = run(kiosk()
        .args([
            "report",
            &exam,
            "--format",
            "sr",
            "--study-uid",
            "1.2.3.4.5",
            "--out",
        ])
        .arg(&sr_file));
    assert!(ok, "{err}");
    let (ok, out, err) = dsrdump(&sr_file);
    assert!(ok, "{err}");
    assert!(out.contains("TRAINING EXAM"), "{out}");

    let (ok, _, err) = run(kiosk().args(["report", &exam, "--format", "hl7"]));
    assert!(!ok);
    assert!(err.contains("accession"), "{err}");

    // Every report produced is an export on the record.
    let (ok, out, err) = run(kiosk().args(["log", "verify"]));
    assert!(ok, "{out}{err}");
}
