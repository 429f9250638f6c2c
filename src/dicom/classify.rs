//! Classification of a series to a protocol step by rules kept as data.
//!
//! The rules live in `hardware/dicom-classification.toml` (embedded with
//! `include_str!`, see [`Rules::builtin`]) and a site may add its own file
//! ([`Rules::with_site`]); site rules are tried first. The first rule whose
//! vendor, name patterns and geometry hints all hold decides; a series no rule
//! matches is [`Classification::Unclassified`] — never guessed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::series::{OrientationClass, SeriesSummary};
use crate::domain::protocol::ProtocolStep;

/// The shipped rule file.
pub const BUILTIN_RULES: &str = include_str!("../../hardware/dicom-classification.toml");

/// A rule file that could not be used.
#[derive(Debug, Error)]
pub enum RulesError {
    /// The site file could not be read.
    #[error("{file}: cannot read classification rules: {source}")]
    Io {
        /// File.
        file: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML for the rule schema (unknown keys are rejected).
    #[error("{origin}: invalid classification rules: {message}")]
    Parse {
        /// Where the rules came from.
        origin: String,
        /// Parser message.
        message: String,
    },
    /// A rule that could never be meaningful.
    #[error("{origin}: rule `{id}`: {problem}")]
    Invalid {
        /// Where the rules came from.
        origin: String,
        /// Rule id.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

/// A series field rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Series Description (0008,103E).
    Description,
    /// Protocol Name (0018,1030).
    Protocol,
    /// Sequence Name (0018,0024) or Pulse Sequence Name (0018,9005).
    Sequence,
}

/// One classification rule (see the header of the shipped TOML file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique id, reported with the classification.
    pub id: String,
    /// The step a matching series is.
    pub step: ProtocolStep,
    /// Manufacturer patterns; empty: any vendor.
    #[serde(default)]
    pub vendor: Vec<String>,
    /// Fields searched; empty: all.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Pattern groups; every group needs one pattern found.
    pub require: Vec<Vec<String>>,
    /// Patterns that veto the rule.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Allowed orientation classes; empty: any.
    #[serde(default)]
    pub orientation: Vec<OrientationClass>,
    /// Minimum slice count.
    pub min_slices: Option<u32>,
    /// Maximum slice count.
    pub max_slices: Option<u32>,
    /// Minimum phase count.
    pub min_phases: Option<u32>,
    /// Maximum phase count.
    pub max_phases: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// An ordered rule list.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Rules {
    /// Rules in the order they are tried.
    pub rules: Vec<Rule>,
}

/// The outcome for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Classification {
    /// A rule matched.
    Classified {
        /// The step.
        step: ProtocolStep,
        /// The rule's id.
        rule: String,
    },
    /// No rule matched.
    Unclassified,
}

impl Classification {
    /// The step, if classified.
    pub fn step(&self) -> Option<ProtocolStep> {
        match self {
            Classification::Classified { step, .. } => Some(*step),
            Classification::Unclassified => None,
        }
    }
}

impl Rules {
    /// Parse a rule file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Rules, RulesError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| RulesError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let invalid = |id: &str, problem: &str| RulesError::Invalid {
            origin: origin.to_string(),
            id: id.to_string(),
            problem: problem.to_string(),
        };
        let mut seen = std::collections::HashSet::new();
        for r in &file.rule {
            if !seen.insert(r.id.clone()) {
                return Err(invalid(&r.id, "duplicate id"));
            }
            if r.require.is_empty() || r.require.iter().any(Vec::is_empty) {
                return Err(invalid(
                    &r.id,
                    "needs at least one non-empty `require` group (geometry alone never classifies)",
                ));
            }
            let all = r
                .require
                .iter()
                .flatten()
                .chain(&r.exclude)
                .chain(&r.vendor);
            for p in all {
                if p.trim_start_matches('~').trim().is_empty() {
                    return Err(invalid(&r.id, "empty pattern"));
                }
            }
        }
        Ok(Rules { rules: file.rule })
    }

    /// The shipped rules.
    pub fn builtin() -> Rules {
        // The embedded file is checked by a unit test; an error here cannot happen at run time.
        Rules::parse(BUILTIN_RULES, "hardware/dicom-classification.toml").unwrap_or_default()
    }

    /// `site` rules (TOML text) tried before these.
    pub fn with_site(self, site: &str, origin: &str) -> Result<Rules, RulesError> {
        let mut site = Rules::parse(site, origin)?;
        for r in &site.rules {
            if self.rules.iter().any(|b| b.id == r.id) {
                return Err(RulesError::Invalid {
                    origin: origin.to_string(),
                    id: r.id.clone(),
                    problem: "id already used by a shipped rule; pick a site-specific id".into(),
                });
            }
        }
        site.rules.extend(self.rules);
        Ok(site)
    }

    /// The shipped rules extended by a site file.
    pub fn builtin_with_site_file(path: &Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Rules::builtin().with_site(&text, &path.display().to_string())
    }

    /// Classify one series.
    pub fn classify(&self, s: &SeriesSummary) -> Classification {
        self.rules
            .iter()
            .find(|r| rule_matches(r, s))
            .map_or(Classification::Unclassified, |r| {
                Classification::Classified {
                    step: r.step,
                    rule: r.id.clone(),
                }
            })
    }
}

/// Whether `pattern` matches `text`, case-insensitively: a substring; `~token` a
/// whole token run; `glob:pattern` a glob over the whole text (`*`, `?`).
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let p = pattern.to_lowercase();
    let t = text.to_lowercase();
    if let Some(token) = p.strip_prefix('~') {
        // A token may itself contain separators ("sa_stack"): match a run of tokens.
        let want: Vec<&str> = token
            .split(|c: char| !c.is_alphanumeric())
            .filter(|x| !x.is_empty())
            .collect();
        let have: Vec<&str> = t
            .split(|c: char| !c.is_alphanumeric())
            .filter(|x| !x.is_empty())
            .collect();
        !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
    } else if let Some(g) = p.strip_prefix("glob:") {
        glob(g.as_bytes(), t.as_bytes())
    } else {
        t.contains(&p)
    }
}

fn glob(p: &[u8], t: &[u8]) -> bool {
    // Iterative wildcard match with backtracking on the last '*'.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn rule_matches(r: &Rule, s: &SeriesSummary) -> bool {
    if !r.vendor.is_empty() {
        let Some(m) = s.manufacturer.as_deref() else {
            return false;
        };
        if !r.vendor.iter().any(|p| pattern_matches(p, m)) {
            return false;
        }
    }
    let fields: &[Field] = if r.fields.is_empty() {
        &[Field::Description, Field::Protocol, Field::Sequence]
    } else {
        &r.fields
    };
    let texts: Vec<&str> = fields
        .iter()
        .filter_map(|f| match f {
            Field::Description => s.description.as_deref(),
            Field::Protocol => s.protocol_name.as_deref(),
            Field::Sequence => s.sequence_name.as_deref(),
        })
        .collect();
    let found = |p: &String| texts.iter().any(|t| pattern_matches(p, t));
    if !r.require.iter().all(|group| group.iter().any(found)) {
        return false;
    }
    if r.exclude.iter().any(found) {
        return false;
    }
    if !r.orientation.is_empty() && !s.orientation.is_some_and(|o| r.orientation.contains(&o)) {
        return false;
    }
    let within = |v: u32, min: Option<u32>, max: Option<u32>| {
        min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
    };
    within(s.slices, r.min_slices, r.max_slices) && within(s.phases, r.min_phases, r.max_phases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse() {
        let r = Rules::parse(BUILTIN_RULES, "builtin").expect("shipped rules parse");
        assert!(r.rules.len() > 20);
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("~sa", "cine_SA"));
        assert!(!pattern_matches("~sa", "sagittal"));
        assert!(pattern_matches("~sa_stack", "cine SA stack"));
        assert!(pattern_matches("glob:*tfi2d*", "*tfi2d1_15"));
        assert!(pattern_matches("glob:*fl?d?_v*", "*fl2d1_v150in"));
        assert!(!pattern_matches("glob:*fl?d?_v*", "*tfl2d1"));
        assert!(pattern_matches("t2*", "T2*_mFFE"));
        assert!(!pattern_matches("t2*", "T2prep_map"));
        assert!(pattern_matches("CINE", "fiesta cine 2ch"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = Rules::parse(
            "[[rule]]\nid='x'\nstep='lge'\nrequire=[['a']]\ncolour='red'\n",
            "site",
        );
        assert!(matches!(e, Err(RulesError::Parse { .. })));
    }
}
