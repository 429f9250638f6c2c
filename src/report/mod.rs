//! The report's technique section (standard clause 5.2.3) as text in zh-CN or en-US.
//!
//! The facts come from the pure core ([`crate::domain::technique::TechniqueFacts`]);
//! this adapter only words them through Fluent (`locales/*/report.ftl`).

pub mod deliver;
pub mod hl7;
pub mod ris;

pub mod pdf;
pub mod print;
pub mod record;
pub mod sections;
pub mod sheet;
pub mod sr;

use fluent::FluentArgs;
use serde::Serialize;

use crate::config::Language;
use crate::domain::stress::{StressDose, StressDrug};
use crate::domain::technique::{ExamKind, TechniqueFacts};
use crate::i18n::Localizer;

/// The Fluent key of a serde-named value: `prefix-<snake_case name>`.
pub fn key_for<T: Serialize>(prefix: &str, value: &T) -> String {
    let name = serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{prefix}-{name}")
}

/// A number for a report: at most `dp` decimals, trailing zeros dropped.
pub fn number(v: f64, dp: usize) -> String {
    // Halves round away from zero, and a value a rounding error short of a half
    // (3.625 × 2 = 7.250000000000001 beside an exact 7.25) rounds the same way:
    // the same amount never reads 7.2 mmol beside 7.3 mL.
    let scale = 10f64.powi(i32::try_from(dp).unwrap_or(9));
    let scaled = v * scale;
    let rounded = (scaled + scaled.signum() * 1e-9).round() / scale;
    let s = format!("{rounded:.dp$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// An amount of gadolinium in mmol as people write it: to 0.1 mmol from 1 mmol up
/// (10.875 → "10.9"), to 0.01 mmol below (0.375 → "0.38").
pub fn mmol(v: f64) -> String {
    number(v, if v.abs() >= 1.0 { 1 } else { 2 })
}

/// A dose in mmol/kg as people write it: to 0.01 from 0.1 up (0.15, 0.2), to 0.001
/// below, where half and quarter doses live (0.075, 0.025).
pub fn mmol_per_kg(v: f64) -> String {
    number(v, if v.abs() >= 0.1 { 2 } else { 3 })
}

/// A dose written beside its `limit`: as [`mmol_per_kg`], but with more decimals when
/// that rounding would make a dose over (or under) the limit read as the limit itself
/// (0.2049 beside 0.2 reads "0.205", never "0.2").
pub fn mmol_per_kg_against(v: f64, limit: f64) -> String {
    let short = mmol_per_kg(v);
    if v != limit && short == mmol_per_kg(limit) {
        (3..=6)
            .map(|dp| number(v, dp))
            .find(|s| *s != number(limit, 6))
            .unwrap_or_else(|| number(v, 6))
    } else {
        short
    }
}

/// The technique section: a heading and one line per fact.
pub fn technique_lines(loc: &Localizer, lang: Language, facts: &TechniqueFacts) -> Vec<String> {
    let tr = |key: &str| loc.tr(lang, key);
    let tr_args = |key: &str, args: &FluentArgs| loc.tr_args(lang, key, args);
    let mut lines = vec![tr("report-technique-heading")];

    // 5.2.3 names routine or contrast-enhanced; a stress study says it is one (a
    // pharmacological stress perfusion exam is contrast-enhanced, but not only that).
    lines.push(tr(match (facts.exam_kind, facts.stress.is_empty()) {
        (ExamKind::Routine, _) => "report-exam-routine",
        (ExamKind::ContrastEnhanced, true) => "report-exam-contrast",
        (ExamKind::ContrastEnhanced, false) => "report-exam-stress",
    }));

    match (&facts.vendor, facts.field_strength_t) {
        (Some(vendor), Some(field)) => {
            let mut a = FluentArgs::new();
            a.set("vendor", vendor.clone());
            a.set("model", facts.model.clone().unwrap_or_default());
            a.set("field", number(field, 1));
            lines.push(tr_args("report-scanner", &a).replace("  ", " "));
        }
        _ => lines.push(tr("report-scanner-unknown")),
    }

    if facts.sequences.is_empty() {
        lines.push(tr("report-sequences-none"));
    } else {
        let sep = tr("report-list-separator");
        let list: Vec<String> = facts
            .sequences
            .iter()
            .map(|s| tr(&key_for("step", s)))
            .collect();
        let mut a = FluentArgs::new();
        a.set("list", list.join(&sep));
        lines.push(tr_args("report-sequences", &a));
    }

    match (&facts.agent, facts.injections.is_empty()) {
        (Some(agent), false) => {
            let mut a = FluentArgs::new();
            // Every agent used, by name (an agent changed mid-exam is named too).
            let used = if facts.agents.is_empty() {
                std::slice::from_ref(agent)
            } else {
                &facts.agents[..]
            };
            let names: Vec<String> = used.iter().map(|g| tr(&key_for("agent", g))).collect();
            a.set("agent", names.join(&tr("report-list-separator")));
            a.set("ml", number(facts.total_ml, 1));
            a.set("mmol", mmol(facts.total_mmol));
            a.set("mmolkg", mmol_per_kg(facts.total_mmol_kg));
            a.set("count", facts.injections.len().to_string());
            let method = facts.injection_method.unwrap_or_default();
            a.set("method", tr(&key_for("method", &method)));
            let rates: Vec<String> = facts
                .injection_rates_ml_s
                .iter()
                .map(|r| number(*r, 1))
                .collect();
            a.set("rates", rates.join("/"));
            lines.push(tr_args("report-contrast", &a));
            // The flush is worded only when one was given, and "each" only when every
            // injection had one.
            let flushed = facts.injections.iter().filter(|i| i.flush_ml > 0.0).count();
            if flushed > 0 {
                let mut f = FluentArgs::new();
                f.set("flush", number(facts.flush_ml, 1));
                f.set("count", flushed.to_string());
                lines.push(tr_args(
                    if flushed == facts.injections.len() {
                        "report-flush-each"
                    } else {
                        "report-flush-some"
                    },
                    &f,
                ));
            }
        }
        _ => lines.push(tr("report-contrast-none")),
    }

    for stress in &facts.stress {
        let mut a = FluentArgs::new();
        match (stress.drug, stress.dose) {
            (StressDrug::Adenosine, StressDose::UgKgMin(dose)) => {
                a.set("dose", number(dose, 0));
                a.set("max", number(stress.max_dose_ug_kg_min.unwrap_or(dose), 0));
                let secs = stress.duration_s.unwrap_or(0.0).max(0.0).round() as u64;
                a.set("minutes", (secs / 60).to_string());
                a.set("seconds", (secs % 60).to_string());
                lines.push(tr_args("report-stress-adenosine", &a));
            }
            (_, StressDose::Mg(mg)) | (StressDrug::Regadenoson, StressDose::UgKgMin(mg)) => {
                a.set("mg", number(mg, 1));
                lines.push(tr_args("report-stress-regadenoson", &a));
                if let Some(after) = stress.reversal_after_s {
                    let secs = after.max(0.0).round() as u64;
                    let mut r = FluentArgs::new();
                    r.set("minutes", (secs / 60).to_string());
                    r.set("seconds", (secs % 60).to_string());
                    lines.push(tr_args("report-stress-reversal", &r));
                }
            }
        }
    }
    lines
}
