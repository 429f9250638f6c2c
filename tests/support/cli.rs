//! The `cmr-kiosk` binary as the tests run it: with an empty configuration file and
//! a data folder of their own, so nothing on the machine (an installed
//! `/etc/cmr-kiosk/kiosk.toml`, the user's `~/.local/share/cmr-kiosk`, the host
//! name, the time zone) changes what a test sees.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_cmr-kiosk");

/// The folder standing in for the machine: `target/tmp/cli-machine`.
pub fn machine_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-machine");
    std::fs::create_dir_all(dir.join("data")).expect("test machine folder");
    dir
}

/// `cmr-kiosk` with an empty configuration (built-in defaults, explicitly), its data
/// under [`machine_dir`], a fixed device id and UTC.
pub fn kiosk() -> Command {
    let dir = machine_dir();
    let config = dir.join("kiosk.toml");
    if !config.exists() {
        std::fs::write(&config, "[database]\ndevice_id = \"test-kiosk\"\n").expect("config");
    }
    let mut c = Command::new(BIN);
    c.env("CMR_KIOSK_CONFIG", &config)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", &dir)
        .env("TZ", "UTC")
        .env_remove("RUST_LOG");
    c
}
