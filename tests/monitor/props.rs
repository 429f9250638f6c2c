//! Property tests: the decoders never panic (and always make progress) on
//! arbitrary bytes, and encode → decode round-trips.

use bytes::BytesMut;
use cmr_kiosk::monitor::hl7::{self, MllpCodec, OruObservation};
use cmr_kiosk::monitor::intellivue::{self, FloatValue, FrameCodec};
use cmr_kiosk::monitor::{Measure, Reading};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

/// Feeds `data` in chunks and drains the decoder; returns the good frames.
fn drain<D>(codec: &mut D, data: &[u8], chunk: usize) -> Vec<Vec<u8>>
where
    D: Decoder<Item = Result<bytes::Bytes, cmr_kiosk::monitor::FrameFault>, Error = std::io::Error>,
{
    let mut buf = BytesMut::new();
    let mut good = Vec::new();
    for part in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(part);
        let mut done = false;
        // Each item consumes bytes or ends a garbage run, so this terminates.
        for _ in 0..2 * (data.len() + 2) {
            match codec.decode(&mut buf).expect("no io error") {
                Some(Ok(f)) => good.push(f.to_vec()),
                Some(Err(_)) => {}
                None => {
                    done = true;
                    break;
                }
            }
        }
        assert!(done, "decoder keeps yielding without input");
    }
    while let Some(item) = codec.decode_eof(&mut buf).expect("no io error") {
        if let Ok(f) = item {
            good.push(f.to_vec());
        }
    }
    assert!(buf.is_empty());
    good
}

proptest! {
    #[test]
    fn mllp_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048), chunk in 1usize..64) {
        let frames = drain(&mut MllpCodec::with_max_frame(512), &data, chunk);
        for f in frames {
            let _ = hl7::parse_oru(&f);
            let _ = hl7::parse_ack(&f);
        }
    }

    #[test]
    fn intellivue_decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048), chunk in 1usize..64) {
        for f in drain(&mut FrameCodec::new(), &data, chunk) {
            let _ = intellivue::parse_message(&f);
        }
    }

    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = intellivue::parse_message(&data);
        let mut e1 = vec![0xE1, 0x00];
        e1.extend_from_slice(&data);
        let _ = intellivue::parse_message(&e1);
        let _ = hl7::parse_oru(&data);
        let mut msh = b"MSH|^~\\&|".to_vec();
        msh.extend_from_slice(&data);
        let _ = hl7::parse_oru(&msh);
    }

    #[test]
    fn hl7_text_parser_never_panics(s in "[MSHOBXR|^~&0-9.\\r/a-z-]{0,300}") {
        let _ = hl7::parse_oru(s.as_bytes());
        let _ = hl7::parse_oru(format!("MSH|^~\\&|a|b|c|d|2024||ORU^R01|1|P|2.6\r{s}").as_bytes());
    }

    #[test]
    fn mllp_round_trip(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no block chars", |b| *b != 0x0B && *b != 0x1C), 0..300), 1..5), chunk in 1usize..50) {
        let mut wire = BytesMut::new();
        let mut codec = MllpCodec::new();
        for m in &msgs {
            codec.encode(&m[..], &mut wire).expect("encode");
        }
        let got = drain(&mut MllpCodec::new(), &wire, chunk);
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn intellivue_round_trip(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..5), chunk in 1usize..50) {
        let mut wire = BytesMut::new();
        for m in &msgs {
            FrameCodec::new().encode(&m[..], &mut wire).expect("encode");
        }
        let got = drain(&mut FrameCodec::new(), &wire, chunk);
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn float_round_trip(m in -0x7F_FFF0i32..0x7F_FFF0, e in -8i8..4) {
        let raw = (u32::from(e as u8) << 24) | (m as u32 & 0xFF_FFFF);
        let FloatValue::Number(v) = FloatValue::decode(raw) else { panic!("special") };
        prop_assert_eq!(FloatValue::encode(v, e), Some(raw));
    }

    #[test]
    fn oru_round_trip(hr in 30u32..250, sys in 60u32..250, spo2 in 50u32..100) {
        let t = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).and_then(|d| d.and_hms_opt(3, 4, 5)).expect("t");
        let obs = [
            OruObservation { measure: Measure::Hr, value: f64::from(hr), observed_at: t },
            OruObservation { measure: Measure::NibpSys, value: f64::from(sys), observed_at: t },
            OruObservation { measure: Measure::Spo2, value: f64::from(spo2), observed_at: t },
        ];
        let oru = hl7::parse_oru(hl7::build_oru("P1", t, &obs).as_bytes()).expect("parse");
        let got: Vec<Reading> = oru.observations.into_iter().map(|r| r.expect("ok")).collect();
        prop_assert_eq!(got.len(), 3);
        for (g, o) in got.iter().zip(obs.iter()) {
            prop_assert_eq!((g.measure, g.value, g.observed_at), (o.measure, o.value, Some(t)));
        }
    }
}
