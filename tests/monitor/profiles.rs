//! The device profiles shipped in hardware/profiles/ parse and become link settings.

use std::time::Duration;

use cmr_kiosk::monitor::Measure;
use cmr_kiosk::monitor::Protocol;
use cmr_kiosk::monitor::profile::{BUILTIN, DeviceProfile, ProfileError, Transport};

#[test]
fn every_shipped_profile_parses() {
    for (name, _) in BUILTIN {
        let p = DeviceProfile::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = p.link_settings();
        assert_eq!(s.protocol, p.protocol);
        let hr = s
            .expectations
            .iter()
            .find(|e| e.measure == Measure::Hr)
            .expect("HR expected");
        assert!(hr.critical, "{name}: losing HR is monitor data lost");
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hardware/profiles");
    let on_disk = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(
        on_disk,
        BUILTIN.len(),
        "every file in hardware/profiles is embedded"
    );
}

#[test]
fn intellivue_profile_sets_serial_and_poll() {
    let p = DeviceProfile::builtin("philips-intellivue-mib").unwrap();
    assert_eq!(p.protocol, Protocol::Intellivue);
    assert_eq!(p.transport, Transport::Serial);
    assert_eq!(p.serial.as_ref().unwrap().baud, 115_200);
    let s = p.link_settings();
    assert_eq!(s.poll_interval, Duration::from_secs(1));
    assert_eq!(s.keep_alive_interval, Duration::from_secs(6));
}

#[test]
fn bad_profiles_are_named() {
    assert!(matches!(
        DeviceProfile::builtin("acme-9000"),
        Err(ProfileError::Unknown(_))
    ));
    let e = DeviceProfile::parse("protocol = \"hl7\"\ntransport = \"serial\"\n").unwrap_err();
    assert!(e.to_string().contains("serial"), "{e}");
    let e = DeviceProfile::parse(
        "protocol = \"intellivue\"\ntransport = \"tcp-listen\"\nlisten = \"0.0.0.0:1\"\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("transport"), "{e}");
    let e = DeviceProfile::parse(
        "protocol = \"hl7\"\ntransport = \"tcp-listen\"\nlisten = \"0.0.0.0:1\"\n[expect]\npulse = { interval_s = 1, critical = true }\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("expect.pulse"), "{e}");
    let e = DeviceProfile::parse("protocol = \"hl7\"\ncolour = 1\n").unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
}
