//! Issue 15: the report's sections (standard clause 5.2) produced from a full
//! simulated stress exam's log in a real SQLite file, as text and JSON in both
//! languages, checked against expected files (`tests/report/expected/`; run with
//! `UPDATE_EXPECTED=1` to rewrite them after a deliberate change, and read the diff).

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use cmr_kiosk::cli::report::{scenario_rows, training_rows};
use cmr_kiosk::cli::simulate::simulate_scenario;
use cmr_kiosk::config::Language;
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::report::record::ExamRecord;
use cmr_kiosk::report::sections::{self, ReportSite};
use cmr_kiosk::store::checkpoint::Trust;
use cmr_kiosk::store::{DeviceId, ExamId, Store};

/// The registration of the golden exam: a Chinese name, an order from the worklist.
pub fn registration() -> serde_json::Value {
    serde_json::json!({
        "name": "张伟",
        "patient_id": "P0012345",
        "sex": "male",
        "birth_date": "1965-03-02",
        "weight_kg": 82.0,
        "height_cm": 175.0,
        "department": "心内科",
        "question": "胸痛待查，评估心肌缺血",
        "exam_type": "adenosine_stress",
        "order": {
            "accession": "ACC20261207001",
            "study_uid": "1.2.826.0.1.3680043.10.1234.1",
            "requested_procedure": "心脏磁共振负荷灌注"
        }
    })
}

/// When the golden exam ended (its rows count back from here).
pub fn ended() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 2, 30, 0).unwrap()
}

/// Beijing time, for the labels.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// The scenario's run.
pub fn full_stress_run() -> cmr_kiosk::cli::simulate::ScenarioRun {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/full_stress_rest.json");
    simulate_scenario(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A store in `dir` holding the full stress exam (registered, or as a training exam).
pub async fn store_with_exam(dir: &std::path::Path, training: bool) -> (Store, ExamId) {
    let url = format!("sqlite://{}", dir.join("kiosk.db").display());
    let store = Store::open(&url).await.unwrap();
    let run = full_stress_run();
    let (exam, rows) = if training {
        training_rows(&run, "full_stress_rest.json", ended()).unwrap()
    } else {
        scenario_rows(&run, &registration(), "tech.wang", ended()).unwrap()
    };
    let device = DeviceId::new("kiosk-golden").unwrap();
    for chunk in rows.chunks(100) {
        store.append_many(&device, chunk).await.unwrap();
    }
    (store, exam)
}

/// The exam's record read back from the store.
pub async fn record_of(store: &Store, exam: ExamId) -> ExamRecord {
    ExamRecord::load(store, exam, &Trust::default())
        .await
        .unwrap()
}

fn site() -> ReportSite {
    ReportSite {
        institution: "示例医院".into(),
    }
}

/// The exam ID and the head hash differ from run to run (fresh UUIDs): masked.
fn masked(text: &str, record: &ExamRecord) -> String {
    text.replace(&record.exam.to_string(), "<exam>")
        .replace(&record.head_hash, "<head-hash>")
}

fn check_expected(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/report/expected")
        .join(name);
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EXPECTED=1 writes it)", path.display()));
    assert_eq!(actual, expected, "{name} differs from the expected file");
}

/// 5.2.1–5.2.5 as text and JSON in zh-CN and en-US, against the expected files.
#[tokio::test]
async fn clause_5_2_report_sections_of_a_full_stress_exam_match_the_expected_files() {
    let dir = tempfile::tempdir().unwrap();
    let (store, exam) = store_with_exam(dir.path(), false).await;
    let record = record_of(&store, exam).await;
    assert!(record.verification.is_ok(), "{}", record.verification);
    assert!(!record.training);
    let loc = Localizer::embedded().unwrap();
    let produced = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    for lang in [Language::ZhCn, Language::EnUs] {
        let s = sections::sections(&loc, lang, &site(), &record, produced, beijing());
        let text = sections::text(&loc, lang, &s);
        check_expected(
            &format!("full_stress_rest.{}.txt", lang.tag()),
            &masked(&text, &record),
        );
        let json = sections::json(&s);
        check_expected(
            &format!("full_stress_rest.{}.json", lang.tag()),
            &masked(&json, &record),
        );

        // Each clause's heading, in order, and the identity from the registration.
        let headings = [
            &s.title,
            &s.basic.heading,
            &s.technique.heading,
            &s.findings.heading,
            &s.conclusion.heading,
        ];
        let mut from = 0;
        for h in headings {
            let at = text[from..]
                .find(h.as_str())
                .unwrap_or_else(|| panic!("{h} missing"));
            from += at + h.len();
        }
        assert!(text.contains("张伟") && text.contains("ACC20261207001"));
        assert!(text.contains("心内科"));
        // 5.2.4 and 5.2.5 are left for the physician.
        assert!(s.findings.items.is_empty() && s.conclusion.items.is_empty());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["technique"]["clause"], "5.2.3");
        assert_eq!(v["basic"]["items"][0]["value"], "张伟");
        assert_eq!(v["training"], false);
    }
}

/// A rehearsal exam says so at the top of every output, and never shows a patient.
#[tokio::test]
async fn issue_15_a_training_exam_is_marked_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (store, exam) = store_with_exam(dir.path(), true).await;
    let record = record_of(&store, exam).await;
    assert!(record.training);
    let loc = Localizer::embedded().unwrap();
    let produced = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    for lang in [Language::ZhCn, Language::EnUs] {
        let s = sections::sections(&loc, lang, &site(), &record, produced, beijing());
        let text = sections::text(&loc, lang, &s);
        let notice = loc.tr(lang, "report-training-notice");
        assert!(text.starts_with(&notice), "{text}");
        assert!(text.contains(&loc.tr(lang, "report-training-patient")));
        let v: serde_json::Value = serde_json::from_str(&sections::json(&s)).unwrap();
        assert_eq!(v["training"], true);
        assert_eq!(v["training_notice"], notice.as_str());
    }
}

/// The end is in the log with what was still open, and the report names both.
#[tokio::test]
async fn issue_15_the_end_and_what_was_open_come_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (store, exam) = store_with_exam(dir.path(), false).await;
    let record = record_of(&store, exam).await;
    let finished = record.replayed.finished().expect("finished");
    assert_eq!(finished.by, "tech.wang");
    // The scenario never signs off and has no black-blood series.
    use cmr_kiosk::domain::exam::Outstanding;
    assert!(finished.outstanding.contains(&Outstanding::NotSignedOff));
    assert!(record.closed.is_some());
    let loc = Localizer::embedded().unwrap();
    let s = sections::sections(
        &loc,
        Language::EnUs,
        &site(),
        &record,
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        beijing(),
    );
    let status = s.record_status.join("\n");
    assert!(
        status.contains("Exam finished: 2026-12-07 10:30, tech.wang."),
        "{status}"
    );
    assert!(status.contains("not signed off by the nurse"), "{status}");
    assert!(status.contains(&record.head_hash), "{status}");
}

/// An exam with more rows than the bound is refused with a reason, never read into
/// memory whole (the bound lowered to 10 here; `MAX_RECORD_ROWS` in the kiosk).
#[tokio::test]
async fn issue_15_a_record_past_its_row_bound_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (store, exam) = store_with_exam(dir.path(), false).await;
    let entries = store.exam_entries(exam).await.unwrap();
    assert!(entries.len() > 10);
    let n = entries.len();
    let err = ExamRecord::from_entries_at_most(exam, entries, Default::default(), 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("exam {exam} has {n} rows; at most 10 are read")
    );
    let entries = store.exam_entries(exam).await.unwrap();
    assert!(ExamRecord::from_entries_at_most(exam, entries, Default::default(), n).is_ok());
}
