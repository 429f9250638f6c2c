//! `cmr-kiosk log verify`, `cmr-kiosk user add|list|disable`, `cmr-kiosk sync --once`:
//! administration of the exam record from a terminal.

use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::domain::time::Instant;
use crate::store::accounts::{
    AuditAction, AuditAt, AuditEvent, AuditOutcome, LockoutPolicy, NewStaff, Permission, PinGuard,
    Role,
};
use crate::store::log::{DeviceId, ExamId};
use crate::store::{Store, sync};

/// `log` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check the hash chain; report the first altered, deleted or reordered row.
    /// Exit status 1 when the log is not intact.
    Verify {
        /// Only this exam (UUID).
        #[arg(long)]
        exam: Option<String>,
    },
}

/// `user` subcommands. PINs are read from standard input, one per line, never from
/// the command line.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a staff account. The first admin needs no login; after that an admin
    /// authorises with `--admin NAME` and their PIN as the first line of stdin.
    /// The new account's PIN is the next line.
    Add {
        /// Login name (a-z 0-9 . _ -).
        #[arg(long)]
        username: String,
        /// Name shown on screen and in reports.
        #[arg(long)]
        name: String,
        /// nurse, technologist, physician or admin.
        #[arg(long)]
        role: String,
        /// The admin authorising this (needed once an admin exists).
        #[arg(long)]
        admin: Option<String>,
    },
    /// List the accounts.
    List,
    /// Disable an account (an admin authorises with `--admin NAME` and their PIN on stdin).
    Disable {
        /// The account to disable.
        username: String,
        /// The admin authorising this.
        #[arg(long)]
        admin: String,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

async fn open_local(config: &Config) -> anyhow::Result<(Store, DeviceId)> {
    let url = config.database.effective_url();
    let store = Store::open(&url)
        .await
        .context("could not open the exam record")?;
    let device = DeviceId::new(config.database.effective_device_id())?;
    Ok((store, device))
}

fn now_at() -> AuditAt {
    AuditAt {
        exam: None,
        at: Instant::ZERO,
        wall: Utc::now(),
    }
}

/// Runs `log …`.
pub fn log(config: &Config, cmd: LogCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (store, _) = open_local(config).await?;
        match cmd {
            LogCommand::Verify { exam } => {
                let exam = exam
                    .map(|e| e.parse::<ExamId>())
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--exam: {e}"))?;
                let report = store.verify(exam).await?;
                println!("{report}");
                Ok(if report.is_ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
        }
    })
}

fn read_line(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    what: &str,
) -> anyhow::Result<String> {
    match lines.next() {
        Some(Ok(l)) => Ok(l.trim().to_string()),
        Some(Err(e)) => Err(e).with_context(|| format!("reading {what} from stdin")),
        None => bail!("expected {what} on standard input"),
    }
}

async fn authorise(
    store: &Store,
    device: &DeviceId,
    admin: &str,
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
) -> anyhow::Result<()> {
    let pin = read_line(lines, "the admin's PIN")?;
    let mut guard = PinGuard::new(LockoutPolicy::default());
    let account = store
        .login(
            device,
            &mut guard,
            admin,
            &pin,
            std::time::Instant::now(),
            now_at(),
        )
        .await
        .context("admin login refused")?;
    if !account.role.allows(Permission::ManageUsers) {
        bail!("{admin} is not an admin");
    }
    Ok(())
}

/// Runs `user …`.
pub fn user(config: &Config, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let (store, device) = open_local(config).await?;
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        match cmd {
            UserCommand::Add {
                username,
                name,
                role,
                admin,
            } => {
                let role = Role::parse(&role).with_context(|| {
                    format!("unknown role `{role}`; nurse, technologist, physician or admin")
                })?;
                let by = if store.has_admin().await? {
                    let admin = admin
                        .context("an admin exists: authorise with --admin NAME (PIN on stdin)")?;
                    authorise(&store, &device, &admin, &mut lines).await?;
                    admin
                } else if role != Role::Admin {
                    bail!("the first account must be an admin");
                } else {
                    "first-admin".to_string()
                };
                let pin = read_line(&mut lines, "the new account's PIN")?;
                let added = store
                    .add_staff(&NewStaff {
                        username: username.clone(),
                        display_name: name,
                        role,
                        pin,
                    })
                    .await;
                let outcome = match &added {
                    Ok(_) => AuditOutcome::Success,
                    Err(e) => AuditOutcome::Failure {
                        reason: e.to_string(),
                    },
                };
                let event = AuditEvent {
                    action: AuditAction::UserAdded,
                    user: Some(by),
                    subject: Some(username),
                    outcome,
                };
                store.audit(&device, now_at(), &event).await?;
                let account = added?;
                println!("added {} ({})", account.username, account.role.as_str());
            }
            UserCommand::List => {
                for a in store.list_staff().await? {
                    println!(
                        "{}\t{}\t{}\t{}",
                        a.username,
                        a.role.as_str(),
                        if a.disabled { "disabled" } else { "active" },
                        a.display_name
                    );
                }
            }
            UserCommand::Disable { username, admin } => {
                authorise(&store, &device, &admin, &mut lines).await?;
                let done = store.disable_staff(&username).await;
                let event = AuditEvent {
                    action: AuditAction::UserDisabled,
                    user: Some(admin),
                    subject: Some(username.clone()),
                    outcome: match &done {
                        Ok(()) => AuditOutcome::Success,
                        Err(e) => AuditOutcome::Failure {
                            reason: e.to_string(),
                        },
                    },
                };
                store.audit(&device, now_at(), &event).await?;
                done?;
                println!("disabled {username}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `sync --once`: relays every event the central database lacks.
pub fn sync_once(config: &Config) -> anyhow::Result<ExitCode> {
    if config.database.central_url.is_empty() {
        bail!("no central database: set database.central_url in the configuration");
    }
    runtime()?.block_on(async {
        let (local, _) = open_local(config).await?;
        let central = Store::open(&config.database.central_url)
            .await
            .context("could not open the central database")?;
        let report = sync::sync_once(&local, &central, 500).await?;
        println!(
            "sent {} rows: {} new, {} already there; marks {:?}",
            report.sent, report.inserted, report.duplicates, report.marks
        );
        Ok(ExitCode::SUCCESS)
    })
}
