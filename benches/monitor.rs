//! Monitor benchmarks (`harness = false`): decode throughput of both codecs
//! (MB/s, frames/s) and latency from a frame's last byte written into a
//! pseudo-terminal to the reading coming out of the link (median, p99).
//!
//! Run: `cargo bench --bench monitor` (release profile).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use chrono::NaiveDate;
use cmr_kiosk::monitor::Protocol;
use cmr_kiosk::monitor::hl7::MllpCodec;
use cmr_kiosk::monitor::intellivue::{self, FrameCodec};
use cmr_kiosk::monitor::link::{self, LinkSettings};
use cmr_kiosk::monitor::sim::{self, Profile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder};

fn t0() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 6)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap_or_default()
}

fn throughput<D>(name: &str, wire: &[u8], frames: usize, mut make: impl FnMut() -> D)
where
    D: Decoder<Item = Result<bytes::Bytes, cmr_kiosk::monitor::FrameFault>, Error = std::io::Error>,
{
    let rounds = 20;
    let start = Instant::now();
    let mut good = 0usize;
    for _ in 0..rounds {
        let mut codec = make();
        let mut buf = BytesMut::from(wire);
        while let Ok(Some(item)) = codec.decode(&mut buf) {
            if item.is_ok() {
                good += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(good, frames * rounds, "{name}: all frames decode");
    let mb = (wire.len() * rounds) as f64 / 1e6;
    println!(
        "{name:<28} {:>8.1} MB/s {:>12.0} frames/s ({} B/frame)",
        mb / secs,
        (frames * rounds) as f64 / secs,
        wire.len() / frames
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn pty_latency_hl7(n: usize) -> Vec<Duration> {
    let (a, b) = tokio_serial::SerialStream::pair().expect("pty pair");
    let mut link = link::start_on_stream(b, "pty", LinkSettings::for_protocol(Protocol::Hl7));
    let (mut rd, mut wr) = tokio::io::split(a);
    tokio::spawn(async move {
        let mut sink = [0u8; 4096];
        while let Ok(k) = rd.read(&mut sink).await {
            if k == 0 {
                break;
            }
        }
    });
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let msg = sim::hl7_message(
            i as u64,
            Profile::Resting,
            Duration::from_secs(i as u64),
            t0(),
            None,
        );
        let mut frame = BytesMut::new();
        MllpCodec::new()
            .encode(msg.as_bytes(), &mut frame)
            .expect("encode");
        wr.write_all(&frame).await.expect("write");
        let written = tokio::time::Instant::now();
        let r = link.next_reading().await.expect("reading");
        out.push(r.received_instant.duration_since(written));
        // Drain the SpO2 reading of the same message.
        link.next_reading().await.expect("reading");
    }
    out
}

async fn pty_latency_intellivue(n: usize) -> Vec<Duration> {
    // The kiosk side runs the session; the bench plays the monitor by hand so
    // it can time each poll reply's last byte.
    let (a, b) = tokio_serial::SerialStream::pair().expect("pty pair");
    let mut s = LinkSettings::for_protocol(Protocol::Intellivue);
    s.poll_interval = Duration::from_millis(2);
    let mut link = link::start_on_stream(b, "pty", s);
    let mut framed = tokio_util::codec::Framed::new(a, FrameCodec::new());
    use futures::{SinkExt, StreamExt};
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let Some(Ok(Ok(p))) = framed.next().await else {
            break;
        };
        match intellivue::parse_message(&p) {
            Ok(intellivue::Message::AssociationRequest) => {
                framed
                    .send(intellivue::association_response())
                    .await
                    .expect("send");
                framed
                    .send(intellivue::mds_create_event(1, 0))
                    .await
                    .expect("send");
            }
            Ok(intellivue::Message::PollRequest {
                invoke_id,
                poll_number,
                action_type,
                ..
            }) if action_type == intellivue::NOM_ACT_POLL_MDIB_DATA_EXT => {
                let reply = sim::intellivue_poll_reply(
                    invoke_id,
                    poll_number,
                    Profile::Resting,
                    Duration::ZERO,
                    t0(),
                    None,
                );
                framed.send(reply).await.expect("send");
                let written = tokio::time::Instant::now();
                let r = link.next_reading().await.expect("reading");
                out.push(r.received_instant.duration_since(written));
                link.next_reading().await.expect("reading");
            }
            _ => {}
        }
    }
    out
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name:<28} n={} median {:?} p99 {:?} max {:?}",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or_default()
    );
}

fn main() {
    // Decode throughput.
    let frames = 2000;
    let mut hl7_wire = BytesMut::new();
    let mut iv_wire = BytesMut::new();
    for i in 0..frames {
        let t = Duration::from_secs(i as u64);
        let msg = sim::hl7_message(i as u64, Profile::AdenosineResponder, t, t0(), Some(t0()));
        MllpCodec::new()
            .encode(msg.as_bytes(), &mut hl7_wire)
            .expect("encode");
        let reply = sim::intellivue_poll_reply(
            i as u16,
            i as u16,
            Profile::AdenosineResponder,
            t,
            t0(),
            Some((t, t0())),
        );
        FrameCodec::new()
            .encode(&reply[..], &mut iv_wire)
            .expect("encode");
    }
    throughput("MLLP frame decode", &hl7_wire, frames, MllpCodec::new);
    throughput("IntelliVue frame decode", &iv_wire, frames, FrameCodec::new);

    // Full parse throughput (frame + message).
    let start = Instant::now();
    let mut n = 0;
    let mut buf = hl7_wire.clone();
    let mut c = MllpCodec::new();
    while let Ok(Some(Ok(f))) = c.decode(&mut buf) {
        n += cmr_kiosk::monitor::hl7::parse_oru(&f)
            .map(|o| o.observations.len())
            .unwrap_or(0);
    }
    println!(
        "HL7 decode+parse_oru          {:>12.0} msgs/s ({n} observations)",
        frames as f64 / start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let mut buf = iv_wire.clone();
    let mut c = FrameCodec::new();
    let mut n = 0;
    while let Ok(Some(Ok(f))) = c.decode(&mut buf) {
        if let Ok(intellivue::Message::PollReply(r)) = intellivue::parse_message(&f) {
            n += r.numerics.len();
        }
    }
    println!(
        "IntelliVue decode+parse       {:>12.0} msgs/s ({n} numerics)",
        frames as f64 / start.elapsed().as_secs_f64()
    );

    // Latency over a pty.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        report("pty latency HL7 → Reading", pty_latency_hl7(500).await);
        report(
            "pty latency IntelliVue → Reading",
            pty_latency_intellivue(500).await,
        );
    });
}
