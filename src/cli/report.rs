//! `cmr-kiosk report …`: an exam's report produced from the log (text, JSON, the PDF
//! sheet, the DICOM SR, the HL7 message) and the list of exams; and `simulate
//! --record`, which writes a scenario into the log as a training exam.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, FixedOffset, Local, NaiveDate, Offset as _, Utc};
use clap::{Args, ValueEnum};

use super::simulate::{ScenarioRow, ScenarioRun};
use crate::config::{Config, Language};
use crate::domain::exam::ExamEvent;
use crate::engine::LoggedDecision;
use crate::i18n::Localizer;
use crate::report::record::{ExamListing, ExamRecord, TRAINING_ACTOR, TRAINING_KEY};
use crate::report::sections::{self, ReportSite};
use crate::store::checkpoint::Trust;
use crate::store::{
    AuditAction, AuditEvent, AuditOutcome, DeviceId, EntryKind, ExamId, NewEntry, Store,
};

/// Rows written in one transaction by `simulate --record`.
pub const RECORD_CHUNK: usize = 512;

/// What `report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The report's sections as plain text.
    Text,
    /// The report's sections as structured JSON.
    Json,
    /// The PDF exam sheet (A4).
    Pdf,
    /// The imaging-agent administration SR (DICOM Supplement 164, TID 11020).
    Sr,
    /// The technique section as the HL7 v2 ORU^R01 the RIS gets.
    Hl7,
}

/// `cmr-kiosk report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The exam (its ID, as `report --list` prints it).
    #[arg(required_unless_present = "list")]
    pub exam: Option<String>,
    /// What to write.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// The report's language (default: the configured one).
    #[arg(long)]
    pub lang: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// List the exams instead (opened on `--date`, default today, local time).
    #[arg(long, conflicts_with = "exam")]
    pub list: bool,
    /// The day `--list` lists, YYYY-MM-DD.
    #[arg(long, requires = "list")]
    pub date: Option<String>,
    /// With `--list`: JSON instead of a table.
    #[arg(long, requires = "list")]
    pub json: bool,
    /// With `--format sr`: the Study Instance UID the SR joins, for an exam without
    /// a worklist order.
    #[arg(long)]
    pub study_uid: Option<String>,
    /// With `--format sr`: also store it to the configured PACS (`[dicom.pacs]`);
    /// with `--format hl7`: queue it for the RIS (`[ris]`; sent once, never twice).
    #[arg(long)]
    pub send: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// The kiosk's local UTC offset now (labels only).
fn local_offset() -> FixedOffset {
    Local::now().offset().fix()
}

/// Runs `report …`.
pub fn report(config: &Config, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let lang = match &args.lang {
        None => config.ui.language,
        Some(tag) => Language::from_tag(tag)
            .with_context(|| format!("--lang {tag}: expected zh-CN or en-US"))?,
    };
    runtime()?.block_on(async {
        let (store, device) = super::store::open_local(config).await?;
        let out = async {
            if args.list {
                list(&store, args.date.as_deref(), args.json).await
            } else {
                let exam = args.exam.as_deref().unwrap_or_default();
                let exam: ExamId = exam
                    .parse()
                    .map_err(|e| anyhow::anyhow!("exam {exam:?}: {e}"))?;
                produce(config, &store, &device, exam, &args, lang).await
            }
        }
        .await;
        store.close().await;
        out
    })
}

async fn list(store: &Store, date: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let offset = local_offset();
    let day = match date {
        None => Utc::now().with_timezone(&offset).date_naive(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--date {d}: expected YYYY-MM-DD"))?,
    };
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(offset).single())
        .context("the day's start")?
        .with_timezone(&Utc);
    let end = start + chrono::Duration::days(1);
    let rows: Vec<ExamListing> = store
        .opened_between(start, end)
        .await?
        .into_iter()
        .map(|(exam, wall, payload)| ExamListing::of(exam, wall, &payload))
        .collect();
    let mut stdout = std::io::stdout().lock();
    if json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else {
        for r in &rows {
            writeln!(
                stdout,
                "{}  {}  {:<12}  {:<16}  {}{}",
                r.exam,
                sections::wall_label(r.opened, offset),
                r.patient_id.as_deref().unwrap_or("-"),
                r.accession.as_deref().unwrap_or("-"),
                r.name.as_deref().unwrap_or("-"),
                if r.training { "  [training]" } else { "" }
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn produce(
    config: &Config,
    store: &Store,
    device: &DeviceId,
    exam: ExamId,
    args: &ReportArgs,
    lang: Language,
) -> anyhow::Result<ExitCode> {
    let keys = store.keys().context("the kiosk's keys")?;
    let trust =
        Trust::of_kiosk(keys, device.as_str()).context("the witness file beside the key")?;
    let record = ExamRecord::load(store, exam, &trust).await?;
    let offset = local_offset();
    let loc = Localizer::embedded().context("the embedded translations")?;
    let site = ReportSite {
        institution: config.institution.name.clone(),
    };
    let today = Utc::now().with_timezone(&offset).date_naive();
    let s = sections::sections(&loc, lang, &site, &record, today, offset);
    let bytes = match args.format {
        ReportFormat::Text => sections::text(&loc, lang, &s).into_bytes(),
        ReportFormat::Json => sections::json(&s).into_bytes(),
        ReportFormat::Pdf => {
            let sheet = crate::report::sheet::sheet(&loc, lang, &record, &s, offset);
            crate::report::pdf::render(&sheet)?
        }
        ReportFormat::Sr => {
            let input = crate::report::deliver::agent_administration(
                &record,
                &site,
                args.study_uid.as_deref(),
                offset,
            )
            .context("the exam has no Study Instance UID (no worklist order): give --study-uid")?;
            if args.send {
                let peer = config
                    .dicom
                    .pacs
                    .peer()
                    .map_err(anyhow::Error::msg)?
                    .context("no PACS: set dicom.pacs.address in the configuration")?;
                let uid =
                    crate::report::deliver::send_sr(&config.dicom.node.ae_title, &peer, &input)
                        .await
                        .map_err(anyhow::Error::msg)
                        .context("the PACS did not keep the SR")?;
                eprintln!("stored to {}: {uid}", config.dicom.pacs.address);
            }
            let object = crate::report::sr::build(&input)?;
            let mut bytes = Vec::new();
            object
                .write_all(&mut bytes)
                .map_err(|e| anyhow::anyhow!("encoding the SR: {e}"))?;
            bytes
        }
        ReportFormat::Hl7 => {
            let report = crate::report::deliver::ris_report(
                &loc,
                lang,
                &site,
                &record,
                &config.ris,
                offset,
            )
            .context("the exam has no accession number (no worklist order): the RIS files reports by order")?;
            if args.send {
                let now = Utc::now().with_timezone(&offset).naive_local();
                let queued = crate::report::ris::enqueue(store, &report, now).await?;
                eprintln!(
                    "{}",
                    if queued.new {
                        "queued for the RIS"
                    } else {
                        "already queued for the RIS: not queued again"
                    }
                );
            }
            let control = crate::report::ris::control_id(exam, crate::report::ris::REPORT_KIND);
            let now = record.opened.with_timezone(&offset).naive_local();
            let message = crate::report::hl7::build_oru(&report, &control, now);
            // A file keeps HL7's CR segment ends; a terminal gets one segment a line.
            if args.out.is_some() {
                message.into_bytes()
            } else {
                message.replace('\r', "\n").into_bytes()
            }
        }
    };
    write_out(args.out.as_deref(), &bytes)?;
    // Producing a report is an export of the record: on the record, and so to the
    // hospital's audit collector.
    let event = AuditEvent::new(
        AuditAction::Export,
        None,
        Some(format!(
            "report {:?} of exam {exam}{}",
            args.format,
            if record.training { " (training)" } else { "" }
        )),
        AuditOutcome::Success,
    );
    if let Err(e) = store
        .audit(
            device,
            crate::store::accounts::AuditAt {
                exam: None,
                at: crate::domain::time::Instant::ZERO,
                wall: Utc::now(),
            },
            &event,
        )
        .await
    {
        eprintln!("the export could not be logged: {e}");
    }
    Ok(if record.verification.is_ok() {
        ExitCode::SUCCESS
    } else {
        eprintln!("cmr-kiosk report: {}", record.verification);
        ExitCode::FAILURE
    })
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            Ok(())
        }
    }
}

/// The rows `simulate --record` writes for `run`: the opening (marked training,
/// naming the scenario), every event and decision at its exam time, the end and the
/// closing. Wall-clock labels count back from `now`, so the exam ends now.
pub fn training_rows(
    run: &ScenarioRun,
    scenario: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(ExamId, Vec<NewEntry>)> {
    scenario_rows(
        run,
        &serde_json::json!({ TRAINING_KEY: true, "scenario": scenario }),
        TRAINING_ACTOR,
        now,
    )
}

/// The rows of `run` as one exam opened with `opened` (a registration record, or a
/// training mark), every step logged as `actor`, finished and closed at its end.
pub fn scenario_rows(
    run: &ScenarioRun,
    opened: &serde_json::Value,
    actor: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(ExamId, Vec<NewEntry>)> {
    let exam = ExamId::new();
    let start = now - chrono::Duration::milliseconds(i64::try_from(run.end.as_millis())?);
    let wall = |at: crate::domain::time::Instant| {
        start + chrono::Duration::milliseconds(i64::try_from(at.as_millis()).unwrap_or(0))
    };
    let mut rows = vec![NewEntry::new(
        Some(exam),
        EntryKind::ExamOpened,
        actor,
        crate::domain::time::Instant::ZERO,
        start,
        opened,
    )?];
    for (at, row) in &run.rows {
        rows.push(match row {
            ScenarioRow::Event(event) => NewEntry::new(
                Some(exam),
                EntryKind::ExamEvent,
                actor,
                *at,
                wall(*at),
                event,
            )?,
            ScenarioRow::Decision(output) => NewEntry::new(
                Some(exam),
                EntryKind::Decision,
                "kiosk",
                output.at,
                wall(output.at),
                &LoggedDecision {
                    output: output.clone(),
                    handled_ms: at.as_millis(),
                },
            )?,
        });
    }
    rows.push(NewEntry::new(
        Some(exam),
        EntryKind::ExamEvent,
        actor,
        run.end,
        wall(run.end),
        &ExamEvent::ExamFinished { by: actor.into() },
    )?);
    rows.push(NewEntry::new(
        Some(exam),
        EntryKind::ExamClosed,
        actor,
        run.end,
        wall(run.end),
        &serde_json::json!({}),
    )?);
    Ok((exam, rows))
}

/// `simulate FILE --record`: the scenario written into the exam log as a training
/// exam; prints its exam ID.
pub fn record_training(
    config: &Config,
    run: &ScenarioRun,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let scenario = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (exam, rows) = training_rows(run, &scenario, Utc::now())?;
    runtime()?.block_on(async {
        let (store, device) = super::store::open_local(config).await?;
        let written = async {
            for chunk in rows.chunks(RECORD_CHUNK) {
                store.append_many(&device, chunk).await?;
            }
            anyhow::Ok(())
        }
        .await;
        store.close().await;
        if let Err(e) = written {
            bail!("the training exam could not be written: {e}");
        }
        println!("{exam}");
        Ok(ExitCode::SUCCESS)
    })
}
