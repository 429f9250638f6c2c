//! Device profiles: how a particular monitor model is connected (protocol, transport,
//! serial settings, poll interval, expected update interval per measure).
//!
//! The profiles under `hardware/profiles/` are embedded at build time; a site may also
//! load its own file. A profile turns into the link's [`LinkSettings`] and, for serial
//! transports, [`SerialSettings`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::Protocol;
use super::link::{LinkSettings, SerialSettings};
use super::reading::Measure;
use super::watchdog::Expectation;

/// The profiles shipped in `hardware/profiles/`: (name, TOML text).
pub const BUILTIN: [(&str, &str); 3] = [
    (
        "iradimed-3880-hl7",
        include_str!("../../hardware/profiles/iradimed-3880-hl7.toml"),
    ),
    (
        "philips-intellivue-mib",
        include_str!("../../hardware/profiles/philips-intellivue-mib.toml"),
    ),
    (
        "hl7-tcp-gateway",
        include_str!("../../hardware/profiles/hl7-tcp-gateway.toml"),
    ),
];

/// Why a profile was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No built-in profile has that name.
    #[error(
        "no device profile called `{0}`; built in: iradimed-3880-hl7, philips-intellivue-mib, hl7-tcp-gateway"
    )]
    Unknown(String),
    /// The TOML is malformed or has unknown keys.
    #[error("device profile: {0}")]
    Syntax(String),
    /// A value is out of range.
    #[error("device profile key `{key}`: {message}")]
    Invalid {
        /// The offending key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// How the monitor is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// A serial line.
    Serial,
    /// The kiosk listens on TCP; the monitor or gateway connects.
    TcpListen,
}

/// One measure's expected update.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Seconds between readings.
    pub interval_s: f64,
    /// Whether losing it means "monitor data lost".
    pub critical: bool,
}

/// A monitor model's connection profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    /// Wire protocol.
    pub protocol: Protocol,
    /// Serial or TCP.
    pub transport: Transport,
    /// TCP listen address (`tcp-listen`).
    pub listen: Option<String>,
    /// IntelliVue: numerics poll interval (ms).
    pub poll_interval_ms: Option<u64>,
    /// IntelliVue: keep-alive interval (s).
    pub keep_alive_s: Option<u64>,
    /// IntelliVue: silence after which the association is renewed (s).
    pub association_lost_after_s: Option<u64>,
    /// Serial settings (`serial`).
    pub serial: Option<SerialSettings>,
    /// Expected update per measure name (`hr`, `nibp_sys`, …).
    #[serde(default)]
    pub expect: BTreeMap<String, Expect>,
    /// Units this device sends without naming them (HL7 OBX-6 empty), per measure
    /// name, e.g. `hr = "/min"`. A bare value of a measure not listed is refused:
    /// the kiosk never guesses mmHg where the device may mean kPa.
    #[serde(default)]
    pub units: BTreeMap<String, String>,
}

impl DeviceProfile {
    /// Parses and checks a profile's TOML.
    pub fn parse(text: &str) -> Result<DeviceProfile, ProfileError> {
        let p: DeviceProfile =
            toml::from_str(text).map_err(|e| ProfileError::Syntax(e.to_string()))?;
        let invalid = |key: &str, message: String| ProfileError::Invalid {
            key: key.to_string(),
            message,
        };
        for (name, e) in &p.expect {
            if Measure::from_name(name).is_none() {
                return Err(invalid(
                    &format!("expect.{name}"),
                    "is not a measure".into(),
                ));
            }
            if !(e.interval_s.is_finite() && e.interval_s > 0.0 && e.interval_s <= 3600.0) {
                return Err(invalid(
                    &format!("expect.{name}.interval_s"),
                    format!("{} is outside 0–3600 s", e.interval_s),
                ));
            }
        }
        for (name, unit) in &p.units {
            let Some(measure) = Measure::from_name(name) else {
                return Err(invalid(&format!("units.{name}"), "is not a measure".into()));
            };
            match super::hl7::unit_for(&[unit.as_str()]) {
                Some((u, _)) if u == measure.canonical_unit() => {}
                _ => {
                    return Err(invalid(
                        &format!("units.{name}"),
                        format!("`{unit}` is not a unit for {name}"),
                    ));
                }
            }
        }
        match p.transport {
            Transport::Serial if p.serial.is_none() => {
                return Err(invalid(
                    "serial",
                    "a serial profile needs a [serial] table".into(),
                ));
            }
            Transport::TcpListen if p.protocol != Protocol::Hl7 => {
                return Err(invalid("transport", "only hl7 is spoken over TCP".into()));
            }
            Transport::TcpListen if p.listen.is_none() => {
                return Err(invalid(
                    "listen",
                    "a tcp-listen profile needs an address".into(),
                ));
            }
            _ => {}
        }
        Ok(p)
    }

    /// A profile shipped with the program.
    pub fn builtin(name: &str) -> Result<DeviceProfile, ProfileError> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| ProfileError::Unknown(name.to_string()))?;
        DeviceProfile::parse(text)
    }

    /// The link settings this profile asks for (protocol defaults where it is silent).
    pub fn link_settings(&self) -> LinkSettings {
        let mut s = LinkSettings::for_protocol(self.protocol);
        if !self.expect.is_empty() {
            s.expectations = self
                .expect
                .iter()
                .filter_map(|(name, e)| {
                    Some(Expectation {
                        measure: Measure::from_name(name)?,
                        interval: Duration::from_secs_f64(e.interval_s),
                        critical: e.critical,
                    })
                })
                .collect();
        }
        s.unit_defaults = self
            .units
            .iter()
            .filter_map(|(name, unit)| Some((Measure::from_name(name)?, unit.clone())))
            .collect();
        if let Some(ms) = self.poll_interval_ms {
            s.poll_interval = Duration::from_millis(ms.max(100));
        }
        if let Some(k) = self.keep_alive_s {
            s.keep_alive_interval = Duration::from_secs(k.max(1));
        }
        if let Some(a) = self.association_lost_after_s {
            s.association_lost_after = Duration::from_secs(a.max(1));
        }
        s
    }
}
