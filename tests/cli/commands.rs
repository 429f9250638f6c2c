//! The `cmr-kiosk` binary's subcommands, run as a user would run them.

use crate::support::cli as cli_support;
use cli_support::kiosk;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

fn scenario(name: &str) -> String {
    format!("{}/tests/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn simulate_prints_the_expected_lines() {
    let out = kiosk()
        .args(["simulate", &scenario("full_stress_rest.json")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want: Vec<serde_json::Value> =
        std::fs::read_to_string(scenario("full_stress_rest.expected.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(got, want);
    // Every line starts with "at" and "kind", in time order.
    let mut last = 0.0;
    for v in &got {
        let at = v["at"].as_f64().unwrap();
        assert!(at >= last);
        last = at;
        assert!(v["kind"].is_string());
    }
}

#[test]
fn simulate_refuses_a_malformed_file_with_status_2_and_nothing_on_stdout() {
    let out = kiosk()
        .args(["simulate", &scenario("malformed/negative_rate.json")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rate_ml_s") && err.contains("step 1"), "{err}");

    let out = kiosk()
        .args(["simulate", "/nonexistent/scenario.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_broken_config_is_named_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(&cfg, "[ui]\ndpi = 5.0\n").unwrap();
    let out = kiosk()
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "screenshot",
            "--out",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ui.dpi"));
}

#[test]
fn screenshot_command_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("home.png");
    let out = kiosk()
        .args([
            "screenshot",
            "--screen",
            "home",
            "--lang",
            "en-US",
            "--theme",
            "night",
            "--out",
        ])
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let out = kiosk()
        .args(["screenshot", "--screen", "nowhere", "--out", "/dev/null"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown screen `nowhere`"));
}

/// `monitor simulate --pty` in one process, `monitor listen --port` in another: the
/// readings cross a real pseudo-terminal and come out as JSON lines.
fn simulator_to_listener(protocol: &str) {
    let mut sim = kiosk()
        .args([
            "monitor",
            "simulate",
            "--protocol",
            protocol,
            "--pty",
            "--profile",
            "responder",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut path = String::new();
    BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut path)
        .unwrap();
    let path = path.trim().to_string();
    assert!(path.starts_with("/dev/"), "pty path printed: {path:?}");
    let out = kiosk()
        .args([
            "monitor",
            "listen",
            "--protocol",
            protocol,
            "--port",
            &path,
            "--seconds",
            "4",
        ])
        .output()
        .unwrap();
    sim.kill().ok();
    sim.wait().ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hr: Vec<_> = lines.iter().filter(|l| l["measure"] == "hr").collect();
    assert!(hr.len() >= 2, "{protocol}: HR readings arrived: {lines:?}");
    for l in &hr {
        let v = l["value"].as_f64().unwrap();
        assert!((30.0..200.0).contains(&v), "{l}");
        assert!(l["received_at"].is_string() && l["unit"].is_string());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("good_frames"), "counts printed on exit: {err}");
    std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn monitor_simulate_and_listen_over_a_pty_hl7() {
    simulator_to_listener("hl7");
}

#[test]
fn monitor_simulate_and_listen_over_a_pty_intellivue() {
    simulator_to_listener("intellivue");
}

#[test]
fn cli_numbers_out_of_range_are_refused_not_panicked() {
    for args in [
        &[
            "monitor",
            "listen",
            "--tcp",
            "127.0.0.1:0",
            "--protocol",
            "hl7",
            "--seconds",
            "1e20",
        ][..],
        &[
            "monitor",
            "listen",
            "--tcp",
            "127.0.0.1:0",
            "--protocol",
            "hl7",
            "--seconds",
            "inf",
        ],
        &[
            "monitor",
            "listen",
            "--tcp",
            "127.0.0.1:0",
            "--protocol",
            "hl7",
            "--seconds=-1",
        ],
        &[
            "monitor",
            "listen",
            "--tcp",
            "127.0.0.1:0",
            "--protocol",
            "hl7",
            "--seconds",
            "NaN",
        ],
        &[
            "monitor",
            "simulate",
            "--protocol",
            "hl7",
            "--connect",
            "127.0.0.1:9",
            "--time-scale",
            "1e300",
        ],
        &[
            "monitor",
            "simulate",
            "--protocol",
            "hl7",
            "--connect",
            "127.0.0.1:9",
            "--time-scale",
            "0",
        ],
        &[
            "monitor",
            "simulate",
            "--protocol",
            "hl7",
            "--connect",
            "127.0.0.1:9",
            "--baud",
            "7",
        ],
        &[
            "dicom",
            "synth",
            "--step",
            "cine_2ch",
            "--out",
            "/nonexistent",
            "--number=-5",
        ],
    ] {
        let out = kiosk().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains("invalid value"),
            "{args:?} says what is wrong: {err}"
        );
    }
}

#[test]
fn simulate_reads_no_more_than_max_scenario_bytes() {
    use cmr_kiosk::cli::simulate::MAX_SCENARIO_BYTES;
    let dir = tempfile::tempdir().unwrap();
    // A sparse file of 20 GB: refused after reading the bound, in a moment.
    let huge = dir.path().join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(20 * 1024 * 1024 * 1024)
        .unwrap();
    let started = std::time::Instant::now();
    let out = kiosk()
        .args(["simulate", huge.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&MAX_SCENARIO_BYTES.to_string()), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
