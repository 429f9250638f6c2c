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
use crate::store::checkpoint::{Source, Trust};
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
        /// Also compare the log row by row with the central database's copy and
        /// check it against the central copy's signed checkpoints.
        #[arg(long)]
        central: bool,
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
    /// Recover from a lost administrator: add an administrator without signing in.
    /// Works only on the kiosk itself (it needs the kiosk's key folder, so run it
    /// as the kiosk's user); logged as an admin recovery. The PIN is read from stdin.
    RecoverAdmin {
        /// Login name of the new administrator.
        #[arg(long)]
        username: String,
        /// Name shown on screen.
        #[arg(long)]
        name: String,
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

pub(crate) async fn open_local(config: &Config) -> anyhow::Result<(Store, DeviceId)> {
    // As the kiosk opens it: a database an older program wrote is backed up first.
    let store = Store::open_kiosk(&config.database)
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
        let (store, device) = open_local(config).await?;
        // Every connection closed before the process exits (see Store::close).
        let out: anyhow::Result<ExitCode> = async {
            match cmd {
                LogCommand::Verify { exam, central } => {
                    let exam = exam
                        .map(|e| e.parse::<ExamId>())
                        .transpose()
                        .map_err(|e| anyhow::anyhow!("--exam: {e}"))?;
                    let keys = store.keys().context("the kiosk's keys")?;
                    let mut trust = Trust::of_kiosk(keys, device.as_str())
                        .context("the witness file beside the key")?;
                    let central_store = if central {
                        if config.database.central_url.is_empty() {
                            bail!(
                                "no central database: set database.central_url in the configuration"
                            );
                        }
                        let c = Store::open_central(
                            &config.database.central_url,
                            config.database.insecure_allow_unverified_tls,
                        )
                        .await
                        .context("could not open the central database")?;
                        for cp in c.checkpoints(device.as_str()).await? {
                            trust.outside.push((Source::Central, cp));
                        }
                        Some(c)
                    } else {
                        None
                    };
                    let report = store.verify_with(exam, &trust).await?;
                    println!("{report}");
                    let mut ok = report.is_ok();
                    let mut findings = vec![report.to_string()];
                    if let Some(c) = central_store {
                        let cmp = sync::compare(&store, &c).await;
                        c.close().await;
                        let cmp = cmp?;
                        println!("{cmp}");
                        ok &= cmp.is_ok();
                        findings.push(cmp.to_string());
                    }
                    if !ok {
                        // On the record, and so to the hospital's audit collector.
                        let event = AuditEvent::new(
                            AuditAction::VerificationFailed,
                            None,
                            Some(findings.join("; ")),
                            AuditOutcome::Failure {
                                reason: "the exam log did not verify".into(),
                            },
                        );
                        if let Err(e) = store.audit(&device, now_at(), &event).await {
                            eprintln!("the failed verification could not be logged: {e}");
                        }
                    }
                    Ok(if ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    })
                }
            }
        }
        .await;
        store.close().await;
        out
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
        // Every connection closed before the process exits (see Store::close).
        let out: anyhow::Result<ExitCode> = async {
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
                    let by = if store.first_admin_allowed().await? {
                        if role != Role::Admin {
                            bail!("the first account must be an admin");
                        }
                        None
                    } else {
                        let admin = admin.context(
                            "this kiosk has an administrator: authorise with --admin NAME (PIN on stdin)",
                        )?;
                        authorise(&store, &device, &admin, &mut lines).await?;
                        Some(admin)
                    };
                    let pin = read_line(&mut lines, "the new account's PIN")?;
                    let new = NewStaff {
                        username: username.clone(),
                        display_name: name,
                        role,
                        pin,
                    };
                    let added = store
                        .add_staff(&device, by.as_deref(), now_at(), &new)
                        .await;
                    if let Err(e) = &added {
                        let event = AuditEvent::new(
                            AuditAction::UserAdded,
                            by.or(Some(username.clone())),
                            Some(username),
                            AuditOutcome::Failure {
                                reason: e.to_string(),
                            },
                        );
                        store.audit(&device, now_at(), &event).await?;
                    }
                    let account = added?;
                    println!("added {} ({})", account.username, account.role.as_str());
                }
                UserCommand::RecoverAdmin { username, name } => {
                    let pin = read_line(&mut lines, "the new administrator's PIN")?;
                    let new = NewStaff {
                        username,
                        display_name: name,
                        role: Role::Admin,
                        pin,
                    };
                    let account = store.recover_admin(&device, now_at(), &new).await?;
                    println!(
                        "recovered: {} is an administrator (logged as an admin recovery)",
                        account.username
                    );
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
                    let done = store
                        .disable_staff(&device, Some(&admin), now_at(), &username)
                        .await;
                    if let Err(e) = &done {
                        let event = AuditEvent::new(
                            AuditAction::UserDisabled,
                            Some(admin),
                            Some(username.clone()),
                            AuditOutcome::Failure {
                                reason: e.to_string(),
                            },
                        );
                        store.audit(&device, now_at(), &event).await?;
                    }
                    done?;
                    println!("disabled {username}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        .await;
        store.close().await;
        out
    })
}

/// Runs `sync --once`: relays every event the central database lacks.
pub fn sync_once(config: &Config) -> anyhow::Result<ExitCode> {
    if config.database.central_url.is_empty() {
        bail!("no central database: set database.central_url in the configuration");
    }
    runtime()?.block_on(async {
        let (local, _) = open_local(config).await?;
        let central = Store::open_central(
            &config.database.central_url,
            config.database.insecure_allow_unverified_tls,
        )
        .await
        .context("could not open the central database")?;
        let report = sync::sync_once(&local, &central, 500).await;
        local.close().await;
        central.close().await;
        let report = report?;
        println!(
            "sent {} rows: {} new, {} already there; {} signed checkpoint(s) relayed; marks {:?}",
            report.sent, report.inserted, report.duplicates, report.checkpoints, report.marks
        );
        Ok(ExitCode::SUCCESS)
    })
}
