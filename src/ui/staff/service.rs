//! The maintenance screen (issue 16): the only way from the kiosk's screens to its
//! health, reached from the admin screen through the administrator's PIN asked
//! again (each time), and shell-free — what IT needs to see and one action (back up
//! now), nothing that leaves the kiosk.
//!
//! Every fact is read off the UI thread ([`UiJobs`](crate::ui::jobs::UiJobs)): the
//! database, disk, backups and clock through [`crate::service::status::gather`],
//! the log's verification on the recorder's store, the monitor link and DICOM node
//! from what the running kiosk holds ([`LiveFacts`], given by the shell).

use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{StaffPanel, tra};
use crate::config::MonitorSource;
use crate::i18n::LanguageState;
use crate::service::clock::ClockSync;
use crate::service::disk::{DiskLevel, format_bytes};
use crate::service::status::ServiceStatus;
use crate::store::accounts::Role;
use crate::store::backup::{BackupReason, BackupRecord};
use crate::ui::components::{AdminAdapter, AdminTab, ServiceRow};
use crate::ui::input::model::{NumberEntry, NumberSpec};

/// The monitor link as the running kiosk sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorFacts {
    /// Where readings come from.
    pub source: MonitorSource,
    /// A link is up.
    pub connected: bool,
    /// The link was lost.
    pub lost: bool,
    /// Readings the exam engine handled since start.
    pub handled: u64,
    /// Readings dropped because the engine's queue was full.
    pub dropped: u64,
}

/// The DICOM image receiver, when one listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DicomFacts {
    /// `AE@address:port`.
    pub listening: String,
    /// Instances stored and acknowledged.
    pub stored: u64,
    /// Instances refused, associations rejected or aborted.
    pub refused: u64,
}

/// What only the running kiosk knows (the shell provides it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFacts {
    /// The monitor link.
    pub monitor: MonitorFacts,
    /// The DICOM node (`None`: not listening).
    pub dicom: Option<DicomFacts>,
}

/// Reads [`LiveFacts`] on the UI thread (cheap: counters and a lock).
pub type LiveProbe = Rc<dyn Fn() -> LiveFacts>;

/// The log's verification, as last run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LogCheck {
    /// Not run yet (or running).
    #[default]
    Pending,
    /// Every row checked and the chain holds.
    Ok {
        /// Rows checked.
        rows: u64,
    },
    /// What failed.
    Failed(String),
}

/// Everything the maintenance screen shows.
#[derive(Debug, Clone, Default)]
pub struct ServiceFacts {
    /// Database, disk, backups, clock.
    pub status: Option<ServiceStatus>,
    /// The log's verification.
    pub log: LogCheck,
    /// The monitor and DICOM node.
    pub live: Option<LiveFacts>,
}

/// The maintenance screen's state on the panel.
#[derive(Default)]
pub(crate) struct ServiceState {
    /// The PIN was given again for this visit.
    pub(crate) unlocked: bool,
    /// The shell's probe.
    pub(crate) live: Option<LiveProbe>,
    /// What was last read.
    pub(crate) facts: ServiceFacts,
    /// A read or a backup is running.
    pub(crate) busy: bool,
}

fn reason_key(r: BackupReason) -> &'static str {
    match r {
        BackupReason::Scheduled => "maint-reason-scheduled",
        BackupReason::ExamEnd => "maint-reason-exam-end",
        BackupReason::Manual => "maint-reason-manual",
        BackupReason::PreUpgrade => "maint-reason-pre-upgrade",
    }
}

fn backup_value(lang: &LanguageState, b: &BackupRecord) -> (String, bool) {
    let (check, bad) = match &b.check {
        Some(c) if c.ok => (
            tra(
                lang,
                "maint-backup-ok",
                &[("rows", c.rows_checked.to_string())],
            ),
            false,
        ),
        Some(c) => (
            tra(
                lang,
                "maint-backup-failed",
                &[("detail", c.summary.clone())],
            ),
            true,
        ),
        None => (lang.tr("maint-backup-unchecked"), false),
    };
    let local = b.taken_at.with_timezone(&chrono::Local);
    (
        tra(
            lang,
            "maint-backup-value",
            &[
                ("time", local.format("%Y-%m-%d %H:%M").to_string()),
                ("reason", lang.tr(reason_key(b.reason))),
                ("size", format_bytes(b.bytes)),
                ("check", check),
            ],
        ),
        bad,
    )
}

/// The screen's lines, in the order shown (pure: facts and words in, rows out).
pub fn rows(lang: &LanguageState, facts: &ServiceFacts) -> Vec<ServiceRow> {
    let row = |key: &str, value: String, bad: bool| ServiceRow {
        label: lang.tr(key).into(),
        value: value.into(),
        bad,
    };
    let loading = || lang.tr("maint-loading");
    let mut out = Vec::new();
    out.push(row(
        "maint-version",
        format!("cmr-kiosk {}", crate::service::status::VERSION),
        false,
    ));
    match &facts.status {
        None => {
            for key in ["maint-database", "maint-disk", "maint-backup"] {
                out.push(row(key, loading(), false));
            }
        }
        Some(s) => {
            let (db, bad) = match (&s.database.facts, &s.database.error) {
                (Some(f), _) => {
                    let state_key = match f.schema.state {
                        "newer" => "maint-schema-newer",
                        "older" => "maint-schema-older",
                        _ => "maint-schema-current",
                    };
                    (
                        tra(
                            lang,
                            "maint-database-value",
                            &[
                                ("file", f.file.display().to_string()),
                                ("size", format_bytes(f.bytes)),
                                (
                                    "schema",
                                    f.schema.applied.map(|v| v.to_string()).unwrap_or_default(),
                                ),
                                ("state", lang.tr(state_key)),
                            ],
                        ),
                        f.schema.state == "newer",
                    )
                }
                (None, Some(e)) => (tra(lang, "maint-error", &[("detail", e.clone())]), true),
                (None, None) => (
                    tra(
                        lang,
                        "maint-database-other",
                        &[("url", s.database.url.clone())],
                    ),
                    false,
                ),
            };
            out.push(row("maint-database", db, bad));
            let (disk, bad) = match (&s.disk.space, s.disk.level) {
                (Some(sp), Some(level)) => (
                    tra(
                        lang,
                        "maint-disk-value",
                        &[
                            ("free", format_bytes(sp.free)),
                            ("total", format_bytes(sp.total)),
                        ],
                    ),
                    level != DiskLevel::Ok,
                ),
                _ => (
                    tra(
                        lang,
                        "maint-error",
                        &[("detail", s.disk.error.clone().unwrap_or_default())],
                    ),
                    true,
                ),
            };
            out.push(row("maint-disk", disk, bad));
            let (backup, bad) = match (&s.backups.last, &s.backups.error) {
                (Some(b), _) => backup_value(lang, b),
                (None, Some(e)) => (tra(lang, "maint-error", &[("detail", e.clone())]), true),
                (None, None) => (lang.tr("maint-backup-none"), true),
            };
            out.push(row("maint-backup", backup, bad));
        }
    }
    let (log, bad) = match &facts.log {
        LogCheck::Pending => (lang.tr("maint-log-running"), false),
        LogCheck::Ok { rows } => (
            tra(lang, "maint-log-ok", &[("rows", rows.to_string())]),
            false,
        ),
        LogCheck::Failed(d) => (tra(lang, "maint-log-bad", &[("detail", d.clone())]), true),
    };
    out.push(row("maint-log", log, bad));
    if let Some(live) = &facts.live {
        let m = &live.monitor;
        let state = if m.source == MonitorSource::Simulated {
            "maint-monitor-simulated"
        } else if m.lost {
            "maint-monitor-lost"
        } else if m.connected {
            "maint-monitor-connected"
        } else {
            "maint-monitor-off"
        };
        out.push(row(
            "maint-monitor",
            tra(
                lang,
                "maint-monitor-value",
                &[
                    ("state", lang.tr(state)),
                    ("handled", m.handled.to_string()),
                    ("dropped", m.dropped.to_string()),
                ],
            ),
            m.source != MonitorSource::Simulated && (m.lost || !m.connected) || m.dropped > 0,
        ));
        let dicom = match &live.dicom {
            None => lang.tr("maint-dicom-off"),
            Some(d) => tra(
                lang,
                "maint-dicom-value",
                &[
                    ("listening", d.listening.clone()),
                    ("stored", d.stored.to_string()),
                    ("refused", d.refused.to_string()),
                ],
            ),
        };
        out.push(row("maint-dicom", dicom, false));
    }
    let (clock, bad) = match facts.status.as_ref().map(|s| &s.clock) {
        None => (loading(), false),
        Some(ClockSync::Synchronized) => (lang.tr("maint-clock-synced"), false),
        Some(ClockSync::NotSynchronized) => (lang.tr("maint-clock-not-synced"), true),
        Some(ClockSync::NtpOff) => (lang.tr("maint-clock-ntp-off"), true),
        Some(ClockSync::Unknown { reason }) => (
            tra(lang, "maint-clock-unknown", &[("reason", reason.clone())]),
            true,
        ),
    };
    out.push(row("maint-clock", clock, bad));
    out
}

impl StaffPanel {
    /// Gives the panel what only the running kiosk knows (the monitor link and the
    /// DICOM node), read when the maintenance screen is drawn.
    pub fn set_live_facts(&self, probe: LiveProbe) {
        self.inner.service.borrow_mut().live = Some(probe);
    }

    /// The maintenance button: the signed-in administrator's PIN is asked again and
    /// checked off the UI thread (audited like a sign-in, with its lockout); only then
    /// does the screen open.
    pub(crate) fn open_maintenance(&self) {
        let Some((username, role)) = self
            .inner
            .desk
            .borrow()
            .user()
            .map(|(u, r)| (u.to_string(), r))
        else {
            return;
        };
        if role != Role::Admin {
            return;
        }
        let p = self.clone();
        self.inner
            .input
            .open_number(NumberEntry::new(NumberSpec::pin()), move |entry| {
                let job = p.inner.desk.borrow().check_pin_job(
                    &username,
                    entry.text(),
                    p.now(),
                    p.audit_at(),
                );
                let lang = p.inner.lang.clone();
                match job {
                    Err(e) => p.admin_notice(super::desk_error_text(&lang, &e), true),
                    Ok(job) => {
                        let p2 = p.clone();
                        let who = username.clone();
                        p.inner.jobs.spawn(job, move |checked| match checked {
                            Ok(a) if a.role == Role::Admin && a.username == who => {
                                p2.admin_notice(String::new(), false);
                                p2.show_maintenance();
                            }
                            Ok(_) => p2.admin_notice(lang.tr("maint-not-admin"), true),
                            Err(e) => p2.admin_notice(super::desk_error_text(&lang, &e), true),
                        });
                    }
                }
            });
    }

    /// Opens the maintenance screen (after the PIN) and reads its facts.
    pub(crate) fn show_maintenance(&self) {
        self.inner.service.borrow_mut().unlocked = true;
        if let Some(app) = self.inner.app.upgrade() {
            app.global::<AdminAdapter>().set_tab(AdminTab::Maintenance);
        }
        self.refresh_service();
    }

    /// Leaves the maintenance screen: the next visit asks for the PIN again.
    pub(crate) fn leave_maintenance(&self) {
        self.inner.service.borrow_mut().unlocked = false;
        if let Some(app) = self.inner.app.upgrade() {
            let a = app.global::<AdminAdapter>();
            if a.get_tab() == AdminTab::Maintenance {
                a.set_tab(AdminTab::Accounts);
            }
        }
    }

    /// Draws the maintenance screen from what was last read.
    pub(crate) fn draw_service(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let (facts, busy) = {
            let s = self.inner.service.borrow();
            let mut f = s.facts.clone();
            f.live = s.live.as_ref().map(|p| p());
            (f, s.busy)
        };
        let lang = &self.inner.lang;
        let a = app.global::<AdminAdapter>();
        a.set_service(ModelRc::new(VecModel::from(rows(lang, &facts))));
        a.set_service_busy(if busy {
            lang.tr("maint-busy").into()
        } else {
            SharedString::new()
        });
    }

    /// Reads every fact again off the UI thread: status (database read-only, disk,
    /// backups, clock) and the log's verification on the recorder's store.
    pub(crate) fn refresh_service(&self) {
        if !self.inner.service.borrow().unlocked {
            return;
        }
        {
            let mut s = self.inner.service.borrow_mut();
            s.busy = true;
            s.facts.log = LogCheck::Pending;
        }
        self.draw_service();
        let config = self.inner.config.borrow().clone();
        let recorder = self.recorder();
        let work = move || {
            let status = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()
                .map(|rt| rt.block_on(crate::service::status::gather(&config)));
            let log = match recorder {
                None => LogCheck::Failed("the exam record is not open".into()),
                Some(rec) => {
                    let device = rec.device().as_str().to_string();
                    rec.with_store(move |store| async move {
                        let trust = match store.keys() {
                            Some(keys) => {
                                match crate::store::checkpoint::Trust::of_kiosk(keys, &device) {
                                    Ok(t) => t,
                                    Err(e) => return LogCheck::Failed(e.to_string()),
                                }
                            }
                            None => crate::store::checkpoint::Trust::default(),
                        };
                        match store.verify_with(None, &trust).await {
                            Ok(r) if r.is_ok() => LogCheck::Ok {
                                rows: r.rows_checked,
                            },
                            Ok(r) => LogCheck::Failed(r.to_string()),
                            Err(e) => LogCheck::Failed(e.to_string()),
                        }
                    })
                    .unwrap_or_else(|| LogCheck::Failed("the exam record is not open".into()))
                }
            };
            (status, log)
        };
        let p = self.clone();
        self.inner.jobs.spawn(work, move |(status, log)| {
            {
                let mut s = p.inner.service.borrow_mut();
                s.busy = false;
                s.facts.status = status;
                s.facts.log = log;
            }
            p.draw_service();
        });
    }

    /// "Back up now": an online, verified backup through the recorder's store (off
    /// the UI thread; appends go on), then the facts are read again.
    pub(crate) fn service_backup(&self) {
        if !self.inner.service.borrow().unlocked || self.inner.service.borrow().busy {
            return;
        }
        let Some(rec) = self.recorder() else {
            self.admin_notice(self.inner.lang.tr("maint-no-record"), true);
            return;
        };
        self.inner.service.borrow_mut().busy = true;
        self.draw_service();
        let db = self.inner.config.borrow().database.clone();
        let work = move || {
            let device = rec.device().clone();
            rec.with_store(move |store| async move {
                store
                    .backup(
                        &db.backup_dir(),
                        BackupReason::Manual,
                        chrono::Utc::now(),
                        &device,
                        db.backups_kept.max(1) as usize,
                    )
                    .await
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|| Err("the exam record is not open".into()))
        };
        let p = self.clone();
        self.inner.jobs.spawn(work, move |done| {
            let lang = p.inner.lang.clone();
            match done {
                Ok(r) if r.check.as_ref().is_some_and(|c| c.ok) => p.admin_notice(
                    tra(
                        &lang,
                        "maint-backup-done",
                        &[("file", r.file.display().to_string())],
                    ),
                    false,
                ),
                Ok(r) => p.admin_notice(
                    tra(
                        &lang,
                        "maint-backup-failed",
                        &[("detail", r.check.map(|c| c.summary).unwrap_or_default())],
                    ),
                    true,
                ),
                Err(e) => p.admin_notice(tra(&lang, "maint-error", &[("detail", e)]), true),
            }
            p.inner.service.borrow_mut().busy = false;
            p.refresh_service();
        });
    }
}
