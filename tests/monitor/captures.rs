//! Recorded byte captures in `hardware/captures/`: how they are made (this
//! generator, from the simulator's message builders, deterministic) and replay
//! tests that push them through the decoders in odd-sized chunks.
//!
//! Regenerate with `CMR_WRITE_CAPTURES=1 cargo test --test monitor_captures`.

use std::path::PathBuf;
use std::time::Duration;

use bytes::BytesMut;
use chrono::NaiveDate;
use cmr_kiosk::monitor::hl7::{self, MllpCodec};
use cmr_kiosk::monitor::intellivue::{self, FrameCodec, Message};
use cmr_kiosk::monitor::sim::{self, Profile};
use cmr_kiosk::monitor::{FrameFault, Measure};
use tokio_util::codec::{Decoder, Encoder};

fn captures_dir() -> PathBuf {
    let f = PathBuf::from(file!());
    let root = if f.is_absolute() {
        f.parent()
            .and_then(|p| p.parent())
            .map(PathBuf::from)
            .expect("repo root")
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    };
    root.join("hardware").join("captures")
}

fn t0() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 6)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("t0")
}

/// 12 ORU^R01 of an adenosine responder, one every 30 s of profile time, NIBP
/// every other message; garbage before #3, #6 truncated, #9 with a corrupt MSH.
fn hl7_capture() -> Vec<u8> {
    let mut wire = BytesMut::new();
    let mut codec = MllpCodec::new();
    for i in 0..12u64 {
        let t = Duration::from_secs(30 * i);
        let wall = t0() + chrono::Duration::seconds(30 * i as i64);
        let nibp = (i % 2 == 0).then_some(wall);
        let msg = sim::hl7_message(i, Profile::AdenosineResponder, t, wall, nibp);
        match i {
            3 => {
                wire.extend_from_slice(&sim::garbage(33, 3, hl7::MLLP_START));
                codec.encode(msg.as_bytes(), &mut wire).expect("encode");
            }
            6 => {
                wire.extend_from_slice(&[hl7::MLLP_START]);
                wire.extend_from_slice(&msg.as_bytes()[..msg.len() / 2]);
            }
            9 => codec
                .encode(msg.replacen("MSH|", "MSX|", 1).as_bytes(), &mut wire)
                .expect("encode"),
            _ => codec.encode(msg.as_bytes(), &mut wire).expect("encode"),
        }
    }
    wire.to_vec()
}

/// Monitor → host side of an IntelliVue session: association response, MDS
/// create event, then 10 poll replies of a hypotensive reaction, one every
/// 30 s of profile time; garbage before reply #2, bad FCS on #5, #7 truncated.
fn intellivue_capture() -> Vec<u8> {
    let mut wire = BytesMut::new();
    FrameCodec::new()
        .encode(intellivue::association_response(), &mut wire)
        .expect("encode");
    FrameCodec::new()
        .encode(intellivue::mds_create_event(1, 0), &mut wire)
        .expect("encode");
    for i in 0..10u16 {
        let t = Duration::from_secs(30 * u64::from(i));
        let wall = t0() + chrono::Duration::seconds(30 * i64::from(i));
        let nibp_t = Duration::from_secs(60 * (u64::from(i) / 2));
        let nibp_wall = t0() + chrono::Duration::seconds(60 * (i64::from(i) / 2));
        let reply = sim::intellivue_poll_reply(
            i + 2,
            i + 1,
            Profile::Hypotensive,
            t,
            wall,
            Some((nibp_t, nibp_wall)),
        );
        match i {
            2 => {
                wire.extend_from_slice(&sim::garbage(21, 2, intellivue::BOF));
                FrameCodec::new()
                    .encode(&reply[..], &mut wire)
                    .expect("encode");
            }
            5 => wire.extend_from_slice(&intellivue::frame_with_fcs_xor(&reply, 0x1234)),
            7 => {
                let mut b = BytesMut::new();
                FrameCodec::new()
                    .encode(&reply[..], &mut b)
                    .expect("encode");
                wire.extend_from_slice(&b[..b.len() / 2]);
            }
            _ => FrameCodec::new()
                .encode(&reply[..], &mut wire)
                .expect("encode"),
        }
    }
    wire.to_vec()
}

fn check_or_write(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = captures_dir().join(name);
    if std::env::var_os("CMR_WRITE_CAPTURES").is_some() {
        std::fs::create_dir_all(captures_dir()).expect("dir");
        std::fs::write(&path, bytes).expect("write capture");
    }
    let stored = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        stored,
        bytes,
        "{} differs from the generator; regenerate with CMR_WRITE_CAPTURES=1",
        path.display()
    );
    stored
}

fn replay<D>(mut codec: D, bytes: &[u8], chunk: usize) -> (Vec<bytes::Bytes>, Vec<FrameFault>)
where
    D: Decoder<Item = Result<bytes::Bytes, FrameFault>, Error = std::io::Error>,
{
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut buf = BytesMut::new();
    for part in bytes.chunks(chunk) {
        buf.extend_from_slice(part);
        while let Some(item) = codec.decode(&mut buf).expect("io") {
            match item {
                Ok(f) => good.push(f),
                Err(e) => bad.push(e),
            }
        }
    }
    while let Some(item) = codec.decode_eof(&mut buf).expect("io") {
        match item {
            Ok(f) => good.push(f),
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

#[test]
fn hl7_capture_replays() {
    let bytes = check_or_write("hl7-responder.bin", &hl7_capture());
    for chunk in [1, 7, 64, 4096] {
        let (good, bad) = replay(MllpCodec::new(), &bytes, chunk);
        assert_eq!(good.len(), 11, "12 frames minus the truncated one");
        let reasons: Vec<_> = bad.iter().map(|f| f.reason()).collect();
        assert_eq!(reasons, vec!["garbage", "truncated"]);
        let parsed: Vec<_> = good.iter().map(|f| hl7::parse_oru(f)).collect();
        assert_eq!(
            parsed.iter().filter(|p| p.is_err()).count(),
            1,
            "the corrupt MSH"
        );
        let hr: Vec<f64> = parsed
            .iter()
            .flatten()
            .flat_map(|o| o.observations.iter().flatten())
            .filter(|r| r.measure == Measure::Hr)
            .map(|r| r.value)
            .collect();
        assert_eq!(hr.len(), 10);
        assert!(
            hr[hr.len() - 1] - hr[0] >= 20.0,
            "responder HR rises: {hr:?}"
        );
    }
}

#[test]
fn intellivue_capture_replays() {
    let bytes = check_or_write("intellivue-hypotensive.bin", &intellivue_capture());
    for chunk in [1, 5, 100, 8192] {
        let (good, bad) = replay(FrameCodec::new(), &bytes, chunk);
        let reasons: Vec<_> = bad.iter().map(|f| f.reason()).collect();
        assert_eq!(reasons, vec!["garbage", "bad_checksum", "truncated"]);
        assert_eq!(
            good.len(),
            2 + 8,
            "garbage loses no frame; bad FCS and truncation lose one each"
        );
        let msgs: Vec<Message> = good
            .iter()
            .map(|f| intellivue::parse_message(f).expect("parse"))
            .collect();
        assert_eq!(msgs[0], Message::AssociationAccept);
        assert!(matches!(msgs[1], Message::MdsCreateEvent { .. }));
        let sys: Vec<f64> = msgs
            .iter()
            .filter_map(|m| match m {
                Message::PollReply(r) => Some(r),
                _ => None,
            })
            .flat_map(|r| r.numerics.iter().filter_map(|n| n.to_reading()).flatten())
            .filter(|r| r.measure == Measure::NibpSys)
            .map(|r| r.value)
            .collect();
        assert_eq!(sys.len(), 8);
        assert!(sys[sys.len() - 1] < 90.0, "hypotensive SBP falls: {sys:?}");
    }
}
