//! Cost of the PDF exam sheet (`harness = false`): `report::pdf::render` of a 2-hour
//! stress exam's sheet, built synthetically at a real exam's size: 14,400 readings of
//! each vital sign (two a second), a stress-drug band, 3 injections, 20 series, a few
//! alarms, and a 200-row log table. Prints min / median / max over [`RUNS`] renders.
//!
//! Lines starting with `@bench` are the table `scripts/bench` prints:
//! measure, figure, baseline, ratio.

use std::hint::black_box;
use std::time::{Duration, Instant as Mono};

use cmr_kiosk::report::pdf::{
    ExamSheet, LegendKey, MarkerKind, SheetRow, SheetSection, Timeline, TimelineBand,
    TimelineMarker, render,
};

/// Renders timed.
const RUNS: usize = 20;
/// Readings of each vital sign: two a second for two hours.
const READINGS: usize = 14_400;
/// Rows of the exam log table.
const LOG_ROWS: usize = 200;
/// What the sheet may cost at the end of an exam without the nurse noticing.
const TARGET_MS: f64 = 500.0;

fn timeline() -> Timeline {
    let mut hr = Vec::with_capacity(READINGS);
    let mut systolic = Vec::with_capacity(READINGS);
    let mut diastolic = Vec::with_capacity(READINGS);
    for i in 0..READINGS {
        let t = i as f64 / 2.0;
        let stress = if (1800.0..2160.0).contains(&t) {
            20.0
        } else {
            0.0
        };
        let noise = ((i * 7919) % 7) as f64 - 3.0;
        hr.push((t, 66.0 + stress + (t / 97.0).sin() * 3.0 + noise * 0.4));
        systolic.push((t, 124.0 - stress * 0.5 + (t / 900.0).sin() * 6.0));
        diastolic.push((t, 76.0 - stress * 0.3 + (t / 700.0).cos() * 4.0));
    }
    let mut markers: Vec<TimelineMarker> = [2100.0, 3300.0, 5400.0]
        .into_iter()
        .map(|at_s| TimelineMarker {
            at_s,
            kind: MarkerKind::Injection,
            label: "钆布醇 3.6 mL".into(),
        })
        .collect();
    for i in 0..20 {
        markers.push(TimelineMarker {
            at_s: 300.0 + f64::from(i) * 330.0,
            kind: MarkerKind::Series,
            label: format!("Cine SAX #{}", i + 1),
        });
    }
    for at_s in [2050.0, 2120.0, 6000.0] {
        markers.push(TimelineMarker {
            at_s,
            kind: MarkerKind::Alarm,
            label: "SBP < 90".into(),
        });
    }
    Timeline {
        heading: "生命体征时间线".into(),
        axis_label: "min".into(),
        value_axis_label: "bpm / mmHg".into(),
        hr,
        systolic,
        diastolic,
        bands: vec![TimelineBand {
            from_s: 1800.0,
            to_s: 2160.0,
            label: "腺苷 140 µg/kg/min".into(),
        }],
        markers,
        legend: vec![
            ("心率".into(), LegendKey::HeartRate),
            ("收缩压".into(), LegendKey::Systolic),
            ("舒张压".into(), LegendKey::Diastolic),
            ("腺苷输注".into(), LegendKey::DrugBand),
            ("注射".into(), LegendKey::Marker(MarkerKind::Injection)),
            ("序列".into(), LegendKey::Marker(MarkerKind::Series)),
            ("报警".into(), LegendKey::Marker(MarkerKind::Alarm)),
        ],
    }
}

fn sheet() -> ExamSheet {
    let log = (0..LOG_ROWS)
        .map(|i| {
            vec![
                format!("{:02}:{:02}:{:02}", 9 + i / 100, (i * 36 / 60) % 60, i % 60),
                if i % 3 == 0 {
                    "腺苷输注开始 140 µg/kg/min，患者诉轻微胸闷，继续观察".to_owned()
                } else {
                    format!("Series {i} received: Cine SAX, 12 slices")
                },
                "王护士".to_owned(),
            ]
        })
        .collect();
    ExamSheet {
        title: "心脏磁共振检查记录单".into(),
        training_banner: None,
        header_lines: vec![
            "患者 张三 · 男 · 60 岁 · 72 kg · 检查号 CMR-2025-000123".into(),
            "负荷灌注 + 延迟强化 · 2025-03-14 09:00".into(),
        ],
        sections: vec![
            SheetSection {
                heading: "对比剂".into(),
                rows: vec![
                    SheetRow::Pair("对比剂".into(), "钆布醇 1.0 mmol/mL".into()),
                    SheetRow::Pair("总量".into(), "10.8 mL · 0.15 mmol/kg".into()),
                ],
            },
            SheetSection {
                heading: "检查日志".into(),
                rows: vec![SheetRow::Table {
                    header: vec!["时间".into(), "事件".into(), "操作者".into()],
                    rows: log,
                }],
            },
        ],
        timeline: Some(timeline()),
        timeline_after: 1,
        footer:
            "日志校验通过 · head 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                .into(),
        page_label: "第 {n} / {m} 页".into(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The Print path of a real 2-hour exam: the full stress scenario with readings every
/// half second for two hours, logged into a real SQLite file, then read back and
/// verified (`ExamRecord::load`), worded (sections and sheet) and drawn. Median of
/// [`PATH_RUNS`] in ms, and the rows logged.
fn whole_path() -> (f64, usize) {
    use cmr_kiosk::config::Language;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenarios/full_stress_rest.json"
    ))
    .expect("the scenario");
    let mut scenario: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let steps = scenario["steps"].as_array_mut().expect("steps");
    for i in 0..READINGS {
        let t = i as f64 / 2.0;
        steps.push(serde_json::json!({"at": t, "vitals": {
            "hr": 66.0 + (t / 97.0).sin() * 3.0, "sbp": 124.0, "dbp": 76.0, "spo2": 98.0}}));
    }
    steps.sort_by(|a, b| {
        a["at"]
            .as_f64()
            .partial_cmp(&b["at"].as_f64())
            .expect("times")
    });
    let run = cmr_kiosk::cli::simulate::simulate_scenario(&scenario.to_string())
        .expect("the scenario runs");
    let registration = serde_json::json!({
        "name": "张伟", "patient_id": "P0012345", "sex": "male", "birth_date": "1965-03-02",
        "weight_kg": 82.0, "height_cm": 175.0, "department": "心内科",
        "question": "胸痛待查", "exam_type": "adenosine_stress",
        "order": {"accession": "ACC1", "study_uid": "1.2.3", "requested_procedure": "CMR"}
    });
    let (exam, rows) =
        cmr_kiosk::cli::report::scenario_rows(&run, &registration, "tech", chrono::Utc::now())
            .expect("rows");
    let logged = rows.len();
    let dir = tempfile::tempdir().expect("a temp dir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = rt.block_on(async {
        let store = cmr_kiosk::store::Store::open(&url).await.expect("store");
        let device = cmr_kiosk::store::DeviceId::new("bench").expect("device");
        for chunk in rows.chunks(512) {
            store.append_many(&device, chunk).await.expect("append");
        }
        store
    });
    let loc = cmr_kiosk::i18n::Localizer::embedded().expect("locales");
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("offset");
    let site = cmr_kiosk::report::sections::ReportSite {
        institution: "示例医院".into(),
    };
    let mut times = Vec::with_capacity(PATH_RUNS);
    for _ in 0..PATH_RUNS {
        let t0 = Mono::now();
        let record = rt
            .block_on(cmr_kiosk::report::record::ExamRecord::load(
                &store,
                exam,
                &cmr_kiosk::store::checkpoint::Trust::default(),
            ))
            .expect("the record");
        let s = cmr_kiosk::report::sections::sections(
            &loc,
            Language::ZhCn,
            &site,
            &record,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("date"),
            offset,
        );
        let sheet = cmr_kiosk::report::sheet::sheet(&loc, Language::ZhCn, &record, &s, offset);
        black_box(render(&sheet).expect("the sheet renders"));
        times.push(t0.elapsed());
    }
    rt.block_on(store.close());
    times.sort();
    (ms(times[PATH_RUNS / 2]), logged)
}

/// Whole-path runs timed.
const PATH_RUNS: usize = 7;

/// What the whole Print path may cost (issue 15: under 1 s).
const PATH_TARGET_MS: f64 = 1000.0;

fn main() {
    let (path_ms, logged) = whole_path();
    println!(
        "report_pdf: log → record (read, verified, replayed) → sections → sheet → PDF, \
         2-hour exam ({logged} rows): median {path_ms:.1} ms over {PATH_RUNS}"
    );
    println!(
        "@bench\tPDF from the log, 2-hour exam (median)\t{path_ms:.1} ms\ttarget {PATH_TARGET_MS:.0} ms\t{:.2}×",
        path_ms / PATH_TARGET_MS
    );
    let sheet = sheet();
    let mut times = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    for _ in 0..RUNS {
        let t0 = Mono::now();
        let pdf = render(black_box(&sheet)).expect("the sheet renders");
        times.push(t0.elapsed());
        bytes = pdf.len();
    }
    times.sort();
    let (min, median, max) = (times[0], times[RUNS / 2], times[RUNS - 1]);
    println!(
        "report_pdf: 2-hour exam sheet ({READINGS} readings × 3, 3 injections, 20 series, \
         {LOG_ROWS} log rows; {} KiB PDF): min {:.1} ms, median {:.1} ms, max {:.1} ms over {RUNS}",
        bytes / 1024,
        ms(min),
        ms(median),
        ms(max)
    );
    println!(
        "@bench\tPDF exam sheet, 2-hour exam (median)\t{:.1} ms\ttarget {TARGET_MS:.0} ms\t{:.2}×",
        ms(median),
        ms(median) / TARGET_MS
    );
}
