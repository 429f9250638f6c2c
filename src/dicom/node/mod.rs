//! The kiosk as a DICOM node in the hospital: the modality worklist (C-FIND SCU)
//! for today's patients, and a storage and verification SCP that receives the
//! scanner's images, on dicom-ul's asynchronous upper layer.
//!
//! * [`dimse`]: command sets, UIDs and status codes.
//! * [`receiver`]: C-STORE and C-ECHO SCP; received files go into the exam's
//!   incoming folder, durable before they are acknowledged.
//! * [`service`]: the receiver on its own thread, its events as audit rows.
//! * [`client`]: C-ECHO and the worklist C-FIND.
//! * [`worklist`]: the worklist query and items, procedure → exam type rules.

pub mod client;
pub mod dimse;
pub mod receiver;
pub mod service;
pub mod worklist;

use std::str::FromStr;
use std::time::Duration;

pub use receiver::{Counters, NodeEvent, Receiver, ReceiverSettings};
pub use worklist::{WorklistItem, WorklistQuery};

/// How long a client exchange (echo, worklist) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A DICOM peer: AE title, host and port, and TLS when it speaks it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its AE title.
    pub ae_title: String,
    /// Host name or address (also the name its TLS certificate must carry).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The deadline for one whole exchange with it.
    pub timeout: Duration,
    /// TLS (PS3.15 B.1, the secure transport connection profile) with this client
    /// configuration; `None`: plain TCP.
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
}

/// Why a peer address could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not AE@HOST:PORT (an AE title of 1 to 16 characters)")]
pub struct PeerSyntax(pub String);

impl FromStr for Peer {
    type Err = PeerSyntax;

    /// `AE@HOST:PORT`.
    fn from_str(s: &str) -> Result<Peer, PeerSyntax> {
        let bad = || PeerSyntax(s.to_string());
        let (ae, rest) = s.split_once('@').ok_or_else(bad)?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if !valid_ae_title(ae) || host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Peer {
            ae_title: ae.to_string(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            timeout: DEFAULT_TIMEOUT,
            tls: None,
        })
    }
}

/// Whether `ae` is an AE title: 1–16 printable ASCII characters, not all spaces,
/// no backslash (PS3.5 6.2).
pub fn valid_ae_title(ae: &str) -> bool {
    (1..=16).contains(&ae.len())
        && !ae.trim().is_empty()
        && ae.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
}

/// Why an exchange with a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The association could not be made (connection refused, rejected).
    #[error("no association: {0}")]
    Association(String),
    /// The peer refused the request, or answered with a failure status.
    #[error("refused: {0}")]
    Refused(String),
    /// The peer broke the protocol (or sent more than the kiosk reads).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No answer within the deadline.
    #[error("no answer within {} s", .0.as_secs())]
    Timeout(Duration),
}

/// An error with its causes, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_written_ae_at_host_colon_port() {
        let p: Peer = "RIS_MWL@10.1.2.3:104".parse().unwrap();
        assert_eq!(
            (p.ae_title.as_str(), p.host.as_str(), p.port),
            ("RIS_MWL", "10.1.2.3", 104)
        );
        let p: Peer = "PACS@[::1]:11112".parse().unwrap();
        assert_eq!(p.host, "::1");
        for bad in [
            "",
            "RIS",
            "RIS@host",
            "@host:104",
            "RIS@:104",
            "RIS@host:0",
            "RIS@host:70000",
            "SEVENTEEN_CHARS_X@host:104",
            "A\\B@host:104",
        ] {
            assert!(bad.parse::<Peer>().is_err(), "{bad}");
        }
    }
}
