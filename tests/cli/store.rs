//! `cmr-kiosk user …`, `log verify` and `sync --once` run as an administrator would.

use crate::support::cli as cli_support;
use cli_support::kiosk;

use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

fn run(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = kiosk()
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn accounts_log_verify_and_sync_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let central = std::env::var("CMR_TEST_POSTGRES_URL").unwrap_or_default();
    // A device id of its own: the central database outlives this test.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let device = format!("cli-{}-{nanos}", std::process::id());
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\nurl = \"sqlite://{}\"\ndevice_id = \"{device}\"\ncentral_url = \"{central}\"\n",
            db.display()
        ),
    )
    .unwrap();

    // The first account must be an admin and needs no login.
    let out = run(
        &cfg,
        &[
            "user",
            "add",
            "--username",
            "wang",
            "--name",
            "王护士",
            "--role",
            "nurse",
        ],
        "1234\n",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("first account must be an admin"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        &cfg,
        &[
            "user",
            "add",
            "--username",
            "admin",
            "--name",
            "Admin",
            "--role",
            "admin",
        ],
        "9876\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // After that an admin authorises, and a wrong admin PIN is refused.
    let add_nurse = [
        "user",
        "add",
        "--username",
        "wang",
        "--name",
        "王护士",
        "--role",
        "nurse",
        "--admin",
        "admin",
    ];
    let out = run(&cfg, &add_nurse, "0000\n1234\n");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("admin login refused"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&cfg, &add_nurse, "9876\n1234\n");
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(
        &cfg,
        &["user", "disable", "wang", "--admin", "admin"],
        "9876\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&cfg, &["user", "list"], "");
    let list = text(&out.stdout);
    assert!(list.contains("admin\tadmin\tactive"), "{list}");
    assert!(list.contains("wang\tnurse\tdisabled\t王护士"), "{list}");

    // Every one of those actions was audited in a chain that verifies.
    let out = run(&cfg, &["log", "verify"], "");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = run(&cfg, &["log", "verify", "--exam", "not-a-uuid"], "");
    assert!(!out.status.success());

    if central.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide CMR_TEST_POSTGRES_URL"
        );
        eprintln!("CMR_TEST_POSTGRES_URL unset: sync --once not exercised");
        return;
    }
    let out = run(&cfg, &["sync", "--once"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("sent"), "{}", text(&out.stdout));
    // A second run sends nothing new.
    let out = run(&cfg, &["sync", "--once"], "");
    assert!(text(&out.stdout).contains("0 new"), "{}", text(&out.stdout));
}
