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
}
