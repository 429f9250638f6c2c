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
        "987654\n",
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
    let out = run(&cfg, &add_nurse, "987654\n1234\n");
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(
        &cfg,
        &["user", "disable", "wang", "--admin", "admin"],
        "987654\n",
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

/// Sixty wrong admin PINs at once from the shell (issue 20): each process counts its
/// attempt in the database before checking it, so exactly the lockout limit are
/// checked, the rest are refused as locked, and the right PIN is then refused too.
#[test]
fn clause_5_3_3_sixty_parallel_wrong_pins_lock_the_account_after_the_limit() {
    const ATTEMPTS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\nurl = \"sqlite://{}\"\ndevice_id = \"cli-parallel\"\n",
            dir.path().join("kiosk.db").display()
        ),
    )
    .unwrap();
    let add = |user: &str, role: &str, stdin: &str| {
        let mut args = vec![
            "user",
            "add",
            "--username",
            user,
            "--name",
            user,
            "--role",
            role,
        ];
        if role != "admin" {
            args.extend(["--admin", "root"]);
        }
        let out = run(&cfg, &args, stdin);
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    add("root", "admin", "135790\n");
    add("nina", "nurse", "135790\n2468\n");

    let children: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let mut child = kiosk()
                .arg("--config")
                .arg(&cfg)
                .args(["user", "disable", "nina", "--admin", "root"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let pin = format!("{:06}\n", 100_000 + i);
            child
                .stdin
                .take()
                .unwrap()
                .write_all(pin.as_bytes())
                .unwrap();
            child
        })
        .collect();
    let mut refused = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("admin login refused"));
        refused += 1;
    }
    assert_eq!(refused, ATTEMPTS);

    // The record: the limit's worth of PINs checked, every other attempt locked out.
    let out = run(
        &cfg,
        &["user", "disable", "nina", "--admin", "root"],
        "135790\n",
    );
    assert!(!out.status.success(), "the right PIN after the lockout");
    assert!(
        text(&out.stderr).contains("locked"),
        "{}",
        text(&out.stderr)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (wrong, locked, failed_pins) = rt.block_on(async {
        let db = cmr_kiosk::config::Database {
            url: format!("sqlite://{}", dir.path().join("kiosk.db").display()),
            device_id: "cli-parallel".into(),
            ..Default::default()
        };
        let store = cmr_kiosk::store::Store::open_kiosk(&db).await.unwrap();
        let rows = store.entries_after("cli-parallel", 0, 1000).await.unwrap();
        let reasons: Vec<String> = rows
            .iter()
            .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok())
            .filter(|v| v["action"] == "login" && v["user"] == "root")
            .filter_map(|v| v["reason"].as_str().map(str::to_string))
            .collect();
        let wrong = reasons
            .iter()
            .filter(|r| r.starts_with("wrong PIN"))
            .count();
        let locked = reasons
            .iter()
            .filter(|r| r.as_str() == "locked out")
            .count();
        let failed = store.staff("root").await.unwrap().unwrap().failed_pins;
        (wrong, locked, failed)
    });
    let limit = cmr_kiosk::store::accounts::LockoutPolicy::default().max_attempts as usize;
    assert_eq!(wrong, limit, "PINs checked");
    assert_eq!(locked, ATTEMPTS - limit + 1, "attempts refused unchecked");
    assert_eq!(failed_pins as usize, limit);
}

/// Issue 16: `backup now|list|restore`, `status --json` and `migrate` as an installer
/// or the package's postinst runs them, on a database the test makes.
#[test]
fn issue_16_backup_status_and_migrate_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\nurl = \"sqlite://{}\"\ndevice_id = \"cli-backup\"\nbackups_kept = 2\n",
            db.display()
        ),
    )
    .unwrap();

    // A fresh database: migrate makes it, nothing to back up.
    let out = run(&cfg, &["migrate"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("the database is current"));

    let out = run(&cfg, &["status", "--json"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema = &s["database"]["schema"];
    assert_eq!(schema["applied"], schema["known"], "{s:#}");
    assert_eq!(schema["state"], "current");
    assert!(s["disk"]["space"]["free"].as_u64().unwrap() > 0, "{s:#}");
    assert!(s["backups"]["last"].is_null());
    assert!(s["clock"]["state"].is_string(), "{s:#}");

    // Three backups, two kept, each verified; listed newest first.
    for _ in 0..3 {
        let out = run(&cfg, &["backup", "now"], "");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("verified"));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let out = run(&cfg, &["backup", "list", "--json"], "");
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 2, "{listed:#?}");
    assert!(listed.iter().all(|b| b["check"]["ok"] == true));
    assert!(listed[0]["taken_at"].as_str() > listed[1]["taken_at"].as_str());
    let out = run(&cfg, &["status", "--json"], "");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["backups"]["last"]["file"], listed[0]["file"]);

    // Restore from the command line: the replaced database is kept.
    let file = listed[1]["file"].as_str().unwrap();
    let out = run(&cfg, &["backup", "restore", file], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("the replaced database is kept as"));
    // A file that is not a backup: refused, non-zero.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let out = run(&cfg, &["backup", "restore", junk.to_str().unwrap()], "");
    assert!(!out.status.success());

    // A database a newer program migrated: migrate refuses with exit status 2 and a
    // message naming the newer program, and leaves the file untouched.
    let key_dir = dir.path().join("keys");
    let keys =
        cmr_kiosk::store::keys::KeyRing::open(&key_dir, cmr_kiosk::store::keys::Create::Never)
            .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(crate::support::store::add_future_migration(
            &db,
            &keys.database_key_pragma(),
        ));
    let before = std::fs::read(&db).unwrap();
    let out = run(&cfg, &["migrate"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("9.9.9"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let out = run(&cfg, &["status", "--json"], "");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["database"]["schema"]["state"], "newer", "{s:#}");
}
