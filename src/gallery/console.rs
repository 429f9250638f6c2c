//! The console's preview states: one worked exam (70 kg, gadobutrol, adenosine
//! 140 µg/kg/min from 120 s, or regadenoson) stopped at the moment each page shows.

use crate::domain::ExamEvent;
use crate::domain::contrast::Purpose;
use crate::domain::protocol::ProtocolStep;
use crate::domain::stress::{StopCriterion, StressDose, StressDrug};
use crate::domain::time::Instant;
use crate::engine::session::ExamSession;
use crate::ui::components::ConsoleTab;

/// Console states for screenshots, each shown on its page.
pub const PREVIEWS: [&str; 18] = [
    "agents",
    "confirm-start",
    "stress",
    "alarm",
    "recovery",
    "regadenoson",
    "criteria",
    "contrast",
    "refused",
    "countersign",
    "confirm-inject",
    "lge",
    "checklist",
    "log",
    "technique",
    "confirm-finish",
    "report",
    "disk",
];

/// The page a preview state is shown on.
pub fn preview_page(name: &str) -> ConsoleTab {
    match name {
        "agents" | "contrast" | "refused" | "countersign" | "confirm-inject" => {
            ConsoleTab::Contrast
        }
        "lge" => ConsoleTab::Lge,
        "checklist" => ConsoleTab::Checklist,
        "log" => ConsoleTab::Log,
        "technique" | "confirm-finish" | "report" => ConsoleTab::Technique,
        _ => ConsoleTab::Stress,
    }
}

/// A worked exam in one of the [`PREVIEWS`] states, and the exam time to show it at:
/// 70 kg patient, gadobutrol, adenosine 140 µg/kg/min started at 120 s.
pub fn preview_exam(name: &str) -> Option<(crate::domain::Exam, Instant)> {
    preview_build(name).map(|(exam, now, _)| (exam, now))
}

/// A preview state as a running session (its journal feeds the chart, the log and the
/// checklist), at the exam time to show it.
pub fn preview_session(name: &str) -> Option<(ExamSession, Instant)> {
    preview_build(name)
        .map(|(exam, now, journal)| (ExamSession::preview(exam, now).with_journal(journal), now))
}

fn preview_build(
    name: &str,
) -> Option<(
    crate::domain::Exam,
    Instant,
    Vec<crate::engine::session::JournalRow>,
)> {
    use crate::domain::Acquisition;
    use crate::domain::contrast::{AgentId, Amount, InjectionMethod, InjectionRequest};
    use crate::domain::protocol::{ExamType, PhaseEncoding, SeriesParams};
    use crate::domain::screening::{Patient, Sex};
    use crate::domain::stress::Vitals;
    if !PREVIEWS.contains(&name) {
        return None;
    }
    // Events are collected with their times, then handled in time order.
    let mut events: Vec<(u64, String, ExamEvent)> = Vec::new();
    let mut at = |secs: u64, actor: &str, ev: ExamEvent| events.push((secs, actor.to_string(), ev));
    let vitals = |hr: f64, sbp: Option<f64>| ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(hr),
            sbp,
            dbp: sbp.map(|s| (s * 0.62).round()),
            spo2: Some(98.0),
            ..Default::default()
        },
    };
    let inject = |purpose, dose| {
        ExamEvent::Injected(InjectionRequest {
            amount: Amount::DoseMmolKg(dose),
            rate_ml_s: 4.0,
            flush_ml: 25.0,
            purpose,
            method: InjectionMethod::PowerInjector,
            authority: Default::default(),
        })
    };
    let series =
        |step, number: u32, label: &str, params: Option<SeriesParams>| ExamEvent::SeriesAcquired {
            step,
            params: Some(params.unwrap_or(SeriesParams {
                fov_mm: Some(340.0),
                slice_mm: Some(8.0),
                gap_mm: None,
                phase_encoding: Some(PhaseEncoding::Ap),
                slices: None,
            })),
            acquisition: Some(Acquisition {
                series_uid: format!("1.2.826.0.1.3680043.2.1125.{number}"),
                label: format!("{number} {label}"),
                start: None,
                end: None,
            }),
            safety: None,
            geometry: None,
            psir: None,
        };
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: Some(172.0),
        sex: Sex::Male,
        age_years: 61,
        egfr: Some(82.0),
        egfr_date: None,
    };
    let regadenoson = name == "regadenoson";
    at(0, "nurse", ExamEvent::PatientRegistered { patient });
    at(
        0,
        "nurse",
        ExamEvent::ExamTypeChosen {
            exam_type: if regadenoson {
                ExamType::RegadenosonStress
            } else {
                ExamType::AdenosineStress
            },
        },
    );
    at(
        0,
        "technologist",
        ExamEvent::AgentSelected {
            agent: AgentId::Gadobutrol,
        },
    );
    // Resting readings every 5 s, NIBP every minute, and the planning series.
    let mut sbp = 126.0;
    for t in (5..120).step_by(5) {
        let nibp = (t % 60 == 5).then_some(sbp);
        at(t, "monitor", vitals(64.0 + (t % 3) as f64, nibp));
    }
    at(
        40,
        "scanner",
        series(ProtocolStep::Localiser, 1, "localizer", None),
    );
    // Axial only so far: the checklist shows 3.1.1.1 still open.
    let mut black_blood = series(ProtocolStep::BlackBlood, 2, "tra HASTE", None);
    if let ExamEvent::SeriesAcquired { geometry, .. } = &mut black_blood {
        *geometry = Some(crate::domain::coverage::SeriesGeometry::from_normals([[
            0.0, 0.0, 1.0,
        ]]));
    }
    at(70, "scanner", black_blood);
    at(
        100,
        "scanner",
        series(ProtocolStep::Cine4ch, 4, "cine 4ch", None),
    );
    if regadenoson {
        for t in (120..240).step_by(5) {
            at(
                t,
                "monitor",
                vitals(64.0 + (t % 3) as f64, (t % 60 == 5).then_some(124.0)),
            );
        }
        at(110, "technologist", inject(Purpose::RestPerfusion, 0.05));
        at(
            150,
            "scanner",
            series(ProtocolStep::RestPerfusion, 6, "perf rest", None),
        );
        at(
            240,
            "technologist",
            ExamEvent::StressStarted {
                drug: StressDrug::Regadenoson,
                dose: None,
                authority: Default::default(),
            },
        );
        for t in (245..300).step_by(5) {
            let nibp = (t % 60 == 5).then_some(118.0);
            at(t, "monitor", vitals(66.0 + (t - 240) as f64 * 0.3, nibp));
        }
        return Some(replay(events, 290));
    }
    if matches!(name, "confirm-start" | "agents") {
        return Some(replay(events, 115));
    }
    at(
        120,
        "technologist",
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: Some(StressDose::UgKgMin(140.0)),
            authority: Default::default(),
        },
    );
    // HR rises about 1/min every 10 s under adenosine; SBP falls a little.
    for t in (125..=190).step_by(5) {
        let hr = 65.0 + (t - 120) as f64 / 10.0 * 0.8;
        let nibp = (t % 60 == 5).then(|| {
            sbp -= 4.0;
            sbp
        });
        at(t, "monitor", vitals(hr, nibp));
    }
    match name {
        // "disk": the stress page with the data disk almost full (the probe is the
        // screenshot's, see `Renderer::render_console_then`).
        "stress" | "disk" => return Some(replay(events, 190)),
        "alarm" => {
            at(195, "monitor", vitals(72.0, Some(84.0)));
            return Some(replay(events, 196));
        }
        "criteria" => {
            at(
                195,
                "technologist",
                ExamEvent::StopCriterionNoted {
                    criterion: StopCriterion::Wheeze,
                    note: None,
                },
            );
            return Some(replay(events, 197));
        }
        _ => {}
    }
    for t in (195..=230).step_by(5) {
        at(t, "monitor", vitals(75.0 + (t % 2) as f64, None));
    }
    at(200, "technologist", inject(Purpose::StressPerfusion, 0.05));
    at(
        220,
        "scanner",
        series(ProtocolStep::StressPerfusion, 7, "perf stress", None),
    );
    at(225, "technologist", ExamEvent::StressStopped);
    for t in (235..=300).step_by(5) {
        let nibp = (t % 60 == 5).then_some(121.0);
        at(t, "monitor", vitals(76.0 - (t - 230) as f64 / 10.0, nibp));
    }
    if name == "recovery" {
        return Some(replay(events, 300));
    }
    for t in (305..=900).step_by(5) {
        let nibp = (t % 60 == 5).then_some(124.0);
        at(t, "monitor", vitals(66.0 + (t % 3) as f64, nibp));
    }
    at(
        350,
        "scanner",
        series(
            ProtocolStep::CineSax,
            8,
            "cine sax",
            Some(SeriesParams {
                fov_mm: Some(360.0),
                slice_mm: Some(8.0),
                gap_mm: Some(2.0),
                phase_encoding: Some(PhaseEncoding::Ap),
                slices: Some(7),
            }),
        ),
    );
    at(
        400,
        "technologist",
        ExamEvent::SeriesAcquired {
            step: ProtocolStep::Cine2ch,
            params: None,
            acquisition: None,
            safety: None,
            geometry: None,
            psir: None,
        },
    );
    at(830, "technologist", inject(Purpose::RestPerfusion, 0.05));
    // A line recorded on the wrong purpose and voided: it stays listed, muted.
    at(845, "technologist", inject(Purpose::TopUp, 0.05));
    at(
        850,
        "technologist",
        ExamEvent::InjectionVoided {
            injected_at: Instant::from_secs(845),
            by: "technologist".into(),
            reason: "重复录入".into(),
        },
    );
    at(
        870,
        "scanner",
        series(ProtocolStep::RestPerfusion, 9, "perf rest", None),
    );
    if matches!(name, "refused" | "countersign" | "confirm-inject") {
        return Some(replay(events, 900));
    }
    if name == "contrast" {
        // A top-up of 5 mL (0.071 mmol/kg) is refused, and the refusal explained.
        at(
            880,
            "technologist",
            ExamEvent::Injected(InjectionRequest {
                amount: Amount::VolumeMl(5.0),
                rate_ml_s: 4.0,
                flush_ml: 15.0,
                purpose: Purpose::TopUp,
                method: InjectionMethod::PowerInjector,
                authority: Default::default(),
            }),
        );
        return Some(replay(events, 900));
    }
    if name == "lge" {
        return Some(replay(events, 1000));
    }
    at(
        1150,
        "scanner",
        series(ProtocolStep::Lge, 11, "PSIR sax", None),
    );
    Some(replay(events, 1200))
}

/// The refused step a preview state shows on the console (a single 0.2 mmol/kg after
/// both perfusion injections: above the top-up cap and the maximum), and for
/// `countersign` the physician's dialog half filled in.
pub fn preview_refusal(
    name: &str,
) -> Option<(
    crate::ui::console::view::Refusal,
    Option<crate::ui::staff::view::CountersignDraft>,
)> {
    use crate::domain::RejectCode;
    use crate::domain::contrast::{Amount, InjectionMethod, InjectionRequest};
    if !matches!(name, "refused" | "countersign") {
        return None;
    }
    let refusal = crate::ui::console::view::Refusal {
        event: ExamEvent::Injected(InjectionRequest {
            amount: Amount::DoseMmolKg(0.2),
            rate_ml_s: 4.0,
            flush_ml: 25.0,
            purpose: Purpose::Single,
            method: InjectionMethod::PowerInjector,
            authority: Default::default(),
        }),
        code: RejectCode::DoseAboveMax,
    };
    let draft = (name == "countersign").then(|| crate::ui::staff::view::CountersignDraft {
        username: "drli".into(),
        pin: "1357".into(),
        reason: String::new(),
        error: String::new(),
    });
    Some((refusal, draft))
}

/// The dose-changing step a preview state shows on its confirm panel: the adenosine
/// start (`confirm-start`) or a 0.1 mmol/kg LGE injection (`confirm-inject`).
pub fn preview_pending(
    name: &str,
    exam: &crate::domain::Exam,
) -> Option<crate::ui::console::view::Pending> {
    use crate::domain::contrast::{Amount, InjectionMethod, InjectionRequest};
    let event = match name {
        "confirm-start" => ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        },
        "confirm-inject" => ExamEvent::Injected(InjectionRequest {
            amount: Amount::DoseMmolKg(0.05),
            rate_ml_s: 4.0,
            flush_ml: 25.0,
            purpose: Purpose::TopUp,
            method: InjectionMethod::PowerInjector,
            authority: Default::default(),
        }),
        "confirm-finish" => {
            return Some(crate::ui::console::view::Pending::finish(
                exam,
                exam.now(),
                "tech.wang".into(),
            ));
        }
        _ => return None,
    };
    crate::ui::console::view::Pending::for_event(event, exam)
}

/// The report panel a preview state shows after finishing (`report`): the worked
/// exam's record as the log would hold it, registered to the demonstration patient,
/// finished by a made-up technologist. Row ids and hashes are made up too.
pub fn preview_report(
    name: &str,
    session: &ExamSession,
    lang: crate::config::Language,
) -> Option<crate::report::record::ExamRecord> {
    use crate::store::{EntryKind, ExamId, StoredEntry, VerifyReport};
    if name != "report" {
        return None;
    }
    let patient = crate::gallery::screens::DEMO_PATIENT_NAME
        .iter()
        .find(|(l, _)| *l == lang)
        .map_or("王小明", |(_, n)| *n);
    let opened = chrono::DateTime::parse_from_rfc3339("2026-11-27T01:00:00Z")
        .ok()?
        .with_timezone(&chrono::Utc);
    let exam = ExamId(uuid::Uuid::from_u128(0x2026_1127));
    let registration = serde_json::json!({
        "name": patient, "patient_id": "P0012345", "sex": "male",
        "birth_date": "1965-03-02", "weight_kg": 70.0, "height_cm": 172.0,
        "department": "心内科", "question": "胸痛待查",
        "exam_type": "adenosine_stress",
        "order": {"accession": "ACC20261127001", "study_uid": "1.2.3.4",
                  "requested_procedure": "CMR"}
    });
    let mut rows: Vec<(Instant, &str, &str, String)> = vec![(
        Instant::ZERO,
        "tech.wang",
        EntryKind::ExamOpened.as_str(),
        registration.to_string(),
    )];
    for row in session.journal() {
        if let crate::engine::session::JournalRow::Event { at, event, .. } = row {
            rows.push((
                *at,
                "tech.wang",
                EntryKind::ExamEvent.as_str(),
                serde_json::to_string(event).ok()?,
            ));
        }
    }
    let end = session.exam().now();
    rows.push((
        end,
        "tech.wang",
        EntryKind::ExamEvent.as_str(),
        serde_json::to_string(&ExamEvent::ExamFinished {
            by: "tech.wang".into(),
        })
        .ok()?,
    ));
    let n = rows.len();
    let entries = rows
        .into_iter()
        .enumerate()
        .map(|(i, (at, actor, kind, payload))| StoredEntry {
            id: uuid::Uuid::from_u128(i as u128 + 1),
            exam: Some(exam),
            device: "kiosk-demo".into(),
            seq: i as i64 + 1,
            wall: opened + chrono::Duration::milliseconds(at.as_millis() as i64),
            at,
            actor: actor.into(),
            kind: kind.into(),
            payload,
            prev_hash: String::new(),
            hash: format!("{:064x}", 0x5eed_u128 * (i as u128 + 1)),
        })
        .collect();
    let verification = VerifyReport {
        rows_checked: n as u64,
        devices: vec!["kiosk-demo".into()],
        first_bad: None,
    };
    crate::report::record::ExamRecord::from_entries(exam, entries, verification).ok()
}

/// Handles preview events in time order (stable for equal times) into an exam and its
/// journal, shown at `now_s`.
fn replay(
    mut events: Vec<(u64, String, ExamEvent)>,
    now_s: u64,
) -> (
    crate::domain::Exam,
    Instant,
    Vec<crate::engine::session::JournalRow>,
) {
    events.sort_by_key(|(t, _, _)| *t);
    let mut exam = crate::domain::Exam::new(crate::domain::ProtocolSettings::default());
    let mut journal = Vec::new();
    for (secs, actor, event) in events {
        let at = Instant::from_secs(secs);
        if exam.handle(event.clone(), at).is_ok() {
            journal.push(crate::engine::session::JournalRow::Event {
                at,
                actor: Some(actor),
                event,
            });
        }
    }
    (exam, Instant::from_secs(now_s), journal)
}
