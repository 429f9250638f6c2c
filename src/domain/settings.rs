//! A site's clinical practice values: the `[clinical]` section of `kiosk.toml`, the
//! simulator's `settings`, and what the admin screen shows.
//!
//! One flat table in the units people use (seconds, mmol/kg, µg/kg/min), laid over
//! the defaults of [`ProtocolSettings`] (the standard's numbers and clinical.md's
//! practice values). [`ClinicalSettings::validate`] refuses a value outside its
//! plausible range and names the key; nothing is clamped. Pure: no file, no clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::contrast::AgentId;
use super::exam::ProtocolSettings;
use super::stress::Escalation;
use super::time::Duration;

/// The site's practice values. Every key is optional in the file; a missing key
/// keeps the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClinicalSettings {
    /// Cumulative gadolinium maximum (3.1.3.2: 0.2 mmol/kg).
    pub dose_max_mmol_kg: f64,
    /// Maximum after an eGFR < 30 override, on dialysis or with AKI (0.1 mmol/kg).
    pub reduced_dose_max_mmol_kg: f64,
    /// Largest top-up once the LGE dose is complete (3.1.4.1: 0.05 mmol/kg).
    pub top_up_max_mmol_kg: f64,
    /// An injection below this is implausible (0.01 mmol/kg).
    pub implausible_below_mmol_kg: f64,
    /// Recommended injection rate, lowest (3.1.3.2: 3 mL/s).
    pub rate_min_ml_s: f64,
    /// Recommended injection rate, highest (3.1.3.2: 7 mL/s).
    pub rate_max_ml_s: f64,
    /// Recommended saline flush, smallest (3.1.3.2: 20 mL).
    pub flush_min_ml: f64,
    /// Recommended saline flush, largest (3.1.3.2: 30 mL).
    pub flush_max_ml: f64,
    /// eGFR below which contrast is blocked (3.1.3.2: 30 mL/min/1.73 m²).
    pub egfr_contrast_min: f64,
    /// An eGFR older than this many days before the exam is not current (90).
    pub egfr_max_age_days: u32,
    /// Hours without caffeine before a stress drug (12).
    pub caffeine_abstinence_h: f64,
    /// Hours without dipyridamole before a stress drug (24).
    pub dipyridamole_abstinence_h: f64,
    /// Adenosine in the syringe (µg/mL; 3000).
    pub adenosine_concentration_ug_ml: f64,
    /// Adenosine starting dose (µg/kg/min; 140).
    pub adenosine_dose_ug_kg_min: f64,
    /// Lowest adenosine dose without a countersign (140).
    pub adenosine_min_ug_kg_min: f64,
    /// Highest adenosine dose without a countersign (210).
    pub adenosine_max_ug_kg_min: f64,
    /// Offer the escalation automatically when the patient is not stressed (off).
    pub escalation: bool,
    /// The escalation dose (µg/kg/min; 210).
    pub escalation_dose_ug_kg_min: f64,
    /// Longest infusion before imaging when escalation is offered (420 s).
    pub escalation_max_infusion_s: u64,
    /// Regadenoson bolus (mg; 0.4).
    pub regadenoson_dose_mg: f64,
    /// HR rise that marks stress (3.2.3: 10 /min).
    pub hr_rise: f64,
    /// SBP fall that marks stress (3.2.3: 10 mmHg).
    pub sbp_drop: f64,
    /// Infusion time after which to image anyway (3.2.3: 240 s).
    pub max_time_to_imaging_s: u64,
    /// Earliest "image now" on the HR or SBP criterion (120 s; 0: as soon as met).
    pub min_infusion_s: u64,
    /// Longest-infusion deadline at least this long after an escalation (120 s).
    pub after_escalation_s: u64,
    /// Recovery before rest perfusion (3.2.3: about 10 min, 600 s).
    pub recovery_s: u64,
    /// Alarms keep watching this long after the drug (900 s).
    pub observation_s: u64,
    /// A baseline HR or SBP within this long before a stress drug (300 s).
    pub baseline_max_age_s: u64,
    /// An infusion still running this long after its start is an alarm (480 s).
    pub infusion_limit_s: u64,
    /// SBP alarm floor during stress and observation (90 mmHg).
    pub sbp_floor: f64,
    /// SBP stop limit (80 mmHg).
    pub sbp_stop: f64,
    /// Baseline SBP below which no stress drug is started (90 mmHg).
    pub sbp_contraindication: f64,
    /// SpO₂ alarm floor during stress and observation (90 %).
    pub spo2_floor: f64,
    /// HR alarm floor during stress and observation (40 /min).
    pub hr_low: f64,
    /// High alarm still present this long after an adenosine stop: aminophylline (60 s).
    pub aminophylline_after_stop_s: u64,
    /// Regadenoson: image this long after the bolus (60 s).
    pub regadenoson_imaging_delay_s: u64,
    /// LGE after a single or first perfusion injection: opens (3.1.4.1: 600 s).
    pub lge_single_open_s: u64,
    /// LGE after the second perfusion injection: opens (3.1.4.1: 300 s).
    pub lge_second_injection_open_s: u64,
    /// LGE window closes this long after its injection (1800 s).
    pub lge_close_s: u64,
    /// Agent concentrations the site stocks (mmol/mL), by agent.
    pub agent_mmol_per_ml: BTreeMap<AgentId, f64>,
}

impl Default for ClinicalSettings {
    fn default() -> Self {
        ClinicalSettings::from(&ProtocolSettings::default())
    }
}

fn secs(d: Duration) -> u64 {
    d.as_millis() / 1000
}

impl From<&ProtocolSettings> for ClinicalSettings {
    fn from(p: &ProtocolSettings) -> Self {
        let (c, s, sc, l) = (&p.contrast, &p.stress, &p.screening, &p.lge);
        let esc = s.escalation.clone().unwrap_or_default();
        ClinicalSettings {
            dose_max_mmol_kg: c.cumulative_max_mmol_kg,
            reduced_dose_max_mmol_kg: c.reduced_max_mmol_kg,
            top_up_max_mmol_kg: c.top_up_max_mmol_kg,
            implausible_below_mmol_kg: c.implausible_below_mmol_kg,
            rate_min_ml_s: c.rate_min_ml_s,
            rate_max_ml_s: c.rate_max_ml_s,
            flush_min_ml: c.flush_min_ml,
            flush_max_ml: c.flush_max_ml,
            egfr_contrast_min: sc.egfr_contrast_min,
            egfr_max_age_days: sc.egfr_max_age_days,
            caffeine_abstinence_h: sc.caffeine_abstinence_h,
            dipyridamole_abstinence_h: sc.dipyridamole_abstinence_h,
            adenosine_concentration_ug_ml: s.concentration_ug_ml,
            adenosine_dose_ug_kg_min: s.adenosine_dose_ug_kg_min,
            adenosine_min_ug_kg_min: s.adenosine_min_ug_kg_min,
            adenosine_max_ug_kg_min: s.adenosine_max_ug_kg_min,
            escalation: s.escalation.is_some(),
            escalation_dose_ug_kg_min: esc.dose_ug_kg_min,
            escalation_max_infusion_s: secs(esc.max_infusion),
            regadenoson_dose_mg: s.regadenoson_dose_mg,
            hr_rise: s.hr_rise,
            sbp_drop: s.sbp_drop,
            max_time_to_imaging_s: secs(s.max_time_to_imaging),
            min_infusion_s: secs(s.min_infusion),
            after_escalation_s: secs(s.after_escalation),
            recovery_s: secs(s.recovery),
            observation_s: secs(s.observation),
            baseline_max_age_s: secs(s.baseline_max_age),
            infusion_limit_s: secs(s.infusion_limit),
            sbp_floor: s.sbp_floor,
            sbp_stop: s.sbp_stop,
            sbp_contraindication: s.sbp_contraindication,
            spo2_floor: s.spo2_floor,
            hr_low: s.hr_low,
            aminophylline_after_stop_s: secs(s.aminophylline_after_stop),
            regadenoson_imaging_delay_s: secs(s.regadenoson_imaging_delay),
            lge_single_open_s: secs(l.single_open),
            lge_second_injection_open_s: secs(l.second_injection_open),
            lge_close_s: secs(l.close),
            agent_mmol_per_ml: p
                .agents
                .agents
                .iter()
                .filter(|a| a.for_cmr)
                .map(|a| (a.id, a.mmol_per_ml))
                .collect(),
        }
    }
}

/// A practice value outside its plausible range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("clinical setting `{key}`: {message}")]
pub struct SettingError {
    /// The key, as written in the file.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ClinicalSettings {
    /// Refuse any value outside its plausible range, naming the key.
    pub fn validate(&self) -> Result<(), SettingError> {
        let bad = |key: &str, message: String| {
            Err(SettingError {
                key: key.to_string(),
                message,
            })
        };
        let ranges: [(&str, f64, f64, f64); 24] = [
            ("dose_max_mmol_kg", self.dose_max_mmol_kg, 0.05, 0.3),
            (
                "reduced_dose_max_mmol_kg",
                self.reduced_dose_max_mmol_kg,
                0.025,
                0.2,
            ),
            ("top_up_max_mmol_kg", self.top_up_max_mmol_kg, 0.01, 0.1),
            (
                "implausible_below_mmol_kg",
                self.implausible_below_mmol_kg,
                0.0,
                0.05,
            ),
            ("rate_min_ml_s", self.rate_min_ml_s, 0.5, 10.0),
            ("rate_max_ml_s", self.rate_max_ml_s, 0.5, 10.0),
            ("flush_min_ml", self.flush_min_ml, 0.0, 100.0),
            ("flush_max_ml", self.flush_max_ml, 0.0, 100.0),
            ("egfr_contrast_min", self.egfr_contrast_min, 15.0, 60.0),
            (
                "caffeine_abstinence_h",
                self.caffeine_abstinence_h,
                0.0,
                72.0,
            ),
            (
                "dipyridamole_abstinence_h",
                self.dipyridamole_abstinence_h,
                0.0,
                72.0,
            ),
            (
                "adenosine_concentration_ug_ml",
                self.adenosine_concentration_ug_ml,
                100.0,
                6000.0,
            ),
            (
                "adenosine_dose_ug_kg_min",
                self.adenosine_dose_ug_kg_min,
                70.0,
                210.0,
            ),
            (
                "adenosine_min_ug_kg_min",
                self.adenosine_min_ug_kg_min,
                70.0,
                210.0,
            ),
            (
                "adenosine_max_ug_kg_min",
                self.adenosine_max_ug_kg_min,
                140.0,
                280.0,
            ),
            (
                "escalation_dose_ug_kg_min",
                self.escalation_dose_ug_kg_min,
                140.0,
                280.0,
            ),
            ("regadenoson_dose_mg", self.regadenoson_dose_mg, 0.1, 0.6),
            ("hr_rise", self.hr_rise, 5.0, 30.0),
            ("sbp_drop", self.sbp_drop, 5.0, 30.0),
            ("sbp_floor", self.sbp_floor, 60.0, 120.0),
            ("sbp_stop", self.sbp_stop, 50.0, 110.0),
            (
                "sbp_contraindication",
                self.sbp_contraindication,
                60.0,
                120.0,
            ),
            ("spo2_floor", self.spo2_floor, 80.0, 98.0),
            ("hr_low", self.hr_low, 25.0, 60.0),
        ];
        for (key, value, lo, hi) in ranges {
            if !(value.is_finite() && (lo..=hi).contains(&value)) {
                return bad(key, format!("must be between {lo} and {hi}, got {value}"));
            }
        }
        let times: [(&str, u64, u64, u64); 14] = [
            (
                "escalation_max_infusion_s",
                self.escalation_max_infusion_s,
                240,
                600,
            ),
            (
                "max_time_to_imaging_s",
                self.max_time_to_imaging_s,
                120,
                420,
            ),
            ("min_infusion_s", self.min_infusion_s, 0, 240),
            ("after_escalation_s", self.after_escalation_s, 0, 300),
            ("recovery_s", self.recovery_s, 300, 1800),
            ("observation_s", self.observation_s, 300, 3600),
            ("baseline_max_age_s", self.baseline_max_age_s, 30, 1800),
            ("infusion_limit_s", self.infusion_limit_s, 240, 900),
            (
                "aminophylline_after_stop_s",
                self.aminophylline_after_stop_s,
                0,
                600,
            ),
            (
                "regadenoson_imaging_delay_s",
                self.regadenoson_imaging_delay_s,
                30,
                180,
            ),
            ("lge_single_open_s", self.lge_single_open_s, 300, 1800),
            (
                "lge_second_injection_open_s",
                self.lge_second_injection_open_s,
                120,
                1200,
            ),
            ("lge_close_s", self.lge_close_s, 900, 3600),
            (
                "egfr_max_age_days",
                u64::from(self.egfr_max_age_days),
                1,
                365,
            ),
        ];
        for (key, value, lo, hi) in times {
            if !(lo..=hi).contains(&value) {
                return bad(key, format!("must be between {lo} and {hi}, got {value}"));
            }
        }
        let ordered: [(&str, f64, &str, f64); 6] = [
            (
                "rate_max_ml_s",
                self.rate_max_ml_s,
                "rate_min_ml_s",
                self.rate_min_ml_s,
            ),
            (
                "flush_max_ml",
                self.flush_max_ml,
                "flush_min_ml",
                self.flush_min_ml,
            ),
            (
                "adenosine_max_ug_kg_min",
                self.adenosine_max_ug_kg_min,
                "adenosine_min_ug_kg_min",
                self.adenosine_min_ug_kg_min,
            ),
            (
                "dose_max_mmol_kg",
                self.dose_max_mmol_kg,
                "reduced_dose_max_mmol_kg",
                self.reduced_dose_max_mmol_kg,
            ),
            ("sbp_floor", self.sbp_floor, "sbp_stop", self.sbp_stop),
            (
                "lge_close_s",
                self.lge_close_s as f64,
                "lge_single_open_s",
                self.lge_single_open_s as f64,
            ),
        ];
        for (hi_key, hi, lo_key, lo) in ordered {
            if hi < lo {
                return bad(
                    hi_key,
                    format!("must be at least {lo_key} ({lo}), got {hi}"),
                );
            }
        }
        let dose = self.adenosine_dose_ug_kg_min;
        if dose < self.adenosine_min_ug_kg_min || dose > self.adenosine_max_ug_kg_min {
            return bad(
                "adenosine_dose_ug_kg_min",
                format!(
                    "must lie within adenosine_min_ug_kg_min..adenosine_max_ug_kg_min, got {dose}"
                ),
            );
        }
        if self.max_time_to_imaging_s < self.min_infusion_s {
            return bad(
                "min_infusion_s",
                "must not be longer than max_time_to_imaging_s".to_string(),
            );
        }
        for (agent, c) in &self.agent_mmol_per_ml {
            if !(c.is_finite() && (0.1..=1.5).contains(c)) {
                return bad(
                    "agent_mmol_per_ml",
                    format!("{agent:?} must be between 0.1 and 1.5 mmol/mL, got {c}"),
                );
            }
        }
        Ok(())
    }

    /// The clinical core's settings with these values laid over the defaults.
    pub fn to_protocol(&self) -> ProtocolSettings {
        let mut p = ProtocolSettings::default();
        let d = Duration::from_secs;
        let c = &mut p.contrast;
        c.cumulative_max_mmol_kg = self.dose_max_mmol_kg;
        c.reduced_max_mmol_kg = self.reduced_dose_max_mmol_kg;
        c.top_up_max_mmol_kg = self.top_up_max_mmol_kg;
        c.implausible_below_mmol_kg = self.implausible_below_mmol_kg;
        c.rate_min_ml_s = self.rate_min_ml_s;
        c.rate_max_ml_s = self.rate_max_ml_s;
        c.flush_min_ml = self.flush_min_ml;
        c.flush_max_ml = self.flush_max_ml;
        let sc = &mut p.screening;
        sc.egfr_contrast_min = self.egfr_contrast_min;
        sc.egfr_max_age_days = self.egfr_max_age_days;
        sc.caffeine_abstinence_h = self.caffeine_abstinence_h;
        sc.dipyridamole_abstinence_h = self.dipyridamole_abstinence_h;
        let s = &mut p.stress;
        s.concentration_ug_ml = self.adenosine_concentration_ug_ml;
        s.adenosine_dose_ug_kg_min = self.adenosine_dose_ug_kg_min;
        s.adenosine_min_ug_kg_min = self.adenosine_min_ug_kg_min;
        s.adenosine_max_ug_kg_min = self.adenosine_max_ug_kg_min;
        s.escalation = self.escalation.then(|| Escalation {
            dose_ug_kg_min: self.escalation_dose_ug_kg_min,
            max_infusion: d(self.escalation_max_infusion_s),
        });
        s.regadenoson_dose_mg = self.regadenoson_dose_mg;
        s.hr_rise = self.hr_rise;
        s.sbp_drop = self.sbp_drop;
        s.max_time_to_imaging = d(self.max_time_to_imaging_s);
        s.min_infusion = d(self.min_infusion_s);
        s.after_escalation = d(self.after_escalation_s);
        s.recovery = d(self.recovery_s);
        s.observation = d(self.observation_s);
        s.baseline_max_age = d(self.baseline_max_age_s);
        s.infusion_limit = d(self.infusion_limit_s);
        s.sbp_floor = self.sbp_floor;
        s.sbp_stop = self.sbp_stop;
        s.sbp_contraindication = self.sbp_contraindication;
        s.spo2_floor = self.spo2_floor;
        s.hr_low = self.hr_low;
        s.aminophylline_after_stop = d(self.aminophylline_after_stop_s);
        s.regadenoson_imaging_delay = d(self.regadenoson_imaging_delay_s);
        let l = &mut p.lge;
        l.single_open = d(self.lge_single_open_s);
        l.second_injection_open = d(self.lge_second_injection_open_s);
        l.close = d(self.lge_close_s);
        for agent in &mut p.agents.agents {
            if let Some(c) = self.agent_mmol_per_ml.get(&agent.id) {
                agent.mmol_per_ml = *c;
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_protocol_defaults_and_valid() {
        let c = ClinicalSettings::default();
        c.validate().unwrap();
        assert_eq!(c.to_protocol(), ProtocolSettings::default());
        assert_eq!(c.min_infusion_s, 120);
        assert_eq!(c.observation_s, 900);
    }

    #[test]
    fn a_value_out_of_range_names_its_key() {
        let c = ClinicalSettings {
            dose_max_mmol_kg: 1.0,
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().key, "dose_max_mmol_kg");
        let c = ClinicalSettings {
            adenosine_min_ug_kg_min: 200.0,
            adenosine_max_ug_kg_min: 180.0,
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
