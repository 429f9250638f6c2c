//! The PDF exam sheet's content (issue 15), worded from an [`ExamRecord`] in one
//! language: identity, clearance with its reasons and who overrode what, preparation
//! and sign-off, the timeline (HR/BP with the stress drug, injections, series,
//! alarms), the contrast ledger, the stress record, the series with their compliance
//! findings, the technique section, the log's key rows, and the log's verification
//! with its head hash. [`super::pdf::render`] draws it.

use chrono::FixedOffset;
use fluent::FluentArgs;

use super::pdf::{
    ExamSheet, LegendKey, MarkerKind, SheetRow, SheetSection, Timeline, TimelineBand,
    TimelineMarker,
};
use super::record::ExamRecord;
use super::sections::{ReportSections, wall_label};
use super::{key_for, mmol, mmol_per_kg, number};
use crate::config::Language;
use crate::domain::Decision;
use crate::domain::exam::ExamEvent;
use crate::domain::stress::{StressDose, StressDrug};
use crate::domain::time::Instant;
use crate::engine::session::JournalRow;
use crate::i18n::Localizer;

/// Most log rows the sheet lists (the newest are kept; the full log stays in the
/// store and `cmr-kiosk report --format json` has every section).
pub const SHEET_LOG_ROWS: usize = 60;

/// `mm:ss` (or `h:mm:ss`) of an exam time.
pub fn clock(at: Instant) -> String {
    let s = at.as_millis() / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// The sheet of `record` in `lang`, opening with the report's `sections` (worded in
/// the same language).
pub fn sheet(
    loc: &Localizer,
    lang: Language,
    record: &ExamRecord,
    sections: &ReportSections,
    offset: FixedOffset,
) -> ExamSheet {
    let tr = |k: &str| loc.tr(lang, k);
    let tra = |k: &str, args: &[(&str, String)]| {
        let mut a = FluentArgs::new();
        for (n, v) in args {
            a.set(*n, v.clone());
        }
        loc.tr_args(lang, k, &a)
    };
    let exam = &record.replayed;
    let not_recorded = tr("report-not-recorded");

    // Identity: the basic information, two fields a line.
    let fields: Vec<String> = sections
        .basic
        .items
        .iter()
        .map(|f| {
            let value = if f.value.is_empty() {
                not_recorded.clone()
            } else {
                f.value.clone()
            };
            tra(
                "report-field-line",
                &[("label", f.label.clone()), ("value", value)],
            )
        })
        .collect();
    let header_lines: Vec<String> = fields.chunks(3).map(|c| c.join("    ")).collect();

    let mut out = Vec::new();

    // Clearance (2.1.2, 2.3.1, 3.2.3) with its reasons and the overrides.
    let clearance = exam.clearance();
    let mut rows = vec![SheetRow::Pair(
        tr("sheet-clearance-status"),
        tr(&key_for("clearance", &clearance.status)),
    )];
    for r in &clearance.reasons {
        rows.push(SheetRow::Pair(
            format!("{} ({})", tr("sheet-clearance-reason"), r.clause),
            tr(&key_for("reason", &r.code)),
        ));
    }
    if !exam.overrides().is_empty() {
        rows.push(SheetRow::Table {
            header: vec![
                tr("sheet-override-rule"),
                tr("sheet-override-by"),
                tr("sheet-override-reason"),
            ],
            rows: exam
                .overrides()
                .iter()
                .map(|o| {
                    vec![
                        tr(&key_for("reason", &o.rule)),
                        o.by.clone(),
                        o.reason.clone(),
                    ]
                })
                .collect(),
        });
    }
    out.push(SheetSection {
        heading: tr("sheet-clearance-heading"),
        rows,
    });

    // Preparation (2.2) and the sign-off.
    let mut rows = Vec::new();
    for (row, event) in record.events() {
        if let ExamEvent::PreparationChecked { item, by } = event {
            rows.push(SheetRow::Pair(
                tr(&format!("prep-{}", item.as_str())),
                format!("{by}  {}", wall_label(row.wall, offset)),
            ));
        }
    }
    rows.push(SheetRow::Pair(
        tr("sheet-signed-off"),
        exam.signed_off()
            .map(str::to_owned)
            .unwrap_or_else(|| tr("sheet-not-signed-off")),
    ));
    out.push(SheetSection {
        heading: tr("sheet-preparation-heading"),
        rows,
    });

    // The contrast ledger (3.1.3–3.1.4): every injection, voided ones kept and marked.
    let mut rows = Vec::new();
    for (row, event) in record.events() {
        if matches!(event, ExamEvent::Injected(_))
            && let Some(i) = exam.ledger().and_then(|l| {
                l.injections()
                    .iter()
                    .chain(l.voided().iter().map(|v| &v.injection))
                    .find(|i| i.at == row.at)
            })
        {
            let voided = exam
                .ledger()
                .and_then(|l| l.voided().iter().find(|v| v.injection.at == i.at));
            rows.push(vec![
                clock(i.at),
                tr(&key_for("purpose", &i.purpose)),
                tr(&key_for("agent", &i.agent)),
                format!("{} mL", number(i.volume_ml, 1)),
                format!("{} mmol", mmol(i.mmol)),
                format!("{} mmol/kg", mmol_per_kg(i.mmol_kg)),
                format!("{} mL/s", number(i.rate_ml_s, 1)),
                match voided {
                    Some(v) => tra(
                        "sheet-voided",
                        &[("by", v.by.clone()), ("reason", v.reason.clone())],
                    ),
                    None => row.actor.clone(),
                },
            ]);
        }
    }
    let mut ledger = Vec::new();
    if rows.is_empty() {
        ledger.push(SheetRow::Line(tr("report-contrast-none")));
    } else {
        ledger.push(SheetRow::Table {
            header: vec![
                tr("sheet-col-time"),
                tr("sheet-col-purpose"),
                tr("sheet-col-agent"),
                tr("sheet-col-volume"),
                tr("sheet-col-gadolinium"),
                tr("sheet-col-dose"),
                tr("sheet-col-rate"),
                tr("sheet-col-by"),
            ],
            rows,
        });
        if let Some(l) = exam.ledger() {
            ledger.push(SheetRow::Pair(
                tr("sheet-total"),
                format!(
                    "{} mL · {} mmol · {} mmol/kg",
                    number(l.cumulative_ml(), 1),
                    mmol(l.cumulative_mmol()),
                    mmol_per_kg(l.cumulative_mmol_kg())
                ),
            ));
        }
    }
    out.push(SheetSection {
        heading: tr("sheet-ledger-heading"),
        rows: ledger,
    });

    // The stress record (3.2.3): each run, and the stop criteria noted.
    let mut rows = Vec::new();
    for run in exam.stress().runs() {
        let dose = match run.dose {
            StressDose::UgKgMin(d) => format!("{} µg/kg/min", number(d, 0)),
            StressDose::Mg(m) => format!("{} mg", number(m, 1)),
        };
        let end = run
            .stopped_at
            .map(clock)
            .unwrap_or_else(|| not_recorded.clone());
        let mut value = tra(
            "sheet-stress-run",
            &[
                ("dose", dose),
                ("start", clock(run.started_at)),
                ("end", end),
            ],
        );
        if run.drug == StressDrug::Adenosine
            && let Some(max) = run.max_dose_ug_kg_min
        {
            value.push_str(&tra("sheet-stress-max", &[("max", number(max, 0))]));
        }
        rows.push(SheetRow::Pair(tr(&key_for("drug", &run.drug)), value));
    }
    for (row, event) in record.events() {
        if let ExamEvent::StopCriterionNoted { criterion, note } = event {
            let mut v = format!(
                "{}  {}",
                clock(row.at),
                tr(&key_for("criterion", criterion))
            );
            if let Some(n) = note {
                v.push_str(&format!(" ({n})"));
            }
            rows.push(SheetRow::Pair(tr("sheet-stop-criterion"), v));
        }
    }
    if rows.is_empty() {
        rows.push(SheetRow::Line(tr("sheet-no-stress")));
    }
    out.push(SheetSection {
        heading: tr("sheet-stress-heading"),
        rows,
    });

    // The series (3.1, 3.2) with their compliance findings.
    let mut rows = Vec::new();
    for (row, event) in record.events() {
        if let ExamEvent::SeriesAcquired {
            step, acquisition, ..
        } = event
        {
            let findings: Vec<String> = record
                .rows
                .iter()
                .filter(|r| r.at == row.at)
                .filter_map(|r| match &r.row {
                    Some(JournalRow::Decision { output, .. }) => match &output.decision {
                        Decision::SeriesFindings { step: s, findings } if s == step => Some(
                            findings
                                .iter()
                                .map(|f| {
                                    tra(
                                        &key_for("finding", &f.code),
                                        &[
                                            ("measured", f.measured.clone()),
                                            ("expected", f.expected.clone()),
                                            ("clause", f.clause.clone()),
                                        ],
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; "),
                        ),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            rows.push(vec![
                clock(row.at),
                tr(&key_for("step", step)),
                acquisition
                    .as_ref()
                    .map(|a| a.label.clone())
                    .unwrap_or_default(),
                if findings.is_empty() {
                    tr("sheet-series-compliant")
                } else {
                    findings.join("; ")
                },
            ]);
        }
    }
    let mut series = Vec::new();
    if rows.is_empty() {
        series.push(SheetRow::Line(tr("report-sequences-none")));
    } else {
        series.push(SheetRow::Table {
            header: vec![
                tr("sheet-col-time"),
                tr("sheet-col-step"),
                tr("sheet-col-series"),
                tr("sheet-col-findings"),
            ],
            rows,
        });
    }
    for o in exam.finished().map(|f| &f.outstanding[..]).unwrap_or(&[]) {
        series.push(SheetRow::Pair(
            tr("confirm-open-item"),
            super::sections::outstanding_text(loc, lang, o),
        ));
    }
    out.push(SheetSection {
        heading: tr("sheet-series-heading"),
        rows: series,
    });

    // The technique section (5.2.3).
    out.push(SheetSection {
        heading: sections.technique.heading.clone(),
        rows: sections
            .technique
            .items
            .iter()
            .cloned()
            .map(SheetRow::Line)
            .collect(),
    });

    // The log's key rows (the newest, monitor readings left out) and the record.
    let shown: Vec<&super::record::RecordRow> = record
        .rows
        .iter()
        .filter(|r| {
            r.row
                .as_ref()
                .is_some_and(crate::ui::console::log::is_shown)
        })
        .collect();
    let skip = shown.len().saturating_sub(SHEET_LOG_ROWS);
    let log_rows: Vec<Vec<String>> = shown[skip..]
        .iter()
        .filter_map(|r| {
            let row = r.row.as_ref()?;
            let line = crate::ui::console::log::log_line(loc, lang, row);
            Some(vec![clock(r.at), r.actor.clone(), line.text])
        })
        .collect();
    let mut log = Vec::new();
    if skip > 0 {
        log.push(SheetRow::Line(tra(
            "sheet-log-newest",
            &[
                ("shown", SHEET_LOG_ROWS.to_string()),
                ("all", shown.len().to_string()),
            ],
        )));
    }
    log.push(SheetRow::Table {
        header: vec![
            tr("sheet-col-time"),
            tr("sheet-col-by"),
            tr("sheet-col-event"),
        ],
        rows: log_rows,
    });
    for s in &sections.record_status {
        log.push(SheetRow::Line(s.clone()));
    }
    out.push(SheetSection {
        heading: tr("sheet-log-heading"),
        rows: log,
    });

    ExamSheet {
        title: sections.title.clone(),
        training_banner: sections.training_notice.clone(),
        header_lines,
        sections: out,
        timeline: timeline(loc, lang, record),
        timeline_after: 2,
        footer: super::sections::verification_text(loc, lang, record),
        page_label: tr("sheet-page"),
    }
}

/// The timeline picture, when the exam has readings or events to show.
fn timeline(loc: &Localizer, lang: Language, record: &ExamRecord) -> Option<Timeline> {
    let tr = |k: &str| loc.tr(lang, k);
    let exam = &record.replayed;
    let mut t = Timeline {
        heading: tr("sheet-timeline-heading"),
        axis_label: tr("sheet-axis-minutes"),
        value_axis_label: "bpm / mmHg".into(),
        ..Timeline::default()
    };
    for (row, event) in record.events() {
        let at = row.at.as_secs_f64();
        match event {
            ExamEvent::VitalsReading { vitals } => {
                if let Some(hr) = vitals.hr {
                    t.hr.push((at, hr));
                }
                if let Some(s) = vitals.sbp {
                    t.systolic.push((at, s));
                }
                if let Some(d) = vitals.dbp {
                    t.diastolic.push((at, d));
                }
            }
            ExamEvent::Injected(req) => t.markers.push(TimelineMarker {
                at_s: at,
                kind: MarkerKind::Injection,
                label: tr(&key_for("sheet-mark", &req.purpose)),
            }),
            ExamEvent::SeriesAcquired { step, .. } => t.markers.push(TimelineMarker {
                at_s: at,
                kind: MarkerKind::Series,
                label: tr(&key_for("step", step)),
            }),
            ExamEvent::StopCriterionNoted { criterion, .. } => t.markers.push(TimelineMarker {
                at_s: at,
                kind: MarkerKind::StopCriterion,
                label: tr(&key_for("criterion", criterion)),
            }),
            _ => {}
        }
    }
    for r in &record.rows {
        if let Some(JournalRow::Decision { output, .. }) = &r.row
            && let Decision::Alarm { code, .. } = &output.decision
        {
            t.markers.push(TimelineMarker {
                at_s: r.at.as_secs_f64(),
                kind: MarkerKind::Alarm,
                label: tr(&key_for("alarm", code)),
            });
        }
    }
    let end = record.end.as_secs_f64();
    for run in exam.stress().runs() {
        let to = run.stopped_at.map_or(end, Instant::as_secs_f64);
        let to = match run.drug {
            // A bolus acts for its effect window unless reversed sooner.
            StressDrug::Regadenoson => {
                to.min((run.started_at + exam.stress().settings().regadenoson_effect).as_secs_f64())
            }
            StressDrug::Adenosine => to,
        };
        t.bands.push(TimelineBand {
            from_s: run.started_at.as_secs_f64(),
            to_s: to.max(run.started_at.as_secs_f64()),
            label: tr(&key_for("drug", &run.drug)),
        });
    }
    if t.hr.is_empty() && t.systolic.is_empty() && t.markers.is_empty() && t.bands.is_empty() {
        return None;
    }
    t.legend = vec![
        (tr("sheet-legend-hr"), LegendKey::HeartRate),
        (tr("sheet-legend-sbp"), LegendKey::Systolic),
        (tr("sheet-legend-dbp"), LegendKey::Diastolic),
        (tr("sheet-legend-drug"), LegendKey::DrugBand),
        (
            tr("sheet-legend-injection"),
            LegendKey::Marker(MarkerKind::Injection),
        ),
        (
            tr("sheet-legend-series"),
            LegendKey::Marker(MarkerKind::Series),
        ),
        (
            tr("sheet-legend-alarm"),
            LegendKey::Marker(MarkerKind::Alarm),
        ),
        (
            tr("sheet-legend-stop"),
            LegendKey::Marker(MarkerKind::StopCriterion),
        ),
    ];
    Some(t)
}
