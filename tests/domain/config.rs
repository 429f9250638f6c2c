//! Configuration parsing: the documented example, unknown keys, bad values, missing files.

use cmr_kiosk::config::{BreathHoldPhase, Config, ConfigError, Language, MonitorSource, ThemeName};
use rstest::rstest;

#[test]
fn example_file_documents_exactly_the_defaults() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/kiosk.example.toml"))
        .unwrap();
    assert_eq!(Config::parse(&text).unwrap(), Config::default());
}

#[test]
fn empty_file_gives_defaults() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.ui.language, Language::ZhCn);
    assert_eq!(c.ui.theme, ThemeName::Day);
    assert_eq!(c.ui.breath_hold_threshold_s, 15.0);
    assert_eq!(c.ui.breath_hold_phase, BreathHoldPhase::EndExpiration);
    assert_eq!(c.monitor.source, MonitorSource::Simulated);
    assert!(c.database.effective_url().starts_with("sqlite://"));
    assert!(c.database.effective_url().ends_with("cmr-kiosk/kiosk.db"));
}

#[test]
fn good_file_is_read() {
    let c = Config::parse(
        r#"
        [institution]
        name = "阜外医院"
        [scanner]
        vendor = "Siemens"
        model = "MAGNETOM Vida"
        field_strength_t = 3.0
        [ui]
        language = "en-US"
        theme = "night"
        dpi = 141.0
        fullscreen = true
        breath_hold_threshold_s = 20.0
        breath_hold_phase = "end_inspiration"
        [database]
        url = "postgres://kiosk@central/cmr?sslmode=verify-full"
        [monitor]
        source = "serial"
        protocol = "intellivue"
        port = "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0"
        baud = 115200
        "#,
    )
    .unwrap();
    assert_eq!(c.institution.name, "阜外医院");
    assert_eq!(c.scanner.field_strength_t, 3.0);
    assert_eq!(c.ui.language, Language::EnUs);
    assert_eq!(c.ui.theme, ThemeName::Night);
    assert!(c.ui.fullscreen);
    assert_eq!(c.ui.breath_hold_threshold_s, 20.0);
    assert_eq!(c.ui.breath_hold_phase, BreathHoldPhase::EndInspiration);
    assert_eq!(c.monitor.source, MonitorSource::Serial);
    assert_eq!(
        c.database.effective_url(),
        "postgres://kiosk@central/cmr?sslmode=verify-full"
    );
}

#[rstest]
#[case::top_level("colour = \"blue\"", "colour")]
#[case::in_section("[ui]\nfont = \"big\"", "font")]
#[case::in_monitor("[monitor]\nbaudrate = 9600", "baudrate")]
fn unknown_keys_are_refused_by_name(#[case] text: &str, #[case] key: &str) {
    let err = Config::parse(text).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax(_)), "{err}");
    assert!(
        err.to_string().contains(key),
        "message names the key: {err}"
    );
}

#[rstest]
#[case::dpi_too_low("[ui]\ndpi = 10.0", "ui.dpi")]
#[case::audio_pause_longer_than_2_min("[ui]\naudio_pause_s = 300.0", "ui.audio_pause_s")]
#[case::audio_pause_too_short("[ui]\naudio_pause_s = 2.0", "ui.audio_pause_s")]
#[case::dpi_nan("[ui]\ndpi = nan", "ui.dpi")]
#[case::staff_target_below_9mm("[ui]\nstaff_target_mm = 7.0", "ui.staff_target_mm")]
#[case::patient_target_below_20mm("[ui]\npatient_target_mm = 12.0", "ui.patient_target_mm")]
#[case::breath_hold_threshold_too_short(
    "[ui]\nbreath_hold_threshold_s = 1.0",
    "ui.breath_hold_threshold_s"
)]
#[case::breath_hold_threshold_nan(
    "[ui]\nbreath_hold_threshold_s = nan",
    "ui.breath_hold_threshold_s"
)]
#[case::width("[ui]\nscreen_width_px = 100", "ui.screen_width_px")]
#[case::field_strength("[scanner]\nfield_strength_t = 0.0", "scanner.field_strength_t")]
#[case::baud("[monitor]\nbaud = 12345", "monitor.baud")]
#[case::serial_without_port("[monitor]\nsource = \"serial\"", "monitor.port")]
#[case::tcp_bad_address(
    "[monitor]\nsource = \"tcp\"\ntcp_listen = \"nowhere\"",
    "monitor.tcp_listen"
)]
#[case::intellivue_over_tcp(
    "[monitor]\nsource = \"tcp\"\nprotocol = \"intellivue\"",
    "monitor.protocol"
)]
#[case::profile(
    "[monitor]\nsimulator_profile = \"sleepy\"",
    "monitor.simulator_profile"
)]
#[case::device_profile("[monitor]\ndevice_profile = \"acme-9000\"", "monitor.device_profile")]
#[case::device_id("[database]\ndevice_id = \"kiosk 1\"", "database.device_id")]
#[case::central_url("[database]\ncentral_url = \"sqlite://x.db\"", "database.central_url")]
#[case::dicom_poll("[dicom]\npoll_interval_s = 0.0", "dicom.poll_interval_s")]
#[case::node_ae_too_long(
    "[dicom.node]\nae_title = \"SEVENTEEN_CHARS_X\"",
    "dicom.node.ae_title"
)]
#[case::node_listen_bad(
    "[dicom]\nincoming = \"/x\"\n[dicom.node]\nlisten = \"here\"",
    "dicom.node.listen"
)]
#[case::node_listen_without_incoming(
    "[dicom.node]\nlisten = \"0.0.0.0:11112\"",
    "dicom.node.listen"
)]
#[case::node_caller("[dicom.node]\ncallers = [\"A\\\\B\"]", "dicom.node.callers")]
#[case::node_keep("[dicom.node]\nkeep_mib = 1", "dicom.node.keep_mib")]
#[case::node_discard(
    "[dicom.node]\ndiscard_after_min = 1.0",
    "dicom.node.discard_after_min"
)]
#[case::worklist_provider(
    "[dicom.worklist]\nprovider = \"ris.example:104\"",
    "dicom.worklist.provider"
)]
#[case::worklist_ca(
    "[dicom.worklist]\nprovider = \"RIS@ris.example:104\"\ntls_ca_file = \"/nonexistent/ca.pem\"",
    "dicom.worklist.tls_ca_file"
)]
#[case::worklist_timeout("[dicom.worklist]\ntimeout_s = 0.1", "dicom.worklist.timeout_s")]
#[case::worklist_station(
    "[dicom.worklist]\nstation_ae = \"A_STATION_TITLE_X\"",
    "dicom.worklist.station_ae"
)]
#[case::database("[database]\nurl = \"mysql://x\"", "database.url")]
fn out_of_range_values_are_refused_by_key(#[case] text: &str, #[case] key: &str) {
    match Config::parse(text).unwrap_err() {
        ConfigError::Invalid { key: k, message } => {
            assert_eq!(k, key, "{message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected Invalid for {key}, got {other}"),
    }
}

#[rstest]
#[case::wrong_type("[ui]\ndpi = \"high\"", "dpi")]
#[case::unknown_breath_hold_phase("[ui]\nbreath_hold_phase = \"mid_breath\"", "breath_hold_phase")]
#[case::unknown_language("[ui]\nlanguage = \"fr-FR\"", "language")]
#[case::broken_toml("[ui\n", "")]
fn wrong_types_are_refused(#[case] text: &str, #[case] key: &str) {
    let err = Config::parse(text).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax(_)));
    assert!(err.to_string().contains(key), "{err}");
}

#[test]
fn missing_explicit_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let err = Config::load(Some(&path)).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err.to_string().contains("absent.toml"), "{err}");
}

#[test]
fn explicit_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    std::fs::write(&path, "[ui]\ntheme = \"night\"\n").unwrap();
    assert_eq!(
        Config::load(Some(&path)).unwrap().ui.theme,
        ThemeName::Night
    );
}

#[test]
fn broken_file_is_an_error_not_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    std::fs::write(&path, "[ui]\ndpi = -3.0\n").unwrap();
    assert!(matches!(
        Config::load(Some(&path)),
        Err(ConfigError::Invalid { key: "ui.dpi", .. })
    ));
}

#[test]
fn renderer_is_chosen_by_configuration_or_by_the_gpu_present() {
    use cmr_kiosk::config::RendererChoice;
    assert_eq!(Config::default().ui.renderer, RendererChoice::Auto);
    for (text, choice) in [
        ("software", RendererChoice::Software),
        ("femtovg", RendererChoice::Femtovg),
        ("auto", RendererChoice::Auto),
    ] {
        let c = Config::parse(&format!("[ui]\nrenderer = \"{text}\"\n")).unwrap();
        assert_eq!(c.ui.renderer, choice);
    }
    assert!(Config::parse("[ui]\nrenderer = \"vulkan\"\n").is_err());
    // Auto: OpenGL only where a GPU render node exists; software otherwise.
    assert_eq!(RendererChoice::Auto.renderer_name(false), "software");
    assert_eq!(RendererChoice::Auto.renderer_name(true), "femtovg");
    assert_eq!(RendererChoice::Software.renderer_name(true), "software");
    assert_eq!(RendererChoice::Femtovg.renderer_name(false), "femtovg");
}

#[test]
fn practice_clinical_section_is_read_validated_and_reaches_the_clinical_core() {
    let c = Config::parse(
        r#"
        [clinical]
        min_infusion_s = 0
        observation_s = 1200
        egfr_max_age_days = 30
        [clinical.agent_mmol_per_ml]
        gadoterate = 0.5
        "#,
    )
    .unwrap();
    let p = c.clinical.to_protocol();
    assert_eq!(p.stress.min_infusion.as_millis(), 0);
    assert_eq!(p.stress.observation.as_millis(), 1_200_000);
    assert_eq!(p.screening.egfr_max_age_days, 30);
    match Config::parse("[clinical]\ndose_max_mmol_kg = 1.0\n") {
        Err(e @ ConfigError::Clinical(_)) => {
            assert!(e.to_string().contains("clinical.dose_max_mmol_kg"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Config::parse("[clinical]\nmin_infusion = 0\n"),
        Err(ConfigError::Syntax(_))
    ));
}
