//! The console's event log: the running exam's logged rows worded through Fluent,
//! newest first. Monitor readings are left out (the trend chart shows them).

use fluent::FluentArgs;

use crate::config::Language;
use crate::domain::ExamEvent;
use crate::domain::contrast::Amount;
use crate::domain::stress::StressDose;
use crate::domain::time::Instant;
use crate::engine::session::JournalRow;
use crate::i18n::Localizer;
use crate::report::{key_for, number};
use crate::store::{AuditAction, AuditEvent};

/// The most rows the log page lists (the full log stays in the store).
pub const LOG_ROWS: usize = 200;

/// One worded row of the log page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Exam time of the row.
    pub at: Instant,
    /// Who (empty for rows replayed at recovery, whose actor the journal does not keep).
    pub who: String,
    /// What, in words.
    pub text: String,
}

/// The snake_case name of an event (its `event` tag in the log).
pub fn event_name(event: &ExamEvent) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// An event in words.
pub fn word_event(loc: &Localizer, lang: Language, event: &ExamEvent) -> String {
    let tr = |k: &str| loc.tr(lang, k);
    let mut a = FluentArgs::new();
    match event {
        ExamEvent::PatientRegistered { patient } => a.set("weight", number(patient.weight_kg, 1)),
        ExamEvent::ScannerRecorded { scanner } => {
            a.set("scanner", format!("{} {}", scanner.vendor, scanner.model))
        }
        ExamEvent::AgentSelected { agent } => a.set("agent", tr(&key_for("agent", agent))),
        ExamEvent::StressStarted { drug, dose, .. } => {
            a.set("drug", tr(&key_for("drug", drug)));
            a.set(
                "dose",
                match dose {
                    Some(StressDose::UgKgMin(d)) => format!("{} µg/kg/min", number(*d, 0)),
                    Some(StressDose::Mg(mg)) => format!("{} mg", number(*mg, 2)),
                    None => tr("log-site-default"),
                },
            );
        }
        ExamEvent::StressEscalated { dose_ug_kg_min, .. } => a.set(
            "dose",
            dose_ug_kg_min.map_or_else(|| tr("log-site-default"), |d| number(d, 0)),
        ),
        ExamEvent::StopCriterionNoted { criterion, .. } => {
            a.set("criterion", tr(&key_for("criterion", criterion)))
        }
        ExamEvent::Injected(req) => {
            a.set("purpose", tr(&key_for("purpose", &req.purpose)));
            a.set(
                "amount",
                match req.amount {
                    Amount::DoseMmolKg(d) => format!("{} mmol/kg", crate::report::mmol_per_kg(d)),
                    Amount::VolumeMl(v) => format!("{} mL", number(v, 1)),
                },
            );
            a.set("rate", number(req.rate_ml_s, 1));
            a.set("flush", number(req.flush_ml, 0));
        }
        ExamEvent::InjectionVoided {
            injected_at,
            reason,
            ..
        } => {
            a.set("at", super::model::mm_ss(injected_at.as_millis() / 1000));
            a.set("reason", reason.clone());
        }
        ExamEvent::SeriesAcquired { step, .. } => a.set("step", tr(&key_for("step", step))),
        ExamEvent::AlarmAcknowledged { code, .. } => a.set("alarm", tr(&key_for("alarm", code))),
        ExamEvent::ExamTypeChosen { exam_type } => {
            a.set("type", tr(&key_for("console-type", exam_type)))
        }
        ExamEvent::BreathHoldPracticed { best_hold_s, .. } => {
            a.set("seconds", number(*best_hold_s, 0))
        }
        ExamEvent::IndicationsRecorded { indications } => {
            let names: Vec<String> = indications
                .iter()
                .map(|i| tr(&key_for("indication", i)))
                .collect();
            a.set("list", names.join(&tr("report-list-separator")));
        }
        ExamEvent::ExamDated { date, .. } => a.set("date", date.to_string()),
        ExamEvent::SelfAnswered { item } => {
            use crate::domain::SelfAnswer;
            let question = crate::ui::patient::model::Question::from_name(&item.question)
                .map_or_else(|| item.question.clone(), |q| tr(q.short_key()));
            a.set("question", question);
            a.set(
                "answer",
                tr(match item.answer {
                    SelfAnswer::Yes => "nurse-answer-yes",
                    SelfAnswer::No => "nurse-answer-no",
                    SelfAnswer::NotSure => "nurse-answer-not-sure",
                }),
            );
        }
        _ => {}
    }
    let name = event_name(event);
    let key = format!("log-{name}");
    if loc.has(lang, &key) {
        loc.tr_args(lang, &key, &a)
    } else {
        a.set("event", name);
        loc.tr_args(lang, "log-other", &a)
    }
}

/// An audit row in words.
pub fn word_audit(loc: &Localizer, lang: Language, event: &AuditEvent) -> String {
    let mut a = FluentArgs::new();
    match event.action {
        AuditAction::PromptDismissed => {
            let prompt = event.subject.clone().unwrap_or_default();
            a.set("prompt", loc.tr(lang, &format!("prompt-{prompt}")));
            loc.tr_args(lang, "log-prompt_dismissed", &a)
        }
        other => {
            let name = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            a.set("event", name);
            loc.tr_args(lang, "log-other", &a)
        }
    }
}

/// The log page: the newest [`LOG_ROWS`] rows other than monitor readings, newest first.
pub fn log_lines(loc: &Localizer, lang: Language, journal: &[JournalRow]) -> Vec<LogLine> {
    journal
        .iter()
        .rev()
        .filter(|row| is_shown(row))
        .take(LOG_ROWS)
        .map(|row| log_line(loc, lang, row))
        .collect()
}

/// Whether a journal row has a line in the event log: not the monitor's readings
/// (the chart shows them) and, of the engine's decisions, only the alarms and prompts
/// it raised (the rest repeat a step already in the log).
pub fn is_shown(row: &JournalRow) -> bool {
    match row {
        JournalRow::Event {
            event: ExamEvent::VitalsReading { .. },
            ..
        } => false,
        JournalRow::Decision { output, .. } => decision_key(&output.decision).is_some(),
        _ => true,
    }
}

/// One row's line, worded in `lang`.
pub fn log_line(loc: &Localizer, lang: Language, row: &JournalRow) -> LogLine {
    match row {
        JournalRow::Event { at, actor, event } => LogLine {
            at: *at,
            who: actor.clone().unwrap_or_default(),
            text: word_event(loc, lang, event),
        },
        JournalRow::Audit { at, event } => LogLine {
            at: *at,
            who: event.user.clone().unwrap_or_default(),
            text: word_audit(loc, lang, event),
        },
        JournalRow::Decision { at, output, .. } => LogLine {
            at: *at,
            who: String::new(),
            text: decision_key(&output.decision)
                .map(|k| loc.tr(lang, &k))
                .unwrap_or_default(),
        },
    }
}

/// The Fluent key of an alarm or prompt the engine raised (`None` for other
/// decisions).
fn decision_key(d: &crate::domain::Decision) -> Option<String> {
    use crate::domain::Decision;
    use crate::domain::output::ReminderCode;
    Some(match d {
        Decision::Alarm { code, .. } => crate::report::key_for("alarm", code),
        // A warning the engine gave (an LGE series outside its window, a soft check).
        Decision::Warning { code } => crate::report::key_for("warning", code),
        Decision::StressImagingDue { .. } => "prompt-image_now".into(),
        Decision::StopStressDue { .. } => "prompt-stop_infusion".into(),
        Decision::RestPerfusionReady => "prompt-rest_perfusion_ready".into(),
        Decision::LgeWindowOpen => "prompt-lge_window_open".into(),
        Decision::EscalationDue { .. } => "prompt-escalate".into(),
        Decision::Reminder { code } => match code {
            ReminderCode::TiRecheck => "prompt-ti_recheck".into(),
            ReminderCode::ObservePatient => "prompt-observe_patient".into(),
            ReminderCode::ConsiderAminophylline => "prompt-consider_aminophylline".into(),
            ReminderCode::PsirRecommended => "prompt-psir_recommended".into(),
        },
        _ => return None,
    })
}
