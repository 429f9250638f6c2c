//! The report's sections (standard clause 5.2) worded from an [`ExamRecord`] in zh-CN
//! or en-US: 5.2.1 title, 5.2.2 basic information, 5.2.3 technique, and 5.2.4
//! findings and 5.2.5 conclusion left headed and empty for the physician. The same
//! sections give the plain text (`cmr-kiosk report --format text`) and the structured
//! JSON (`--format json`), and open the PDF sheet.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fluent::FluentArgs;
use serde::Serialize;

use super::key_for;
use super::record::ExamRecord;
use crate::config::Language;
use crate::domain::exam::Outstanding;
use crate::domain::screening::Sex;
use crate::domain::technique::TechniqueFacts;
use crate::i18n::Localizer;

/// Who and where the report is for: what the configuration knows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportSite {
    /// The hospital named in the title (5.2.1); empty: none configured.
    pub institution: String,
}

/// One field of the basic information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Stable name (`name`, `sex`, `age`, `patient_id`, …).
    pub key: &'static str,
    /// Its label in the report's language.
    pub label: String,
    /// Its value; empty when not recorded.
    pub value: String,
}

/// A headed section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section<T> {
    /// The clause of the standard it answers.
    pub clause: &'static str,
    /// Its heading.
    pub heading: String,
    /// Its content.
    pub items: Vec<T>,
}

/// The report's sections in one language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportSections {
    /// `zh-CN` or `en-US`.
    pub language: &'static str,
    /// The exam.
    pub exam: String,
    /// A rehearsal exam: never a patient's.
    pub training: bool,
    /// The line every output of a rehearsal exam starts with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_notice: Option<String>,
    /// 5.2.1.
    pub title: String,
    /// 5.2.2.
    pub basic: Section<Field>,
    /// 5.2.3.
    pub technique: Section<String>,
    /// 5.2.4, empty for the physician.
    pub findings: Section<String>,
    /// 5.2.5, empty for the physician.
    pub conclusion: Section<String>,
    /// How the exam ended, what was still open, and the log's verification.
    pub record_status: Vec<String>,
    /// The facts the technique section words (numbers unrounded by wording).
    pub technique_facts: TechniqueFacts,
}

/// A wall-clock label at `offset` (the kiosk's local time).
pub fn wall_label(wall: DateTime<Utc>, offset: FixedOffset) -> String {
    wall.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// What is still open, in words.
pub fn outstanding_text(loc: &Localizer, lang: Language, o: &Outstanding) -> String {
    let mut a = FluentArgs::new();
    match o {
        Outstanding::NotSignedOff => loc.tr(lang, "outstanding-not_signed_off"),
        Outstanding::StepNotDone { step } => {
            a.set("step", loc.tr(lang, &key_for("step", step)));
            loc.tr_args(lang, "outstanding-step_not_done", &a)
        }
        Outstanding::AlarmOpen { code } => {
            a.set("alarm", loc.tr(lang, &key_for("alarm", code)));
            loc.tr_args(lang, "outstanding-alarm_open", &a)
        }
        Outstanding::StressNotOver => loc.tr(lang, "outstanding-stress_not_over"),
    }
}

fn sex_key(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "sex-female",
        Sex::Male => "sex-male",
        Sex::Other => "sex-other",
    }
}

/// The report's sections for `record` in `lang`. `produced` is the report's date
/// (5.2.2 names it); wall-clock labels are shown at `offset`.
pub fn sections(
    loc: &Localizer,
    lang: Language,
    site: &ReportSite,
    record: &ExamRecord,
    produced: NaiveDate,
    offset: FixedOffset,
) -> ReportSections {
    let tr = |k: &str| loc.tr(lang, k);
    let tr_args = |k: &str, a: &FluentArgs| loc.tr_args(lang, k, a);
    let exam = &record.replayed;
    let reg = record.registration.as_ref();

    let title = {
        let mut a = FluentArgs::new();
        a.set("institution", site.institution.clone());
        if site.institution.trim().is_empty() {
            tr("report-title-plain")
        } else {
            tr_args("report-title", &a)
        }
    };

    let exam_date = exam.exam_date().map(|d| d.to_string()).unwrap_or_else(|| {
        record
            .opened
            .with_timezone(&offset)
            .date_naive()
            .to_string()
    });
    let sex = reg
        .map(|r| r.sex)
        .or_else(|| exam.patient().map(|p| p.sex))
        .map(|s| tr(sex_key(s)))
        .unwrap_or_default();
    let age = exam
        .patient()
        .map(|p| {
            let mut a = FluentArgs::new();
            a.set("years", p.age_years.to_string());
            tr_args("report-age-years", &a)
        })
        .unwrap_or_default();
    let name = match reg {
        Some(r) => r.name.clone(),
        None if record.training => tr("report-training-patient"),
        None => String::new(),
    };
    let indications: Vec<String> = exam
        .indications()
        .iter()
        .map(|i| tr(&key_for("indication", i)))
        .collect();
    let exam_type = exam
        .exam_type()
        .map(|t| tr(&key_for("console-type", &t)))
        .unwrap_or_default();
    let field = |key: &'static str, label: &str, value: String| Field {
        key,
        label: tr(label),
        value,
    };
    let basic = vec![
        field("name", "report-field-name", name),
        field("sex", "report-field-sex", sex),
        field("age", "report-field-age", age),
        field(
            "patient_id",
            "report-field-patient_id",
            reg.map(|r| r.patient_id.clone()).unwrap_or_default(),
        ),
        field("exam_date", "report-field-exam_date", exam_date),
        field(
            "report_date",
            "report-field-report_date",
            produced.to_string(),
        ),
        field(
            "accession",
            "report-field-accession",
            reg.and_then(|r| r.order.as_ref())
                .map(|o| o.accession.clone())
                .unwrap_or_default(),
        ),
        field(
            "department",
            "report-field-department",
            reg.map(|r| r.department.clone()).unwrap_or_default(),
        ),
        field(
            "diagnosis",
            "report-field-diagnosis",
            indications.join(&tr("report-list-separator")),
        ),
        field(
            "purpose",
            "report-field-purpose",
            reg.map(|r| r.question.clone()).unwrap_or_default(),
        ),
        field("exam_type", "report-field-exam_type", exam_type),
    ];

    let facts = exam.technique(record.end);
    let mut technique_lines = super::technique_lines(loc, lang, &facts);
    let technique_heading = technique_lines.remove(0);

    let mut status = Vec::new();
    match exam.finished() {
        Some(f) => {
            let mut a = FluentArgs::new();
            a.set(
                "time",
                record
                    .finished_wall
                    .map(|w| wall_label(w, offset))
                    .unwrap_or_default(),
            );
            a.set(
                "by",
                if record.training && f.by == super::record::TRAINING_ACTOR {
                    tr("report-training-actor")
                } else {
                    f.by.clone()
                },
            );
            status.push(tr_args("report-status-finished", &a));
            if f.outstanding.is_empty() {
                status.push(tr("report-status-nothing-open"));
            } else {
                let list: Vec<String> = f
                    .outstanding
                    .iter()
                    .map(|o| outstanding_text(loc, lang, o))
                    .collect();
                let mut a = FluentArgs::new();
                a.set("list", list.join(&tr("report-list-separator")));
                status.push(tr_args("report-status-open", &a));
            }
        }
        None => status.push(tr("report-status-not-finished")),
    }
    status.push(verification_text(loc, lang, record));

    ReportSections {
        language: lang.tag(),
        exam: record.exam.to_string(),
        training: record.training,
        training_notice: record.training.then(|| tr("report-training-notice")),
        title,
        basic: Section {
            clause: "5.2.2",
            heading: tr("report-basic-heading"),
            items: basic,
        },
        technique: Section {
            clause: "5.2.3",
            heading: technique_heading,
            items: technique_lines,
        },
        findings: Section {
            clause: "5.2.4",
            heading: tr("report-findings-heading"),
            items: Vec::new(),
        },
        conclusion: Section {
            clause: "5.2.5",
            heading: tr("report-conclusion-heading"),
            items: Vec::new(),
        },
        record_status: status,
        technique_facts: facts,
    }
}

/// The log's verification and head hash, in words.
pub fn verification_text(loc: &Localizer, lang: Language, record: &ExamRecord) -> String {
    let mut a = FluentArgs::new();
    a.set("hash", record.head_hash.clone());
    a.set("rows", record.verification.rows_checked.to_string());
    match &record.verification.first_bad {
        None => loc.tr_args(lang, "report-log-verified", &a),
        Some(bad) => {
            a.set(
                "detail",
                format!("{} #{}: {}", bad.device, bad.seq, bad.problem),
            );
            loc.tr_args(lang, "report-log-failed", &a)
        }
    }
}

/// The sections as plain text: the training notice, the title, each section under
/// its heading (an empty one says it is for the physician), then the record's
/// status. Lines end with `\n`.
pub fn text(loc: &Localizer, lang: Language, s: &ReportSections) -> String {
    let mut out = String::new();
    let mut line = |l: &str| {
        out.push_str(l);
        out.push('\n');
    };
    if let Some(n) = &s.training_notice {
        line(n);
    }
    line(&s.title);
    line("");
    line(&s.basic.heading);
    for f in &s.basic.items {
        let value = if f.value.is_empty() {
            loc.tr(lang, "report-not-recorded")
        } else {
            f.value.clone()
        };
        let mut a = FluentArgs::new();
        a.set("label", f.label.clone());
        a.set("value", value);
        line(&loc.tr_args(lang, "report-field-line", &a));
    }
    line("");
    line(&s.technique.heading);
    for l in &s.technique.items {
        line(l);
    }
    for section in [&s.findings, &s.conclusion] {
        line("");
        line(&section.heading);
        if section.items.is_empty() {
            line(&loc.tr(lang, "report-for-physician"));
        }
        for l in &section.items {
            line(l);
        }
    }
    line("");
    line(&loc.tr(lang, "report-record-heading"));
    for l in &s.record_status {
        line(l);
    }
    out
}

/// The sections as pretty JSON (`--format json`), ending with a newline.
pub fn json(s: &ReportSections) -> String {
    let mut out = serde_json::to_string_pretty(s).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}
