//! Who is at the kiosk (issue 7): PIN sign-in against the store's accounts, the idle
//! lock, and account administration, each audited in the exam log.
//!
//! The state machines are the store's pure [`PinGuard`] and [`IdleLock`]; this desk
//! feeds them the monotonic clock (an input to every method) and runs the store calls
//! on the recorder's thread ([`Recorder::with_store`]). Without a store nobody can sign
//! in, and the reason says so.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as MonoInstant};

use crate::engine::recorder::Recorder;
use crate::store::accounts::{
    AuditAction, AuditAt, AuditEvent, AuditOutcome, AutoLocked, IdleLock, LockoutPolicy,
    LoginError, NewStaff, Permission, PinGuard, Role, StaffAccount,
};

/// Every account (enabled or not) and whether an administrator exists.
pub type AccountsRead = (Vec<StaffAccount>, bool);

/// Why a desk operation failed, worded for staff.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The exam record (and so the accounts) is not open.
    #[error("the staff accounts are not available: the exam record is not open")]
    NoStore,
    /// The signed-in user may not do this.
    #[error("not allowed for this account")]
    NotAllowed,
    /// The signed-in role is not one this area accepts.
    #[error("this area is for {0}")]
    WrongRole(String),
    /// The store refused or failed.
    #[error(transparent)]
    Login(#[from] LoginError),
}

/// The audit event of an account change with its outcome.
fn audit_of<T>(
    action: AuditAction,
    user: Option<String>,
    subject: String,
    result: &Result<T, LoginError>,
) -> AuditEvent {
    AuditEvent::new(
        action,
        user,
        Some(subject),
        match result {
            Ok(_) => AuditOutcome::Success,
            Err(e) => AuditOutcome::Failure {
                reason: e.to_string(),
            },
        },
    )
}

/// The staff sign-in state of one kiosk.
#[derive(Debug)]
pub struct StaffDesk {
    lock: IdleLock,
    guard: Arc<Mutex<PinGuard>>,
    recorder: Option<std::sync::Arc<Recorder>>,
    display_name: Option<String>,
}

impl StaffDesk {
    /// A locked desk that locks again after `idle_after` without a touch.
    pub fn new(idle_after: Duration) -> StaffDesk {
        StaffDesk {
            lock: IdleLock::new(idle_after),
            guard: Arc::new(Mutex::new(PinGuard::new(LockoutPolicy::default()))),
            recorder: None,
            display_name: None,
        }
    }

    /// Connects the store (through the running recorder).
    pub fn set_recorder(&mut self, recorder: std::sync::Arc<Recorder>) {
        self.recorder = Some(recorder);
    }

    /// The running recorder, once connected.
    pub fn recorder_handle(&self) -> Option<std::sync::Arc<Recorder>> {
        self.recorder.clone()
    }

    /// Changes the idle time (admin setting); the session stays as it is.
    pub fn set_idle_after(&mut self, idle_after: Duration, now: MonoInstant) {
        let user = self.lock.user().map(|(u, r)| (u.to_string(), r));
        self.lock = IdleLock::new(idle_after);
        if let Some((u, r)) = user {
            self.lock.unlock(&u, r, now);
        }
    }

    /// The signed-in username and role.
    pub fn user(&self) -> Option<(&str, Role)> {
        self.lock.user()
    }

    /// The signed-in user's display name.
    pub fn display_name(&self) -> Option<&str> {
        self.lock.user().and(self.display_name.as_deref())
    }

    /// Whether the signed-in user may do `p`.
    pub fn allows(&self, p: Permission) -> bool {
        self.lock.allows(p)
    }

    /// Whether someone with one of `roles` is signed in.
    pub fn signed_in_as(&self, roles: &[Role]) -> bool {
        self.lock.user().is_some_and(|(_, r)| roles.contains(&r))
    }

    fn recorder(&self) -> Result<&std::sync::Arc<Recorder>, DeskError> {
        self.recorder.as_ref().ok_or(DeskError::NoStore)
    }

    /// Every account (enabled or not), for the sign-in buttons and the admin list.
    pub fn accounts(&self) -> Result<Vec<StaffAccount>, DeskError> {
        self.recorder()?
            .with_store(|store| async move { store.list_staff().await })
            .ok_or(DeskError::NoStore)?
            .map_err(|e| DeskError::Login(e.into()))
    }

    /// Whether an administrator account exists.
    pub fn has_admin(&self) -> Result<bool, DeskError> {
        self.recorder()?
            .with_store(|store| async move { store.has_admin().await })
            .ok_or(DeskError::NoStore)?
            .map_err(|e| DeskError::Login(e.into()))
    }

    /// Checks `username`'s PIN at `now` (audited by the store). On success the desk is
    /// unlocked for that user, whose role must be one of `roles`.
    pub fn sign_in(
        &mut self,
        username: &str,
        pin: &str,
        roles: &[Role],
        now: MonoInstant,
        at: AuditAt,
    ) -> Result<StaffAccount, DeskError> {
        let checked = self.check_pin(username, pin, now, at);
        self.finish_sign_in(checked, roles, now)
    }

    /// Completes a sign-in whose PIN was checked elsewhere ([`StaffDesk::check_pin_job`]
    /// on another thread): the role must be one of `roles`; on success the desk is
    /// unlocked for that user at `now`.
    pub fn finish_sign_in(
        &mut self,
        checked: Result<StaffAccount, DeskError>,
        roles: &[Role],
        now: MonoInstant,
    ) -> Result<StaffAccount, DeskError> {
        let account = checked?;
        if !roles.contains(&account.role) {
            return Err(DeskError::WrongRole(
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        self.lock.unlock(&account.username, account.role, now);
        self.display_name = Some(account.display_name.clone());
        Ok(account)
    }

    /// Checks a PIN without changing who is signed in (a physician countersigning an
    /// override at the nurse's screen). Audited by the store like a sign-in.
    pub fn check_pin(
        &self,
        username: &str,
        pin: &str,
        now: MonoInstant,
        at: AuditAt,
    ) -> Result<StaffAccount, DeskError> {
        self.check_pin_job(username, pin, now, at)?()
    }

    /// The PIN check (Argon2 and SQL on the recorder's thread) as work to run off the
    /// UI thread; its result goes to [`StaffDesk::finish_sign_in`] or is used as a
    /// countersignature. Audited by the store like a sign-in.
    pub fn check_pin_job(
        &self,
        username: &str,
        pin: &str,
        now: MonoInstant,
        at: AuditAt,
    ) -> Result<impl FnOnce() -> Result<StaffAccount, DeskError> + Send + 'static, DeskError> {
        let recorder = self.recorder()?.clone();
        let device = recorder.device().clone();
        let guard = self.guard.clone();
        let (username, pin) = (username.to_string(), pin.to_string());
        Ok(move || {
            recorder
                .with_store(move |store| async move {
                    let mut g = guard.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let result = store.login(&device, &mut g, &username, &pin, now, at).await;
                    *guard.lock().unwrap_or_else(|e| e.into_inner()) = g;
                    result
                })
                .ok_or(DeskError::NoStore)?
                .map_err(DeskError::Login)
        })
    }

    /// Every account (enabled or not) as work to run off the UI thread, with whether an
    /// administrator exists.
    pub fn accounts_job(
        &self,
    ) -> Result<impl FnOnce() -> Result<AccountsRead, DeskError> + Send + 'static, DeskError> {
        let recorder = self.recorder()?.clone();
        Ok(move || {
            recorder
                .with_store(|store| async move {
                    let accounts = store.list_staff().await?;
                    // "Create the first administrator" only on a database that never had one.
                    let no_first_admin = !store.first_admin_allowed().await?;
                    Ok::<_, crate::store::StoreError>((accounts, no_first_admin))
                })
                .ok_or(DeskError::NoStore)?
                .map_err(|e| DeskError::Login(e.into()))
        })
    }

    /// Creates the first administrator on a kiosk with no admin yet and signs them in.
    pub fn create_first_admin(
        &mut self,
        username: &str,
        pin: &str,
        now: MonoInstant,
        at: AuditAt,
    ) -> Result<StaffAccount, DeskError> {
        let created = self.create_first_admin_job(username, pin, at)?();
        self.finish_sign_in(created, &[Role::Admin], now)
    }

    /// [`StaffDesk::create_first_admin`] as work to run off the UI thread: refused
    /// when an administrator exists by then; its result goes to
    /// [`StaffDesk::finish_sign_in`] with the admin role.
    pub fn create_first_admin_job(
        &self,
        username: &str,
        pin: &str,
        at: AuditAt,
    ) -> Result<impl FnOnce() -> Result<StaffAccount, DeskError> + Send + 'static, DeskError> {
        let recorder = self.recorder()?.clone();
        let new = NewStaff {
            username: username.trim().to_string(),
            display_name: username.trim().to_string(),
            role: Role::Admin,
            pin: pin.to_string(),
        };
        let add = self.add_unchecked_job(new, None, at)?;
        Ok(move || {
            let allowed = recorder
                .with_store(|store| async move { store.first_admin_allowed().await })
                .ok_or(DeskError::NoStore)?
                .map_err(|e| DeskError::Login(e.into()))?;
            if !allowed {
                return Err(DeskError::NotAllowed);
            }
            add()
        })
    }

    /// Adds an account (admin only), audited.
    pub fn add(&self, new: NewStaff, at: AuditAt) -> Result<StaffAccount, DeskError> {
        self.add_job(new, at)?()
    }

    /// [`StaffDesk::add`] as work to run off the UI thread (the PIN is hashed with
    /// Argon2); the permission is checked now.
    pub fn add_job(
        &self,
        new: NewStaff,
        at: AuditAt,
    ) -> Result<impl FnOnce() -> Result<StaffAccount, DeskError> + Send + 'static, DeskError> {
        if !self.allows(Permission::ManageUsers) {
            return Err(DeskError::NotAllowed);
        }
        let by = self.lock.user().map(|(u, _)| u.to_string());
        self.add_unchecked_job(new, by, at)
    }

    fn add_unchecked_job(
        &self,
        new: NewStaff,
        by: Option<String>,
        at: AuditAt,
    ) -> Result<impl FnOnce() -> Result<StaffAccount, DeskError> + Send + 'static, DeskError> {
        let recorder = self.recorder()?.clone();
        let device = recorder.device().clone();
        Ok(move || {
            recorder
                .with_store(move |store| async move {
                    // A success is logged with the account, in its own transaction.
                    let result = store.add_staff(&device, by.as_deref(), at, &new).await;
                    if result.is_err() {
                        let event = audit_of(
                            AuditAction::UserAdded,
                            by.or_else(|| Some(new.username.clone())),
                            format!("{} ({})", new.username, new.role),
                            &result,
                        );
                        store.audit(&device, at, &event).await?;
                    }
                    result
                })
                .ok_or(DeskError::NoStore)?
                .map_err(DeskError::Login)
        })
    }

    /// Disables an account (admin only; never one's own), audited.
    pub fn disable(&self, username: &str, at: AuditAt) -> Result<(), DeskError> {
        self.disable_job(username, at)?()
    }

    /// [`StaffDesk::disable`] as work to run off the UI thread; the permission is
    /// checked now.
    pub fn disable_job(
        &self,
        username: &str,
        at: AuditAt,
    ) -> Result<impl FnOnce() -> Result<(), DeskError> + Send + 'static, DeskError> {
        if !self.allows(Permission::ManageUsers)
            || self.lock.user().is_some_and(|(u, _)| u == username)
        {
            return Err(DeskError::NotAllowed);
        }
        let recorder = self.recorder()?.clone();
        let device = recorder.device().clone();
        let by = self.lock.user().map(|(u, _)| u.to_string());
        let username = username.to_string();
        Ok(move || {
            recorder
                .with_store(move |store| async move {
                    let result = store
                        .disable_staff(&device, by.as_deref(), at, &username)
                        .await;
                    if result.is_err() {
                        let event = audit_of(AuditAction::UserDisabled, by, username, &result);
                        store.audit(&device, at, &event).await?;
                    }
                    result
                })
                .ok_or(DeskError::NoStore)?
                .map_err(DeskError::Login)
        })
    }

    /// Writes one audit event (best effort: a store failure is logged, not raised).
    pub fn audit(&self, action: AuditAction, subject: Option<String>, at: AuditAt) {
        let Ok(recorder) = self.recorder() else {
            return;
        };
        let device = recorder.device().clone();
        let event = AuditEvent {
            action,
            user: self.lock.user().map(|(u, _)| u.to_string()),
            subject,
            outcome: AuditOutcome::Success,
            account: None,
        };
        // Written on the recorder's thread in order; the touch does not wait for it.
        recorder.spawn_store(move |store| async move {
            if let Err(e) = store.audit(&device, at, &event).await {
                tracing::error!(?action, "an audit event could not be written: {e}");
            }
        });
    }

    /// Signs out now (audited as a manual lock).
    pub fn sign_out(&mut self, at: AuditAt) {
        if self.lock.user().is_some() {
            self.audit(AuditAction::Lock, None, at);
            self.lock.lock();
        }
        self.display_name = None;
    }

    /// A touch at `now`: the idle countdown restarts.
    pub fn activity(&mut self, now: MonoInstant) {
        self.lock.activity(now);
    }

    /// When the desk will lock if nothing happens.
    pub fn poll_timeout(&self) -> Option<MonoInstant> {
        self.lock.poll_timeout()
    }

    /// Locks the desk if it has been idle long enough at `now` (audited).
    pub fn handle_timeout(&mut self, now: MonoInstant, at: AuditAt) -> Option<AutoLocked> {
        let user = self.lock.user().map(|(u, _)| u.to_string());
        let locked = self.lock.handle_timeout(now)?;
        let event = AuditEvent {
            action: AuditAction::AutoLock,
            user,
            subject: None,
            outcome: AuditOutcome::Success,
            account: None,
        };
        if let Ok(recorder) = self.recorder() {
            let device = recorder.device().clone();
            recorder.spawn_store(move |store| async move {
                if let Err(e) = store.audit(&device, at, &event).await {
                    tracing::error!("the automatic lock could not be audited: {e}");
                }
            });
        }
        self.display_name = None;
        Some(locked)
    }
}
