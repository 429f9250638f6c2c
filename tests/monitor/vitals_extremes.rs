//! Vital signs as clinicians need them (issue 19): extremes are readings that raise
//! the right alarm, not "implausible" data; a bare number is refused unless the
//! device profile names its unit; HL7 acknowledgements say what was refused.

use std::time::Duration;

use cmr_kiosk::domain::exam::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::domain::output::{AlarmCode, AlarmPriority, Decision};
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::Vitals;
use cmr_kiosk::domain::time::Instant;
use cmr_kiosk::monitor::hl7::{self, AckCode, MllpCodec, ObservationError, UnitDefaults};
use cmr_kiosk::monitor::link::{self, LinkSettings};
use cmr_kiosk::monitor::profile::DeviceProfile;
use cmr_kiosk::monitor::{Measure, Protocol, Reading, Unit};
use futures::{SinkExt, StreamExt};
use tokio::time::timeout;
use tokio_util::codec::Framed;

const T: Duration = Duration::from_secs(10);

fn msg(id: &str, obx: &[(&str, &str, &str)]) -> String {
    let mut m = format!("MSH|^~\\&|MON|ICU|KIOSK|CMR|20250106090000||ORU^R01^ORU_R01|{id}|P|2.6\r");
    for (i, (code, value, unit)) in obx.iter().enumerate() {
        m.push_str(&format!(
            "OBX|{}|NM|{code}|1.1.1.1|{value}|{unit}|||||R|||20250106090000\r",
            i + 1
        ));
    }
    m
}

const HR: &str = "147842^MDC_ECG_HEART_RATE^MDC";
const DIA: &str = "150022^MDC_PRESS_BLD_NONINV_DIA^MDC";

#[test]
fn heart_rate_zero_is_asystole_the_highest_priority_alarm() {
    // The reading passes the wire checks…
    let r = Reading::checked(Measure::Hr, 0.0, Unit::PerMinute, None).expect("a reading");
    assert_eq!(r.value, 0.0);
    for (m, v, u) in [
        (Measure::Spo2, 40.0, Unit::Percent),
        (Measure::NibpSys, 30.0, Unit::MmHg),
    ] {
        assert!(
            Reading::checked(m, v, u, None).is_ok(),
            "{m} {v} is a reading"
        );
    }
    // …garbage does not.
    assert!(Reading::checked(Measure::Hr, -5.0, Unit::PerMinute, None).is_err());
    assert!(Reading::checked(Measure::Spo2, 101.0, Unit::Percent, None).is_err());
    assert!(Reading::checked(Measure::NibpSys, f64::NAN, Unit::MmHg, None).is_err());

    // …and the exam raises asystole, high priority, outside any stress phase.
    let mut e = Exam::new(ProtocolSettings::default());
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Female,
        age_years: 70,
        egfr: Some(80.0),
        egfr_date: None,
    };
    e.handle(ExamEvent::PatientRegistered { patient }, Instant::ZERO)
        .unwrap();
    let vitals = |hr| ExamEvent::VitalsReading {
        vitals: Vitals {
            hr: Some(hr),
            ..Vitals::default()
        },
    };
    e.handle(vitals(62.0), Instant::from_secs(5)).unwrap();
    e.drain();
    e.handle(vitals(0.0), Instant::from_secs(6)).unwrap();
    let alarms: Vec<_> = e
        .drain()
        .into_iter()
        .filter_map(|o| match o.decision {
            Decision::Alarm { code, priority } => Some((code, priority)),
            _ => None,
        })
        .collect();
    assert_eq!(alarms, vec![(AlarmCode::Asystole, AlarmPriority::High)]);
    assert!(e.stress().alarm_active(AlarmCode::Asystole));
    e.handle(vitals(0.0), Instant::from_secs(7)).unwrap();
    assert!(e.drain().is_empty(), "raised once while it lasts");
    e.handle(vitals(48.0), Instant::from_secs(9)).unwrap();
    assert!(
        !e.stress().alarm_active(AlarmCode::Asystole),
        "a rate again clears it"
    );
}

#[test]
fn a_value_without_a_unit_is_refused_unless_the_profile_names_it() {
    let bare = msg("U1", &[(DIA, "16", "")]);
    let oru = hl7::parse_oru(bare.as_bytes()).unwrap();
    assert_eq!(
        oru.observations,
        vec![Err(ObservationError::MissingUnit {
            measure: Measure::NibpDia
        })],
        "a bare diastolic 16 is neither kPa nor mmHg until someone says which"
    );
    // A profile that says this device sends kPa: 16 kPa = 120 mmHg.
    let mut defaults = UnitDefaults::new();
    defaults.insert(Measure::NibpDia, "kPa".into());
    let oru = hl7::parse_oru_with(bare.as_bytes(), &defaults).unwrap();
    let r = oru.observations[0]
        .as_ref()
        .expect("read with the profile's unit");
    assert!((r.value - 120.01).abs() < 0.01, "{}", r.value);

    // The same through a device profile's [units] table, and a wrong unit refused.
    let profile = DeviceProfile::parse(
        "protocol = \"hl7\"\ntransport = \"tcp-listen\"\nlisten = \"127.0.0.1:2575\"\n[units]\nnibp_dia = \"kPa\"\n",
    )
    .unwrap();
    assert_eq!(
        profile.link_settings().unit_defaults.get(&Measure::NibpDia),
        Some(&"kPa".to_string())
    );
    let bad = DeviceProfile::parse(
        "protocol = \"hl7\"\ntransport = \"tcp-listen\"\nlisten = \"127.0.0.1:2575\"\n[units]\nhr = \"mmHg\"\n",
    );
    assert!(bad.is_err(), "mmHg is not a unit for a heart rate");
}

#[tokio::test]
async fn acks_say_aa_ae_with_err_segments_or_ar() {
    let (kiosk, peer) = tokio::io::duplex(64 * 1024);
    let mut link =
        link::start_on_stream(kiosk, "duplex", LinkSettings::for_protocol(Protocol::Hl7));
    let mut peer = Framed::new(peer, MllpCodec::new());
    let mut ack_for = async |m: String| {
        peer.send(m.as_bytes()).await.unwrap();
        let frame = timeout(T, peer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .unwrap();
        String::from_utf8(frame.to_vec()).unwrap()
    };
    // Every value accepted: AA, no ERR.
    let a = ack_for(msg("A1", &[(HR, "0", "/min")])).await;
    assert_eq!(
        hl7::parse_ack(a.as_bytes()).unwrap().code,
        AckCode::Accept,
        "{a}"
    );
    assert!(!a.contains("ERR|"), "{a}");
    // One refused (no unit), one accepted: AE with one ERR naming OBX 2, field 6.
    let a = ack_for(msg("A2", &[(HR, "61", "/min"), (DIA, "16", "")])).await;
    assert_eq!(
        hl7::parse_ack(a.as_bytes()).unwrap().code,
        AckCode::Error,
        "{a}"
    );
    assert!(a.contains("ERR||OBX^2^6|101^"), "{a}");
    // Every value refused (negative, not a number): AE with two ERR segments.
    let a = ack_for(msg("A3", &[(HR, "-3", "/min"), (HR, "abc", "/min")])).await;
    assert_eq!(
        hl7::parse_ack(a.as_bytes()).unwrap().code,
        AckCode::Error,
        "{a}"
    );
    assert!(a.contains("ERR||OBX^1^5|207^"), "{a}");
    assert!(a.contains("ERR||OBX^2^5|102^"), "{a}");
    // Not an ORU: AR.
    let adt = "MSH|^~\\&|MON|ICU|KIOSK|CMR|20250106090000||ADT^A01|A4|P|2.6\r".to_string();
    let a = ack_for(adt).await;
    assert_eq!(
        hl7::parse_ack(a.as_bytes()).unwrap().code,
        AckCode::Reject,
        "{a}"
    );
    // The HR 0 reading reached the link as a reading.
    let first = timeout(T, link.next_reading()).await.unwrap().unwrap();
    assert_eq!(
        (first.reading.measure, first.reading.value),
        (Measure::Hr, 0.0)
    );
    let c = link.counters();
    assert_eq!(c.bad_for("hl7_missing_unit"), 1, "{c:?}");
}
