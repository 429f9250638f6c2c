//! The simulator reproduces the scenario contract (design/scenario-format.md):
//! every `tests/scenarios/*.json` against its `*.expected.jsonl`, and every
//! `tests/scenarios/malformed/*.json` against its `*.expected_error`.

use std::fs;
use std::path::{Path, PathBuf};

use cmr_kiosk::cli::simulate::{ScenarioError, run_scenario};
use rstest::rstest;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

fn expected(name: &str) -> Vec<Value> {
    let text =
        fs::read_to_string(dir().join(format!("{name}.expected.jsonl"))).expect("expected file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("expected line is JSON"))
        .collect()
}

fn run(name: &str) -> Vec<Value> {
    let json = fs::read_to_string(dir().join(format!("{name}.json"))).expect("scenario file");
    run_scenario(&json).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[rstest]
#[case::responder_by_hr("responder_hr")]
#[case::responder_by_bp("responder_bp")]
#[case::non_responder_reaching_240_s("non_responder_240")]
#[case::egfr_25_without_override("egfr25_no_override")]
#[case::egfr_25_with_override("egfr25_with_override")]
#[case::conditional_pacemaker("conditional_pacemaker")]
#[case::unknown_aneurysm_clip("unknown_aneurysm_clip")]
#[case::top_up_too_large("top_up_too_large")]
#[case::rate_and_flush_warnings("rate_flush_warnings")]
#[case::single_injection_lge_window("single_lge_window")]
#[case::full_stress_rest_lge("full_stress_rest")]
#[case::hypotensive_alarm("hypotensive_alarm")]
#[case::regadenoson("regadenoson")]
#[case::caffeine_blocks_stress("caffeine_blocks_stress")]
#[case::clause_3_1_3_2_dose_above_max("guard_dose_above_max")]
#[case::clause_3_1_3_2_reduced_max_on_dialysis("guard_reduced_max_dialysis")]
#[case::clause_3_1_3_2_group_i_agent_after_egfr_override("guard_egfr25_override_group_i")]
#[case::clause_3_1_3_2_dose_implausible("guard_dose_implausible")]
#[case::clause_3_1_4_1_top_up_by_dose_given("guard_top_up_by_dose_given")]
#[case::clause_3_2_3_stress_dose_out_of_range("guard_stress_dose_out_of_range")]
#[case::clause_3_2_3_no_baseline_vitals("guard_no_baseline_vitals")]
#[case::clause_3_2_3_rest_before_recovery("guard_rest_before_recovery")]
#[case::clause_3_2_3_stress_perfusion_without_stress("guard_stress_perfusion_without_stress")]
#[case::clause_2_3_1_egfr_unknown_at_80("guard_egfr_unknown_age_80")]
#[case::clause_2_3_1_egfr_stale("guard_egfr_stale")]
#[case::clause_2_3_1_egfr_recent_under_a_site_limit("guard_egfr_recent_site_limit")]
#[case::clause_2_1_2_conditional_implant_without_conditions(
    "guard_conditional_implant_without_conditions"
)]
#[case::clause_2_1_2_implant_field_strength("guard_implant_field_strength")]
#[case::clause_2_1_2_implant_condition_exceeded("guard_implant_condition_exceeded")]
#[case::clause_2_1_2_pregnancy_overrides_name_their_rule(
    "guard_pregnancy_overrides_name_their_rule"
)]
#[case::clause_3_2_3_observation_after_adenosine("guard_observation_after_adenosine")]
#[case::clause_3_2_3_regadenoson_reversal("guard_regadenoson_reversal")]
#[case::clause_3_2_3_min_infusion_before_image_now("guard_min_infusion_before_image_now")]
#[case::clause_3_2_3_min_infusion_literal("guard_min_infusion_literal")]
#[case::clause_3_2_3_escalation_moves_deadline("guard_escalation_moves_deadline")]
#[case::clause_3_1_4_1_lge_rest_first_provisional("guard_lge_rest_first_provisional")]
#[case::clause_3_1_4_1_lge_rest_abandoned("guard_lge_rest_abandoned")]
fn scenario_matches_expected(#[case] name: &str) {
    let got = run(name);
    let want = expected(name);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{name}: line {}", i + 1);
    }
    assert_eq!(got.len(), want.len(), "{name}: number of lines");
}

#[test]
fn every_scenario_file_has_a_case_and_keeps_the_contract() {
    let mut count = 0;
    for entry in fs::read_dir(dir()).expect("scenarios dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            let lines = run(&name);
            assert_eq!(
                lines.first().unwrap()["kind"],
                "clearance",
                "{name}: first line"
            );
            assert_eq!(
                lines.last().unwrap()["kind"],
                "summary",
                "{name}: last line"
            );
            let ats: Vec<f64> = lines.iter().map(|l| l["at"].as_f64().unwrap()).collect();
            assert!(ats.windows(2).all(|w| w[0] <= w[1]), "{name}: time order");
            assert_eq!(lines, expected(&name), "{name}");
            count += 1;
        }
    }
    assert!(count >= 37, "only {count} scenarios");
}

#[test]
fn malformed_scenarios_name_the_field_and_step() {
    let mut count = 0;
    for entry in fs::read_dir(dir().join("malformed")).expect("malformed dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let json = fs::read_to_string(&path).unwrap();
            let want = fs::read_to_string(path.with_extension("expected_error")).unwrap();
            let err = run_scenario(&json).expect_err("malformed must be refused");
            assert_eq!(err.to_string(), want.trim(), "{}", path.display());
            if let ScenarioError::Field { field, .. } = &err {
                assert!(err.to_string().contains(field.as_str()));
            }
            count += 1;
        }
    }
    assert!(count >= 10, "only {count} malformed examples");
}

#[rstest]
#[case::negative_rate_names_step_and_field("negative_rate", Some(1), "rate_ml_s")]
#[case::unknown_action("unknown_action", Some(2), "action")]
#[case::out_of_order("steps_out_of_order", Some(1), "at")]
#[case::missing_weight("missing_weight", None, "patient.weight_kg")]
#[case::weight_above_350("weight_400", None, "patient.weight_kg")]
fn malformed_error_is_structured(
    #[case] name: &str,
    #[case] step: Option<usize>,
    #[case] field: &str,
) {
    let json = fs::read_to_string(dir().join("malformed").join(format!("{name}.json"))).unwrap();
    match run_scenario(&json) {
        Err(ScenarioError::Field {
            step: s, field: f, ..
        }) => {
            assert_eq!(s, step);
            assert_eq!(f, field);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deadline_after_the_last_step_is_not_reported() {
    // Stop at 225 s: rest perfusion would be ready at 825 s, after the run ends.
    let lines = run("responder_hr");
    assert!(lines.iter().all(|l| l["kind"] != "rest_perfusion_ready"));
    assert_eq!(lines.last().unwrap()["at"], 225);
}

#[test]
fn rejected_step_changes_nothing() {
    // The refused top-up leaves the cumulative dose as it was.
    let lines = run("top_up_too_large");
    let doses: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "dose").collect();
    assert_eq!(doses.len(), 2);
    assert_eq!(doses[1]["cumulative_mmol_kg"], 0.15);
    let rejected = lines.iter().find(|l| l["kind"] == "rejected").unwrap();
    assert_eq!(rejected["step"], 2);
    assert_eq!(rejected["code"], "top_up_above_0_05");
}

#[test]
fn the_scenario_bounds_are_crossed_and_refused() {
    use cmr_kiosk::cli::simulate::{MAX_LABEL_FIELD_STRENGTHS, MAX_SCENARIO_BYTES, MAX_STEPS};
    // Bytes.
    let padded = format!("{}{}", " ".repeat(MAX_SCENARIO_BYTES as usize), "{}");
    assert!(matches!(run_scenario(&padded), Err(ScenarioError::Json(_))));
    // Steps.
    let step = r#"{"at":0,"vitals":{"hr":60}}"#;
    let steps = vec![step; MAX_STEPS + 1].join(",");
    let json = format!(r#"{{"patient":{{"weight_kg":70}},"steps":[{steps}]}}"#);
    match run_scenario(&json) {
        Err(ScenarioError::Field { field, .. }) => assert_eq!(field, "steps"),
        other => panic!("{other:?}"),
    }
    let ok = [step; 10].join(",");
    assert!(
        run_scenario(&format!(
            r#"{{"patient":{{"weight_kg":70}},"steps":[{ok}]}}"#
        ))
        .is_ok()
    );
    // Field strengths on one label.
    let many = ["1.5"; MAX_LABEL_FIELD_STRENGTHS + 1].join(",");
    let json = format!(
        r#"{{"patient":{{"weight_kg":70}},"screening":{{"implants":[{{"kind":"pacemaker","mr_status":"conditional","conditions":{{"field_strength_t":[{many}]}}}}]}},"steps":[]}}"#
    );
    match run_scenario(&json) {
        Err(ScenarioError::Field { field, .. }) => {
            assert!(field.ends_with("field_strength_t"), "{field}")
        }
        other => panic!("{other:?}"),
    }
}
