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

#[test]
fn alarm_sound_out_writes_one_cycle_of_the_pattern_as_a_16_bit_wav() {
    use cmr_kiosk::engine::sound::pattern;
    let dir = tempfile::tempdir().unwrap();
    for (name, priority) in [
        ("high", cmr_kiosk::domain::AlarmPriority::High),
        ("medium", cmr_kiosk::domain::AlarmPriority::Medium),
        ("low", cmr_kiosk::domain::AlarmPriority::Low),
    ] {
        let wav = dir.path().join(format!("{name}.wav"));
        let out = kiosk()
            .args(["alarm-sound", "--priority", name, "--out"])
            .arg(&wav)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reader = hound::WavReader::open(&wav).unwrap();
        let spec = reader.spec();
        assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
        assert_eq!(spec.sample_rate, 48_000);
        // By default one burst and its interburst interval: the file loops seamlessly.
        let cycle_samples = u64::from(pattern(priority).cycle_ms()) * 48;
        assert_eq!(u64::from(reader.duration()), cycle_samples, "{name}");
        assert!(
            reader
                .into_samples::<i16>()
                .any(|s| s.unwrap().unsigned_abs() > 10_000),
            "{name}: not silent"
        );
    }
    // --seconds and --rate.
    let wav = dir.path().join("short.wav");
    let out = kiosk()
        .args([
            "alarm-sound",
            "--priority",
            "high",
            "--seconds",
            "2",
            "--rate",
            "16000",
            "--out",
        ])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(out.status.success());
    let reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    assert_eq!(reader.duration(), 32_000);
}

#[test]
fn alarm_sound_refuses_out_of_range_arguments_and_names_them() {
    for args in [
        &["--priority", "urgent"][..],
        &["--priority", "high", "--seconds", "0"],
        &["--priority", "high", "--seconds", "601"],
        &["--priority", "high", "--rate", "4000", "--out", "x.wav"],
    ] {
        let out = kiosk().arg("alarm-sound").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--"), "{args:?}: {err}");
    }
}

/// Without `--out` it plays on the audio output: on a machine without a sound card
/// (CI) it says why and exits 2, and never hangs.
#[test]
fn alarm_sound_plays_on_the_speaker_or_says_why_it_cannot() {
    let out = kiosk()
        .args(["alarm-sound", "--priority", "low", "--seconds", "1"])
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => assert!(String::from_utf8_lossy(&out.stdout).contains("playing")),
        Some(2) => assert!(
            String::from_utf8_lossy(&out.stderr).contains("alarm sound unavailable"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        other => panic!("exit {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
    }
}
