//! Fuzz the IntelliVue frame decoder and message parser
//! (`cargo +nightly fuzz run intellivue_decode`).
#![no_main]

use bytes::BytesMut;
use cmr_kiosk::monitor::intellivue::{self, FrameCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let _ = intellivue::parse_message(data);
    let mut codec = FrameCodec::new();
    let split = data.first().map_or(1, |b| usize::from(*b).max(1));
    let mut buf = BytesMut::new();
    for chunk in data.chunks(split) {
        buf.extend_from_slice(chunk);
        while let Ok(Some(item)) = codec.decode(&mut buf) {
            if let Ok(payload) = item {
                if let Ok(intellivue::Message::PollReply(r)) = intellivue::parse_message(&payload) {
                    for n in &r.numerics {
                        let _ = n.to_reading();
                    }
                }
            }
        }
    }
    while let Ok(Some(_)) = codec.decode_eof(&mut buf) {}
});
