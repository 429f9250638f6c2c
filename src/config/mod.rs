//! The site configuration: one TOML file, `kiosk.toml`.
//!
//! [`Config::parse`] is pure: it takes the file's text and returns a validated
//! configuration or a [`ConfigError`] that names the offending key. Unknown keys are
//! rejected. [`Config::load`] is the thin file-reading wrapper; with no file, the
//! built-in defaults apply (SQLite in the user's data directory, the built-in
//! simulated monitor). Every key and its default is documented in `kiosk.example.toml`.

pub mod site;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::domain::BreathHoldPhase;

/// Environment variable that names the configuration file.
pub const CONFIG_ENV: &str = "CMR_KIOSK_CONFIG";
/// Where a kiosk installation keeps its configuration when nothing else is named.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/cmr-kiosk/kiosk.toml";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid TOML, has an unknown key, or a value of the wrong type.
    #[error("configuration: {0}")]
    Syntax(String),
    /// A key has a value outside its allowed range.
    #[error("configuration key `{key}`: {message}")]
    Invalid {
        /// Dotted path of the key, e.g. `ui.dpi`.
        key: &'static str,
        /// What is wrong with the value and what is allowed.
        message: String,
    },
    /// A clinical practice value is outside its plausible range.
    #[error("configuration key `clinical.{}`: {}", .0.key, .0.message)]
    Clinical(crate::domain::settings::SettingError),
    /// The named file could not be read.
    #[error("configuration file {path}: {source}")]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// The whole site configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The hospital or imaging centre.
    pub institution: Institution,
    /// The MR scanner this kiosk stands beside.
    pub scanner: Scanner,
    /// Screen, language and theme.
    pub ui: UiConfig,
    /// Where the exam log is stored.
    pub database: Database,
    /// How the patient monitor is reached.
    pub monitor: MonitorConfig,
    /// Where acquired DICOM series arrive.
    pub dicom: DicomConfig,
    /// The site's clinical practice values (limits, ranges, waits, agents), laid
    /// over the standard's numbers; changed only by whoever may edit this file.
    pub clinical: crate::domain::settings::ClinicalSettings,
    /// The audit trail to the hospital's syslog collector (IHE ATNA).
    pub audit: AuditConfig,
    /// The hospital RIS the report's technique section is sent to (HL7 v2 over MLLP).
    pub ris: RisConfig,
    /// Where the console's "Print" sends the PDF exam sheet.
    pub report: crate::report::print::PrintConfig,
}

/// The hospital RIS (`[ris]`): where the ORU^R01 goes and how it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RisConfig {
    /// The RIS's MLLP listener, `host:port`; empty: no RIS (nothing is sent).
    pub address: String,
    /// MSH-3: the kiosk as an application.
    pub sending_application: String,
    /// MSH-4: the kiosk's facility.
    pub sending_facility: String,
    /// MSH-5: the RIS as an application.
    pub receiving_application: String,
    /// MSH-6: the RIS's facility.
    pub receiving_facility: String,
    /// Where the accession number goes: `obr3` (filler, ORC-3/OBR-3) or `orc2`
    /// (placer, ORC-2/OBR-2).
    pub order_key: crate::report::hl7::OrderKey,
    /// OBX value type: `tx` (one OBX per line) or `ft` (one OBX, `\.br\` breaks).
    pub text: crate::report::hl7::TextStyle,
}

impl Default for RisConfig {
    fn default() -> Self {
        RisConfig {
            address: String::new(),
            sending_application: "CMR_KIOSK".into(),
            sending_facility: String::new(),
            receiving_application: String::new(),
            receiving_facility: String::new(),
            order_key: crate::report::hl7::OrderKey::default(),
            text: crate::report::hl7::TextStyle::default(),
        }
    }
}

impl RisConfig {
    /// Longest application or facility name accepted (a bound; HL7 2.5.1 names 20).
    pub const MAX_NAME_CHARS: usize = 64;

    /// Why the section is refused: the key and the message.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !self.address.is_empty() {
            let port = self
                .address
                .rsplit_once(':')
                .filter(|(host, _)| !host.trim_matches(['[', ']']).is_empty())
                .and_then(|(_, port)| port.parse::<u16>().ok())
                .filter(|p| *p != 0);
            if port.is_none() {
                return Err((
                    "ris.address",
                    format!("`{}` is not host:port", self.address),
                ));
            }
        }
        for (key, value) in [
            ("ris.sending_application", &self.sending_application),
            ("ris.sending_facility", &self.sending_facility),
            ("ris.receiving_application", &self.receiving_application),
            ("ris.receiving_facility", &self.receiving_facility),
        ] {
            if value.chars().count() > Self::MAX_NAME_CHARS
                || value
                    .chars()
                    .any(|c| c.is_control() || matches!(c, '|' | '^' | '~' | '\\' | '&'))
            {
                return Err((
                    key,
                    format!(
                        "`{value}` must be at most {} characters without | ^ ~ \\ &",
                        Self::MAX_NAME_CHARS
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The hospital's audit collector (IHE ATNA, syslog over TLS).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// `tls://host:6514` (RFC 5425); empty: no audit trail leaves the kiosk (it stays
    /// in the exam log).
    pub syslog: String,
    /// The CA (PEM) the collector's certificate must chain to; its name must match.
    pub ca_file: String,
    /// INSECURE: accept `tcp://` (plaintext) to another machine.
    pub insecure_allow_plaintext: bool,
}

impl AuditConfig {
    /// The collector, when one is configured.
    pub fn collector(
        &self,
    ) -> Result<Option<crate::audit::relay::Collector>, crate::audit::relay::AuditRelayError> {
        if self.syslog.is_empty() {
            return Ok(None);
        }
        crate::audit::relay::Collector::parse(
            &self.syslog,
            &self.ca_file,
            self.insecure_allow_plaintext,
        )
        .map(Some)
    }
}

/// The incoming DICOM folder watched during an exam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DicomConfig {
    /// Folder the scanner or a DICOM node writes into; empty: no watch.
    pub incoming: String,
    /// Seconds between looks at the folder.
    pub poll_interval_s: f64,
    /// A site file of extra classification rules (tried before the shipped ones).
    pub rules: String,
    /// The kiosk as a DICOM node: its AE title and the receiver.
    pub node: NodeConfig,
    /// The hospital's modality worklist provider.
    pub worklist: WorklistConfig,
    /// The PACS the imaging-agent SR is sent to when an exam is finished.
    pub pacs: PacsConfig,
}

/// The PACS (`[dicom.pacs]`): a storage SCP that takes the kiosk's imaging-agent
/// administration SR (issue 15).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PacsConfig {
    /// Its address, `AE@HOST:PORT`; empty: the SR is not sent (it can still be
    /// written with `cmr-kiosk report EXAM --format sr`).
    pub address: String,
    /// Seconds one store may take.
    pub timeout_s: f64,
    /// A PEM file of the CA the PACS's TLS certificate chains to; set: TLS.
    pub tls_ca_file: String,
}

impl Default for PacsConfig {
    fn default() -> Self {
        PacsConfig {
            address: String::new(),
            timeout_s: 30.0,
            tls_ca_file: String::new(),
        }
    }
}

impl PacsConfig {
    /// The PACS as a peer, `None` when none is configured; an unreadable CA file is
    /// an error naming it.
    pub fn peer(&self) -> Result<Option<crate::dicom::node::Peer>, String> {
        let Ok(mut p) = self.address.parse::<crate::dicom::node::Peer>() else {
            return Ok(None);
        };
        p.timeout = std::time::Duration::from_secs_f64(self.timeout_s.clamp(1.0, 600.0));
        if !self.tls_ca_file.is_empty() {
            let config =
                crate::audit::relay::ca_client_config(std::path::Path::new(&self.tls_ca_file))?;
            p.tls = Some(std::sync::Arc::new(config));
        }
        Ok(Some(p))
    }
}

impl Default for DicomConfig {
    fn default() -> Self {
        DicomConfig {
            incoming: String::new(),
            poll_interval_s: 2.0,
            rules: String::new(),
            node: NodeConfig::default(),
            worklist: WorklistConfig::default(),
            pacs: PacsConfig::default(),
        }
    }
}

/// The kiosk's own DICOM node (a storage and verification SCP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The kiosk's AE title (called by the scanner, calling the worklist).
    pub ae_title: String,
    /// Address and port the receiver listens on (`0.0.0.0:11112`); empty: no
    /// receiver. Received files go into `dicom.incoming`.
    pub listen: String,
    /// Calling AE titles accepted (the scanner's); empty: any.
    pub callers: Vec<String>,
    /// Received files kept at most, in MiB; beyond, the oldest studies are removed.
    pub keep_mib: u64,
    /// Minutes after its last file a received study is discarded (the exam's watch
    /// has read it; PACS keeps the originals); 0: kept, under `keep_mib`.
    pub discard_after_min: f64,
}

impl NodeConfig {
    /// How long a quiet study is kept, `None` to keep it (under the cap).
    pub fn discard_after(&self) -> Option<std::time::Duration> {
        (self.discard_after_min > 0.0)
            .then(|| std::time::Duration::from_secs_f64(self.discard_after_min * 60.0))
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            ae_title: "CMR_KIOSK".into(),
            listen: String::new(),
            callers: Vec::new(),
            keep_mib: 20 * 1024,
            discard_after_min: 0.0,
        }
    }
}

/// The hospital's modality worklist provider (a C-FIND SCP, usually the RIS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorklistConfig {
    /// Its address, `AE@HOST:PORT`; empty: no worklist (manual registration only).
    pub provider: String,
    /// The scanner's AE title as the RIS schedules it; empty: any station.
    pub station_ae: String,
    /// The modality asked for.
    pub modality: String,
    /// Seconds one query may take.
    pub timeout_s: f64,
    /// A PEM file of the CA the provider's TLS certificate chains to; set: the query
    /// goes over TLS (the certificate must name the provider's host), empty: TCP.
    pub tls_ca_file: String,
    /// Site rules from requested procedure to exam type, tried before the shipped
    /// ones: `{ pattern = "CMR-S", exam = "adenosine_stress" }`.
    pub procedure_rules: Vec<crate::dicom::node::worklist::ProcedureRule>,
}

impl Default for WorklistConfig {
    fn default() -> Self {
        WorklistConfig {
            provider: String::new(),
            station_ae: String::new(),
            modality: "MR".into(),
            timeout_s: 10.0,
            tls_ca_file: String::new(),
            procedure_rules: Vec::new(),
        }
    }
}

impl WorklistConfig {
    /// The provider as a peer, `None` when none is configured; an unreadable CA
    /// file is an error naming it.
    pub fn peer(&self) -> Result<Option<crate::dicom::node::Peer>, String> {
        let Ok(mut p) = self.provider.parse::<crate::dicom::node::Peer>() else {
            return Ok(None);
        };
        p.timeout = std::time::Duration::from_secs_f64(self.timeout_s);
        if !self.tls_ca_file.is_empty() {
            let config =
                crate::audit::relay::ca_client_config(std::path::Path::new(&self.tls_ca_file))?;
            p.tls = Some(std::sync::Arc::new(config));
        }
        Ok(Some(p))
    }
}

/// The institution named on reports (standard clause 5.2.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Institution {
    /// Display name of the hospital, e.g. "中国医学科学院阜外医院".
    pub name: String,
}

/// The scanner, for the technique section (clause 5.2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scanner {
    /// Manufacturer, e.g. "Siemens", "GE", "Philips", "United Imaging".
    pub vendor: String,
    /// Model name.
    pub model: String,
    /// Main field strength in tesla (the standard names 1.5 T and 3.0 T).
    pub field_strength_t: f64,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            vendor: String::new(),
            model: String::new(),
            field_strength_t: 1.5,
        }
    }
}

/// A language the kiosk speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Language {
    /// Simplified Chinese, the default.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English (United States).
    #[serde(rename = "en-US")]
    EnUs,
}

impl Language {
    /// Every language, default first.
    pub const ALL: [Language; 2] = [Language::ZhCn, Language::EnUs];

    /// The BCP 47 tag, also the folder name under `locales/`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::EnUs => "en-US",
        }
    }

    /// Parses a BCP 47 tag as used on the command line (`zh-CN`, `en-US`).
    pub fn from_tag(tag: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(tag))
    }

    /// The other language (the toggle's target).
    pub fn other(self) -> Language {
        match self {
            Language::ZhCn => Language::EnUs,
            Language::EnUs => Language::ZhCn,
        }
    }
}

/// Day colours, or night colours for a dim control room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    /// Light background.
    #[default]
    Day,
    /// Dark background for dim MR control rooms.
    Night,
}

impl ThemeName {
    /// The name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            ThemeName::Day => "day",
            ThemeName::Night => "night",
        }
    }

    /// Parses `day` or `night`.
    pub fn from_name(name: &str) -> Option<ThemeName> {
        [ThemeName::Day, ThemeName::Night]
            .into_iter()
            .find(|t| t.name() == name)
    }
}

/// Screen, language and theme settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Language at start-up; the toggle switches at run time.
    pub language: Language,
    /// Theme at start-up.
    pub theme: ThemeName,
    /// Window width in physical pixels.
    pub screen_width_px: u32,
    /// Window height in physical pixels.
    pub screen_height_px: u32,
    /// Physical pixel density of the touchscreen, used to size touch targets in mm.
    pub dpi: f64,
    /// Full-screen kiosk mode (no window decorations).
    pub fullscreen: bool,
    /// Minimum staff touch target in millimetres (reference: ≥ 9 mm).
    pub staff_target_mm: f64,
    /// Minimum patient touch target in millimetres (reference: ≥ 20 mm).
    pub patient_target_mm: f64,
    /// Breath-hold practice: a best hold shorter than this (seconds) suggests
    /// free-breathing sequences (2.2.3).
    pub breath_hold_threshold_s: f64,
    /// Breath-hold practice: the phase every hold is taken at (2.2.3),
    /// `end_expiration` (default) or `end_inspiration`.
    pub breath_hold_phase: BreathHoldPhase,
    /// Seconds without a touch after which a staff screen locks (30–1800).
    pub idle_lock_s: f64,
    /// How long "pause audio" silences the alarms sounding when it is touched, in
    /// seconds (10–120; IEC 60601-1-8 audio paused, after which the sound resumes by
    /// itself; a higher-priority alarm sounds through it).
    pub audio_pause_s: f64,
    /// How the window is drawn: `auto` (the software renderer unless a GPU render
    /// node is present), `software`, or `femtovg` (OpenGL).
    pub renderer: RendererChoice,
}

/// The window's renderer (see [`UiConfig::renderer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RendererChoice {
    /// Software unless `/dev/dri/renderD*` exists (a GPU the kernel drives).
    #[default]
    Auto,
    /// Slint's software renderer: least memory and idle CPU on a PC without a GPU.
    Software,
    /// FemtoVG over OpenGL: for a kiosk with a real GPU.
    Femtovg,
}

impl RendererChoice {
    /// The Slint renderer name for this choice; `gpu_present` answers `auto`.
    pub fn renderer_name(self, gpu_present: bool) -> &'static str {
        match self {
            RendererChoice::Software => "software",
            RendererChoice::Femtovg => "femtovg",
            RendererChoice::Auto if gpu_present => "femtovg",
            RendererChoice::Auto => "software",
        }
    }
}

/// Whether this machine has a GPU render node (`/dev/dri/renderD*`). Without one,
/// OpenGL is Mesa's software rasteriser, which costs more than Slint's own.
pub fn gpu_render_node_present() -> bool {
    std::fs::read_dir("/dev/dri").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            language: Language::ZhCn,
            theme: ThemeName::Day,
            screen_width_px: 1280,
            screen_height_px: 800,
            dpi: 96.0,
            fullscreen: false,
            staff_target_mm: 10.0,
            patient_target_mm: 22.0,
            breath_hold_threshold_s: 15.0,
            breath_hold_phase: BreathHoldPhase::EndExpiration,
            idle_lock_s: 120.0,
            audio_pause_s: 120.0,
            renderer: RendererChoice::Auto,
        }
    }
}

/// Where the exam log lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// `sqlite:///path/to/kiosk.db` or `postgres://…`; empty means a SQLite file in the
    /// user's data directory (see [`Database::effective_url`]).
    pub url: String,
    /// This kiosk's name in the log (1–64 of letters, digits, `-`, `_`, `.`); empty: the
    /// machine's host name.
    pub device_id: String,
    /// The central PostgreSQL database events are relayed to (`postgres://…`, with
    /// `sslmode=verify-full` for anything off this machine); empty: no relay.
    pub central_url: String,
    /// The owner-only folder of the kiosk's keys (log signing key, PIN pepper,
    /// database key, witness); empty: `keys` in the [`Database::state_dir`].
    pub key_dir: String,
    /// Accept `sslmode=require` (TLS without verifying the server) or `sslmode=disable`
    /// (plaintext) to a database on another machine. Off: such URLs are refused.
    pub insecure_allow_unverified_tls: bool,
    /// The folder of the SQLite database's online backups (issue 16); empty:
    /// `backups` in the [`Database::state_dir`].
    pub backup_dir: String,
    /// Backups kept in that folder (1–1000); the oldest are removed first.
    pub backups_kept: u32,
    /// Hours between scheduled backups while the kiosk runs (0: none; at most 168).
    pub backup_every_hours: u32,
    /// A backup when an exam is finished.
    pub backup_at_exam_end: bool,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            url: String::new(),
            device_id: String::new(),
            central_url: String::new(),
            key_dir: String::new(),
            insecure_allow_unverified_tls: false,
            backup_dir: String::new(),
            backups_kept: 14,
            backup_every_hours: 24,
            backup_at_exam_end: true,
        }
    }
}

impl Database {
    /// The device id to log under: the configured one, or the host name (cleaned to
    /// the allowed characters), or `kiosk`.
    pub fn effective_device_id(&self) -> String {
        if !self.device_id.is_empty() {
            return self.device_id.clone();
        }
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let clean: String = host
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(64)
            .collect();
        if clean.is_empty() {
            "kiosk".to_string()
        } else {
            clean
        }
    }

    /// The folder for the kiosk's own state files (site settings, the DICOM skip
    /// ledger): beside the SQLite database, else the kiosk's data directory.
    pub fn state_dir(&self) -> PathBuf {
        let url = self.effective_url();
        if let Some(file) = url.strip_prefix("sqlite://") {
            let file = file.split('?').next().unwrap_or(file);
            if let Some(dir) = Path::new(file)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                return dir.to_path_buf();
            }
        }
        default_data_dir()
    }

    /// The backup folder: the configured one, or `backups` beside the database.
    pub fn backup_dir(&self) -> PathBuf {
        if self.backup_dir.is_empty() {
            self.state_dir().join("backups")
        } else {
            PathBuf::from(&self.backup_dir)
        }
    }

    /// The key folder: the configured one, or `keys` beside the database.
    pub fn effective_key_dir(&self) -> PathBuf {
        if self.key_dir.is_empty() {
            self.state_dir().join("keys")
        } else {
            PathBuf::from(&self.key_dir)
        }
    }

    /// The URL to open: the configured one, or the default SQLite file.
    pub fn effective_url(&self) -> String {
        if self.url.is_empty() {
            format!("sqlite://{}", default_data_dir().join("kiosk.db").display())
        } else {
            self.url.clone()
        }
    }
}

/// The directory for the kiosk's own data: `$XDG_DATA_HOME/cmr-kiosk` or
/// `~/.local/share/cmr-kiosk`.
pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("cmr-kiosk")
}

/// Where readings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorSource {
    /// The built-in simulated monitor; every vitals screen says SIMULATED.
    #[default]
    Simulated,
    /// A serial line (RS-232 or USB-serial adapter).
    Serial,
    /// The kiosk listens on TCP; the monitor or a gateway connects (HL7 MLLP).
    Tcp,
}

pub use crate::monitor::Protocol as MonitorProtocol;
pub use crate::monitor::link::{FlowControl, Parity};

/// How the patient monitor is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// `simulated`, `serial` or `tcp`.
    pub source: MonitorSource,
    /// `hl7` or `intellivue`.
    pub protocol: MonitorProtocol,
    /// Serial device path; stable `/dev/serial/by-id/…` names are recommended.
    pub port: String,
    /// Serial speed.
    pub baud: u32,
    /// Serial parity.
    pub parity: Parity,
    /// Serial flow control.
    pub flow_control: FlowControl,
    /// Address the kiosk listens on for HL7 over TCP: loopback by default; a
    /// site names the one interface its monitor network reaches.
    pub tcp_listen: String,
    /// Peer addresses allowed to connect to the monitor port; empty: any.
    pub tcp_allow: Vec<String>,
    /// Connections served at once on the monitor port (1–16).
    pub tcp_max_connections: usize,
    /// Seconds a begun HL7 frame may take to finish (1–300).
    pub tcp_frame_timeout_s: f64,
    /// Seconds of silence before a monitor connection is closed (10–3600).
    pub tcp_idle_timeout_s: f64,
    /// Profile of the built-in simulator: `resting`, `responder`, `non-responder`, `hypotensive`.
    pub simulator_profile: String,
    /// A device profile from `hardware/profiles/` (e.g. `philips-intellivue-mib`) for
    /// expected update intervals and poll settings; empty: the protocol's defaults.
    pub device_profile: String,
}

impl MonitorConfig {
    /// The monitor port's guard from these settings (addresses already validated).
    pub fn listener_limits(&self) -> crate::monitor::link::ListenerLimits {
        crate::monitor::link::ListenerLimits {
            allow: self
                .tcp_allow
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect(),
            max_connections: self.tcp_max_connections,
            frame_timeout: std::time::Duration::from_secs_f64(self.tcp_frame_timeout_s),
            idle_timeout: std::time::Duration::from_secs_f64(self.tcp_idle_timeout_s),
        }
    }
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            source: MonitorSource::Simulated,
            protocol: MonitorProtocol::Hl7,
            port: String::new(),
            baud: 115_200,
            parity: Parity::None,
            flow_control: FlowControl::None,
            tcp_listen: "127.0.0.1:2575".to_string(),
            tcp_allow: Vec::new(),
            tcp_max_connections: crate::monitor::link::DEFAULT_MAX_CONNECTIONS,
            tcp_frame_timeout_s: crate::monitor::link::DEFAULT_FRAME_TIMEOUT.as_secs_f64(),
            tcp_idle_timeout_s: crate::monitor::link::DEFAULT_IDLE_TIMEOUT.as_secs_f64(),
            simulator_profile: "resting".to_string(),
            device_profile: String::new(),
        }
    }
}

/// Serial speeds the kiosk accepts.
pub const BAUD_RATES: [u32; 8] = [1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200];

impl Config {
    /// Parses and validates the text of a `kiosk.toml`. Pure: no file or environment access.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value's range; the error names the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(key: &'static str, message: String) -> Result<(), ConfigError> {
            Err(ConfigError::Invalid { key, message })
        }
        self.clinical.validate().map_err(ConfigError::Clinical)?;
        let s = &self.scanner;
        if !(s.field_strength_t.is_finite()
            && s.field_strength_t > 0.0
            && s.field_strength_t <= 11.7)
        {
            return invalid(
                "scanner.field_strength_t",
                format!(
                    "{} T is not a clinical field strength (0 < T ≤ 11.7)",
                    s.field_strength_t
                ),
            );
        }
        let u = &self.ui;
        if !(320..=7680).contains(&u.screen_width_px) {
            return invalid(
                "ui.screen_width_px",
                format!("{} is outside 320–7680", u.screen_width_px),
            );
        }
        if !(240..=4320).contains(&u.screen_height_px) {
            return invalid(
                "ui.screen_height_px",
                format!("{} is outside 240–4320", u.screen_height_px),
            );
        }
        if !(u.dpi.is_finite() && (50.0..=600.0).contains(&u.dpi)) {
            return invalid("ui.dpi", format!("{} is outside 50–600", u.dpi));
        }
        if !(u.staff_target_mm.is_finite() && (9.0..=40.0).contains(&u.staff_target_mm)) {
            return invalid(
                "ui.staff_target_mm",
                format!(
                    "{} mm is outside 9–40 mm (staff targets must be at least 9 mm)",
                    u.staff_target_mm
                ),
            );
        }
        if !(u.patient_target_mm.is_finite() && (20.0..=60.0).contains(&u.patient_target_mm)) {
            return invalid(
                "ui.patient_target_mm",
                format!(
                    "{} mm is outside 20–60 mm (patient targets must be at least 20 mm)",
                    u.patient_target_mm
                ),
            );
        }
        if !(u.breath_hold_threshold_s.is_finite()
            && (3.0..=60.0).contains(&u.breath_hold_threshold_s))
        {
            return invalid(
                "ui.breath_hold_threshold_s",
                format!("{} s is outside 3–60 s", u.breath_hold_threshold_s),
            );
        }
        if !(u.idle_lock_s.is_finite() && (30.0..=1800.0).contains(&u.idle_lock_s)) {
            return invalid(
                "ui.idle_lock_s",
                format!("{} s is outside 30–1800 s", u.idle_lock_s),
            );
        }
        if !(u.audio_pause_s.is_finite() && (10.0..=120.0).contains(&u.audio_pause_s)) {
            return invalid(
                "ui.audio_pause_s",
                format!("{} s is outside 10–120 s", u.audio_pause_s),
            );
        }
        let url = &self.database.url;
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid(
                "database.url",
                format!("`{url}` is neither a sqlite: nor a postgres:// URL"),
            );
        }
        let d = &self.database;
        if !(d.device_id.is_empty()
            || (d.device_id.len() <= 64
                && d.device_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))))
        {
            return invalid(
                "database.device_id",
                format!(
                    "`{}` must be 1–64 letters, digits, `-`, `_` or `.`",
                    d.device_id
                ),
            );
        }
        if !(d.central_url.is_empty()
            || d.central_url.starts_with("postgres://")
            || d.central_url.starts_with("postgresql://"))
        {
            return invalid(
                "database.central_url",
                "the central database must be a postgres:// URL".to_string(),
            );
        }
        for (key, url) in [
            ("database.url", &d.url),
            ("database.central_url", &d.central_url),
        ] {
            if url.starts_with("postgres")
                && let Some(reason) =
                    crate::store::postgres_tls_refusal(url, d.insecure_allow_unverified_tls)
            {
                return invalid(key, reason);
            }
        }
        if !(1..=1000).contains(&d.backups_kept) {
            return invalid(
                "database.backups_kept",
                format!("{} is outside 1–1000", d.backups_kept),
            );
        }
        if d.backup_every_hours > 168 {
            return invalid(
                "database.backup_every_hours",
                format!("{} h is more than a week (168 h)", d.backup_every_hours),
            );
        }
        if let Err(e) = self.audit.collector() {
            return invalid("audit.syslog", e.to_string());
        }
        let p = self.dicom.poll_interval_s;
        if !(p.is_finite() && (0.2..=60.0).contains(&p)) {
            return invalid("dicom.poll_interval_s", format!("{p} is outside 0.2–60 s"));
        }
        let n = &self.dicom.node;
        if !crate::dicom::node::valid_ae_title(&n.ae_title) {
            return invalid(
                "dicom.node.ae_title",
                format!("`{}` is not an AE title (1–16 characters)", n.ae_title),
            );
        }
        if !n.listen.is_empty() {
            if n.listen.parse::<std::net::SocketAddr>().is_err() {
                return invalid(
                    "dicom.node.listen",
                    format!("`{}` is not ADDRESS:PORT", n.listen),
                );
            }
            if self.dicom.incoming.is_empty() {
                return invalid(
                    "dicom.node.listen",
                    "the receiver stores into dicom.incoming, which is empty".into(),
                );
            }
        }
        if let Some(c) = n
            .callers
            .iter()
            .find(|c| !crate::dicom::node::valid_ae_title(c))
        {
            return invalid("dicom.node.callers", format!("`{c}` is not an AE title"));
        }
        if !(64..=16 * 1024 * 1024).contains(&n.keep_mib) {
            return invalid(
                "dicom.node.keep_mib",
                format!("{} is outside 64 MiB – 16 TiB", n.keep_mib),
            );
        }
        let d = n.discard_after_min;
        if !(d.is_finite() && (d == 0.0 || (5.0..=10_080.0).contains(&d))) {
            return invalid(
                "dicom.node.discard_after_min",
                format!("{d} is neither 0 (keep) nor 5 min – 7 days"),
            );
        }
        let w = &self.dicom.worklist;
        if !w.provider.is_empty()
            && let Err(e) = w.provider.parse::<crate::dicom::node::Peer>()
        {
            return invalid("dicom.worklist.provider", e.to_string());
        }
        if !w.tls_ca_file.is_empty()
            && let Err(e) = w.peer()
        {
            return invalid("dicom.worklist.tls_ca_file", e);
        }
        if !(w.timeout_s.is_finite() && (1.0..=120.0).contains(&w.timeout_s)) {
            return invalid(
                "dicom.worklist.timeout_s",
                format!("{} is outside 1–120 s", w.timeout_s),
            );
        }
        if !w.station_ae.is_empty() && !crate::dicom::node::valid_ae_title(&w.station_ae) {
            return invalid(
                "dicom.worklist.station_ae",
                format!("`{}` is not an AE title", w.station_ae),
            );
        }
        let m = &self.monitor;
        if !BAUD_RATES.contains(&m.baud) {
            return invalid(
                "monitor.baud",
                format!("{} is not one of {:?}", m.baud, BAUD_RATES),
            );
        }
        for a in &m.tcp_allow {
            if a.parse::<std::net::IpAddr>().is_err() {
                return invalid("monitor.tcp_allow", format!("`{a}` is not an IP address"));
            }
        }
        if !(1..=16).contains(&m.tcp_max_connections) {
            return invalid(
                "monitor.tcp_max_connections",
                format!("{} is outside 1–16", m.tcp_max_connections),
            );
        }
        let t = m.tcp_frame_timeout_s;
        if !(t.is_finite() && (1.0..=300.0).contains(&t)) {
            return invalid(
                "monitor.tcp_frame_timeout_s",
                format!("{t} is outside 1–300 s"),
            );
        }
        let t = m.tcp_idle_timeout_s;
        if !(t.is_finite() && (10.0..=3600.0).contains(&t)) {
            return invalid(
                "monitor.tcp_idle_timeout_s",
                format!("{t} is outside 10–3600 s"),
            );
        }
        if m.source == MonitorSource::Serial && m.port.trim().is_empty() {
            return invalid(
                "monitor.port",
                "a serial monitor needs a device path".to_string(),
            );
        }
        if m.source == MonitorSource::Tcp {
            if m.protocol != MonitorProtocol::Hl7 {
                return invalid(
                    "monitor.protocol",
                    "only hl7 is spoken over TCP".to_string(),
                );
            }
            if m.tcp_listen.parse::<SocketAddr>().is_err() {
                return invalid(
                    "monitor.tcp_listen",
                    format!("`{}` is not an address:port", m.tcp_listen),
                );
            }
        }
        if crate::monitor::sim::Profile::from_name(&m.simulator_profile).is_none() {
            let names: Vec<_> = crate::monitor::sim::Profile::ALL
                .iter()
                .map(|p| p.name())
                .collect();
            return invalid(
                "monitor.simulator_profile",
                format!(
                    "`{}` is not one of {}",
                    m.simulator_profile,
                    names.join(", ")
                ),
            );
        }
        if !m.device_profile.is_empty()
            && let Err(e) = crate::monitor::profile::DeviceProfile::builtin(&m.device_profile)
        {
            return invalid("monitor.device_profile", e.to_string());
        }
        if let Err((key, message)) = self.ris.check() {
            return invalid(key, message);
        }
        Ok(())
    }

    /// Which file to read: the explicit path, else `$CMR_KIOSK_CONFIG`, else
    /// [`SYSTEM_CONFIG_PATH`]. The flag says whether the path was asked for explicitly
    /// (a missing explicit file is an error; a missing system file means defaults).
    pub fn locate(explicit: Option<&Path>) -> (PathBuf, bool) {
        if let Some(p) = explicit {
            return (p.to_path_buf(), true);
        }
        match std::env::var_os(CONFIG_ENV) {
            Some(p) if !p.is_empty() => (PathBuf::from(p), true),
            _ => (PathBuf::from(SYSTEM_CONFIG_PATH), false),
        }
    }

    /// Reads and parses the configuration found by [`Config::locate`]; built-in defaults
    /// when no file was asked for and none exists.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let (path, required) = Config::locate(explicit);
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Io { path, source }),
        }
    }
}
