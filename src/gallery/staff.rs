//! The staff screens' demonstration states: made-up accounts on the sign-in and lock
//! overlay and the admin screens.

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::store::accounts::Role;
use crate::ui::components::{AccountRow, AdminAdapter, AdminTab, Screen, SignInAdapter, StaffRow};
use crate::ui::staff::view::{AddForm, StaffPanel, role_key, roles_for, tra};

/// Made-up staff for screenshots: (display name, username, role, disabled).
pub const DEMO_STAFF: [(&str, &str, Role, bool); 5] = [
    ("Zhang Min", "zhangmin", Role::Nurse, false),
    ("Li Wei", "liwei", Role::Physician, false),
    ("Wang Fang", "wangfang", Role::Technologist, false),
    ("Chen Jie", "chenjie", Role::Admin, false),
    ("Liu Yang", "liuyang", Role::Nurse, true),
];

impl StaffPanel {
    /// Closes the overlay and the admin dialog (screenshots start clean).
    pub fn demo_reset(&self) {
        self.inner.add.borrow_mut().take();
        self.inner.locked_by_idle.set(false);
        if let Some(app) = self.inner.app.upgrade() {
            app.global::<SignInAdapter>().set_open(false);
            app.global::<SignInAdapter>()
                .set_message(SharedString::new());
            let a = app.global::<AdminAdapter>();
            a.set_add_open(false);
            a.set_notice(SharedString::new());
            a.set_tab(AdminTab::Accounts);
        }
    }

    /// The sign-in overlay over `screen` with [`DEMO_STAFF`], as after an idle lock
    /// when `locked` (for screenshots).
    pub fn demo_signin(&self, screen: Screen, locked: bool) {
        self.inner.locked_by_idle.set(locked);
        self.draw_guard(screen);
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let roles = roles_for(screen).unwrap_or(&[]);
        let lang = &self.inner.lang;
        // In the kiosk's order: by username, as the store lists accounts.
        let mut staff: Vec<_> = DEMO_STAFF.iter().collect();
        staff.sort_by_key(|(_, username, _, _)| *username);
        let rows: Vec<AccountRow> = staff
            .into_iter()
            .filter(|(_, _, r, disabled)| roles.contains(r) && !disabled)
            .map(|(name, _, role, _)| AccountRow {
                name: (*name).into(),
                role: lang.tr(role_key(*role)).into(),
            })
            .collect();
        let s = app.global::<SignInAdapter>();
        s.set_accounts(ModelRc::new(VecModel::from(rows)));
        s.set_first_admin(false);
        s.set_message(SharedString::new());
        s.set_message_bad(false);
        s.set_open(true);
    }

    /// The admin screens with [`DEMO_STAFF`] on `tab`, the add dialog open when
    /// `adding` (for screenshots).
    pub fn demo_admin(&self, tab: AdminTab, adding: bool) {
        if adding {
            *self.inner.add.borrow_mut() = Some(AddForm {
                username: "zhaolei".into(),
                display_name: "Zhao Lei".into(),
                pin: "2468".into(),
                role: Some(Role::Technologist),
            });
        }
        self.refresh_admin();
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let lang = &self.inner.lang;
        let rows: Vec<StaffRow> = DEMO_STAFF
            .iter()
            .map(|(name, username, role, disabled)| StaffRow {
                name: (*name).into(),
                detail: tra(
                    lang,
                    if *disabled {
                        "admin-account-disabled"
                    } else {
                        "admin-account"
                    },
                    &[
                        ("username", username.to_string()),
                        ("role", lang.tr(role_key(*role))),
                    ],
                )
                .into(),
                disabled: *disabled,
            })
            .collect();
        let a = app.global::<AdminAdapter>();
        a.set_staff(ModelRc::new(VecModel::from(rows)));
        a.set_tab(tab);
        app.global::<SignInAdapter>().set_open(false);
    }

    /// The maintenance screen with made-up facts of a kiosk in service: a verified
    /// backup after the last exam, the disk getting full, the clock not synchronised
    /// (for screenshots).
    pub fn demo_maintenance(&self) {
        use crate::service::clock::ClockSync;
        use crate::service::disk::{DiskLevel, DiskSpace};
        use crate::service::status::{
            BackupsStatus, DatabaseFactsOut, DatabaseStatus, DiskStatus, SchemaOut, ServiceStatus,
        };
        use crate::store::backup::{BackupCheck, BackupReason, BackupRecord};
        let data = "/var/lib/cmr-kiosk";
        use crate::ui::staff::view::{DicomFacts, LiveFacts, LogCheck, MonitorFacts, ServiceFacts};
        let taken = chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(10, 42, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default();
        let facts = ServiceFacts {
            status: Some(ServiceStatus {
                version: crate::service::status::VERSION.into(),
                database: DatabaseStatus {
                    url: format!("sqlite://{data}/kiosk.db"),
                    facts: Some(DatabaseFactsOut {
                        file: format!("{data}/kiosk.db").into(),
                        bytes: 48_300_000,
                        schema: SchemaOut {
                            applied: Some(20261207000002),
                            known: 20261207000002,
                            state: "current",
                        },
                        written_by: Some(crate::service::status::VERSION.into()),
                    }),
                    error: None,
                },
                disk: DiskStatus {
                    path: data.into(),
                    space: Some(DiskSpace {
                        free: 1_800_000_000,
                        total: 64_000_000_000,
                    }),
                    level: Some(DiskLevel::Low),
                    error: None,
                },
                backups: BackupsStatus {
                    dir: format!("{data}/backups").into(),
                    count: 14,
                    last: Some(BackupRecord {
                        file: format!("{data}/backups/kiosk-20261207T104200Z-exam-end.db").into(),
                        reason: BackupReason::ExamEnd,
                        taken_at: taken,
                        bytes: 47_900_000,
                        schema: 20261207000002,
                        check: Some(BackupCheck {
                            ok: true,
                            rows_checked: 61_204,
                            summary: String::new(),
                        }),
                    }),
                    error: None,
                },
                clock: ClockSync::NotSynchronized,
            }),
            log: LogCheck::Ok { rows: 61_377 },
            live: None,
        };
        {
            let mut s = self.inner.service.borrow_mut();
            s.unlocked = true;
            s.busy = false;
            s.facts = facts;
            s.live = Some(std::rc::Rc::new(|| LiveFacts {
                monitor: MonitorFacts {
                    source: crate::config::MonitorSource::Simulated,
                    connected: true,
                    lost: false,
                    handled: 14_812,
                    dropped: 0,
                },
                dicom: Some(DicomFacts {
                    listening: "CMR_KIOSK@0.0.0.0:11112".into(),
                    stored: 2_416,
                    refused: 0,
                }),
            }));
        }
        self.draw_service();
    }
}
