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

use super::log::{DeviceId, EntryKind, ExamId, NewEntry, StoredEntry, append_in_tx};
use super::{Store, StoreError, in_write_tx, on_pool};
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
            P::SelectAgent | P::Inject | P::AcquireSeries | P::LgeEarlyStart | P::FinishExam => {
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
    /// Finish an exam (the technologist's end of it; issue 15).
    FinishExam,
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
        ExamEvent::ExamFinished { .. } => Permission::FinishExam,
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
    /// An account's PIN was set again.
    PinChanged,
    /// A lockout ran out and the wrong-PIN count started again.
    LockoutEnded,
    /// An administrator was recovered from the kiosk's shell.
    AdminRecovered,
    /// `log verify` found the record altered (subject: its finding).
    VerificationFailed,
    /// A site setting was changed on the kiosk (subject: `key = value`).
    SettingsChanged,
    /// A console prompt (reminder) was dismissed; `subject` names the prompt.
    PromptDismissed,
    /// The DICOM node: an association accepted, rejected or aborted, an instance
    /// stored or refused, a study removed for space; `user` is the calling AE
    /// title.
    DicomNode,
    /// An online backup of the database (subject: the file and its verification).
    Backup,
    /// The database restored from a backup (subject: the backup, and where the
    /// replaced database was kept).
    Restore,
    /// The database migrated forward by a newer program (subject: from and to, and
    /// the backup taken first).
    Upgrade,
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
    /// An account's state after a change to it: the accounts table is a
    /// projection of these, checked by `log verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountState>,
}

impl AuditEvent {
    /// An event with no account state.
    pub fn new(
        action: AuditAction,
        user: Option<String>,
        subject: Option<String>,
        outcome: AuditOutcome,
    ) -> Self {
        AuditEvent {
            action,
            user,
            subject,
            outcome,
            account: None,
        }
    }
}

/// An account as logged with each change to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Account id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Disabled.
    pub disabled: bool,
    /// SHA-256 of the stored PIN hash (hex): a swapped hash is seen, the hash
    /// itself never leaves the kiosk.
    pub pin_digest: String,
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
    mac: String,
}

/// `SELECT` of a [`StaffRow`]'s columns, in its order, followed by `$rest`.
macro_rules! select_staff {
    ($rest:literal) => {
        concat!(
            "SELECT id, username, display_name, role, pin_hash, disabled, failed_pins, \
             created_at, mac FROM staff",
            $rest
        )
    };
}

impl StaffRow {
    /// The bytes the row's MAC covers: every column but the wrong-PIN count
    /// (counted atomically by SQL; its tampering is found against the log) and
    /// the MAC itself.
    fn mac_content(&self) -> Vec<u8> {
        serde_json::json!([
            "cmr-staff-v1",
            self.id,
            self.username,
            self.display_name,
            self.role,
            self.pin_hash,
            self.disabled,
            self.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        ])
        .to_string()
        .into_bytes()
    }

    /// HMAC-SHA-256 of [`StaffRow::mac_content`] keyed from the pepper (hex).
    fn compute_mac(&self, pepper: &[u8]) -> String {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(pepper)
            .expect("HMAC takes a key of any length");
        m.update(b"cmr-staff-mac");
        m.update(&self.mac_content());
        hex::encode(m.finalize().into_bytes())
    }

    /// The state logged with a change.
    fn state(&self) -> Result<AccountState, StoreError> {
        let a = self.account()?;
        Ok(AccountState {
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            role: a.role,
            disabled: a.disabled,
            pin_digest: pin_digest(&self.pin_hash),
        })
    }

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
    /// An admin's or physician's PIN is too short.
    #[error("the PIN of a {0} account must have at least 6 digits")]
    ShortPin(Role),
    /// The last enabled administrator cannot be disabled.
    #[error(
        "{0} is the last enabled administrator and cannot be disabled; add another \
         administrator first"
    )]
    LastAdmin(String),
    /// The first administrator can only be created on a database that never had one.
    #[error(
        "this kiosk has had an administrator: a new one is added by an administrator, or \
         recovered with `cmr-kiosk user recover-admin` on the kiosk itself"
    )]
    AdminExisted,
    /// The account's row was changed outside the kiosk (its MAC does not match).
    #[error("account {0}'s record was changed outside the kiosk: run `cmr-kiosk log verify`")]
    Tampered(String),
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

/// Digits an administrator's or physician's PIN needs at least (they lift
/// clinical limits and manage accounts); other roles need [`MIN_PIN_DIGITS`].
pub const MIN_PRIVILEGED_PIN_DIGITS: usize = 6;
/// Digits any PIN needs at least.
pub const MIN_PIN_DIGITS: usize = 4;
/// Digits a PIN may have at most.
pub const MAX_PIN_DIGITS: usize = 12;

/// Check a PIN's shape (pure): 4–12 ASCII digits.
pub fn validate_pin(pin: &str) -> Result<(), LoginError> {
    if (MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&pin.len())
        && pin.chars().all(|c| c.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(LoginError::BadPin)
    }
}

/// Check a PIN for `role` (pure): admins and physicians need at least
/// [`MIN_PRIVILEGED_PIN_DIGITS`] digits.
pub fn validate_pin_for(role: Role, pin: &str) -> Result<(), LoginError> {
    validate_pin(pin)?;
    if matches!(role, Role::Admin | Role::Physician) && pin.len() < MIN_PRIVILEGED_PIN_DIGITS {
        return Err(LoginError::ShortPin(role));
    }
    Ok(())
}

fn argon2(pepper: Option<&[u8]>) -> Result<Argon2<'_>, LoginError> {
    match pepper {
        None => Ok(Argon2::default()),
        Some(secret) => Argon2::new_with_secret(
            secret,
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::default(),
        )
        .map_err(|e| LoginError::Hash(e.to_string())),
    }
}

/// Hash a PIN with Argon2id (default parameters, random salt) into a PHC string.
pub fn hash_pin(pin: &str) -> Result<String, LoginError> {
    hash_pin_with(pin, None)
}

/// Hash a PIN with Argon2id keyed by `pepper` (Argon2's secret input, kept
/// outside the database): without the pepper the hash cannot be tested offline.
pub fn hash_pin_with(pin: &str, pepper: Option<&[u8]>) -> Result<String, LoginError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(pepper)?
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| LoginError::Hash(e.to_string()))
}

/// Whether `pin` matches the PHC string `hash` (false for a malformed hash).
pub fn verify_pin(pin: &str, hash: &str) -> bool {
    verify_pin_with(pin, hash, None)
}

/// [`verify_pin`] for a hash made with `pepper`.
pub fn verify_pin_with(pin: &str, hash: &str, pepper: Option<&[u8]>) -> bool {
    let Ok(a) = argon2(pepper) else {
        return false;
    };
    PasswordHash::new(hash).is_ok_and(|h| a.verify_password(pin.as_bytes(), &h).is_ok())
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

    /// Take the store's count of wrong PINs for `username` (counted there
    /// atomically, so attempts from other processes count too); at the limit the
    /// account is locked from `now`. Returns attempts left.
    pub fn set_failures(&mut self, username: &str, failures: u32, now: MonoInstant) -> u32 {
        let policy = self.policy;
        let a = self.users.entry(username.to_string()).or_default();
        a.failures = failures;
        if failures >= policy.max_attempts {
            a.locked_until.get_or_insert(now + policy.lock_for);
            0
        } else {
            policy.max_attempts - failures
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
fn pin_digest(pin_hash: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(pin_hash.as_bytes()))
}

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

    fn pepper(&self) -> Option<&[u8]> {
        self.keys().map(|k| &k.pepper()[..])
    }

    /// Whether `row`'s MAC is right (always, for a store opened without keys).
    fn mac_ok(&self, row: &StaffRow) -> bool {
        self.pepper().is_none_or(|p| row.compute_mac(p) == row.mac)
    }

    /// Write `row` (inserted when `insert`, else updated by id) and the audit
    /// event recording its new state, in one transaction: there is never an
    /// account change without its log row, nor a log row without the change.
    async fn write_account(
        &self,
        device: &DeviceId,
        at: AuditAt,
        mut row: StaffRow,
        insert: bool,
        mut event: AuditEvent,
    ) -> Result<StaffAccount, LoginError> {
        if let Some(p) = self.pepper() {
            row.mac = row.compute_mac(p);
        }
        event.account = Some(row.state()?);
        let actor = event.user.clone().unwrap_or_else(|| "system".to_string());
        let entry = NewEntry::new(at.exam, EntryKind::Audit, actor, at.at, at.wall, &event)?;
        let checkpoint = in_write_tx!(self, "changing an account", |tx| {
            let sql = if insert {
                "INSERT INTO staff (id, username, display_name, role, pin_hash, disabled, \
                 failed_pins, created_at, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            } else {
                "UPDATE staff SET username = $2, display_name = $3, role = $4, pin_hash = $5, \
                 disabled = $6, failed_pins = $7, created_at = $8, mac = $9 WHERE id = $1"
            };
            sqlx::query(sql)
                .bind(&row.id)
                .bind(&row.username)
                .bind(&row.display_name)
                .bind(&row.role)
                .bind(&row.pin_hash)
                .bind(row.disabled)
                .bind(row.failed_pins)
                .bind(row.created_at)
                .bind(&row.mac)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("writing an account"))?;
            let appended = append_in_tx!(self, tx, device, &entry);
            appended.2
        })?;
        self.witness(checkpoint.as_ref());
        Ok(row.account()?)
    }

    /// Add an account, audited in the same transaction (the caller checks
    /// [`Permission::ManageUsers`], or [`Store::first_admin_allowed`] for the
    /// first one). `by` is who added it.
    pub async fn add_staff(
        &self,
        device: &DeviceId,
        by: Option<&str>,
        at: AuditAt,
        new: &NewStaff,
    ) -> Result<StaffAccount, LoginError> {
        let row = self.new_row(new).await?;
        let event = AuditEvent::new(
            AuditAction::UserAdded,
            Some(by.unwrap_or(&new.username).to_string()),
            Some(format!("{} ({})", new.username, new.role)),
            AuditOutcome::Success,
        );
        self.write_account(device, at, row, true, event).await
    }

    /// A new account's row, its input checked (name, display name, PIN for the role)
    /// and its PIN hashed with the pepper; refused when the name is taken.
    async fn new_row(&self, new: &NewStaff) -> Result<StaffRow, LoginError> {
        validate_username(&new.username)?;
        if new.display_name.trim().is_empty() {
            return Err(LoginError::BadDisplayName);
        }
        validate_pin_for(new.role, &new.pin)?;
        if self.staff_row(&new.username).await?.is_some() {
            return Err(LoginError::Exists(new.username.clone()));
        }
        Ok(StaffRow {
            id: Uuid::new_v4().to_string(),
            username: new.username.clone(),
            display_name: new.display_name.trim().to_string(),
            role: new.role.as_str().to_string(),
            pin_hash: hash_pin_with(&new.pin, self.pepper())?,
            disabled: false,
            failed_pins: 0,
            created_at: chrono::SubsecRound::trunc_subsecs(Utc::now(), 3),
            mac: String::new(),
        })
    }

    /// Add an administrator without signing in: the documented recovery from a
    /// lost administrator, run from the kiosk's own shell (it needs the key
    /// folder); logged as [`AuditAction::AdminRecovered`].
    pub async fn recover_admin(
        &self,
        device: &DeviceId,
        at: AuditAt,
        new: &NewStaff,
    ) -> Result<StaffAccount, LoginError> {
        let row = self
            .new_row(&NewStaff {
                role: Role::Admin,
                ..new.clone()
            })
            .await?;
        let event = AuditEvent::new(
            AuditAction::AdminRecovered,
            Some("shell".to_string()),
            Some(format!("{} (admin)", new.username)),
            AuditOutcome::Success,
        );
        self.write_account(device, at, row, true, event).await
    }

    async fn staff_row(&self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(select_staff!(" WHERE username = $1"))
                .bind(username)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("reading an account"))?
        }))
    }

    async fn staff_rows(&self) -> Result<Vec<StaffRow>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(select_staff!(" ORDER BY username"))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("listing accounts"))?
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
        self.staff_rows()
            .await?
            .iter()
            .map(StaffRow::account)
            .collect()
    }

    /// Whether an enabled admin exists.
    pub async fn has_admin(&self) -> Result<bool, StoreError> {
        Ok(self
            .list_staff()
            .await?
            .iter()
            .any(|a| a.role == Role::Admin && !a.disabled))
    }

    /// Whether the first administrator may be created without signing in: only on
    /// a database that has never had one (no admin account, enabled or not, and no
    /// logged admin account), never after every admin was disabled.
    pub async fn first_admin_allowed(&self) -> Result<bool, StoreError> {
        if self
            .list_staff()
            .await?
            .iter()
            .any(|a| a.role == Role::Admin)
        {
            return Ok(false);
        }
        Ok(!self
            .account_history()
            .await?
            .values()
            .any(|h| h.state.role == Role::Admin))
    }

    /// Disable an account (kept for the audit trail; never deleted), audited in
    /// the same transaction. The last enabled administrator cannot be disabled.
    pub async fn disable_staff(
        &self,
        device: &DeviceId,
        by: Option<&str>,
        at: AuditAt,
        username: &str,
    ) -> Result<(), LoginError> {
        let mut row = self
            .staff_row(username)
            .await?
            .ok_or_else(|| LoginError::NoSuchUser(username.to_string()))?;
        if row.role == Role::Admin.as_str() && !row.disabled {
            let others = self
                .list_staff()
                .await?
                .iter()
                .filter(|a| a.role == Role::Admin && !a.disabled && a.username != username)
                .count();
            if others == 0 {
                return Err(LoginError::LastAdmin(username.to_string()));
            }
        }
        row.disabled = true;
        let event = AuditEvent::new(
            AuditAction::UserDisabled,
            by.map(str::to_string),
            Some(username.to_string()),
            AuditOutcome::Success,
        );
        self.write_account(device, at, row, false, event).await?;
        Ok(())
    }

    /// Set a new PIN (resets the wrong-PIN count), audited in the same transaction.
    pub async fn set_pin(
        &self,
        device: &DeviceId,
        by: Option<&str>,
        at: AuditAt,
        username: &str,
        pin: &str,
    ) -> Result<(), LoginError> {
        let mut row = self
            .staff_row(username)
            .await?
            .ok_or_else(|| LoginError::NoSuchUser(username.to_string()))?;
        let role = Role::parse(&row.role).unwrap_or(Role::Admin);
        validate_pin_for(role, pin)?;
        row.pin_hash = hash_pin_with(pin, self.pepper())?;
        row.failed_pins = 0;
        let event = AuditEvent::new(
            AuditAction::PinChanged,
            by.map(str::to_string),
            Some(username.to_string()),
            AuditOutcome::Success,
        );
        self.write_account(device, at, row, false, event).await?;
        Ok(())
    }

    /// Count one attempt for `username` before its PIN is checked, in one
    /// conditional UPDATE: parallel attempts (other processes included) each
    /// count, and none is checked once the count reached `max`. Returns the new
    /// count, or `None` when the account is at the limit (locked).
    async fn reserve_attempt(&self, username: &str, max: u32) -> Result<Option<u32>, StoreError> {
        let n: Option<(i32,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "UPDATE staff SET failed_pins = failed_pins + 1 \
                 WHERE username = $1 AND failed_pins < $2 RETURNING failed_pins",
            )
            .bind(username)
            .bind(i32::try_from(max).unwrap_or(i32::MAX))
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("counting a PIN attempt"))?
        });
        Ok(n.map(|n| u32::try_from(n.0).unwrap_or(0)))
    }

    async fn reset_failed_pins(&self, username: &str, at_least: u32) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE staff SET failed_pins = 0 WHERE username = $1 AND failed_pins >= $2",
            )
            .bind(username)
            .bind(i32::try_from(at_least).unwrap_or(i32::MAX))
            .execute(pool)
            .await
            .map_err(StoreError::db("resetting the wrong-PIN count"))?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Check a PIN at monotonic `now`; every attempt is audited with its outcome
    /// (the PIN itself never). Unknown users and wrong PINs answer the same. The
    /// attempt is counted in the database before the PIN is checked, so parallel
    /// attempts cannot get past the limit; an account whose row was changed
    /// outside the kiosk is refused.
    pub async fn login(
        &self,
        device: &DeviceId,
        guard: &mut PinGuard,
        username: &str,
        pin: &str,
        now: MonoInstant,
        at: AuditAt,
    ) -> Result<StaffAccount, LoginError> {
        let max = guard.policy().max_attempts;
        let row = self.staff_row(username).await?;
        let audit = |action: AuditAction, reason: Option<&str>| {
            AuditEvent::new(
                action,
                Some(username.to_string()),
                None,
                match reason {
                    None => AuditOutcome::Success,
                    Some(r) => AuditOutcome::Failure {
                        reason: r.to_string(),
                    },
                },
            )
        };
        let login = |reason: Option<&str>| audit(AuditAction::Login, reason);
        let Some(row) = row else {
            verify_pin(pin, dummy_hash());
            let remaining = guard.failure(username, now);
            self.audit(device, at, &login(Some("unknown user"))).await?;
            return Err(LoginError::WrongPin { remaining });
        };
        if row.disabled {
            self.audit(device, at, &login(Some("account disabled")))
                .await?;
            return Err(LoginError::Disabled(username.to_string()));
        }
        if !self.mac_ok(&row) {
            self.audit(
                device,
                at,
                &login(Some("account record changed outside the kiosk")),
            )
            .await?;
            return Err(LoginError::Tampered(username.to_string()));
        }
        let stored = u32::try_from(row.failed_pins).unwrap_or(0);
        guard.seed(username, stored, now);
        if let Some(retry_in) = guard.locked(username, now) {
            self.audit(device, at, &login(Some("locked out"))).await?;
            return Err(LoginError::LockedOut {
                username: username.to_string(),
                retry_in,
            });
        }
        if stored >= max && self.reset_failed_pins(username, max).await? {
            // This process's lock ran out: the count starts again, on the record.
            self.audit(device, at, &audit(AuditAction::LockoutEnded, None))
                .await?;
        }
        let Some(count) = self.reserve_attempt(username, max).await? else {
            guard.set_failures(username, max, now);
            self.audit(device, at, &login(Some("locked out"))).await?;
            return Err(LoginError::LockedOut {
                username: username.to_string(),
                retry_in: guard.locked(username, now).unwrap_or_default(),
            });
        };
        if !verify_pin_with(pin, &row.pin_hash, self.pepper()) {
            let remaining = guard.set_failures(username, count, now);
            let reason = if remaining == 0 {
                "wrong PIN; account locked"
            } else {
                "wrong PIN"
            };
            self.audit(device, at, &login(Some(reason))).await?;
            return Err(LoginError::WrongPin { remaining });
        }
        guard.success(username);
        self.reset_failed_pins(username, 0).await?;
        self.audit(device, at, &login(None)).await?;
        Ok(row.account()?)
    }

    /// Each account's logged history: the newest state logged with a change,
    /// and the wrong PINs logged since the count last started again.
    async fn account_history(
        &self,
    ) -> Result<std::collections::BTreeMap<String, AccountHistory>, StoreError> {
        let rows: Vec<(String, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT device_id, seq, payload FROM events WHERE kind = 'audit' \
                 ORDER BY device_id, seq",
            )
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("reading account changes"))?
        });
        let mut out: std::collections::BTreeMap<String, AccountHistory> = Default::default();
        for (device, seq, payload) in rows {
            let event: AuditEvent =
                serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
                    row: format!("{device} #{seq}"),
                    reason: format!("audit payload: {e}"),
                })?;
            if let Some(state) = event.account {
                let h = out.entry(state.username.clone()).or_insert(AccountHistory {
                    state: state.clone(),
                    wrong_pins: 0,
                });
                if matches!(
                    event.action,
                    AuditAction::PinChanged | AuditAction::UserAdded | AuditAction::AdminRecovered
                ) {
                    h.wrong_pins = 0;
                }
                h.state = state;
                continue;
            }
            let Some(h) = event.user.as_ref().and_then(|u| out.get_mut(u)) else {
                continue;
            };
            match (event.action, &event.outcome) {
                (AuditAction::Login, AuditOutcome::Success) | (AuditAction::LockoutEnded, _) => {
                    h.wrong_pins = 0
                }
                (AuditAction::Login, AuditOutcome::Failure { reason })
                    if reason.starts_with("wrong PIN") =>
                {
                    h.wrong_pins += 1
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The accounts table against the log: every account has its logged history
    /// and matches its newest logged state; none was deleted; no wrong-PIN count
    /// is below what the log counts; with the kiosk's keys, every row's MAC holds.
    /// Returns the first difference as a sentence.
    pub async fn verify_accounts(&self) -> Result<Option<String>, StoreError> {
        let history = self.account_history().await?;
        let rows = self.staff_rows().await?;
        for row in &rows {
            let u = &row.username;
            if !self.mac_ok(row) {
                return Ok(Some(format!(
                    "account {u}'s row was changed outside the kiosk (its MAC does not match)"
                )));
            }
            let Some(h) = history.get(u) else {
                return Ok(Some(format!(
                    "account {u} has no record in the log: it was added outside the kiosk"
                )));
            };
            let state = row.state()?;
            if state != h.state {
                let what = [
                    (state.role != h.state.role, "role"),
                    (state.disabled != h.state.disabled, "disabled"),
                    (state.display_name != h.state.display_name, "name"),
                    (state.pin_digest != h.state.pin_digest, "PIN hash"),
                    (state.id != h.state.id, "id"),
                ]
                .into_iter()
                .filter(|(d, _)| *d)
                .map(|(_, w)| w)
                .collect::<Vec<_>>()
                .join(", ");
                return Ok(Some(format!(
                    "account {u} differs from its logged record ({what})"
                )));
            }
            if i64::from(row.failed_pins) < i64::from(h.wrong_pins) {
                return Ok(Some(format!(
                    "account {u}'s wrong-PIN count is {} but the log counts {}: the lockout \
                     counter was reset outside the kiosk",
                    row.failed_pins, h.wrong_pins
                )));
            }
        }
        for u in history.keys() {
            if !rows.iter().any(|r| &r.username == u) {
                return Ok(Some(format!(
                    "account {u} is in the log but missing from the accounts table: it was \
                     deleted outside the kiosk"
                )));
            }
        }
        Ok(None)
    }
}

/// One account's logged history (see [`Store::verify_accounts`]).
#[derive(Debug, Clone)]
struct AccountHistory {
    state: AccountState,
    wrong_pins: u32,
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
