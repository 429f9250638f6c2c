//! The receiver as the kiosk runs it: on a thread of its own with its own runtime
//! (the screen never waits for the network), every event handed to the kiosk's
//! log as an audit row.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::receiver::{Counters, EVENT_QUEUE, NodeEvent, Receiver, ReceiverSettings};
use crate::domain::time::Instant;
use crate::engine::recorder::Recorder;
use crate::store::accounts::{AuditAction, AuditEvent, AuditOutcome};
use crate::store::{EntryKind, NewEntry};

/// The running receiver; stopped when dropped.
#[derive(Debug)]
pub struct NodeService {
    /// Running totals.
    pub counters: Arc<Counters>,
    /// The address it listens on.
    pub local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NodeService {
    /// Binds `listen` and serves on a thread of its own; each event goes to
    /// `report` (on that thread: it must not block long).
    pub fn start(
        listen: &str,
        settings: ReceiverSettings,
        report: impl Fn(NodeEvent) + Send + 'static,
    ) -> std::io::Result<NodeService> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let local_addr = std_listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let (tx, mut rx) = mpsc::channel(EVENT_QUEUE);
        let receiver = Receiver::new(settings, counters.clone(), tx)?;
        let (stop, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("dicom-node".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("DICOM receiver: {e}");
                            return;
                        }
                    };
                    let serving = tokio::spawn(receiver.serve(listener));
                    let events = async {
                        while let Some(ev) = rx.recv().await {
                            report(ev);
                        }
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = events => {}
                    }
                    serving.abort();
                    // What was reported before the stop is still handed over.
                    while let Ok(ev) = rx.try_recv() {
                        report(ev);
                    }
                });
            })?;
        Ok(NodeService {
            counters,
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for NodeService {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The kiosk's handler of receiver events: each becomes an audit row of the log
/// (outside any exam: the exam learns of the images through the folder watch), and
/// a refusal a warning in the service log.
pub fn log_to(recorder: Option<Arc<Recorder>>) -> impl Fn(NodeEvent) + Send + 'static {
    move |ev| {
        let audit = audit_event(&ev);
        match &audit.outcome {
            AuditOutcome::Failure { reason } => {
                tracing::warn!(
                    "DICOM node: {}: {reason}",
                    audit.subject.as_deref().unwrap_or("")
                )
            }
            AuditOutcome::Success => {
                tracing::debug!("DICOM node: {}", audit.subject.as_deref().unwrap_or(""))
            }
        }
        let Some(recorder) = &recorder else { return };
        match NewEntry::new(
            None,
            EntryKind::Audit,
            AUDIT_ACTOR,
            Instant::ZERO,
            chrono::Utc::now(),
            &audit,
        ) {
            Ok(entry) => recorder.submit(entry),
            Err(e) => tracing::error!("could not build a DICOM node row: {e}"),
        }
    }
}

/// The actor of the node's audit rows.
pub const AUDIT_ACTOR: &str = "dicom-node";

/// The audit row for a receiver event: who called (the calling AE title and
/// address), what (the file, study or refusal) and how it ended.
pub fn audit_event(ev: &NodeEvent) -> AuditEvent {
    let (user, subject, outcome) = match ev {
        NodeEvent::Accepted { peer, calling } => (
            Some(calling.clone()),
            format!("association from {calling} at {peer}"),
            AuditOutcome::Success,
        ),
        NodeEvent::Rejected { peer, reason } => (
            None,
            format!("association from {peer} rejected"),
            AuditOutcome::Failure {
                reason: reason.clone(),
            },
        ),
        NodeEvent::Aborted {
            peer,
            calling,
            reason,
        } => (
            Some(calling.clone()),
            format!("association from {calling} at {peer} aborted"),
            AuditOutcome::Failure {
                reason: reason.clone(),
            },
        ),
        NodeEvent::Stored {
            calling,
            file,
            sop_instance,
            transfer_syntax,
            bytes,
            ..
        } => (
            Some(calling.clone()),
            format!(
                "stored {sop_instance} ({bytes} bytes, {transfer_syntax}) as {}",
                file.display()
            ),
            AuditOutcome::Success,
        ),
        NodeEvent::Refused {
            calling,
            sop_instance,
            status,
            reason,
        } => (
            Some(calling.clone()),
            format!("refused {sop_instance} with status {status:#06x}"),
            AuditOutcome::Failure {
                reason: reason.clone(),
            },
        ),
        NodeEvent::Echo { calling } => (
            Some(calling.clone()),
            "verification (C-ECHO)".to_string(),
            AuditOutcome::Success,
        ),
        NodeEvent::Removed { study, bytes } => (
            None,
            format!(
                "removed {} ({bytes} bytes) to stay under dicom.node.keep_mib",
                study.display()
            ),
            AuditOutcome::Success,
        ),
    };
    AuditEvent::new(AuditAction::DicomNode, user, Some(subject), outcome)
}
