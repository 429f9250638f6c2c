//! The audit trail to the hospital's collector: every audit row of this kiosk's log
//! and every signed checkpoint, as ATNA syslog messages over TLS (RFC 5425).
//!
//! The log itself is the outbox: the relay keeps a high-water mark per collector
//! (`sync_marks`, target `atna:<url>`, and `atna-checkpoints:<url>`) and moves it
//! only after the messages up to it were written and flushed, so nothing is lost
//! while the collector is away and a restart resends from the mark (at least once;
//! RFC 5425 has no acknowledgement, so a message the collector dropped while closing
//! is not seen).
//!
//! TLS verifies the collector's certificate and name against the configured CA file
//! (never the machine's trust store); plain TCP is accepted only to this machine or
//! when the configuration's `audit.insecure_allow_plaintext` says so.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use super::atna;
use crate::store::accounts::AuditEvent;
use crate::store::log::EntryKind;
use crate::store::{Store, StoreError};

/// How long a connection attempt to the collector may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write to the collector may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Log rows read per query.
pub const BATCH_ROWS: i64 = 500;
/// How often the kiosk's relay looks for new audit rows.
pub const RELAY_INTERVAL: Duration = Duration::from_secs(5);
/// Largest CA file read (bytes).
pub const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

/// Where the audit trail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    /// `tls://host:port` or `tcp://host:port`.
    pub url: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (verified) or plain TCP.
    pub tls: bool,
    /// The CA the collector's certificate must chain to (TLS).
    pub ca_file: Option<PathBuf>,
}

/// Why the audit trail could not be sent.
#[derive(Debug, Error)]
pub enum AuditRelayError {
    /// The collector's settings are not usable.
    #[error("audit collector: {0}")]
    Config(String),
    /// Connecting, the TLS handshake or a write failed (the collector is away).
    #[error("audit collector {url}: {reason}")]
    Network {
        /// The collector.
        url: String,
        /// What failed.
        reason: String,
    },
    /// Reading the log or writing the mark failed.
    #[error("audit relay: {0}")]
    Local(#[from] StoreError),
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Collector {
    /// Parse and check `url` (pure but for nothing: the CA file is read at connect).
    /// `tls://` needs `ca_file`; `tcp://` is refused for another machine unless
    /// `allow_plaintext`.
    pub fn parse(
        url: &str,
        ca_file: &str,
        allow_plaintext: bool,
    ) -> Result<Collector, AuditRelayError> {
        let bad = |m: String| AuditRelayError::Config(m);
        let (tls, rest) = if let Some(r) = url.strip_prefix("tls://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("tcp://") {
            (false, r)
        } else {
            return Err(bad(format!(
                "{url:?} must be tls://host:port (or tcp://127.0.0.1:port)"
            )));
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("{url:?} has no port")))?;
        let port: u16 = port
            .trim_end_matches('/')
            .parse()
            .map_err(|_| bad(format!("{url:?}: the port is not a number")))?;
        if host.is_empty() {
            return Err(bad(format!("{url:?} has no host")));
        }
        if tls && ca_file.is_empty() {
            return Err(bad(
                "a TLS collector needs audit.ca_file, the CA its certificate chains to".into(),
            ));
        }
        if !tls && !is_loopback(host) && !allow_plaintext {
            return Err(bad(format!(
                "{url} would send the audit trail in plaintext over the network; use tls:// \
                 or set audit.insecure_allow_plaintext = true to accept the risk"
            )));
        }
        Ok(Collector {
            url: url.to_string(),
            host: host.trim_matches(['[', ']']).to_string(),
            port,
            tls,
            ca_file: (!ca_file.is_empty()).then(|| PathBuf::from(ca_file)),
        })
    }

    fn network(&self, reason: impl std::fmt::Display) -> AuditRelayError {
        AuditRelayError::Network {
            url: self.url.clone(),
            reason: reason.to_string(),
        }
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, AuditRelayError> {
        let path = self
            .ca_file
            .as_ref()
            .ok_or_else(|| AuditRelayError::Config("no CA file".into()))?;
        ca_client_config(path).map_err(AuditRelayError::Config)
    }

    /// Connect (TCP, then the verified TLS handshake).
    async fn connect(&self) -> Result<Box<dyn AsyncWrite + Unpin + Send>, AuditRelayError> {
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| self.network("connection timed out"))?
        .map_err(|e| self.network(e))?;
        if !self.tls {
            return Ok(Box::new(tcp));
        }
        let config = self.tls_config()?;
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| AuditRelayError::Config(format!("{}: {e}", self.host)))?;
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .map_err(|_| self.network("TLS handshake timed out"))?
        .map_err(|e| self.network(format!("TLS: {e}")))?;
        Ok(Box::new(stream))
    }
}

/// The marks' target names for `collector`.
fn targets(collector: &Collector) -> (String, String) {
    (
        format!("atna:{}", collector.url),
        format!("atna-checkpoints:{}", collector.url),
    )
}

/// What one relay run sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Audit messages.
    pub audits: usize,
    /// Checkpoint messages.
    pub checkpoints: usize,
}

/// Send every audit row and checkpoint of `device` past the collector's marks, in
/// batches; each mark moves after its batch is written and flushed.
pub async fn send_pending(
    local: &Store,
    device: &str,
    collector: &Collector,
) -> Result<Sent, AuditRelayError> {
    let (rows_target, cps_target) = targets(collector);
    let mut mark = local.sync_mark(&rows_target, device).await?;
    let mut cp_mark = local.sync_mark(&cps_target, device).await?;
    let pending_rows = local.max_seq(device).await? > mark;
    let pending_cps = local.last_checkpoint_seq(device).await? > cp_mark;
    let mut sent = Sent::default();
    if !pending_rows && !pending_cps {
        return Ok(sent);
    }
    let mut out = collector.connect().await?;
    let write = async |out: &mut Box<dyn AsyncWrite + Unpin + Send>, bytes: &[u8]| {
        tokio::time::timeout(WRITE_TIMEOUT, async {
            out.write_all(bytes).await?;
            out.flush().await
        })
        .await
        .map_err(|_| collector.network("write timed out"))?
        .map_err(|e| collector.network(e))
    };
    loop {
        let rows = local.entries_after(device, mark, BATCH_ROWS).await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        let mut batch = Vec::new();
        for row in rows.iter().filter(|r| r.kind == EntryKind::Audit.as_str()) {
            let Ok(event) = serde_json::from_str::<AuditEvent>(&row.payload) else {
                tracing::warn!(seq = row.seq, "an audit row that does not parse is skipped");
                continue;
            };
            let xml = atna::audit_message(&event, device, &row.wall);
            let severity = atna::classify(&event).severity;
            batch.extend(atna::syslog_frame(&xml, severity, device, &row.wall));
            sent.audits += 1;
        }
        if !batch.is_empty() {
            write(&mut out, &batch).await?;
        }
        mark = last;
        local.set_sync_mark(&rows_target, device, mark).await?;
    }
    for cp in local.checkpoints_after(device, cp_mark).await? {
        let xml = atna::checkpoint_message(&cp);
        write(
            &mut out,
            &atna::syslog_frame(&xml, 6, device, &cp.wall_clock),
        )
        .await?;
        cp_mark = cp.seq;
        local.set_sync_mark(&cps_target, device, cp_mark).await?;
        sent.checkpoints += 1;
    }
    let _ = out.shutdown().await;
    Ok(sent)
}

/// The kiosk's audit relay: every `every`, [`send_pending`]; a collector that is away
/// is retried (the log keeps everything meanwhile). Returns when `stop` turns true.
pub async fn run_audit_relay(
    local: Store,
    device: String,
    collector: Collector,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match send_pending(&local, &device, &collector).await {
            Ok(s) if s.audits + s.checkpoints > 0 => {
                tracing::info!(
                    audits = s.audits,
                    checkpoints = s.checkpoints,
                    "audit trail sent"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "audit trail not sent; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

/// A TLS client configuration (rustls on ring) that trusts only the certificates in
/// the PEM file `path` (at most [`MAX_CA_FILE_BYTES`]): never the system's. Used for
/// every TLS peer the kiosk calls (the audit collector, the worklist provider).
pub fn ca_client_config(path: &std::path::Path) -> Result<rustls::ClientConfig, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let len = std::fs::metadata(path).map_err(|e| err(&e))?.len();
    if len > MAX_CA_FILE_BYTES {
        return Err(err(&format!("{len} bytes is too large for a CA file")));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| err(&e))? {
        roots.add(cert.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
    }
    if roots.is_empty() {
        return Err(err(&"no certificate in the CA file"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
