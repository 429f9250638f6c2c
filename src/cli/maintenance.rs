//! `cmr-kiosk migrate`, `status` and `backup now|list|restore`: what a hospital's IT
//! (and the package's install scripts) run on the kiosk PC (issue 16).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::domain::time::Instant;
use crate::service::status;
use crate::store::accounts::{AuditAction, AuditAt, AuditEvent, AuditOutcome};
use crate::store::backup::{self, BackupReason};
use crate::store::log::DeviceId;
use crate::store::{Store, StoreError};

/// `backup` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back the database up now (online; the kiosk may be running), verify the copy
    /// and keep the newest `database.backups_kept`. Exit status 1 when the copy does
    /// not verify.
    Now,
    /// The backups, newest first, with each one's verification.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replace the database by a backup. Refused unless the backup verifies, the
    /// kiosk is stopped and no exam is open; the replaced database is kept beside it.
    Restore {
        /// The backup file (from `backup list`).
        file: PathBuf,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// Exit status for a database newer than the program.
const EXIT_NEWER_DATABASE: u8 = 2;

fn refused(e: &anyhow::Error) -> Option<ExitCode> {
    e.chain()
        .any(|c| {
            matches!(
                c.downcast_ref::<StoreError>(),
                Some(StoreError::NewerDatabase { .. })
            )
        })
        .then_some(ExitCode::from(EXIT_NEWER_DATABASE))
}

/// Runs `migrate`: opens the database as the kiosk does (a database an older program
/// wrote is backed up, then migrated; one a newer program wrote is refused with exit
/// status 2) and logs an upgrade.
pub fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    let out = runtime()?.block_on(async {
        let store = Store::open_kiosk(&config.database)
            .await
            .context("could not open the exam record")?;
        let device = DeviceId::new(config.database.effective_device_id())?;
        let done = store.upgrade().cloned();
        let result: anyhow::Result<()> = async {
            match &done {
                Some(up) => {
                    let backup = up
                        .backup
                        .as_ref()
                        .map(|b| b.display().to_string())
                        .unwrap_or_else(|| "none".into());
                    println!(
                        "migrated the database from schema {} to {}; backup taken first: {backup}",
                        up.from, up.to
                    );
                    let event = AuditEvent::new(
                        AuditAction::Upgrade,
                        None,
                        Some(format!(
                            "schema {} to {} by cmr-kiosk {}; backup first: {backup}",
                            up.from,
                            up.to,
                            status::VERSION
                        )),
                        AuditOutcome::Success,
                    );
                    let at = AuditAt {
                        exam: None,
                        at: Instant::ZERO,
                        wall: Utc::now(),
                    };
                    store.audit(&device, at, &event).await?;
                }
                None => println!("the database is current (cmr-kiosk {})", status::VERSION),
            }
            Ok(())
        }
        .await;
        store.close().await;
        result
    });
    match out {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => match refused(&e) {
            Some(code) => {
                eprintln!("cmr-kiosk migrate: {e:#}");
                Ok(code)
            }
            None => Err(e),
        },
    }
}

/// Runs `status`.
pub fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let s = runtime()?.block_on(status::gather(config));
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("cmr-kiosk {}", s.version);
    println!("database   {}", s.database.url);
    match (&s.database.facts, &s.database.error) {
        (Some(f), _) => println!(
            "           {} bytes, schema {} of {} ({}){}",
            f.bytes,
            f.schema
                .applied
                .map(|v| v.to_string())
                .unwrap_or_else(|| "none".into()),
            f.schema.known,
            f.schema.state,
            f.written_by
                .as_ref()
                .map(|v| format!(", last opened by {v}"))
                .unwrap_or_default()
        ),
        (None, Some(e)) => println!("           unreadable: {e}"),
        (None, None) => println!("           not created yet"),
    }
    match (&s.disk.space, &s.disk.level) {
        (Some(sp), Some(level)) => println!(
            "disk       {}: {} MiB free of {} MiB ({level:?})",
            s.disk.path.display(),
            sp.free / (1024 * 1024),
            sp.total / (1024 * 1024)
        ),
        _ => println!(
            "disk       {}: {}",
            s.disk.path.display(),
            s.disk.error.as_deref().unwrap_or("not measured")
        ),
    }
    match &s.backups.last {
        Some(b) => println!(
            "backups    {} in {}; newest {} ({}, {})",
            s.backups.count,
            s.backups.dir.display(),
            b.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
            b.reason.slug(),
            verified_word(b)
        ),
        None => println!("backups    none in {}", s.backups.dir.display()),
    }
    println!("clock      {:?}", s.clock);
    Ok(ExitCode::SUCCESS)
}

fn verified_word(b: &backup::BackupRecord) -> &'static str {
    match &b.check {
        Some(c) if c.ok => "verified",
        Some(_) => "DID NOT VERIFY",
        None => "not verified",
    }
}

/// Runs `backup …`.
pub fn backup(config: &Config, cmd: BackupCommand) -> anyhow::Result<ExitCode> {
    let dir = config.database.backup_dir();
    match cmd {
        BackupCommand::List { json } => {
            let all = backup::list(&dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                println!("no backups in {}", dir.display());
            } else {
                println!(
                    "{:<24} {:<12} {:>12}  {:<14} file",
                    "taken (UTC)", "reason", "bytes", "verification"
                );
                for b in &all {
                    println!(
                        "{:<24} {:<12} {:>12}  {:<14} {}",
                        b.taken_at.format("%Y-%m-%d %H:%M:%S"),
                        b.reason.slug(),
                        b.bytes,
                        verified_word(b),
                        b.file.display()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Now => runtime()?.block_on(async {
            let store = Store::open_kiosk(&config.database)
                .await
                .context("could not open the exam record")?;
            let device = DeviceId::new(config.database.effective_device_id())?;
            let r = store
                .backup(
                    &dir,
                    BackupReason::Manual,
                    Utc::now(),
                    &device,
                    config.database.backups_kept as usize,
                )
                .await;
            store.close().await;
            let r = r?;
            println!(
                "{} ({} bytes): {}",
                r.file.display(),
                r.bytes,
                verified_word(&r)
            );
            if let Some(c) = &r.check {
                println!("{}", c.summary);
            }
            Ok(if r.check.as_ref().is_some_and(|c| c.ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }),
        BackupCommand::Restore { file } => runtime()?.block_on(async {
            let r = backup::restore(&config.database, &file, Utc::now()).await?;
            println!(
                "restored {} from {}; the replaced database is kept as {}",
                r.database.display(),
                file.display(),
                r.replaced.display()
            );
            println!("{}", r.check.summary);
            Ok(if r.check.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }),
    }
}
