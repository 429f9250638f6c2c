//! The kiosk as a storage node: a C-STORE SCP (MR and Enhanced MR images) and a
//! Verification SCP on dicom-ul's asynchronous upper layer.
//!
//! Each received instance is written as a DICOM file into a hidden spool folder
//! inside the store folder, synced, then renamed into `<store>/<study>/` — the
//! incoming folder the exam's watch reads (`super::super::watch`), so a file from
//! the network takes the same path as a file from a share: settle, classification,
//! compliance, `SeriesAcquired`. A C-STORE is answered "success" only once its file
//! is durable under its final name: an acknowledged file is never lost.
//!
//! Hostile input: every association is bounded ([`MAX_ASSOCIATIONS`] at once,
//! [`ASSOCIATION_IDLE`] without a PDU, PDUs of at most [`MAX_PDU_BYTES`] (a longer
//! one is refused before it is read), command sets of [`MAX_COMMAND_BYTES`],
//! instances of [`MAX_INSTANCE_BYTES`]); a bad association is aborted with a
//! reason, counted and reported, and the others go on.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dicom_object::meta::FileMetaTableBuilder;
use dicom_ul::association::server::{AccessControl, ServerAssociationOptions};
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJServiceUserReason, AssociationRJSource, PDataValue, PDataValueType, Pdu,
    PresentationContextResultReason, UserIdentity,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use super::dimse::{self, Command, field, status};

/// Associations served at once; one more is rejected (transient, local limit).
pub const MAX_ASSOCIATIONS: usize = 8;
/// How long an association may stay silent before it is aborted.
pub const ASSOCIATION_IDLE: Duration = Duration::from_secs(30);
/// The longest PDU accepted (and the maximum length the kiosk proposes); a peer
/// announcing a longer one is aborted before the body is read.
pub const MAX_PDU_BYTES: u32 = 256 * 1024;
/// The largest command set accepted.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// The largest instance accepted (an enhanced multi-frame cine series is a few
/// hundred MB).
pub const MAX_INSTANCE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Events queued for the kiosk before the receiver waits for it to catch up.
pub const EVENT_QUEUE: usize = 4096;
/// The hidden folder inside the store folder where instances are written until
/// they are whole (the folder watch skips hidden entries).
pub const SPOOL_DIR: &str = ".receiving";

/// What the receiver is configured with.
#[derive(Debug, Clone)]
pub struct ReceiverSettings {
    /// The kiosk's AE title (the called AE title peers must use).
    pub ae_title: String,
    /// Calling AE titles accepted; empty: any.
    pub callers: Vec<String>,
    /// The folder received studies go into (the exam's incoming folder).
    pub store: PathBuf,
    /// Bytes of received files kept at most; beyond, the oldest studies are removed.
    pub keep_bytes: u64,
    /// How long an association may stay silent ([`ASSOCIATION_IDLE`]).
    pub idle: Duration,
    /// Discard received studies once they have had no new file for this long (the
    /// exam's watch read them long before; PACS keeps the originals); `None`: keep
    /// them, under `keep_bytes`.
    pub discard_after: Option<Duration>,
}

/// Running totals, for the service screen and the tests.
#[derive(Debug, Default)]
pub struct Counters {
    /// Associations accepted.
    pub associations: AtomicU64,
    /// Associations rejected (AE title, caller, limit, nothing acceptable).
    pub rejected: AtomicU64,
    /// Associations aborted (by the peer, or by the kiosk for bad input).
    pub aborted: AtomicU64,
    /// Instances stored and acknowledged.
    pub stored: AtomicU64,
    /// Instances refused with a failure status.
    pub refused: AtomicU64,
    /// Verification requests answered.
    pub echoes: AtomicU64,
    /// Studies removed to stay under the size cap.
    pub removed: AtomicU64,
}

impl Counters {
    /// A snapshot: (associations, rejected, aborted, stored, refused, echoes, removed).
    pub fn snapshot(&self) -> [u64; 7] {
        [
            &self.associations,
            &self.rejected,
            &self.aborted,
            &self.stored,
            &self.refused,
            &self.echoes,
            &self.removed,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// What happened, for the kiosk's log and `cmr-kiosk dicom listen`.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// An association was accepted.
    Accepted {
        /// The peer's address.
        peer: SocketAddr,
        /// Its calling AE title.
        calling: String,
    },
    /// An association was refused before it began.
    Rejected {
        /// The peer's address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
    /// An association ended by an abort (the peer's, or the kiosk's for bad input).
    Aborted {
        /// The peer's address.
        peer: SocketAddr,
        /// Its calling AE title.
        calling: String,
        /// Why.
        reason: String,
    },
    /// An instance is stored under its final name and acknowledged.
    Stored {
        /// The sender's calling AE title.
        calling: String,
        /// The file.
        file: PathBuf,
        /// SOP Class UID.
        sop_class: String,
        /// SOP Instance UID.
        sop_instance: String,
        /// The transfer syntax it came in (a deflated one is stored inflated).
        transfer_syntax: String,
        /// Bytes written.
        bytes: u64,
    },
    /// An instance was refused with a failure status.
    Refused {
        /// The sender's calling AE title.
        calling: String,
        /// SOP Instance UID.
        sop_instance: String,
        /// The status sent.
        status: u16,
        /// Why.
        reason: String,
    },
    /// A verification request was answered.
    Echo {
        /// The sender's calling AE title.
        calling: String,
    },
    /// A study's files were removed to stay under the size cap.
    Removed {
        /// The study folder.
        study: PathBuf,
        /// Bytes freed.
        bytes: u64,
    },
}

/// The access rule: the called AE title must be the kiosk's; the calling AE title
/// must be listed when a list is set.
struct Access {
    callers: Vec<String>,
}

impl AccessControl for Access {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if called_ae_title.trim() != this_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        if !self.callers.is_empty() && !self.callers.iter().any(|c| c == calling_ae_title.trim()) {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

use super::chain;

/// The receiver: serves associations on `listener` until the task is dropped.
pub struct Receiver {
    settings: Arc<ReceiverSettings>,
    options: Arc<
        ServerAssociationOptions<
            'static,
            Access,
            dicom_ul::association::server::DefaultNegotiation,
        >,
    >,
    counters: Arc<Counters>,
    events: mpsc::Sender<NodeEvent>,
    keeper: Arc<tokio::sync::Mutex<Keeper>>,
    /// The largest instance accepted ([`MAX_INSTANCE_BYTES`]).
    max_instance: u64,
}

impl Receiver {
    /// A receiver storing into `settings.store` (created if missing), reporting to
    /// `events`.
    pub fn new(
        settings: ReceiverSettings,
        counters: Arc<Counters>,
        events: mpsc::Sender<NodeEvent>,
    ) -> std::io::Result<Receiver> {
        std::fs::create_dir_all(settings.store.join(SPOOL_DIR))?;
        // Whatever a previous run left half-written was never acknowledged.
        if let Ok(rd) = std::fs::read_dir(settings.store.join(SPOOL_DIR)) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let mut options = ServerAssociationOptions::new()
            .ae_access_control(Access {
                callers: settings.callers.clone(),
            })
            .ae_title(settings.ae_title.clone())
            .with_abstract_syntax(dimse::VERIFICATION)
            .max_pdu_length(MAX_PDU_BYTES)
            .strict(true)
            .read_timeout(settings.idle);
        for sop in dimse::ACCEPTED_STORAGE {
            options = options.with_abstract_syntax(sop);
        }
        for ts in dimse::ACCEPTED_TRANSFER_SYNTAXES {
            options = options.with_transfer_syntax(ts);
        }
        let keeper = Keeper::scan(&settings.store, settings.keep_bytes);
        Ok(Receiver {
            settings: Arc::new(settings),
            options: Arc::new(options),
            counters,
            events,
            keeper: Arc::new(tokio::sync::Mutex::new(keeper)),
            max_instance: MAX_INSTANCE_BYTES,
        })
    }

    /// The largest instance accepted, below [`MAX_INSTANCE_BYTES`] (tests cross the
    /// bound with small files).
    pub fn with_max_instance_bytes(mut self, bytes: u64) -> Receiver {
        self.max_instance = bytes.min(MAX_INSTANCE_BYTES);
        self
    }

    /// Serves associations until the task is dropped.
    pub async fn serve(self, listener: TcpListener) {
        if let Some(after) = self.settings.discard_after {
            let this = self.clone_handles();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(
                    (after / 4).clamp(Duration::from_millis(50), Duration::from_secs(60)),
                );
                loop {
                    tick.tick().await;
                    let removed = this.keeper.lock().await.sweep(after);
                    for (study, bytes) in removed {
                        this.counters.removed.fetch_add(1, Ordering::Relaxed);
                        this.report(NodeEvent::Removed { study, bytes }).await;
                    }
                }
            });
        }
        let slots = Arc::new(Semaphore::new(MAX_ASSOCIATIONS));
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!("DICOM receiver: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                let _ = self
                    .events
                    .send(NodeEvent::Rejected {
                        peer,
                        reason: format!(
                            "{MAX_ASSOCIATIONS} associations are already open (local limit)"
                        ),
                    })
                    .await;
                tokio::spawn(reject_busy(socket));
                continue;
            };
            let this = self.clone_handles();
            tokio::spawn(async move {
                this.association(socket, peer).await;
                drop(slot);
            });
        }
    }

    fn clone_handles(&self) -> Receiver {
        Receiver {
            settings: self.settings.clone(),
            options: self.options.clone(),
            counters: self.counters.clone(),
            events: self.events.clone(),
            keeper: self.keeper.clone(),
            max_instance: self.max_instance,
        }
    }

    async fn report(&self, e: NodeEvent) {
        let _ = self.events.send(e).await;
    }

    async fn association(&self, socket: TcpStream, peer: SocketAddr) {
        let mut assoc = match self.options.establish_async(socket).await {
            Ok(a) => a,
            Err(e) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                self.report(NodeEvent::Rejected {
                    peer,
                    reason: chain(&e),
                })
                .await;
                return;
            }
        };
        let calling = dicom_ul::association::Association::peer_ae_title(&assoc)
            .trim()
            .to_string();
        // Accepted contexts: id → (abstract syntax, transfer syntax).
        let contexts: HashMap<u8, (String, String)> = assoc
            .presentation_contexts()
            .iter()
            .filter(|c| c.reason == PresentationContextResultReason::Acceptance)
            .map(|c| {
                (
                    c.id,
                    (
                        c.abstract_syntax.trim_end_matches('\0').to_string(),
                        c.transfer_syntax.trim_end_matches('\0').to_string(),
                    ),
                )
            })
            .collect();
        if contexts.is_empty() {
            // Nothing proposed can be served (a CT image, a query): the association
            // is refused as a whole rather than left open doing nothing.
            let proposed: Vec<String> = assoc
                .presentation_contexts()
                .iter()
                .map(|c| c.abstract_syntax.trim_end_matches('\0').to_string())
                .collect();
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            self.report(NodeEvent::Rejected {
                peer,
                reason: format!(
                    "no acceptable presentation context (abstract syntax not supported: {})",
                    proposed.join(", ")
                ),
            })
            .await;
            let _ = assoc.abort().await;
            return;
        }
        self.counters.associations.fetch_add(1, Ordering::Relaxed);
        self.report(NodeEvent::Accepted {
            peer,
            calling: calling.clone(),
        })
        .await;
        let mut state = State::default();
        loop {
            let pdu = match assoc.receive().await {
                Ok(p) => p,
                Err(e) => {
                    let reason = match &e {
                        dicom_ul::association::Error::Timeout { .. } => {
                            format!("no PDU for {:.1} s", self.settings.idle.as_secs_f64())
                        }
                        _ => chain(&e),
                    };
                    self.aborted(&mut state, peer, &calling, reason).await;
                    let _ = assoc.abort().await;
                    return;
                }
            };
            match pdu {
                Pdu::PData { data } => {
                    for pdv in data {
                        match self.pdv(&mut state, &contexts, &calling, pdv).await {
                            Ok(Some(reply)) => {
                                if let Err(e) = assoc.send(&reply).await {
                                    self.aborted(
                                        &mut state,
                                        peer,
                                        &calling,
                                        format!("answer not sent: {}", chain(&e)),
                                    )
                                    .await;
                                    return;
                                }
                            }
                            Ok(None) => {}
                            Err(reason) => {
                                self.aborted(&mut state, peer, &calling, reason).await;
                                let _ = assoc.abort().await;
                                return;
                            }
                        }
                    }
                }
                Pdu::ReleaseRQ => {
                    self.discard(&mut state).await;
                    let _ = assoc.send(&Pdu::ReleaseRP).await;
                    return;
                }
                Pdu::AbortRQ { source } => {
                    self.aborted(
                        &mut state,
                        peer,
                        &calling,
                        format!("aborted by the peer ({source:?})"),
                    )
                    .await;
                    return;
                }
                other => {
                    self.aborted(
                        &mut state,
                        peer,
                        &calling,
                        format!("unexpected PDU: {}", other.short_description()),
                    )
                    .await;
                    let _ = assoc.abort().await;
                    return;
                }
            }
        }
    }

    /// The association ends in an abort (the peer's, or ours for bad input): the
    /// instance in flight is dropped, the abort counted and reported.
    async fn aborted(&self, state: &mut State, peer: SocketAddr, calling: &str, reason: String) {
        self.discard(state).await;
        self.counters.aborted.fetch_add(1, Ordering::Relaxed);
        self.report(NodeEvent::Aborted {
            peer,
            calling: calling.to_string(),
            reason,
        })
        .await;
    }

    /// Removes the half-received instance, if any.
    async fn discard(&self, state: &mut State) {
        if let Some(incoming) = state.instance.take()
            && incoming.file.is_some()
        {
            drop(incoming.file);
            let _ = tokio::fs::remove_file(&incoming.spool).await;
        }
        state.command.clear();
        state.pending = None;
    }

    /// One presentation data value; `Ok(Some(pdu))` to answer, `Err` to abort.
    async fn pdv(
        &self,
        state: &mut State,
        contexts: &HashMap<u8, (String, String)>,
        calling: &str,
        pdv: PDataValue,
    ) -> Result<Option<Pdu>, String> {
        let Some((abstract_syntax, ts)) = contexts.get(&pdv.presentation_context_id) else {
            return Err(format!(
                "data on presentation context {} that was not accepted",
                pdv.presentation_context_id
            ));
        };
        match pdv.value_type {
            PDataValueType::Command => {
                if state.pending.is_some() {
                    return Err("a command arrived before the previous data set ended".into());
                }
                if state.command.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                    return Err(format!(
                        "a command set longer than {MAX_COMMAND_BYTES} bytes"
                    ));
                }
                state.command.extend_from_slice(&pdv.data);
                if !pdv.is_last {
                    return Ok(None);
                }
                let bytes = std::mem::take(&mut state.command);
                let command = dimse::decode(&bytes).map_err(|e| e.to_string())?;
                self.command(
                    state,
                    pdv.presentation_context_id,
                    abstract_syntax,
                    ts,
                    calling,
                    command,
                )
                .await
            }
            PDataValueType::Data => {
                let Some(pending) = state.pending.clone() else {
                    return Err("a data set without a command".into());
                };
                if pending.context != pdv.presentation_context_id {
                    return Err(
                        "a data set on another presentation context than its command".into(),
                    );
                }
                if let Some(incoming) = state.instance.as_mut()
                    && incoming.failure.is_none()
                {
                    // The size limit is the sink's (`Bounded`): what is written, after
                    // inflating, not what came over the wire.
                    if let Some(Err(e)) = incoming.file.as_mut().map(|f| f.write_all(&pdv.data)) {
                        incoming.failure =
                            Some((status::OUT_OF_RESOURCES, format!("cannot write: {e}")));
                    }
                }
                if !pdv.is_last {
                    return Ok(None);
                }
                state.pending = None;
                let incoming = state.instance.take();
                let reply = self.finish(incoming, &pending, calling).await;
                Ok(Some(reply))
            }
        }
    }

    async fn command(
        &self,
        state: &mut State,
        context: u8,
        abstract_syntax: &str,
        ts: &str,
        calling: &str,
        command: Command,
    ) -> Result<Option<Pdu>, String> {
        let answer = |cmd: Vec<u8>| {
            Some(Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: context,
                    value_type: PDataValueType::Command,
                    is_last: true,
                    data: cmd,
                }],
            })
        };
        match command.field {
            field::C_ECHO_RQ => {
                self.counters.echoes.fetch_add(1, Ordering::Relaxed);
                self.report(NodeEvent::Echo {
                    calling: calling.to_string(),
                })
                .await;
                Ok(answer(dimse::response(
                    field::C_ECHO_RSP,
                    command.message_id,
                    dimse::VERIFICATION,
                    None,
                    status::SUCCESS,
                    None,
                )))
            }
            field::C_STORE_RQ => {
                if !command.has_dataset {
                    return Err("a C-STORE request without a data set".into());
                }
                let pending = Pending {
                    context,
                    transfer_syntax: ts.to_string(),
                    message_id: command.message_id,
                    sop_class: command.sop_class.clone(),
                    sop_instance: command.sop_instance.clone(),
                };
                let refuse = if command.sop_class != abstract_syntax
                    || !dimse::ACCEPTED_STORAGE.contains(&command.sop_class.as_str())
                {
                    Some((
                        status::SOP_CLASS_NOT_SUPPORTED,
                        format!(
                            "SOP class {} is not accepted on this context (MR images only)",
                            command.sop_class
                        ),
                    ))
                } else if !is_uid(&command.sop_instance) {
                    Some((
                        status::CANNOT_UNDERSTAND,
                        "the SOP instance UID is not a UID".to_string(),
                    ))
                } else {
                    None
                };
                state.instance = Some(match refuse {
                    Some(failure) => Incoming::failed(failure),
                    None => match self.open_spool(&pending, ts) {
                        Ok(i) => i,
                        Err(e) => Incoming::failed((
                            status::OUT_OF_RESOURCES,
                            format!("cannot write: {e}"),
                        )),
                    },
                });
                state.pending = Some(pending);
                Ok(None)
            }
            other => Ok(answer(dimse::response(
                other | 0x8000,
                command.message_id,
                &command.sop_class,
                None,
                0x0211, // Unrecognized operation (PS3.7 C.5.5)
                Some("this node answers C-ECHO and C-STORE only"),
            ))),
        }
    }

    fn open_spool(&self, pending: &Pending, ts: &str) -> std::io::Result<Incoming> {
        let spool = self
            .settings
            .store
            .join(SPOOL_DIR)
            .join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let mut file = std::fs::File::create(&spool)?;
        // A deflated data set is inflated as it arrives: what is stored is its
        // Explicit VR Little Endian form, byte for byte (PS3.5 A.5).
        let stored_ts = if ts == DEFLATED { EXPLICIT_LE } else { ts };
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(pending.sop_class.as_str())
            .media_storage_sop_instance_uid(pending.sop_instance.as_str())
            .transfer_syntax(stored_ts)
            .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
            .source_application_entity_title(self.settings.ae_title.as_str())
            .build()
            .map_err(std::io::Error::other)?;
        file.write_all(&[0u8; 128])?;
        file.write_all(b"DICM")?;
        meta.write(&mut file).map_err(std::io::Error::other)?;
        let out = Bounded {
            inner: std::io::BufWriter::with_capacity(256 * 1024, file),
            written: 0,
            limit: self.max_instance,
        };
        let sink = if ts == DEFLATED {
            Sink::Inflate(Box::new(flate2::write::DeflateDecoder::new(out)))
        } else {
            Sink::Plain(out)
        };
        Ok(Incoming {
            spool,
            file: Some(sink),
            failure: None,
        })
    }

    /// The data set is whole: make the file durable under its final name, then
    /// answer. Any failure removes the spool file and answers with its status.
    async fn finish(&self, incoming: Option<Incoming>, pending: &Pending, calling: &str) -> Pdu {
        let settle = match incoming {
            None => Err((status::CANNOT_UNDERSTAND, "no instance".to_string())),
            Some(i) => self.settle(i, pending).await,
        };
        let (code, comment) = match settle {
            Ok((file, bytes)) => {
                self.counters.stored.fetch_add(1, Ordering::Relaxed);
                self.report(NodeEvent::Stored {
                    calling: calling.to_string(),
                    file,
                    sop_class: pending.sop_class.clone(),
                    sop_instance: pending.sop_instance.clone(),
                    transfer_syntax: pending.transfer_syntax.clone(),
                    bytes,
                })
                .await;
                (status::SUCCESS, None)
            }
            Err((code, reason)) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                self.report(NodeEvent::Refused {
                    calling: calling.to_string(),
                    sop_instance: pending.sop_instance.clone(),
                    status: code,
                    reason: reason.clone(),
                })
                .await;
                (code, Some(reason))
            }
        };
        Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pending.context,
                value_type: PDataValueType::Command,
                is_last: true,
                data: dimse::response(
                    field::C_STORE_RSP,
                    pending.message_id,
                    &pending.sop_class,
                    Some(&pending.sop_instance),
                    code,
                    comment.as_deref(),
                ),
            }],
        }
    }

    async fn settle(
        &self,
        incoming: Incoming,
        pending: &Pending,
    ) -> Result<(PathBuf, u64), (u16, String)> {
        let Incoming {
            spool,
            file,
            failure,
            ..
        } = incoming;
        let file = match (failure, file) {
            (None, Some(file)) => file,
            (failure, _) => {
                let _ = tokio::fs::remove_file(&spool).await;
                return Err(failure.unwrap_or((status::CANNOT_UNDERSTAND, "no data".into())));
            }
        };
        let store = self.settings.store.clone();
        let sop_instance = pending.sop_instance.clone();
        let spool_for_task = spool.clone();
        // Sync, read the header (bounded), rename: blocking work off the runtime.
        let placed = tokio::task::spawn_blocking(move || {
            place(file, &spool_for_task, &store, &sop_instance)
        })
        .await
        .unwrap_or_else(|e| Err((status::OUT_OF_RESOURCES, format!("the writer failed: {e}"))));
        let (path, study, bytes) = match placed {
            Ok(p) => p,
            Err(e) => {
                let _ = tokio::fs::remove_file(&spool).await;
                return Err(e);
            }
        };
        let removed = self.keeper.lock().await.added(&study, bytes);
        for (dir, freed) in removed {
            self.counters.removed.fetch_add(1, Ordering::Relaxed);
            self.report(NodeEvent::Removed {
                study: dir,
                bytes: freed,
            })
            .await;
        }
        Ok((path, bytes))
    }
}

/// The implementation class UID written in the files' meta group (a UUID-derived
/// UID, PS3.5 B.2: `2.25.` and the UUID as a decimal integer).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.2623891856396571870294384715043702171";

/// Whether `s` is a UID (digits and dots, at most 64 characters).
fn is_uid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !s.starts_with('.')
        && !s.ends_with('.')
        && !s.contains("..")
}

/// Syncs the spool file, checks its header, and renames it to
/// `<store>/<study>/<sop_instance>.dcm`; returns the path, the study folder and the
/// file's size.
fn place(
    file: Sink,
    spool: &Path,
    store: &Path,
    sop_instance: &str,
) -> Result<(PathBuf, PathBuf, u64), (u16, String)> {
    let io = |e: std::io::Error| (status::OUT_OF_RESOURCES, format!("cannot write: {e}"));
    let file = file.finish().map_err(io)?;
    file.sync_all().map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    drop(file);
    let header = crate::dicom::read_header(spool).map_err(|e| {
        (
            status::CANNOT_UNDERSTAND,
            format!("the data set cannot be read: {e}"),
        )
    })?;
    if header.identity.sop_uid.as_deref() != Some(sop_instance) {
        return Err((
            status::DATASET_MISMATCH,
            "the data set's SOP instance UID is not the command's".to_string(),
        ));
    }
    let study = header
        .identity
        .study_uid
        .as_deref()
        .filter(|s| is_uid(s))
        .unwrap_or("unknown-study");
    let dir = store.join(study);
    std::fs::create_dir_all(&dir).map_err(io)?;
    let target = dir.join(format!("{sop_instance}.dcm"));
    std::fs::rename(spool, &target).map_err(io)?;
    // The rename is durable once the folder is synced.
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok((target, dir, size))
}

/// Answers an association the kiosk has no room for: A-ASSOCIATE-RJ, transient,
/// local limit exceeded (PS3.8 9.3.4).
async fn reject_busy(mut socket: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Read (and drop) what the peer sends first, briefly, so the reply is not reset.
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await;
    let mut out = Vec::new();
    let rj = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    if dicom_ul::pdu::write_pdu(&mut out, &rj).is_ok() {
        let _ = socket.write_all(&out).await;
    }
    let _ = socket.shutdown().await;
}

const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// A writer refusing to write more than `limit` bytes (an inflated data set can be
/// far larger than what came over the wire).
struct Bounded {
    inner: std::io::BufWriter<std::fs::File>,
    written: u64,
    limit: u64,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(std::io::Error::other(format!(
                "instance larger than {} bytes",
                self.limit
            )));
        }
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Where an instance's data set goes: straight into its file, or through an
/// inflater first.
enum Sink {
    Plain(Bounded),
    Inflate(Box<flate2::write::DeflateDecoder<Bounded>>),
}

impl Sink {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(data),
            Sink::Inflate(w) => {
                let mut rest = data;
                while !rest.is_empty() {
                    let n = w.write(rest)?;
                    if n == 0 {
                        // The deflated stream has ended: only the padding to an even
                        // length may follow (PS3.5 A.5).
                        if rest.iter().all(|&b| b == 0) {
                            return Ok(());
                        }
                        return Err(std::io::Error::other(
                            "data after the end of the deflated data set",
                        ));
                    }
                    rest = &rest[n..];
                }
                Ok(())
            }
        }
    }

    /// The file, everything written and flushed.
    fn finish(self) -> std::io::Result<std::fs::File> {
        let bounded = match self {
            Sink::Plain(w) => w,
            Sink::Inflate(w) => w.finish()?,
        };
        bounded.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// Where an association is in its message exchange.
#[derive(Default)]
struct State {
    /// Command fragments so far.
    command: Vec<u8>,
    /// The C-STORE whose data set is arriving.
    pending: Option<Pending>,
    /// Its spool file.
    instance: Option<Incoming>,
}

#[derive(Clone)]
struct Pending {
    context: u8,
    transfer_syntax: String,
    message_id: u16,
    sop_class: String,
    sop_instance: String,
}

struct Incoming {
    spool: PathBuf,
    file: Option<Sink>,
    /// Set once the instance is refused: its remaining data is read and dropped.
    failure: Option<(u16, String)>,
}

impl Incoming {
    /// A refused instance: its data is read and dropped, nothing is written.
    fn failed(failure: (u16, String)) -> Incoming {
        Incoming {
            spool: PathBuf::new(),
            file: None,
            failure: Some(failure),
        }
    }
}

/// Keeps the received files under the size cap: the oldest studies (by the time
/// their folder last changed) are removed first, never the one being written.
struct Keeper {
    store: PathBuf,
    cap: u64,
    /// Study folder → bytes.
    studies: HashMap<PathBuf, u64>,
}

impl Keeper {
    fn scan(store: &Path, cap: u64) -> Keeper {
        let mut studies = HashMap::new();
        if let Ok(rd) = std::fs::read_dir(store) {
            for e in rd.flatten() {
                let p = e.path();
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                if hidden || !p.is_dir() {
                    continue;
                }
                let bytes = std::fs::read_dir(&p)
                    .map(|rd| {
                        rd.flatten()
                            .filter_map(|f| f.metadata().ok())
                            .map(|m| m.len())
                            .sum()
                    })
                    .unwrap_or(0);
                studies.insert(p, bytes);
            }
        }
        Keeper {
            store: store.to_path_buf(),
            cap,
            studies,
        }
    }

    /// Removes the studies that gained no file for `after` (by their folder's
    /// modification time); the ones removed.
    fn sweep(&mut self, after: Duration) -> Vec<(PathBuf, u64)> {
        let now = std::time::SystemTime::now();
        let idle: Vec<PathBuf> = self
            .studies
            .keys()
            .filter(|p| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age >= after)
            })
            .cloned()
            .collect();
        let mut removed = Vec::new();
        for dir in idle {
            let bytes = self.studies.remove(&dir).unwrap_or(0);
            if dir.starts_with(&self.store) && std::fs::remove_dir_all(&dir).is_ok() {
                removed.push((dir, bytes));
            }
        }
        removed
    }

    /// `bytes` more in `study`; the studies removed to stay under the cap.
    fn added(&mut self, study: &Path, bytes: u64) -> Vec<(PathBuf, u64)> {
        *self.studies.entry(study.to_path_buf()).or_default() += bytes;
        let mut removed = Vec::new();
        while self.studies.values().sum::<u64>() > self.cap {
            let oldest = self
                .studies
                .keys()
                .filter(|p| p.as_path() != study)
                .min_by_key(|p| {
                    std::fs::metadata(p)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
                })
                .cloned();
            let Some(oldest) = oldest else { break };
            let freed = self.studies.remove(&oldest).unwrap_or(0);
            if oldest.starts_with(&self.store) && std::fs::remove_dir_all(&oldest).is_ok() {
                removed.push((oldest, freed));
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(store: &Path, name: &str, files: usize, bytes: usize) -> PathBuf {
        let dir = store.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..files {
            std::fs::write(dir.join(format!("{i}.dcm")), vec![0u8; bytes]).unwrap();
        }
        dir
    }

    #[test]
    fn the_size_cap_removes_the_oldest_studies_first_never_the_one_being_written() {
        let store = tempfile::tempdir().unwrap();
        let old = study(store.path(), "1.1", 4, 1000);
        std::thread::sleep(Duration::from_millis(20));
        let middle = study(store.path(), "1.2", 4, 1000);
        std::fs::create_dir_all(store.path().join(SPOOL_DIR)).unwrap();
        let mut keeper = Keeper::scan(store.path(), 9000);
        assert_eq!(keeper.studies.len(), 2, "the spool is not a study");
        // 8,000 bytes kept: a new study of 2,000 goes over the cap of 9,000.
        let new = study(store.path(), "1.3", 2, 1000);
        let removed = keeper.added(&new, 2000);
        assert_eq!(removed, vec![(old.clone(), 4000)]);
        assert!(!old.exists() && middle.exists() && new.exists());
        // The study being written is never removed, even alone over the cap.
        let removed = keeper.added(&new, 20_000);
        assert_eq!(removed, vec![(middle.clone(), 4000)]);
        assert!(new.exists());
        assert!(keeper.added(&new, 1).is_empty());
    }

    #[test]
    fn discarding_removes_only_studies_that_have_gone_quiet() {
        let store = tempfile::tempdir().unwrap();
        let quiet = study(store.path(), "1.1", 2, 100);
        std::thread::sleep(Duration::from_millis(120));
        let busy = study(store.path(), "1.2", 2, 100);
        let mut keeper = Keeper::scan(store.path(), u64::MAX);
        let removed = keeper.sweep(Duration::from_millis(100));
        assert_eq!(removed, vec![(quiet.clone(), 200)]);
        assert!(!quiet.exists() && busy.exists());
        assert!(keeper.sweep(Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn uids_are_checked_before_they_name_a_file() {
        assert!(is_uid("1.2.840.10008.5.1.4.1.1.4"));
        for bad in ["", "../etc", "1..2", ".1", "1.", "1.2/3", &"1".repeat(65)] {
            assert!(!is_uid(bad), "{bad}");
        }
    }
}
