//! The sign-in / lock overlay and the admin screens (issue 7), wired to the
//! [`StaffDesk`] and the on-screen keypad and keyboard.
//!
//! Staff screens (nurse, technologist, admin) are guarded: until someone with a role the
//! screen accepts signs in with a PIN, [`SignInView`](../../ui/views/signin_view.slint)
//! lies over the screen. The idle lock brings it back over the same screen: whatever
//! the screen held (a half-filled form) is untouched underneath, running timers and
//! alarms stay visible on the overlay, patient identity does not. Every touch on a
//! button is activity (the `Activity` global in `ui/widgets/touch_button.slint`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant as MonoInstant};

use fluent::FluentArgs;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::config::site::SiteSettings;
use crate::config::{Config, Language, MonitorSource, ThemeName};
use crate::i18n::LanguageState;
use crate::store::accounts::{AuditAction, AuditAt, LoginError, NewStaff, Role, StaffAccount};
use crate::ui::components::{
    AccountRow, Activity, AdminAdapter, AdminTab, AppWindow, ChoiceRow, FieldRow, Screen,
    SignInAdapter, StaffRow, ViewOnly,
};
use crate::ui::input::model::{NumberEntry, NumberSpec};
use crate::ui::input::view::InputPanels;
use crate::ui::jobs::UiJobs;
use crate::ui::staff::model::{AccountsRead, DeskError, StaffDesk};

#[path = "service.rs"]
mod service;
pub use service::{
    DicomFacts, LiveFacts, LiveProbe, LogCheck, MonitorFacts, ServiceFacts, rows as service_rows,
};

/// Shows a theme at once (the shell's setter).
pub type ThemeSetter = Rc<dyn Fn(ThemeName)>;

/// The monotonic clock the desk runs on (replaced by a simulated clock in tests).
pub type MonoClock = Rc<dyn Fn() -> MonoInstant>;

/// The roles a staff screen accepts (`None`: not a staff screen).
pub fn roles_for(screen: Screen) -> Option<&'static [Role]> {
    match screen {
        Screen::Nurse => Some(&[Role::Nurse, Role::Technologist, Role::Physician]),
        Screen::Technologist => Some(&[Role::Technologist, Role::Physician]),
        Screen::Admin => Some(&[Role::Admin]),
        Screen::Home | Screen::Patient => None,
    }
}

/// Fluent key of a role's name.
pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::Nurse => "staff-role-nurse",
        Role::Technologist => "staff-role-technologist",
        Role::Physician => "staff-role-physician",
        Role::Admin => "staff-role-admin",
    }
}

/// `key` in the current language with `args`.
pub fn tra(lang: &LanguageState, key: &str, args: &[(&str, String)]) -> String {
    let mut f = FluentArgs::new();
    for (k, v) in args {
        f.set(*k, v.clone());
    }
    lang.localizer().tr_args(lang.current(), key, &f)
}

/// Staff-facing wording of a desk error.
pub fn desk_error_text(lang: &LanguageState, e: &DeskError) -> String {
    match e {
        DeskError::NoStore => lang.tr("signin-no-store"),
        DeskError::NotAllowed => lang.tr("signin-not-allowed"),
        DeskError::WrongRole(_) => lang.tr("signin-wrong-role"),
        DeskError::Login(LoginError::WrongPin { remaining }) => tra(
            lang,
            "signin-wrong-pin",
            &[("remaining", remaining.to_string())],
        ),
        DeskError::Login(LoginError::LockedOut { retry_in, .. }) => tra(
            lang,
            "signin-locked-out",
            &[("minutes", retry_in.as_secs().div_ceil(60).to_string())],
        ),
        DeskError::Login(LoginError::Disabled(_)) => lang.tr("signin-disabled"),
        DeskError::Login(LoginError::BadUsername(_)) => lang.tr("admin-bad-username"),
        DeskError::Login(LoginError::BadPin) => lang.tr("admin-bad-pin"),
        DeskError::Login(LoginError::BadDisplayName) => lang.tr("admin-bad-name"),
        DeskError::Login(LoginError::Exists(_)) => lang.tr("admin-exists"),
        DeskError::Login(LoginError::ShortPin(_)) => lang.tr("admin-short-pin"),
        DeskError::Login(LoginError::LastAdmin(_)) => lang.tr("admin-last-admin"),
        DeskError::Login(LoginError::AdminExisted) => lang.tr("admin-existed"),
        DeskError::Login(LoginError::Tampered(_)) => lang.tr("signin-tampered"),
        DeskError::Login(other) => tra(lang, "signin-failed", &[("reason", other.to_string())]),
    }
}

#[derive(Default)]
pub(crate) struct AddForm {
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) pin: String,
    pub(crate) role: Option<Role>,
}

pub(crate) struct Inner {
    pub(crate) app: slint::Weak<AppWindow>,
    pub(crate) lang: LanguageState,
    input: InputPanels,
    desk: Rc<RefCell<StaffDesk>>,
    engine: crate::engine::Engine,
    clock: RefCell<MonoClock>,
    origin: MonoInstant,
    base_config: Config,
    config: RefCell<Config>,
    site: RefCell<SiteSettings>,
    site_path: std::path::PathBuf,
    accounts: RefCell<Vec<StaffAccount>>,
    /// Every account and whether an administrator exists, as last read off the UI
    /// thread (`None` before the first read comes back).
    known: RefCell<Option<Result<AccountsRead, String>>>,
    jobs: UiJobs,
    pub(crate) add: RefCell<Option<AddForm>>,
    pub(crate) locked_by_idle: std::cell::Cell<bool>,
    on_change: RefCell<Vec<Rc<dyn Fn()>>>,
    set_theme: RefCell<Option<ThemeSetter>>,
    /// The maintenance screen (issue 16).
    pub(crate) service: RefCell<service::ServiceState>,
}

/// The sign-in overlay and the admin screens of one window.
#[derive(Clone)]
pub struct StaffPanel {
    pub(crate) inner: Rc<Inner>,
}

impl std::fmt::Debug for StaffPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffPanel").finish_non_exhaustive()
    }
}

/// The admin screen's settings, in the order shown: every key the kiosk may change.
const SETTING_KEYS: [&str; 13] = crate::config::site::EDITABLE;

fn cycle<'a>(options: &[&'a str], current: &str) -> &'a str {
    let i = options.iter().position(|o| *o == current).unwrap_or(0);
    options[(i + 1) % options.len()]
}

impl StaffPanel {
    /// Wires the overlay and admin callbacks of `app`. `config` is the configuration
    /// as loaded (before the site settings); site settings live at `site_path`.
    pub fn install(
        app: &AppWindow,
        lang: LanguageState,
        input: InputPanels,
        engine: crate::engine::Engine,
        config: &Config,
        site_path: std::path::PathBuf,
    ) -> StaffPanel {
        let site = match SiteSettings::load(&site_path) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("site settings ignored: {e}");
                SiteSettings::default()
            }
        };
        let merged = site.apply(config).unwrap_or_else(|e| {
            tracing::error!("site settings ignored: {e}");
            config.clone()
        });
        let idle = Duration::from_secs_f64(merged.ui.idle_lock_s);
        let clock: MonoClock = Rc::new(MonoInstant::now);
        let panel = StaffPanel {
            inner: Rc::new(Inner {
                app: app.as_weak(),
                lang,
                input,
                desk: Rc::new(RefCell::new(StaffDesk::new(idle))),
                engine,
                origin: clock(),
                clock: RefCell::new(clock),
                base_config: config.clone(),
                config: RefCell::new(merged),
                site: RefCell::new(site),
                site_path,
                accounts: RefCell::new(Vec::new()),
                known: RefCell::new(None),
                jobs: UiJobs::new(),
                add: RefCell::new(None),
                locked_by_idle: std::cell::Cell::new(false),
                on_change: RefCell::new(Vec::new()),
                set_theme: RefCell::new(None),
                service: RefCell::default(),
            }),
        };

        let p = panel.clone();
        app.global::<Activity>().on_touched(move || {
            let now = p.now();
            p.inner.desk.borrow_mut().activity(now);
        });
        let s = app.global::<SignInAdapter>();
        let p = panel.clone();
        s.on_pick(move |i| p.pick(i as usize));
        let p = panel.clone();
        s.on_create_admin(move || p.create_admin());
        let p = panel.clone();
        s.on_cancel(move || {
            p.inner.input.close();
            if let Some(app) = p.inner.app.upgrade() {
                app.global::<SignInAdapter>().set_open(false);
                app.global::<ViewOnly>().set_signing_in(false);
                // Under the view-only lock, back to the console in view.
                if !app.global::<ViewOnly>().get_active() {
                    app.set_screen(Screen::Home);
                }
            }
        });

        let a = app.global::<AdminAdapter>();
        let p = panel.clone();
        a.on_select_tab(move |t| {
            if t != AdminTab::Maintenance {
                p.leave_maintenance();
            }
            if let Some(app) = p.inner.app.upgrade() {
                app.global::<AdminAdapter>().set_tab(t);
            }
            p.refresh_admin();
        });
        let p = panel.clone();
        a.on_disable(move |i| p.disable(i as usize));
        let p = panel.clone();
        a.on_add(move || {
            *p.inner.add.borrow_mut() = Some(AddForm::default());
            p.refresh_admin();
        });
        let p = panel.clone();
        a.on_add_edit(move |i| p.add_edit(i as usize));
        let p = panel.clone();
        a.on_add_role(move |i| {
            if let Some(f) = p.inner.add.borrow_mut().as_mut() {
                f.role = Role::ALL.get(i as usize).copied();
            }
            p.refresh_admin();
        });
        let p = panel.clone();
        a.on_add_save(move || p.add_save());
        let p = panel.clone();
        a.on_add_cancel(move || {
            p.inner.add.borrow_mut().take();
            p.refresh_admin();
        });
        let p = panel.clone();
        a.on_edit_setting(move |i| p.edit_setting(i as usize));
        let p = panel.clone();
        a.on_sign_out(move || p.sign_out());
        let p = panel.clone();
        a.on_maintenance(move || p.open_maintenance());
        let p = panel.clone();
        a.on_service_refresh(move || p.refresh_service());
        let p = panel.clone();
        a.on_service_backup(move || p.service_backup());
        panel
    }

    /// Connects the store through the running recorder.
    pub fn set_recorder(&self, recorder: std::sync::Arc<crate::engine::recorder::Recorder>) {
        self.inner.desk.borrow_mut().set_recorder(recorder);
    }

    /// The running recorder, once connected (store jobs of other screens).
    pub fn recorder(&self) -> Option<std::sync::Arc<crate::engine::recorder::Recorder>> {
        self.inner.desk.borrow().recorder_handle()
    }

    /// Replaces the monotonic clock (tests drive idle time with a simulated clock).
    pub fn set_clock(&self, clock: MonoClock) {
        *self.inner.clock.borrow_mut() = clock;
    }

    /// Called with the shell's theme setter, so an admin's theme change shows at once.
    pub fn set_theme_setter(&self, f: ThemeSetter) {
        *self.inner.set_theme.borrow_mut() = Some(f);
    }

    /// Runs `f` whenever who is signed in changes (views refresh what they show).
    pub fn on_change(&self, f: Rc<dyn Fn()>) {
        self.inner.on_change.borrow_mut().push(f);
    }

    /// The desk (who is signed in).
    pub fn desk(&self) -> &Rc<RefCell<StaffDesk>> {
        &self.inner.desk
    }

    /// The configuration with the site settings laid over it.
    pub fn config(&self) -> Config {
        self.inner.config.borrow().clone()
    }

    fn now(&self) -> MonoInstant {
        (self.inner.clock.borrow())()
    }

    /// Where an audit event sits now: the running exam, both clocks.
    pub fn audit_at(&self) -> AuditAt {
        let open = self.inner.engine.read();
        let open = open.session();
        let kiosk_ms = self
            .now()
            .saturating_duration_since(self.inner.origin)
            .as_millis();
        AuditAt {
            exam: open.map(|s| s.id()),
            at: open.map(|s| s.now()).unwrap_or_else(|| {
                crate::domain::Instant::from_millis(u64::try_from(kiosk_ms).unwrap_or(u64::MAX))
            }),
            wall: chrono::Utc::now(),
        }
    }

    /// The language shown now.
    pub fn language(&self) -> &LanguageState {
        &self.inner.lang
    }

    /// `key` worded in the language shown now.
    pub fn tr(&self, key: &str) -> String {
        self.inner.lang.tr(key)
    }

    /// The username acting now (`None`: nobody signed in).
    pub fn actor(&self) -> Option<String> {
        self.inner.desk.borrow().user().map(|(u, _)| u.to_string())
    }

    fn changed(&self) {
        // Signed out or locked: the maintenance screen closes and asks again.
        let admin = matches!(self.inner.desk.borrow().user(), Some((_, Role::Admin)));
        if !admin && self.inner.service.borrow().unlocked {
            self.leave_maintenance();
        }
        let fs = self.inner.on_change.borrow().clone();
        for f in fs {
            f();
        }
    }

    /// A physician's countersign: `username`'s PIN is checked off the UI thread
    /// (Argon2, the same lockout as sign-in) and `done` gets the account when it is a
    /// physician's, or the words to show. Used for clearance overrides (nurse mode) and
    /// for lifting a hard limit on one step (the console).
    pub fn check_physician(
        &self,
        username: &str,
        pin: &str,
        done: impl FnOnce(Result<StaffAccount, String>) + 'static,
    ) {
        let at = self.audit_at();
        let job = self
            .inner
            .desk
            .borrow()
            .check_pin_job(username, pin, self.now(), at);
        let lang = self.inner.lang.clone();
        match job {
            Err(e) => done(Err(desk_error_text(&lang, &e))),
            Ok(job) => self.inner.jobs.spawn(job, move |checked| {
                done(match checked {
                    Ok(a) if a.role == crate::store::accounts::Role::Physician => Ok(a),
                    Ok(_) => Err(lang.tr("nurse-override-not-physician")),
                    Err(e) => Err(desk_error_text(&lang, &e)),
                })
            }),
        }
    }

    /// The jobs this panel (and nurse mode) hand off the UI thread: PIN checks,
    /// account reads and changes, today's list.
    pub fn jobs(&self) -> &UiJobs {
        &self.inner.jobs
    }

    /// Reads the accounts off the UI thread; when they come back, the overlay (if
    /// still open) and the admin list are drawn again from them.
    pub fn reload_accounts(&self) {
        let job = match self.inner.desk.borrow().accounts_job() {
            Ok(job) => job,
            Err(e) => {
                *self.inner.known.borrow_mut() = Some(Err(desk_error_text(&self.inner.lang, &e)));
                return;
            }
        };
        let p = self.clone();
        self.inner.jobs.spawn(job, move |read| {
            *p.inner.known.borrow_mut() =
                Some(read.map_err(|e| desk_error_text(&p.inner.lang, &e)));
            let Some(app) = p.inner.app.upgrade() else {
                return;
            };
            let screen = app.get_screen();
            if app.global::<SignInAdapter>().get_open() {
                p.draw_guard(screen);
            }
            if screen == Screen::Admin {
                p.refresh_admin();
            }
        });
    }

    /// Shows the sign-in overlay over `screen` if nobody with a role it accepts is
    /// signed in (and hides it otherwise). The accounts shown are the last read; a
    /// fresh read starts off the UI thread and redraws the overlay when it is back.
    pub fn guard(&self, screen: Screen) {
        let open = self.draw_guard(screen);
        if open {
            self.reload_accounts();
        }
    }

    /// Draws the overlay for `screen` from the accounts last read; whether it is open.
    pub(crate) fn draw_guard(&self, screen: Screen) -> bool {
        let Some(app) = self.inner.app.upgrade() else {
            return false;
        };
        let s = app.global::<SignInAdapter>();
        let Some(roles) = roles_for(screen) else {
            s.set_open(false);
            return false;
        };
        if self.inner.desk.borrow().signed_in_as(roles) {
            s.set_open(false);
            self.inner.locked_by_idle.set(false);
            app.global::<ViewOnly>().set_active(false);
            app.global::<ViewOnly>().set_signing_in(false);
            if screen == Screen::Admin {
                self.refresh_admin();
            }
            return false;
        }
        let lang = &self.inner.lang;
        let title = if self.inner.locked_by_idle.get() {
            lang.tr("lock-title")
        } else {
            let area = match screen {
                Screen::Nurse => "role-nurse",
                Screen::Technologist => "role-technologist",
                _ => "role-admin",
            };
            tra(lang, "signin-title", &[("area", lang.tr(area))])
        };
        s.set_title(title.into());
        {
            let published = self.inner.engine.read();
            s.set_exam_running(published.session().is_some());
            // The patient on the table, masked: the lock screen is seen by anyone.
            s.set_patient_banner(
                published
                    .session()
                    .map(|session| {
                        crate::ui::console::view::patient_banner_text(
                            &self.inner.lang,
                            session,
                            true,
                        )
                    })
                    .unwrap_or_default()
                    .into(),
            );
        }
        let known = self.inner.known.borrow().clone();
        let loading = known.is_none();
        let (accounts, has_admin, message) = match known {
            Some(Ok((a, has_admin))) => (a, Some(has_admin), String::new()),
            Some(Err(e)) => (Vec::new(), None, e),
            None => (Vec::new(), None, String::new()),
        };
        let shown: Vec<StaffAccount> = accounts
            .into_iter()
            .filter(|a| !a.disabled && roles.contains(&a.role))
            .collect();
        let rows: Vec<AccountRow> = shown
            .iter()
            .map(|a| AccountRow {
                name: a.display_name.clone().into(),
                role: lang.tr(role_key(a.role)).into(),
            })
            .collect();
        s.set_accounts(ModelRc::new(VecModel::from(rows)));
        let first_admin = screen == Screen::Admin && has_admin == Some(false);
        s.set_first_admin(first_admin);
        let message = if message.is_empty() && shown.is_empty() && !first_admin && !loading {
            lang.tr("signin-no-accounts")
        } else {
            message
        };
        if !message.is_empty() || !s.get_message_bad() {
            s.set_message(message.clone().into());
            s.set_message_bad(!message.is_empty());
        }
        *self.inner.accounts.borrow_mut() = shown;
        s.set_open(true);
        true
    }

    fn current_screen(&self) -> Option<Screen> {
        self.inner.app.upgrade().map(|a| a.get_screen())
    }

    fn pick(&self, i: usize) {
        let Some(account) = self.inner.accounts.borrow().get(i).cloned() else {
            return;
        };
        let p = self.clone();
        self.inner
            .input
            .open_number(NumberEntry::new(NumberSpec::pin()), move |entry| {
                p.sign_in(&account.username, entry.text());
            });
    }

    /// Signs `username` in with `pin` for the screen shown now; on success the
    /// overlay leaves and the screen is as it was.
    pub fn sign_in(&self, username: &str, pin: &str) {
        let Some(screen) = self.current_screen() else {
            return;
        };
        let roles = roles_for(screen).unwrap_or(&[]);
        let (now, at) = (self.now(), self.audit_at());
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let s = app.global::<SignInAdapter>();
        // The PIN check (Argon2) runs off the UI thread; the overlay says so meanwhile.
        let job = self
            .inner
            .desk
            .borrow()
            .check_pin_job(username, pin, now, at);
        match job {
            Ok(job) => {
                s.set_message(self.inner.lang.tr("signin-checking").into());
                s.set_message_bad(false);
                let p = self.clone();
                self.inner.jobs.spawn(job, move |checked| {
                    let result = p
                        .inner
                        .desk
                        .borrow_mut()
                        .finish_sign_in(checked, roles, now);
                    p.signed_in(screen, result);
                });
            }
            Err(e) => self.signed_in(screen, Err(e)),
        }
    }

    /// Shows the outcome of a sign-in for `screen`.
    fn signed_in(&self, screen: Screen, result: Result<StaffAccount, DeskError>) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let s = app.global::<SignInAdapter>();
        match result {
            Ok(_) => {
                s.set_message(SharedString::new());
                s.set_message_bad(false);
                self.inner.locked_by_idle.set(false);
                self.guard(screen);
                self.changed();
            }
            Err(e) => {
                s.set_message(desk_error_text(&self.inner.lang, &e).into());
                s.set_message_bad(true);
            }
        }
    }

    fn create_admin(&self) {
        let p = self.clone();
        self.inner.input.open_text_of(
            "signin-username",
            "",
            crate::ui::input::model::TextKind::Latin,
            move |username| {
                let p2 = p.clone();
                p.inner
                    .input
                    .open_number(NumberEntry::new(NumberSpec::pin()), move |entry| {
                        let (now, at) = (p2.now(), p2.audit_at());
                        let job = p2.inner.desk.borrow().create_first_admin_job(
                            &username,
                            entry.text(),
                            at,
                        );
                        match job {
                            Ok(job) => {
                                let p3 = p2.clone();
                                p2.inner.jobs.spawn(job, move |created| {
                                    let result = p3.inner.desk.borrow_mut().finish_sign_in(
                                        created,
                                        &[Role::Admin],
                                        now,
                                    );
                                    p3.reload_accounts();
                                    p3.signed_in(Screen::Admin, result);
                                });
                            }
                            Err(e) => p2.signed_in(Screen::Admin, Err(e)),
                        }
                    });
            },
        );
    }

    /// Ends the staff session without leaving the screen (audited as a lock): the
    /// kiosk is being handed to the patient, who must not reach staff screens.
    pub fn lock_now(&self) {
        let at = self.audit_at();
        self.inner.desk.borrow_mut().sign_out(at);
        self.inner.input.close();
        self.changed();
    }

    /// Signs out (audited) and goes home.
    pub fn sign_out(&self) {
        let at = self.audit_at();
        self.inner.desk.borrow_mut().sign_out(at);
        self.inner.input.close();
        if let Some(app) = self.inner.app.upgrade() {
            app.set_screen(Screen::Home);
            app.global::<SignInAdapter>().set_open(false);
        }
        self.changed();
    }

    /// Fires the idle lock if it is due: the overlay comes back over the staff screen
    /// shown (the keypad or keyboard closes; the screen's data stays). Returns whether
    /// it locked.
    ///
    /// While the running exam holds the lock off ([`crate::domain::Exam::lock_hold`]:
    /// a stress drug acting, an alarm, a countdown) the idle countdown restarts
    /// instead: the console stays in view and answers the first touch.
    pub fn tick(&self) -> bool {
        let (now, at) = (self.now(), self.audit_at());
        let hold = self
            .inner
            .engine
            .read()
            .session()
            .and_then(|s| s.exam().lock_hold(s.now()));
        let view_only = self.view_only();
        if view_only && hold.is_none() {
            // Nothing holds the console in view any more: the full lock.
            self.set_view_only(false);
            self.inner.locked_by_idle.set(true);
            if let Some(screen) = self.current_screen() {
                self.guard(screen);
            }
            self.changed();
            return true;
        }
        if view_only {
            return false;
        }
        let locked = self.inner.desk.borrow_mut().handle_timeout(now, at);
        if locked.is_none() {
            return false;
        }
        if hold.is_some() {
            // Idle while the exam holds the console in view (a drug acting, an alarm,
            // a countdown): signed out (audited), the console stays in view and only
            // its essential buttons answer until someone signs in.
            self.inner.input.close();
            self.set_view_only(true);
            if let Some(app) = self.inner.app.upgrade() {
                app.global::<SignInAdapter>().set_open(false);
                if matches!(
                    app.get_screen(),
                    Screen::Nurse | Screen::Technologist | Screen::Admin
                ) {
                    app.set_screen(Screen::Technologist);
                }
            }
            self.changed();
            return true;
        }
        self.inner.input.close();
        self.inner.locked_by_idle.set(true);
        if let Some(screen) = self.current_screen() {
            self.guard(screen);
        }
        self.changed();
        true
    }

    /// Whether the view-only lock is on: the console in view, only its essential
    /// buttons (stop the infusion, acknowledge, pause audio, sign in) answer.
    pub fn view_only(&self) -> bool {
        self.inner
            .app
            .upgrade()
            .is_some_and(|app| app.global::<ViewOnly>().get_active())
    }

    fn set_view_only(&self, on: bool) {
        if let Some(app) = self.inner.app.upgrade() {
            app.global::<ViewOnly>().set_active(on);
            app.global::<ViewOnly>().set_signing_in(false);
        }
    }

    /// Opens the sign-in over the view-only console (its "sign in" button).
    pub fn sign_in_over_view_only(&self) {
        if let Some(app) = self.inner.app.upgrade() {
            app.global::<ViewOnly>().set_signing_in(true);
        }
        self.inner.locked_by_idle.set(true);
        self.guard(Screen::Technologist);
    }

    // ------------------------------------------------------------------ admin

    fn admin_notice(&self, text: String, bad: bool) {
        if let Some(app) = self.inner.app.upgrade() {
            let a = app.global::<AdminAdapter>();
            a.set_notice(text.into());
            a.set_notice_bad(bad);
        }
    }

    /// Redraws the admin screens.
    pub fn refresh_admin(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let lang = &self.inner.lang;
        let a = app.global::<AdminAdapter>();
        let accounts = match &*self.inner.known.borrow() {
            Some(Ok((a, _))) => a.clone(),
            _ => Vec::new(),
        };
        let rows: Vec<StaffRow> = accounts
            .iter()
            .map(|s| StaffRow {
                name: s.display_name.clone().into(),
                detail: tra(
                    lang,
                    if s.disabled {
                        "admin-account-disabled"
                    } else {
                        "admin-account"
                    },
                    &[
                        ("username", s.username.clone()),
                        ("role", lang.tr(role_key(s.role))),
                    ],
                )
                .into(),
                disabled: s.disabled,
            })
            .collect();
        *self.inner.accounts.borrow_mut() = accounts;
        a.set_staff(ModelRc::new(VecModel::from(rows)));

        let cfg = self.inner.config.borrow().clone();
        let empty = || lang.tr("value-empty");
        let text = |s: &str| {
            if s.is_empty() { empty() } else { s.to_string() }
        };
        let values: [String; 13] = [
            text(&cfg.institution.name),
            text(&cfg.scanner.vendor),
            text(&cfg.scanner.model),
            format!("{} T", cfg.scanner.field_strength_t),
            lang.tr(match cfg.ui.language {
                Language::ZhCn => "admin-language-zh",
                Language::EnUs => "admin-language-en",
            }),
            lang.tr(match cfg.ui.theme {
                ThemeName::Day => "admin-theme-day",
                ThemeName::Night => "admin-theme-night",
            }),
            tra(
                lang,
                "admin-seconds",
                &[(
                    "s",
                    crate::ui::input::model::format_number(cfg.ui.idle_lock_s, 0),
                )],
            ),
            tra(
                lang,
                "admin-seconds",
                &[(
                    "s",
                    crate::ui::input::model::format_number(cfg.ui.breath_hold_threshold_s, 0),
                )],
            ),
            lang.tr(match cfg.monitor.source {
                MonitorSource::Simulated => "admin-source-simulated",
                MonitorSource::Serial => "admin-source-serial",
                MonitorSource::Tcp => "admin-source-tcp",
            }),
            (match cfg.monitor.protocol {
                crate::monitor::Protocol::Hl7 => "hl7",
                crate::monitor::Protocol::Intellivue => "intellivue",
            })
            .to_string(),
            text(&cfg.monitor.port),
            text(&cfg.monitor.device_profile),
            text(&cfg.monitor.simulator_profile),
        ];
        let settings: Vec<FieldRow> = SETTING_KEYS
            .iter()
            .zip(values)
            .map(|(k, v)| FieldRow {
                label: lang
                    .tr(&format!("admin-setting-{}", k.replace(['.', '_'], "-")))
                    .into(),
                value: v.into(),
                error: SharedString::new(),
            })
            .collect();
        a.set_settings(ModelRc::new(VecModel::from(settings)));
        // The site's clinical practice values as kiosk.toml names them (an
        // administrator changes them there; the kiosk validates them at start).
        let clinical: Vec<SharedString> = serde_json::to_value(&cfg.clinical)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "agent_mmol_per_ml")
            .map(|(k, v)| format!("{k} = {v}").into())
            .collect();
        a.set_clinical(ModelRc::new(VecModel::from(clinical)));
        let agents: Vec<SharedString> = cfg
            .clinical
            .to_protocol()
            .agents
            .agents
            .iter()
            .map(|g| {
                tra(
                    lang,
                    if g.for_cmr {
                        "admin-agent"
                    } else {
                        "admin-agent-not-cmr"
                    },
                    &[
                        ("name", g.generic_name.clone()),
                        ("brands", g.brands.clone()),
                        ("conc", crate::report::number(g.mmol_per_ml, 3)),
                    ],
                )
                .into()
            })
            .collect();
        a.set_agents(ModelRc::new(VecModel::from(agents)));
        if self.inner.service.borrow().unlocked {
            self.draw_service();
        }

        let add = self.inner.add.borrow();
        a.set_add_open(add.is_some());
        if let Some(f) = add.as_ref() {
            let fields = vec![
                FieldRow {
                    label: lang.tr("admin-username").into(),
                    value: text(&f.username).into(),
                    error: SharedString::new(),
                },
                FieldRow {
                    label: lang.tr("admin-display-name").into(),
                    value: text(&f.display_name).into(),
                    error: SharedString::new(),
                },
                FieldRow {
                    label: lang.tr("admin-pin").into(),
                    value: if f.pin.is_empty() {
                        empty()
                    } else {
                        "•".repeat(f.pin.len())
                    }
                    .into(),
                    error: SharedString::new(),
                },
            ];
            a.set_add_fields(ModelRc::new(VecModel::from(fields)));
            let roles: Vec<ChoiceRow> = Role::ALL
                .iter()
                .map(|r| ChoiceRow {
                    text: lang.tr(role_key(*r)).into(),
                    selected: f.role == Some(*r),
                })
                .collect();
            a.set_add_roles(ModelRc::new(VecModel::from(roles)));
        }
    }

    fn disable(&self, i: usize) {
        let Some(account) = self.inner.accounts.borrow().get(i).cloned() else {
            return;
        };
        let at = self.audit_at();
        let p = self.clone();
        let done = move |result: Result<(), DeskError>| {
            match result {
                Ok(()) => p.admin_notice(
                    tra(
                        &p.inner.lang,
                        "admin-disabled-done",
                        &[("name", account.display_name.clone())],
                    ),
                    false,
                ),
                Err(e) => p.admin_notice(desk_error_text(&p.inner.lang, &e), true),
            }
            p.reload_accounts();
        };
        let job = self.inner.desk.borrow().disable_job(&account.username, at);
        match job {
            Ok(job) => self.inner.jobs.spawn(job, done),
            Err(e) => done(Err(e)),
        }
    }

    fn add_edit(&self, i: usize) {
        let p = self.clone();
        let initial = {
            let add = self.inner.add.borrow();
            let Some(f) = add.as_ref() else { return };
            match i {
                0 => f.username.clone(),
                1 => f.display_name.clone(),
                _ => String::new(),
            }
        };
        match i {
            0 | 1 => self.inner.input.open_text(
                if i == 0 {
                    "admin-username"
                } else {
                    "admin-display-name"
                },
                &initial,
                move |text| {
                    if let Some(f) = p.inner.add.borrow_mut().as_mut() {
                        if i == 0 {
                            f.username = text;
                        } else {
                            f.display_name = text;
                        }
                    }
                    p.refresh_admin();
                },
            ),
            _ => self
                .inner
                .input
                .open_number(NumberEntry::new(NumberSpec::pin()), move |entry| {
                    if let Some(f) = p.inner.add.borrow_mut().as_mut() {
                        f.pin = entry.text().to_string();
                    }
                    p.refresh_admin();
                }),
        }
    }

    fn add_save(&self) {
        let Some(app) = self.inner.app.upgrade() else {
            return;
        };
        let lang = &self.inner.lang;
        let new = {
            let add = self.inner.add.borrow();
            let Some(f) = add.as_ref() else { return };
            let Some(role) = f.role else {
                app.global::<AdminAdapter>()
                    .set_add_error(lang.tr("admin-choose-role").into());
                return;
            };
            NewStaff {
                username: f.username.trim().to_string(),
                display_name: f.display_name.trim().to_string(),
                role,
                pin: f.pin.clone(),
            }
        };
        let at = self.audit_at();
        let p = self.clone();
        let done = move |result: Result<StaffAccount, DeskError>| {
            let Some(app) = p.inner.app.upgrade() else {
                return;
            };
            let lang = &p.inner.lang;
            match result {
                Ok(account) => {
                    p.inner.add.borrow_mut().take();
                    app.global::<AdminAdapter>()
                        .set_add_error(SharedString::new());
                    p.admin_notice(
                        tra(lang, "admin-added", &[("name", account.display_name)]),
                        false,
                    );
                }
                Err(e) => app
                    .global::<AdminAdapter>()
                    .set_add_error(desk_error_text(lang, &e).into()),
            }
            p.reload_accounts();
            p.refresh_admin();
        };
        // The new PIN is hashed with Argon2 off the UI thread.
        let job = self.inner.desk.borrow().add_job(new, at);
        match job {
            Ok(job) => self.inner.jobs.spawn(job, done),
            Err(e) => done(Err(e)),
        }
    }

    /// Sets one site setting (`key` from [`crate::config::site::EDITABLE`]), audited; a value
    /// the configuration refuses is named in the notice and nothing changes.
    pub fn set_setting(&self, key: &str, value: toml::Value) {
        let lang = &self.inner.lang;
        let shown = match &value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let result = self
            .inner
            .site
            .borrow_mut()
            .set(&self.inner.base_config, key, value);
        let merged = match result {
            Ok(m) => m,
            Err(e) => {
                self.admin_notice(
                    tra(lang, "admin-setting-refused", &[("reason", e.to_string())]),
                    true,
                );
                return;
            }
        };
        if let Err(e) = self.inner.site.borrow().save(&self.inner.site_path) {
            self.admin_notice(
                tra(lang, "admin-setting-refused", &[("reason", e.to_string())]),
                true,
            );
            return;
        }
        let at = self.audit_at();
        self.inner.desk.borrow().audit(
            AuditAction::SettingsChanged,
            Some(format!("{key} = {shown}")),
            at,
        );
        let old = self.inner.config.replace(merged.clone());
        if old.ui.idle_lock_s != merged.ui.idle_lock_s {
            let now = self.now();
            self.inner
                .desk
                .borrow_mut()
                .set_idle_after(Duration::from_secs_f64(merged.ui.idle_lock_s), now);
        }
        if old.ui.theme != merged.ui.theme
            && let Some(f) = self.inner.set_theme.borrow().clone()
        {
            f(merged.ui.theme);
        }
        if old.ui.language != merged.ui.language
            && let Some(app) = self.inner.app.upgrade()
        {
            self.inner.lang.set(&app, merged.ui.language);
        }
        let restart = key.starts_with("monitor.") || key == "ui.breath_hold_threshold_s";
        self.admin_notice(
            tra(
                &self.inner.lang,
                if restart {
                    "admin-saved-restart"
                } else {
                    "admin-saved"
                },
                &[("key", key.to_string())],
            ),
            false,
        );
        self.refresh_admin();
    }

    fn edit_setting(&self, i: usize) {
        let Some(key) = SETTING_KEYS.get(i).copied() else {
            return;
        };
        let cfg = self.inner.config.borrow().clone();
        let p = self.clone();
        let text_setting = |title: &str, initial: &str| {
            let p = p.clone();
            self.inner.input.open_text(title, initial, move |text| {
                p.set_setting(key, toml::Value::String(text.trim().to_string()));
            });
        };
        let number_setting = |spec: NumberSpec, current: f64| {
            let p = p.clone();
            self.inner
                .input
                .open_number(NumberEntry::with_value(spec, current), move |entry| {
                    if let Some(v) = entry.value() {
                        p.set_setting(key, toml::Value::Float(v));
                    }
                });
        };
        let s = |v: &str| toml::Value::String(v.to_string());
        match key {
            "institution.name" => {
                text_setting("admin-setting-institution-name", &cfg.institution.name)
            }
            "scanner.vendor" => text_setting("admin-setting-scanner-vendor", &cfg.scanner.vendor),
            "scanner.model" => text_setting("admin-setting-scanner-model", &cfg.scanner.model),
            "monitor.port" => text_setting("admin-setting-monitor-port", &cfg.monitor.port),
            "scanner.field_strength_t" => self.set_setting(
                key,
                toml::Value::Float(if cfg.scanner.field_strength_t < 2.0 {
                    3.0
                } else {
                    1.5
                }),
            ),
            "ui.language" => self.set_setting(key, s(cfg.ui.language.other().tag())),
            "ui.theme" => self.set_setting(key, s(cycle(&["day", "night"], cfg.ui.theme.name()))),
            "ui.idle_lock_s" => number_setting(NumberSpec::idle_lock_s(), cfg.ui.idle_lock_s),
            "ui.breath_hold_threshold_s" => number_setting(
                NumberSpec::breath_hold_threshold_s(),
                cfg.ui.breath_hold_threshold_s,
            ),
            "monitor.source" => self.set_setting(
                key,
                s(cycle(
                    &["simulated", "serial", "tcp"],
                    match cfg.monitor.source {
                        MonitorSource::Simulated => "simulated",
                        MonitorSource::Serial => "serial",
                        MonitorSource::Tcp => "tcp",
                    },
                )),
            ),
            "monitor.protocol" => self.set_setting(
                key,
                s(cycle(
                    &["hl7", "intellivue"],
                    match cfg.monitor.protocol {
                        crate::monitor::Protocol::Hl7 => "hl7",
                        crate::monitor::Protocol::Intellivue => "intellivue",
                    },
                )),
            ),
            "monitor.device_profile" => {
                let mut options = vec![""];
                options.extend(crate::monitor::profile::BUILTIN.iter().map(|(n, _)| *n));
                self.set_setting(key, s(cycle(&options, &cfg.monitor.device_profile)))
            }
            "monitor.simulator_profile" => self.set_setting(
                key,
                s(cycle(
                    &["resting", "responder", "non-responder", "hypotensive"],
                    &cfg.monitor.simulator_profile,
                )),
            ),
            _ => {}
        }
    }
}

/// A physician's countersign being entered (a clearance override in nurse mode, one
/// refused step on the console): user name, PIN (never shown) and the reason.
#[derive(Debug, Clone, Default)]
pub struct CountersignDraft {
    /// The physician's user name.
    pub username: String,
    /// The PIN as typed.
    pub pin: String,
    /// The documented reason.
    pub reason: String,
    /// What went wrong last (empty: nothing).
    pub error: String,
}

impl CountersignDraft {
    /// Whether every field is filled in.
    pub fn complete(&self) -> bool {
        !self.username.is_empty() && !self.pin.is_empty() && !self.reason.trim().is_empty()
    }

    /// The three fields as the dialog shows them (the PIN masked).
    pub fn fields(&self, lang: &LanguageState) -> Vec<FieldRow> {
        let empty = lang.tr("value-empty");
        let shown = |v: &str, masked: bool| -> SharedString {
            match (v.is_empty(), masked) {
                (true, _) => empty.clone().into(),
                (false, true) => "•".repeat(v.chars().count()).into(),
                (false, false) => v.into(),
            }
        };
        [
            ("nurse-override-physician", shown(&self.username, false)),
            ("admin-pin", shown(&self.pin, true)),
            ("nurse-override-reason", shown(&self.reason, false)),
        ]
        .into_iter()
        .map(|(key, value)| FieldRow {
            label: lang.tr(key).into(),
            value,
            error: SharedString::new(),
        })
        .collect()
    }

    /// Opens the keyboard (user name, reason) or the PIN keypad for field `i`; `store`
    /// gets the field's index and its new text.
    pub fn edit(&self, input: &InputPanels, i: usize, store: impl Fn(usize, String) + 'static) {
        match i {
            0 | 2 => {
                let (key, initial) = if i == 0 {
                    ("nurse-override-physician", &self.username)
                } else {
                    ("nurse-override-reason", &self.reason)
                };
                input.open_text(key, initial, move |text| store(i, text));
            }
            _ => input.open_number(NumberEntry::new(NumberSpec::pin()), move |e| {
                store(1, e.text().to_string())
            }),
        }
    }

    /// Puts `text` in field `i` (as [`CountersignDraft::edit`] reports it).
    pub fn set(&mut self, i: usize, text: String) {
        match i {
            0 => self.username = text.trim().to_string(),
            1 => self.pin = text,
            _ => self.reason = text,
        }
    }
}
