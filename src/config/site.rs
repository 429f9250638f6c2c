//! Site settings an administrator changes on the kiosk (issue 7), kept in `site.toml`
//! beside the exam database and laid over the configuration file at start.
//!
//! Only the keys in [`EDITABLE`] may be set here; everything else (database, DICOM
//! folder, screen geometry) stays in the configuration file that IT manages. Every
//! change is validated by [`Config::parse`] on the merged result before it is written,
//! so a bad value is refused with the configuration's own message, never saved. The
//! file is written whole to a temporary file, synced and renamed.

use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};

/// The keys the admin screens may change, as `section.key`.
pub const EDITABLE: [&str; 13] = [
    "institution.name",
    "scanner.vendor",
    "scanner.model",
    "scanner.field_strength_t",
    "ui.language",
    "ui.theme",
    "ui.idle_lock_s",
    "ui.breath_hold_threshold_s",
    "monitor.source",
    "monitor.protocol",
    "monitor.port",
    "monitor.device_profile",
    "monitor.simulator_profile",
];

/// Why site settings could not be read, applied or saved.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file is not TOML, or holds a key the kiosk may not set.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The merged configuration is not valid.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// The settings file next to the configured database (SQLite), else in the kiosk's
/// data directory.
pub fn default_path(config: &Config) -> PathBuf {
    config.database.state_dir().join("site.toml")
}

/// The administrator's settings: a small TOML table of [`EDITABLE`] keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteSettings {
    table: toml::Table,
}

fn split(key: &str) -> Option<(&str, &str)> {
    EDITABLE.contains(&key).then(|| key.split_once('.'))?
}

impl SiteSettings {
    /// Parses `text`; a key outside [`EDITABLE`] is refused by name.
    pub fn parse(text: &str, path: &Path) -> Result<SiteSettings, SiteError> {
        let malformed = |message: String| SiteError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        let table: toml::Table = text.parse().map_err(|e| malformed(format!("{e}")))?;
        for (section, v) in &table {
            let Some(keys) = v.as_table() else {
                return Err(malformed(format!("[{section}] must be a table")));
            };
            for key in keys.keys() {
                let full = format!("{section}.{key}");
                if !EDITABLE.contains(&full.as_str()) {
                    return Err(malformed(format!("{full} cannot be set on the kiosk")));
                }
            }
        }
        Ok(SiteSettings { table })
    }

    /// Reads the file at `path`; a missing file is empty settings.
    pub fn load(path: &Path) -> Result<SiteSettings, SiteError> {
        match std::fs::read_to_string(path) {
            Ok(text) => SiteSettings::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SiteSettings::default()),
            Err(e) => Err(SiteError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }

    /// `base` with these settings laid over it, validated.
    pub fn apply(&self, base: &Config) -> Result<Config, SiteError> {
        let mut merged = toml::Table::try_from(base).map_err(|e| SiteError::Malformed {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        for (section, v) in &self.table {
            if let (Some(dst), Some(src)) = (
                merged
                    .entry(section.clone())
                    .or_insert_with(|| toml::Value::Table(Default::default()))
                    .as_table_mut(),
                v.as_table(),
            ) {
                for (k, v) in src {
                    dst.insert(k.clone(), v.clone());
                }
            }
        }
        let text = toml::to_string(&merged).map_err(|e| SiteError::Malformed {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        Ok(Config::parse(&text)?)
    }

    /// Sets `key` (one of [`EDITABLE`]) to `value`, if `base` with the result is valid;
    /// returns the merged configuration. Nothing changes on an error.
    pub fn set(
        &mut self,
        base: &Config,
        key: &str,
        value: toml::Value,
    ) -> Result<Config, SiteError> {
        let Some((section, name)) = split(key) else {
            return Err(SiteError::Malformed {
                path: PathBuf::new(),
                message: format!("{key} cannot be set on the kiosk"),
            });
        };
        let mut next = self.clone();
        if let Some(t) = next
            .table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
        {
            t.insert(name.to_string(), value);
        }
        let merged = next.apply(base)?;
        *self = next;
        Ok(merged)
    }

    /// Writes the settings to `path` (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), SiteError> {
        use std::io::Write;
        let io = |e: std::io::Error| SiteError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = format!(
            "# Site settings changed on the kiosk's admin screens (laid over the configuration file).\n{}",
            toml::to_string(&self.table).unwrap_or_default()
        );
        let tmp = path.with_extension("toml.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_lay_over_the_file_and_bad_values_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.toml");
        let base = Config::default();
        let mut s = SiteSettings::load(&path).unwrap();
        let merged = s
            .set(
                &base,
                "scanner.vendor",
                toml::Value::String("Siemens".into()),
            )
            .unwrap();
        assert_eq!(merged.scanner.vendor, "Siemens");
        let err = s
            .set(&base, "ui.idle_lock_s", toml::Value::Float(5.0))
            .unwrap_err();
        assert!(err.to_string().contains("ui.idle_lock_s"), "{err}");
        assert!(
            s.set(&base, "database.url", toml::Value::String("x".into()))
                .is_err()
        );
        s.save(&path).unwrap();
        let again = SiteSettings::load(&path).unwrap();
        assert_eq!(again.apply(&base).unwrap().scanner.vendor, "Siemens");
        assert_eq!(again.apply(&base).unwrap().ui.idle_lock_s, 120.0);
    }

    #[test]
    fn a_file_with_a_key_the_kiosk_may_not_set_is_refused() {
        let err =
            SiteSettings::parse("[database]\nurl = \"x\"\n", Path::new("site.toml")).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err = SiteSettings::parse("not toml [", Path::new("site.toml")).unwrap_err();
        assert!(err.to_string().contains("site.toml"), "{err}");
    }
}
