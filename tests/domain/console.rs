//! The technologist's console state through a whole adenosine stress exam on a
//! simulated clock: every countdown checked to the second, with its wall-clock end
//! (clauses 3.2.3 and 3.1.4).

use chrono::NaiveDate;

use cmr_kiosk::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest, Purpose};
use cmr_kiosk::domain::protocol::{ExamType, ProtocolStep};
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDose, StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::domain::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::ui::console::model::{ConsoleState, console_state, mm_ss};

fn wall(secs: u64) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        + chrono::Duration::seconds(secs as i64)
}

fn at(exam: &mut Exam, secs: u64, event: ExamEvent) {
    exam.handle(event, Instant::from_secs(secs)).unwrap();
}

fn view(exam: &Exam, secs: u64) -> ConsoleState {
    console_state(exam, Instant::from_secs(secs), wall(secs))
}

fn inject(purpose: Purpose) -> ExamEvent {
    ExamEvent::Injected(InjectionRequest {
        amount: Amount::DoseMmolKg(0.05),
        rate_ml_s: 4.0,
        flush_ml: 25.0,
        purpose,
        method: InjectionMethod::PowerInjector,
        authority: Default::default(),
    })
}

fn vitals(hr: f64, sbp: Option<f64>) -> ExamEvent {
    ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(hr),
            sbp,
            dbp: sbp.map(|_| 78.0),
            ..Default::default()
        },
    }
}

#[test]
fn clause_3_2_3_stress_panel_and_clause_3_1_4_lge_countdown_to_the_second() {
    let mut exam = Exam::new(ProtocolSettings::default());
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Male,
        age_years: 61,
        egfr: Some(80.0),
        egfr_date: None,
    };
    at(&mut exam, 0, ExamEvent::PatientRegistered { patient });
    at(
        &mut exam,
        0,
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    );
    at(&mut exam, 10, vitals(64.0, Some(126.0)));
    assert!(view(&exam, 10).stress.is_none());
    at(
        &mut exam,
        30,
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: Some(StressDose::UgKgMin(140.0)),
            authority: Default::default(),
        },
    );

    // 70 s into the infusion: 170 s left to the 4-minute limit, ending 09:04:30.
    let s = view(&exam, 100).stress.unwrap();
    assert_eq!(s.elapsed_s, 70);
    assert!(s.infusing);
    let max = s.max_time.as_ref().unwrap();
    assert_eq!(max.remaining_s, 170);
    assert_eq!(max.mm_ss(), "02:50");
    assert_eq!(max.clock(), "09:04:30");
    // 140 µg/kg/min × 70 kg × 60 / 3000 µg/mL = 196 mL/h.
    assert!((s.rate_ml_h.unwrap() - 196.0).abs() < 1e-9);
    assert_eq!(s.baseline_hr, Some(64.0));
    assert!(!s.image_now);

    // HR +11: image now.
    at(&mut exam, 150, vitals(75.0, None));
    let s = view(&exam, 150).stress.unwrap();
    assert!(s.image_now && s.max_time.is_none());
    assert_eq!(s.hr_rise, Some(11.0));

    at(&mut exam, 160, inject(Purpose::StressPerfusion));
    at(
        &mut exam,
        220,
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::StressPerfusion,
            params: None,
            acquisition: None,
            safety: None,
            geometry: None,
            psir: None,
        },
    );
    assert!(
        view(&exam, 221).stress.unwrap().stop_now,
        "stop the infusion"
    );
    at(&mut exam, 225, ExamEvent::StressStopped);

    // Recovery: rest perfusion ready 600 s after the stop, at 825 s (09:13:45).
    let s = view(&exam, 300).stress.unwrap();
    assert!(!s.stop_now && !s.infusing);
    assert_eq!(s.elapsed_s, 195);
    let rec = s.recovery.unwrap();
    assert_eq!(
        (rec.remaining_s, rec.mm_ss(), rec.clock()),
        (525, "08:45".to_string(), "09:13:45".to_string())
    );
    assert_eq!(
        view(&exam, 825)
            .stress
            .unwrap()
            .recovery
            .unwrap()
            .remaining_s,
        0
    );

    // Rest injection at 830 s: LGE opens 300 s later (1130 s) and closes at 2630 s.
    at(&mut exam, 830, inject(Purpose::RestPerfusion));
    assert!(
        view(&exam, 1000).stress.unwrap().recovery.is_none(),
        "rest perfusion given: the wait is over"
    );
    let l = view(&exam, 1000).lge.unwrap();
    assert_eq!(
        (l.opens.remaining_s, l.opens.clock()),
        (130, "09:18:50".to_string())
    );
    assert_eq!(l.closes.remaining_s, 1630);
    assert!(!l.open);
    assert!(view(&exam, 1130).lge.unwrap().open);
    assert!(!view(&exam, 2630).lge.unwrap().open);

    let c = view(&exam, 1000).contrast.unwrap();
    assert_eq!(c.injections, 2);
    assert!((c.cumulative_mmol_kg - 0.1).abs() < 1e-9);
    assert!((c.of_ceiling - 0.5).abs() < 1e-9);
    assert!(
        (c.cumulative_ml - 7.0).abs() < 1e-9,
        "gadobutrol 1.0 mmol/mL: 2 × 3.5 mL"
    );
}

#[test]
fn countdowns_round_up_and_format_long_minutes() {
    assert_eq!(mm_ss(0), "00:00");
    assert_eq!(mm_ss(61), "01:01");
    assert_eq!(mm_ss(3725), "62:05");
    let c = cmr_kiosk::ui::console::model::Countdown::new(
        Instant::from_millis(10_500),
        Instant::from_millis(10_001),
        wall(0),
    );
    assert_eq!(c.remaining_s, 1, "499 ms left shows as 00:01, not 00:00");
}

#[test]
fn every_warning_refusal_alarm_and_purpose_has_words_in_both_languages() {
    use cmr_kiosk::config::Language;
    use cmr_kiosk::domain::output::{AlarmCode, RejectCode, WarningCode};
    use cmr_kiosk::report::key_for;
    let loc = cmr_kiosk::i18n::Localizer::embedded().unwrap();
    let mut keys = Vec::new();
    for w in [
        "rate_out_of_range",
        "flush_out_of_range",
        "cumulative_above_0_2",
        "acr_group_i_with_low_egfr",
        "egfr_unknown",
        "lge_before_window",
        "lge_after_window",
        "lge_early_start_not_low_dose",
        "regadenoson_before_rest",
        "series_out_of_range",
        "infusion_overdue",
    ] {
        let code: WarningCode = serde_json::from_value(serde_json::json!(w)).unwrap();
        keys.push(key_for("warning", &code));
    }
    // Every code the clinical core can give, from the domain's own lists: a new
    // code without its words fails here.
    for code in RejectCode::ALL {
        keys.push(key_for("rejected", &code));
        if code.lifted_by() == cmr_kiosk::domain::Lift::Confirmation {
            keys.push(key_for("check", &code));
        }
    }
    for code in AlarmCode::ALL {
        keys.push(key_for("alarm", &code));
    }
    for code in cmr_kiosk::domain::output::ReminderCode::ALL {
        keys.push(key_for("prompt", &code));
    }
    for code in cmr_kiosk::domain::screening::ReasonCode::ALL {
        keys.push(format!("reason-{}", code.as_str()));
    }
    for lift in cmr_kiosk::domain::Lift::ALL {
        keys.push(key_for("lift", &lift));
    }
    for code in cmr_kiosk::domain::coverage::CoverageCode::ALL {
        keys.push(key_for("coverage", &code));
    }
    for class in ["axial", "sagittal", "coronal", "oblique", "mixed"] {
        keys.push(format!("orientation-{class}"));
    }
    keys.push("coverage-list-separator".to_string());
    for m in ["sbp", "hr", "spo2"] {
        keys.push(format!("alarm-cause-{m}"));
    }
    keys.extend(
        cmr_kiosk::ui::console::view::CONFIRM_KEYS
            .iter()
            .map(|k| k.to_string()),
    );
    // The technical alarm when the alarm sound cannot be heard, for every fault.
    {
        use cmr_kiosk::engine::speaker::SoundFault;
        for fault in [
            SoundFault::NotBuilt,
            SoundFault::NoDevice,
            SoundFault::Open(String::new()),
            SoundFault::Stream(String::new()),
        ] {
            keys.push(fault.key().to_string());
        }
        keys.push("sound-unavailable-hint".to_string());
    }
    for k in [
        "far-time-adenosine",
        "far-time-regadenoson",
        "far-next-image",
        "far-next-image-latest",
        "far-now",
        "far-given-mg",
    ] {
        keys.push(k.to_string());
    }
    keys.push("console-chart-units".to_string());
    for kind in cmr_kiosk::ui::console::chart::MarkerKind::ALL {
        keys.push(kind.key().to_string());
    }
    keys.push("console-view-only".to_string());
    keys.push("console-view-only-sign-in".to_string());
    keys.push("console-void".to_string());
    keys.push("console-void-reason".to_string());
    keys.push("console-injection-voided".to_string());
    for purpose in cmr_kiosk::ui::console::view::PURPOSES {
        keys.push(key_for("purpose", &purpose));
    }
    for c in cmr_kiosk::ui::console::view::CRITERIA {
        keys.push(key_for("criterion", &c));
    }
    for t in [
        ExamType::Routine,
        ExamType::Contrast,
        ExamType::AdenosineStress,
        ExamType::RegadenosonStress,
    ] {
        keys.push(key_for("console-type", &t));
    }
    for f in [
        "fov_out_of_range",
        "slice_out_of_range",
        "gap_out_of_range",
        "phase_encoding_not_allowed",
        "slice_count_out_of_range",
    ] {
        keys.push(format!("finding-{f}"));
    }
    // Issue 17: each patient answer confirmed on its own, its log row, the pictures,
    // the stress drug's explanation and the breath-hold target; the nurse's facts
    // answered by a deliberate choice and the verdict for the exam ordered.
    for q in cmr_kiosk::ui::patient::model::Question::ALL {
        keys.push(q.short_key().to_string());
    }
    for k in [
        "patient-confirm-yes",
        "patient-confirm-no",
        "patient-confirm-not-sure",
        "patient-picture-implant",
        "patient-picture-metal",
        "patient-picture-pregnancy",
        "patient-picture-claustrophobia",
        "patient-picture-allergy",
        "patient-picture-kidney",
        "patient-picture-asthma",
        "patient-picture-caffeine",
        "patient-stress-title",
        "patient-stress-picture",
        "patient-stress-what-adenosine",
        "patient-stress-what-regadenoson",
        "patient-stress-heart",
        "patient-stress-feel",
        "patient-stress-passes-adenosine",
        "patient-stress-passes-regadenoson",
        "patient-stress-tell",
        "patient-stress-watch",
        "patient-bh-target",
        "log-self_answered",
        "fact-not-applicable-male",
        "fact-not-taken",
        "fact-hours-ago-choose",
        "clearance-unanswered",
        "nurse-blocker-facts",
        "nurse-refused-facts",
        "nurse-no-exam-type",
        "nurse-exam-type-changed",
        "verdict-go",
        "verdict-go-conditions",
        "verdict-no",
        "verdict-no-fallback",
        "verdict-next-conditions",
        "verdict-next-fallback",
        "verdict-next-none",
        "verdict-change-type",
    ] {
        keys.push(k.to_string());
    }
    for n in cmr_kiosk::domain::verdict::NextStep::ALL {
        keys.push(key_for("next", &n));
    }
    for t in [
        ExamType::Routine,
        ExamType::Contrast,
        ExamType::AdenosineStress,
        ExamType::RegadenosonStress,
    ] {
        keys.push(key_for("verdict-exam", &t));
        keys.push(key_for("verdict-instead", &t));
    }
    for lang in Language::ALL {
        for k in &keys {
            assert!(loc.has(lang, k), "{k} missing in {}", lang.tag());
        }
    }
}

// ---- Protocol checklist (3.1, 3.2): rows from the exam type, ticked by series ----

fn series(
    at_s: u64,
    step: ProtocolStep,
    by_hand: bool,
) -> cmr_kiosk::ui::console::model::AcquiredSeries {
    cmr_kiosk::ui::console::model::AcquiredSeries {
        at: Instant::from_secs(at_s),
        step,
        by_hand,
        label: (!by_hand).then(|| format!("{at_s} series")),
        findings: Vec::new(),
    }
}

#[rstest::rstest]
#[case::clause_3_1_routine(ExamType::Routine, 6)]
#[case::clause_3_1_3_contrast(ExamType::Contrast, 8)]
#[case::clause_3_2_3_adenosine(ExamType::AdenosineStress, 9)]
#[case::clause_3_2_3_regadenoson(ExamType::RegadenosonStress, 9)]
fn checklist_lists_the_required_steps_in_order(#[case] t: ExamType, #[case] n: usize) {
    let rows = cmr_kiosk::ui::console::model::checklist(t, &[]);
    assert_eq!(rows.len(), n);
    let steps: Vec<_> = rows.iter().map(|r| r.step).collect();
    assert_eq!(steps, cmr_kiosk::domain::protocol::required_steps(t));
    assert!(rows.iter().all(|r| r.required && r.latest.is_none()));
}

#[test]
fn checklist_ticks_by_series_and_by_hand_and_lists_extra_steps() {
    let acquired = [
        series(10, ProtocolStep::Localiser, false),
        series(20, ProtocolStep::BrightBlood, false),
        series(30, ProtocolStep::Cine2ch, true),
        series(40, ProtocolStep::T1Map, false),
        series(50, ProtocolStep::Lge, false),
        series(60, ProtocolStep::Lge, false),
    ];
    let rows = cmr_kiosk::ui::console::model::checklist(ExamType::Contrast, &acquired);
    let row = |s| rows.iter().find(|r| r.step == s).unwrap();
    assert_eq!(row(ProtocolStep::Localiser).count, 1);
    // Bright-blood stands in for black-blood (3.1.1).
    assert_eq!(
        row(ProtocolStep::BlackBlood).latest.as_ref().unwrap().step,
        ProtocolStep::BrightBlood
    );
    assert!(row(ProtocolStep::Cine2ch).latest.as_ref().unwrap().by_hand);
    assert!(row(ProtocolStep::Cine4ch).latest.is_none());
    // A repeat LGE: the latest series counts, both are counted.
    let lge = row(ProtocolStep::Lge);
    assert_eq!(
        (lge.count, lge.latest.as_ref().unwrap().at),
        (2, Instant::from_secs(60))
    );
    // T1 mapping was not required: listed after the required steps.
    let last = rows.last().unwrap();
    assert_eq!((last.step, last.required), (ProtocolStep::T1Map, false));
    assert_eq!(rows.len(), 9);
}

#[test]
fn acquired_series_carry_findings_and_skip_refused_ones() {
    use cmr_kiosk::domain::protocol::SeriesParams;
    use cmr_kiosk::engine::session::JournalRow;
    let mut exam = Exam::new(ProtocolSettings::default());
    let params = SeriesParams {
        fov_mm: Some(360.0),
        ..Default::default()
    };
    let ev = ExamEvent::SeriesAcquired {
        step: ProtocolStep::CineSax,
        params: Some(params),
        acquisition: None,
        safety: None,
        geometry: None,
        psir: None,
    };
    exam.handle(ev.clone(), Instant::from_secs(5)).unwrap();
    let journal = vec![
        JournalRow::Event {
            at: Instant::from_secs(5),
            actor: Some("scanner".into()),
            event: ev.clone(),
        },
        // Logged but not in the exam's acquired list (e.g. refused): not ticked.
        JournalRow::Event {
            at: Instant::from_secs(9),
            actor: Some("scanner".into()),
            event: ev,
        },
    ];
    let got = cmr_kiosk::ui::console::model::acquired_series(&journal, &exam);
    assert_eq!(got.len(), 1);
    assert!(!got[0].by_hand, "parameters were read");
    assert_eq!(got[0].findings.len(), 1);
    assert_eq!(got[0].findings[0].clause, "3.1.2.4");
}

#[test]
fn exam_type_is_inferred_when_not_chosen() {
    use cmr_kiosk::ui::console::model::exam_type_of;
    let mut exam = Exam::new(ProtocolSettings::default());
    assert_eq!(exam_type_of(&exam), (ExamType::Routine, true));
    at(
        &mut exam,
        0,
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    );
    assert_eq!(exam_type_of(&exam), (ExamType::Contrast, true));
    at(
        &mut exam,
        1,
        ExamEvent::ExamTypeChosen {
            exam_type: ExamType::AdenosineStress,
        },
    );
    assert_eq!(exam_type_of(&exam), (ExamType::AdenosineStress, false));
}

// ---- Trend chart: normalised points stay in the box, time order is kept ----

proptest::proptest! {
    #[test]
    fn chart_points_stay_in_the_box_and_in_time_order(
        raw in proptest::collection::vec((0u64..20_000, 0.0f64..400.0), 0..300),
        columns in 1usize..400,
        now in 0u64..25_000,
    ) {
        use cmr_kiosk::ui::console::chart::{Point, TrendData, VIEW, thin, trend_chart, HR_BREAK};
        let mut pts: Vec<Point> = raw
            .iter()
            .map(|(s, v)| Point { at: Instant::from_secs(*s), value: *v })
            .collect();
        pts.sort_by_key(|p| p.at);
        let data = TrendData { hr: pts.clone(), ..Default::default() };
        let (from, to) = data.window(Instant::from_secs(now));
        proptest::prop_assert!(from <= to);
        let strokes = thin(&pts, from, to, columns, HR_BREAK);
        let total: usize = strokes.iter().map(Vec::len).sum();
        // At most one point per column within a stroke; only a gap (a new stroke)
        // may put a second point into a column.
        proptest::prop_assert!(strokes.iter().all(|s| s.len() <= columns));
        proptest::prop_assert!(total <= columns + strokes.len());
        let mut last_x = -1.0;
        for s in &strokes {
            for (x, y) in s {
                proptest::prop_assert!((0.0..=VIEW).contains(x) && (0.0..=VIEW).contains(y));
                proptest::prop_assert!(*x >= last_x);
                last_x = *x;
            }
        }
        let chart = trend_chart(&data, Instant::from_secs(now), columns);
        for m in &chart.markers {
            proptest::prop_assert!((0.0..=VIEW).contains(&m.x));
        }
        proptest::prop_assert_eq!(chart.hr.matches('M').count(), strokes.len());
    }

    // ---- Issue 22: the chart read by column equals the chart read point by point ----

    #[test]
    fn issue_22_indexed_chart_equals_the_full_scan(
        gaps in proptest::collection::vec(0u64..90_000, 0..400),
        values in proptest::collection::vec(30.0f64..250.0, 400),
        columns in 1usize..300,
        now_after in 0u64..600_000,
        chunks in proptest::collection::vec(1usize..50, 1..20),
    ) {
        use cmr_kiosk::domain::ExamEvent;
        use cmr_kiosk::domain::stress::Vitals;
        use cmr_kiosk::engine::session::JournalRow;
        use cmr_kiosk::ui::console::chart::{
            Breaks, HR_BREAK, Point, TrendData, TrendIndex, thin, thin_indexed, trend_chart,
        };
        // Readings in time order, some close together (same column), some far apart
        // (breaks), NIBP on every third.
        let mut at = 0u64;
        let rows: Vec<JournalRow> = gaps
            .iter()
            .zip(&values)
            .enumerate()
            .map(|(i, (g, v))| {
                at += g;
                JournalRow::Event {
                    at: Instant::from_millis(at),
                    actor: None,
                    event: ExamEvent::VitalsReading {
                        vitals: Vitals {
                            hr: Some(*v),
                            sbp: i.is_multiple_of(3).then_some(v + 40.0),
                            dbp: i.is_multiple_of(3).then_some(v - 10.0),
                            ..Default::default()
                        },
                    },
                }
            })
            .collect();
        let now = Instant::from_millis(at + now_after);
        let data = TrendData::from_journal(&rows);
        let (from, to) = data.window(now);
        let hr: &[Point] = &data.hr;
        proptest::prop_assert_eq!(
            thin_indexed(hr, &Breaks::of(hr, HR_BREAK), from, to, columns),
            thin(hr, from, to, columns, HR_BREAK)
        );
        // Followed in chunks, as the console reads the journal between redraws.
        let mut index = TrendIndex::default();
        let mut read = 0;
        for c in chunks.iter().cycle() {
            if read >= rows.len() {
                break;
            }
            let next = (read + c).min(rows.len());
            index.extend(&rows[read..next]);
            read = next;
        }
        proptest::prop_assert_eq!(index.chart(now, columns), trend_chart(&data, now, columns));
    }

    // ---- Injection form: dose ↔ volume for the patient's weight ----

    #[test]
    fn the_form_converts_dose_and_volume_both_ways(
        dose in 0.01f64..0.3,
        weight in 20.0f64..200.0,
        conc in prop_oneof![proptest::strategy::Just(0.5), proptest::strategy::Just(1.0)],
    ) {
        use cmr_kiosk::ui::console::model::InjectionForm;
        let mut form = InjectionForm { dose_mmol_kg: dose, ..Default::default() };
        let (ml, d) = form.amounts(weight, conc);
        proptest::prop_assert!((d - dose).abs() < 1e-12);
        proptest::prop_assert!((ml - dose * weight / conc).abs() < 1e-9);
        // Switching to volume keeps the amount to 0.1 mL, and back to 0.001 mmol/kg.
        form.set_by_volume(true, Some(weight), Some(conc));
        let (ml2, d2) = form.amounts(weight, conc);
        proptest::prop_assert!((ml2 - ml).abs() <= 0.05 + 1e-9);
        proptest::prop_assert!((d2 - dose).abs() <= 0.05 * conc / weight + 1e-9);
        form.set_by_volume(false, Some(weight), Some(conc));
        proptest::prop_assert!((form.dose_mmol_kg - dose).abs() <= 0.0005 + 0.05 * conc / weight + 1e-9);
        proptest::prop_assert!(matches!(form.request().amount, Amount::DoseMmolKg(_)));
    }
}

use proptest::prop_oneof;

#[test]
fn the_form_starts_from_each_purposes_standard_dose() {
    use cmr_kiosk::ui::console::model::InjectionForm;
    let mut f = InjectionForm::default();
    assert_eq!(
        (f.purpose, f.dose_mmol_kg),
        (Purpose::StressPerfusion, 0.05)
    );
    f.choose(Purpose::Single);
    assert_eq!(f.dose_mmol_kg, 0.1);
    f.choose(Purpose::TopUp);
    assert_eq!(f.request().amount, Amount::DoseMmolKg(0.05));
    assert_eq!((f.request().rate_ml_s, f.request().flush_ml), (4.0, 25.0));
}

/// A DICOM series placed at its acquisition time (before its arrival) still ticks the
/// checklist: the log entry is matched by its arrival.
#[test]
fn a_series_timed_by_its_acquisition_still_ticks_the_checklist() {
    use cmr_kiosk::domain::Acquisition;
    use cmr_kiosk::engine::session::JournalRow;
    let mut exam = Exam::new(ProtocolSettings::default());
    let wall =
        chrono::NaiveDateTime::parse_from_str("2026-12-06T09:00:00", "%Y-%m-%dT%H:%M:%S").unwrap();
    exam.handle(
        ExamEvent::ExamDated {
            date: cmr_kiosk::domain::date::CivilDate::new(2026, 12, 6).unwrap(),
            wall: Some(wall),
        },
        Instant::ZERO,
    )
    .unwrap();
    let ev = ExamEvent::SeriesAcquired {
        step: ProtocolStep::Cine4ch,
        params: None,
        acquisition: Some(Acquisition {
            series_uid: "1.2.3".into(),
            label: "4 cine 4ch".into(),
            start: Some("2026-12-06T09:01:40.000".into()),
            end: None,
        }),
        safety: None,
        geometry: None,
        psir: None,
    };
    exam.handle(ev.clone(), Instant::from_secs(130)).unwrap();
    assert_eq!(
        exam.acquired()[0].0,
        Instant::from_secs(100),
        "placed at acquisition"
    );
    let journal = vec![JournalRow::Event {
        at: Instant::from_secs(130),
        actor: Some("scanner".into()),
        event: ev,
    }];
    let got = cmr_kiosk::ui::console::model::acquired_series(&journal, &exam);
    assert_eq!(got.len(), 1, "ticked");
    assert_eq!(got[0].label.as_deref(), Some("4 cine 4ch"));
}
