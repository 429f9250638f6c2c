//! Staff accounts: one per person, roles, Argon2-hashed PINs, lockout, idle
//! auto-lock and audit events.
//!
//! Pure parts (no I/O, time as an input): [`Role::allows`] and
//! [`permission_for`] (who may do what), [`PinGuard`] (lockout after
//! [`LockoutPolicy::max_attempts`] wrong PINs for [`LockoutPolicy::lock_for`]),
//! [`IdleLock`] (auto-lock after the site's idle time; the lock screen keeps
//! timers and alarms visible without patient identity). Store parts:
//! [`Store::add_staff`], [`Store::list_staff`], [`Store::disable_staff`],
//! [`Store::login`] and [`Store::audit`], which writes an [`AuditEvent`] into the
//! exam log (IHE ATNA style: action, user, subject, outcome).
//!
//! Role limits (documented decision): a nurse registers patients, screens,
//! records vitals, acknowledges alarms and stops a stress agent but cannot
//! start or escalate one; a technologist also selects agents, injects,
//! acquires series and starts stress under supervision; only a physician
//! records an override; only an admin manages users and nobody but clinical
//! staff touches the exam. Stopping stress is never refused to clinical staff.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant as MonoInstant};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use super::log::{DeviceId, EntryKind, ExamId, NewEntry, StoredEntry};
use super::{Store, StoreError, on_pool};
use crate::domain::ExamEvent;
use crate::domain::time::Instant;

/// A staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Nurse.
    Nurse,
    /// MR technologist (radiographer).
    Technologist,
    /// Physician (supervises stress, signs overrides).
    Physician,
    /// Administrator (manages accounts; no clinical actions).
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Nurse,
        Role::Technologist,
        Role::Physician,
        Role::Admin,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Nurse => "nurse",
            Role::Technologist => "technologist",
            Role::Physician => "physician",
            Role::Admin => "admin",
        }
    }

    /// Parse a stored or typed name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether this role may do `p` (pure).
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match p {
            P::ViewTimers => true,
            P::ManageUsers => self == R::Admin,
            P::Override => self == R::Physician,
            P::StartStress => matches!(self, R::Technologist | R::Physician),
            P::SelectAgent | P::Inject | P::AcquireSeries | P::LgeEarlyStart => {
                matches!(self, R::Technologist | R::Physician)
            }
            P::RegisterPatient
            | P::RecordScreening
            | P::RecordVitals
            | P::StopStress
            | P::AcknowledgeAlarm
            | P::ViewRecord => matches!(self, R::Nurse | R::Technologist | R::Physician),
            P::Export => matches!(self, R::Technologist | R::Physician),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a user may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See timers and alarms (also on the lock screen).
    ViewTimers,
    /// Register or correct the patient.
    RegisterPatient,
    /// Answer the screening questionnaire.
    RecordScreening,
    /// Record vitals and monitor state.
    RecordVitals,
    /// Start or escalate a stress agent.
    StartStress,
    /// Stop the stress agent (never refused to clinical staff).
    StopStress,
    /// Choose the contrast agent and scanner.
    SelectAgent,
    /// Record a contrast injection.
    Inject,
    /// Record an acquired series.
    AcquireSeries,
    /// Decide a low-dose early LGE start.
    LgeEarlyStart,
    /// Acknowledge an alarm.
    AcknowledgeAlarm,
    /// Lift an overridable rule (physician only).
    Override,
    /// Open a patient's record.
    ViewRecord,
    /// Export a record or report.
    Export,
    /// Add, list and disable staff accounts.
    ManageUsers,
}

/// The permission an exam event needs (pure).
pub fn permission_for(event: &ExamEvent) -> Permission {
    match event {
        ExamEvent::PatientRegistered { .. } => Permission::RegisterPatient,
        // A breath-hold practice is part of screening and patient preparation (2.2.3).
        ExamEvent::ScreeningAnswered { .. }
        | ExamEvent::SelfReported { .. }
        | ExamEvent::SelfAnswered { .. }
        | ExamEvent::BreathHoldPracticed { .. }
        | ExamEvent::PreparationChecked { .. }
        | ExamEvent::SignedOff { .. } => Permission::RecordScreening,
        ExamEvent::ExamTypeChosen { .. }
        | ExamEvent::ExamDated { .. }
        | ExamEvent::IndicationsRecorded { .. }
        | ExamEvent::SettingsRecorded { .. } => Permission::RegisterPatient,
        ExamEvent::OverrideRecorded { .. } => Permission::Override,
        ExamEvent::ScannerRecorded { .. } | ExamEvent::AgentSelected { .. } => {
            Permission::SelectAgent
        }
        ExamEvent::VitalsReading { .. }
        | ExamEvent::MonitorDataLost
        | ExamEvent::MonitorDataRestored
        | ExamEvent::StopCriterionNoted { .. } => Permission::RecordVitals,
        ExamEvent::StressStarted { .. } | ExamEvent::StressEscalated { .. } => {
            Permission::StartStress
        }
        ExamEvent::StressStopped => Permission::StopStress,
        ExamEvent::Injected(_) | ExamEvent::InjectionVoided { .. } => Permission::Inject,
        ExamEvent::SeriesAcquired { .. } => Permission::AcquireSeries,
        ExamEvent::AlarmAcknowledged { .. } => Permission::AcknowledgeAlarm,
        ExamEvent::LgeEarlyStart { .. } => Permission::LgeEarlyStart,
    }
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// PIN login.
    Login,
    /// Explicit logout.
    Logout,
    /// Manual lock.
    Lock,
    /// Automatic lock after idle.
    AutoLock,
    /// A patient record was opened.
    RecordView,
    /// A record or report was exported.
    Export,
    /// A physician override.
    Override,
    /// A physician countersigned one refused step (a hard clinical limit lifted for
    /// that step only); `user` is who gave the step, `subject` names the limit, the
    /// physician and the reason.
    Countersign,
    /// A technologist confirmed a soft check for one step; `subject` names the check.
    Confirmation,
    /// An account was added.
    UserAdded,
    /// An account was disabled.
    UserDisabled,
    /// A site setting was changed on the kiosk (subject: `key = value`).
    SettingsChanged,
    /// A console prompt (reminder) was dismissed; `subject` names the prompt.
    PromptDismissed,
}

/// Success or failure of an audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It worked.
    Success,
    /// It was refused or failed.
    Failure {
        /// Why (never a PIN).
        reason: String,
    },
}

/// An audit event: the payload of an `audit` log row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What.
    pub action: AuditAction,
    /// The username acting (or attempted).
    pub user: Option<String>,
    /// What it was done to (exam id, exported file, rule overridden…).
    pub subject: Option<String>,
    /// Result.
    #[serde(flatten)]
    pub outcome: AuditOutcome,
}

/// Where an audit event sits: the exam (if any) and both clocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuditAt {
    /// The exam open at the time, if any.
    pub exam: Option<ExamId>,
    /// Monotonic offset (the running exam's timeline, or the kiosk's).
    pub at: Instant,
    /// Wall-clock label.
    pub wall: DateTime<Utc>,
}

/// A new account.
#[derive(Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Login name: 1–32 of `a-z 0-9 . _ -`.
    pub username: String,
    /// Name shown on screen and in the report.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// PIN: 4–12 digits (hashed before storing).
    pub pin: String,
}

impl fmt::Debug for NewStaff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewStaff")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("pin", &"***")
            .finish()
    }
}

/// A stored account (the PIN hash is never returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Account id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Consecutive wrong PINs recorded.
    pub failed_pins: u32,
    /// When it was created (label).
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    pin_hash: String,
    disabled: bool,
    failed_pins: i32,
    created_at: DateTime<Utc>,
}

impl StaffRow {
    fn account(&self) -> Result<StaffAccount, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            row: format!("staff {}", self.username),
            reason,
        };
        Ok(StaffAccount {
            id: Uuid::parse_str(&self.id).map_err(|e| corrupt(format!("id: {e}")))?,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: Role::parse(&self.role)
                .ok_or_else(|| corrupt(format!("unknown role {:?}", self.role)))?,
            disabled: self.disabled,
            failed_pins: u32::try_from(self.failed_pins).unwrap_or(0),
            created_at: self.created_at,
        })
    }
}

/// Why an account operation or a login failed.
#[derive(Debug, Error)]
pub enum LoginError {
    /// Unknown user or wrong PIN (deliberately not told apart).
    #[error("unknown user or wrong PIN ({remaining} attempt(s) left before lockout)")]
    WrongPin {
        /// Attempts left before lockout.
        remaining: u32,
    },
    /// Too many wrong PINs.
    #[error("account {username} is locked for another {} s after repeated wrong PINs", retry_in.as_secs())]
    LockedOut {
        /// The account.
        username: String,
        /// Time left.
        retry_in: Duration,
    },
    /// The account is disabled.
    #[error("account {0} is disabled")]
    Disabled(String),
    /// The username is not acceptable.
    #[error("username {0:?} must be 1-32 characters of a-z, 0-9, '.', '_' or '-'")]
    BadUsername(String),
    /// The display name is empty.
    #[error("display name must not be empty")]
    BadDisplayName,
    /// The PIN is not acceptable.
    #[error("PIN must be 4 to 12 digits")]
    BadPin,
    /// The username is taken.
    #[error("username {0} already exists")]
    Exists(String),
    /// No such account.
    #[error("no account named {0}")]
    NoSuchUser(String),
    /// Hashing failed.
    #[error("PIN hashing failed: {0}")]
    Hash(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Check a username (pure).
pub fn validate_username(u: &str) -> Result<(), LoginError> {
    let ok = !u.is_empty()
        && u.len() <= 32
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(LoginError::BadUsername(u.to_string()))
    }
}

/// Check a PIN's shape (pure): 4–12 ASCII digits.
pub fn validate_pin(pin: &str) -> Result<(), LoginError> {
    if (4..=12).contains(&pin.len()) && pin.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(LoginError::BadPin)
    }
}

/// Hash a PIN with Argon2id (default parameters, random salt) into a PHC string.
pub fn hash_pin(pin: &str) -> Result<String, LoginError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| LoginError::Hash(e.to_string()))
}

/// Whether `pin` matches the PHC string `hash` (false for a malformed hash).
pub fn verify_pin(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

/// Lockout settings (site settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong PINs in a row that lock the account.
    pub max_attempts: u32,
    /// How long it stays locked.
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_attempts: 5,
            lock_for: Duration::from_secs(5 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Attempts {
    failures: u32,
    locked_until: Option<MonoInstant>,
}

/// The lockout state machine (pure; `now` is the monotonic clock, an input).
#[derive(Debug, Clone, Default)]
pub struct PinGuard {
    policy: LockoutPolicy,
    users: HashMap<String, Attempts>,
}

impl PinGuard {
    /// A guard with `policy`.
    pub fn new(policy: LockoutPolicy) -> Self {
        PinGuard {
            policy,
            users: HashMap::new(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> LockoutPolicy {
        self.policy
    }

    /// Seed a user's failures from the store (after a restart), once: a user
    /// already at the limit is locked from `now`.
    pub fn seed(&mut self, username: &str, failures: u32, now: MonoInstant) {
        let policy = self.policy;
        self.users.entry(username.to_string()).or_insert_with(|| {
            if failures >= policy.max_attempts {
                Attempts {
                    failures,
                    locked_until: Some(now + policy.lock_for),
                }
            } else {
                Attempts {
                    failures,
                    locked_until: None,
                }
            }
        });
    }

    /// `Some(time left)` while `username` is locked out at `now`.
    pub fn locked(&mut self, username: &str, now: MonoInstant) -> Option<Duration> {
        let a = self.users.get_mut(username)?;
        match a.locked_until {
            Some(until) if now < until => Some(until - now),
            Some(_) => {
                *a = Attempts::default();
                None
            }
            None => None,
        }
    }

    /// Record a wrong PIN; returns attempts left (0 = now locked).
    pub fn failure(&mut self, username: &str, now: MonoInstant) -> u32 {
        let policy = self.policy;
        let a = self.users.entry(username.to_string()).or_default();
        a.failures += 1;
        if a.failures >= policy.max_attempts {
            a.locked_until = Some(now + policy.lock_for);
            0
        } else {
            policy.max_attempts - a.failures
        }
    }

    /// Record a correct PIN: the count starts again.
    pub fn success(&mut self, username: &str) {
        self.users.insert(username.to_string(), Attempts::default());
    }

    /// Consecutive failures recorded for `username`.
    pub fn failures(&self, username: &str) -> u32 {
        self.users.get(username).map_or(0, |a| a.failures)
    }
}

/// What the screen may show (pure view of [`IdleLock`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockView {
    /// The kiosk is locked.
    pub locked: bool,
    /// Running timers and their deadlines stay visible (always true).
    pub show_timers: bool,
    /// Alarms stay visible and audible (always true).
    pub show_alarms: bool,
    /// Patient name, id and other identity: only when unlocked.
    pub show_patient_identity: bool,
    /// Who is logged in.
    pub user: Option<String>,
}

/// A session that [`IdleLock`] locked (to be audited as [`AuditAction::AutoLock`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoLocked {
    /// Who was logged in.
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Session {
    Locked,
    Unlocked {
        user: String,
        role: Role,
        last_activity: MonoInstant,
    },
}

/// Idle auto-lock, quinn-style: `activity(now)`, `poll_timeout()`,
/// `handle_timeout(now)`. Starts locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleLock {
    idle_after: Duration,
    session: Session,
}

impl IdleLock {
    /// A locked kiosk that will lock again after `idle_after` without activity.
    pub fn new(idle_after: Duration) -> Self {
        IdleLock {
            idle_after,
            session: Session::Locked,
        }
    }

    /// A successful login at `now`.
    pub fn unlock(&mut self, user: &str, role: Role, now: MonoInstant) {
        self.session = Session::Unlocked {
            user: user.to_string(),
            role,
            last_activity: now,
        };
    }

    /// A touch or key press at `now`: the idle countdown restarts.
    pub fn activity(&mut self, now: MonoInstant) {
        if let Session::Unlocked { last_activity, .. } = &mut self.session {
            *last_activity = (*last_activity).max(now);
        }
    }

    /// Lock now (manual lock or logout); returns who was logged in.
    pub fn lock(&mut self) -> Option<String> {
        match std::mem::replace(&mut self.session, Session::Locked) {
            Session::Unlocked { user, .. } => Some(user),
            Session::Locked => None,
        }
    }

    /// When the kiosk will lock if nothing happens.
    pub fn poll_timeout(&self) -> Option<MonoInstant> {
        match &self.session {
            Session::Unlocked { last_activity, .. } => Some(*last_activity + self.idle_after),
            Session::Locked => None,
        }
    }

    /// Fire the idle deadline if it is due at `now`.
    pub fn handle_timeout(&mut self, now: MonoInstant) -> Option<AutoLocked> {
        match self.poll_timeout() {
            Some(due) if due <= now => self.lock().map(|user| AutoLocked { user }),
            _ => None,
        }
    }

    /// The logged-in user and role.
    pub fn user(&self) -> Option<(&str, Role)> {
        match &self.session {
            Session::Unlocked { user, role, .. } => Some((user, *role)),
            Session::Locked => None,
        }
    }

    /// Whether the current session may do `p` (locked: only viewing timers).
    pub fn allows(&self, p: Permission) -> bool {
        match self.user() {
            Some((_, role)) => role.allows(p),
            None => p == Permission::ViewTimers,
        }
    }

    /// What the screen may show.
    pub fn view(&self) -> LockView {
        let user = self.user().map(|(u, _)| u.to_string());
        LockView {
            locked: user.is_none(),
            show_timers: true,
            show_alarms: true,
            show_patient_identity: user.is_some(),
            user,
        }
    }
}

/// A syntactically valid Argon2 hash of no real PIN: verifying against it
/// costs the same time as a real check, so unknown usernames are not revealed.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_pin("00000000").unwrap_or_default())
}

impl Store {
    /// Write an audit event to the log of `device`.
    pub async fn audit(
        &self,
        device: &DeviceId,
        at: AuditAt,
        event: &AuditEvent,
    ) -> Result<StoredEntry, StoreError> {
        let actor = event.user.clone().unwrap_or_else(|| "system".to_string());
        let entry = NewEntry::new(at.exam, EntryKind::Audit, actor, at.at, at.wall, event)?;
        self.append(device, &entry).await
    }

    /// Add an account (the caller checks [`Permission::ManageUsers`], or that
    /// no admin exists yet for the first one).
    pub async fn add_staff(&self, new: &NewStaff) -> Result<StaffAccount, LoginError> {
        validate_username(&new.username)?;
        if new.display_name.trim().is_empty() {
            return Err(LoginError::BadDisplayName);
        }
        validate_pin(&new.pin)?;
        if self.staff_row(&new.username).await?.is_some() {
            return Err(LoginError::Exists(new.username.clone()));
        }
        let pin_hash = hash_pin(&new.pin)?;
        let id = Uuid::new_v4();
        let now = Utc::now();
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO staff (id, username, display_name, role, pin_hash, disabled, \
                 failed_pins, created_at) VALUES ($1, $2, $3, $4, $5, FALSE, 0, $6)",
            )
            .bind(id.to_string())
            .bind(&new.username)
            .bind(new.display_name.trim())
            .bind(new.role.as_str())
            .bind(&pin_hash)
            .bind(now)
            .execute(pool)
            .await
            .map_err(StoreError::db("adding an account"))?;
        });
        self.staff(&new.username)
            .await?
            .ok_or_else(|| LoginError::NoSuchUser(new.username.clone()))
    }

    async fn staff_row(&self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, username, display_name, role, pin_hash, disabled, failed_pins, \
                 created_at FROM staff WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("reading an account"))?
        }))
    }

    /// One account by username.
    pub async fn staff(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        self.staff_row(username)
            .await?
            .map(|r| r.account())
            .transpose()
    }

    /// Every account, by username.
    pub async fn list_staff(&self) -> Result<Vec<StaffAccount>, StoreError> {
        let rows: Vec<StaffRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, username, display_name, role, pin_hash, disabled, failed_pins, \
                 created_at FROM staff ORDER BY username",
            )
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("listing accounts"))?
        });
        rows.iter().map(StaffRow::account).collect()
    }

    /// Whether an enabled admin exists (the CLI lets anyone add the first one).
    pub async fn has_admin(&self) -> Result<bool, StoreError> {
        Ok(self
            .list_staff()
            .await?
            .iter()
            .any(|a| a.role == Role::Admin && !a.disabled))
    }

    /// Disable an account (kept for the audit trail; never deleted).
    pub async fn disable_staff(&self, username: &str) -> Result<(), LoginError> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE staff SET disabled = TRUE WHERE username = $1")
                .bind(username)
                .execute(pool)
                .await
                .map_err(StoreError::db("disabling an account"))?
                .rows_affected()
        });
        if n == 0 {
            return Err(LoginError::NoSuchUser(username.to_string()));
        }
        Ok(())
    }

    /// Set a new PIN (resets the wrong-PIN count).
    pub async fn set_pin(&self, username: &str, pin: &str) -> Result<(), LoginError> {
        validate_pin(pin)?;
        let hash = hash_pin(pin)?;
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE staff SET pin_hash = $1, failed_pins = 0 WHERE username = $2")
                .bind(&hash)
                .bind(username)
                .execute(pool)
                .await
                .map_err(StoreError::db("setting a PIN"))?
                .rows_affected()
        });
        if n == 0 {
            return Err(LoginError::NoSuchUser(username.to_string()));
        }
        Ok(())
    }

    async fn set_failed_pins(&self, username: &str, n: u32) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE staff SET failed_pins = $1 WHERE username = $2")
                .bind(i32::try_from(n).unwrap_or(i32::MAX))
                .bind(username)
                .execute(pool)
                .await
                .map_err(StoreError::db("recording a wrong PIN"))?;
        });
        Ok(())
    }

    /// Check a PIN at monotonic `now`; every attempt is audited with its outcome
    /// (the PIN itself never). Unknown users and wrong PINs answer the same.
    pub async fn login(
        &self,
        device: &DeviceId,
        guard: &mut PinGuard,
        username: &str,
        pin: &str,
        now: MonoInstant,
        at: AuditAt,
    ) -> Result<StaffAccount, LoginError> {
        let row = self.staff_row(username).await?;
        if let Some(row) = &row {
            guard.seed(username, u32::try_from(row.failed_pins).unwrap_or(0), now);
        }
        let audit = |reason: Option<&str>| AuditEvent {
            action: AuditAction::Login,
            user: Some(username.to_string()),
            subject: None,
            outcome: match reason {
                None => AuditOutcome::Success,
                Some(r) => AuditOutcome::Failure {
                    reason: r.to_string(),
                },
            },
        };
        if let Some(retry_in) = guard.locked(username, now) {
            self.audit(device, at, &audit(Some("locked out"))).await?;
            return Err(LoginError::LockedOut {
                username: username.to_string(),
                retry_in,
            });
        }
        let Some(row) = row else {
            verify_pin(pin, dummy_hash());
            let remaining = guard.failure(username, now);
            self.audit(device, at, &audit(Some("unknown user"))).await?;
            return Err(LoginError::WrongPin { remaining });
        };
        if row.disabled {
            self.audit(device, at, &audit(Some("account disabled")))
                .await?;
            return Err(LoginError::Disabled(username.to_string()));
        }
        if !verify_pin(pin, &row.pin_hash) {
            let remaining = guard.failure(username, now);
            self.set_failed_pins(username, guard.failures(username))
                .await?;
            let reason = if remaining == 0 {
                "wrong PIN; account locked"
            } else {
                "wrong PIN"
            };
            self.audit(device, at, &audit(Some(reason))).await?;
            return Err(LoginError::WrongPin { remaining });
        }
        guard.success(username);
        self.set_failed_pins(username, 0).await?;
        self.audit(device, at, &audit(None)).await?;
        Ok(row.account()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_shape_and_hash() {
        assert!(validate_pin("1234").is_ok());
        assert!(validate_pin("123").is_err());
        assert!(validate_pin("12a4").is_err());
        let h = hash_pin("2468").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_pin("2468", &h));
        assert!(!verify_pin("2469", &h));
        assert!(!verify_pin("2468", "not a hash"));
    }

    #[test]
    fn new_staff_debug_hides_the_pin() {
        let n = NewStaff {
            username: "ann".into(),
            display_name: "Ann".into(),
            role: Role::Nurse,
            pin: "975310".into(),
        };
        assert!(!format!("{n:?}").contains("975310"));
    }
}
