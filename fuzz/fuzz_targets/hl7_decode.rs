//! Fuzz the MLLP decoder and the HL7 ORU/ACK parsers (`cargo +nightly fuzz run hl7_decode`).
//! Every crash found becomes a regression test in `tests/monitor/props.rs`.
#![no_main]

use bytes::BytesMut;
use cmr_kiosk::monitor::hl7::{self, MllpCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let _ = hl7::parse_oru(data);
    let _ = hl7::parse_ack(data);
    let mut codec = MllpCodec::with_max_frame(4096);
    let split = data.first().map_or(1, |b| usize::from(*b).max(1));
    let mut buf = BytesMut::new();
    for chunk in data.chunks(split) {
        buf.extend_from_slice(chunk);
        while let Ok(Some(item)) = codec.decode(&mut buf) {
            if let Ok(frame) = item {
                let _ = hl7::parse_oru(&frame);
            }
        }
    }
    while let Ok(Some(_)) = codec.decode_eof(&mut buf) {}
});
