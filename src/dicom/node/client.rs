//! The kiosk as a DICOM client: verification (C-ECHO) of a peer, the
//! modality worklist query (C-FIND) to the hospital's worklist provider, and storage
//! (C-STORE) of the kiosk's own objects (the imaging agent SR) to the PACS.
//!
//! Bounded like the receiver: the whole exchange has a deadline
//! ([`super::Peer::timeout`]), PDUs at most [`super::receiver::MAX_PDU_BYTES`], each
//! answer's identifier at most [`MAX_IDENTIFIER_BYTES`], at most
//! [`MAX_WORKLIST_ITEMS`] items, an object sent at most [`MAX_STORE_BYTES`].

use std::time::{Duration, Instant};

use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu, PresentationContextResultReason};

use super::dimse::{self, field, status};
use super::receiver::MAX_PDU_BYTES;
use super::worklist::{WorklistItem, WorklistQuery, item_of, query_identifier};
use super::{NodeError, Peer};

/// The largest identifier accepted in one worklist answer.
pub const MAX_IDENTIFIER_BYTES: usize = 1024 * 1024;
/// The most worklist items read; the query is cancelled beyond (a day's MR list is
/// tens of items).
pub const MAX_WORKLIST_ITEMS: usize = 2000;
/// The largest data set [`store`] sends (the SR is a few kilobytes).
pub const MAX_STORE_BYTES: usize = 64 * 1024 * 1024;
/// Bytes a P-DATA-TF PDU spends around one fragment: the PDU header (type, reserved,
/// length) and the PDV item header (length, context id, control header).
const PDATA_OVERHEAD: usize = 6 + 6;
/// How dicom-ul words an association whose presentation contexts were all refused.
const NO_CONTEXT_ACCEPTED: &str = "no presentation contexts accepted";

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// An association over TCP or TLS.
enum Association {
    Plain(Box<dicom_ul::association::client::AsyncClientAssociation<tokio::net::TcpStream>>),
    Tls(
        Box<
            dicom_ul::association::client::AsyncClientAssociation<
                dicom_ul::association::client::AsyncTlsStream,
            >,
        >,
    ),
}

impl Association {
    fn contexts(&self) -> &[dicom_ul::pdu::PresentationContextNegotiated] {
        match self {
            Association::Plain(a) => a.presentation_contexts(),
            Association::Tls(a) => a.presentation_contexts(),
        }
    }

    async fn send(&mut self, pdu: &Pdu) -> Result<(), dicom_ul::association::Error> {
        match self {
            Association::Plain(a) => a.send(pdu).await,
            Association::Tls(a) => a.send(pdu).await,
        }
    }

    async fn receive(&mut self) -> Result<Pdu, dicom_ul::association::Error> {
        match self {
            Association::Plain(a) => a.receive().await,
            Association::Tls(a) => a.receive().await,
        }
    }

    /// The largest PDU the peer accepts (0: no limit, taken as the kiosk's own).
    fn peer_max_pdu(&self) -> u32 {
        match self {
            Association::Plain(a) => a.acceptor_max_pdu_length(),
            Association::Tls(a) => a.acceptor_max_pdu_length(),
        }
    }

    async fn release(self) {
        let _ = match self {
            Association::Plain(a) => (*a).release().await,
            Association::Tls(a) => (*a).release().await,
        };
    }

    async fn abort(self) {
        let _ = match self {
            Association::Plain(a) => (*a).abort().await,
            Association::Tls(a) => (*a).abort().await,
        };
    }
}

async fn connect(
    calling: &str,
    peer: &Peer,
    abstract_syntax: &str,
) -> Result<(Association, u8, String), NodeError> {
    let options = ClientAssociationOptions::new()
        .calling_ae_title(calling.to_string())
        .called_ae_title(peer.ae_title.clone())
        .with_presentation_context(
            abstract_syntax.to_string(),
            vec![EXPLICIT_LE.to_string(), IMPLICIT_LE.to_string()],
        )
        .max_pdu_length(MAX_PDU_BYTES)
        .strict(true)
        .read_timeout(peer.timeout)
        .write_timeout(peer.timeout)
        .connection_timeout(peer.timeout);
    let assoc = match &peer.tls {
        None => options
            .establish_async((peer.host.as_str(), peer.port))
            .await
            .map(|a| Association::Plain(Box::new(a))),
        Some(tls) => options
            .tls_config(tls.clone())
            .server_name(&peer.host)
            .establish_tls_async((peer.host.as_str(), peer.port))
            .await
            .map(|a| Association::Tls(Box::new(a))),
    }
    .map_err(|e| NodeError::Association(super::chain(&e)))?;
    let pc = assoc
        .contexts()
        .iter()
        .find(|c| c.reason == PresentationContextResultReason::Acceptance)
        .map(|c| (c.id, c.transfer_syntax.trim_end_matches('\0').to_string()));
    match pc {
        Some((id, ts)) => Ok((assoc, id, ts)),
        None => {
            assoc.abort().await;
            Err(NodeError::Refused(format!(
                "{} does not accept {abstract_syntax}",
                peer.ae_title
            )))
        }
    }
}

fn pdata(context: u8, kind: PDataValueType, data: Vec<u8>) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: context,
            value_type: kind,
            is_last: true,
            data,
        }],
    }
}

/// One message from the peer: its command and the data set that follows, if any.
async fn receive_message(
    assoc: &mut Association,
) -> Result<(dimse::Command, Option<Vec<u8>>), NodeError> {
    let mut command = Vec::new();
    let mut data = Vec::new();
    let mut decoded: Option<dimse::Command> = None;
    loop {
        let pdu = assoc
            .receive()
            .await
            .map_err(|e| NodeError::Protocol(super::chain(&e)))?;
        let Pdu::PData { data: values } = pdu else {
            return Err(NodeError::Protocol(format!(
                "unexpected {}",
                pdu.short_description()
            )));
        };
        for v in values {
            match v.value_type {
                PDataValueType::Command => {
                    if command.len() + v.data.len() > super::receiver::MAX_COMMAND_BYTES {
                        return Err(NodeError::Protocol("command set too long".into()));
                    }
                    command.extend_from_slice(&v.data);
                    if v.is_last {
                        let c = dimse::decode(&command)
                            .map_err(|e| NodeError::Protocol(e.to_string()))?;
                        if !c.has_dataset {
                            return Ok((c, None));
                        }
                        decoded = Some(c);
                    }
                }
                PDataValueType::Data => {
                    if data.len() + v.data.len() > MAX_IDENTIFIER_BYTES {
                        return Err(NodeError::Protocol(format!(
                            "an identifier longer than {MAX_IDENTIFIER_BYTES} bytes"
                        )));
                    }
                    data.extend_from_slice(&v.data);
                    if v.is_last {
                        return match decoded.take() {
                            Some(c) => Ok((c, Some(data))),
                            None => {
                                Err(NodeError::Protocol("a data set before its command".into()))
                            }
                        };
                    }
                }
            }
        }
    }
}

/// C-ECHO to `peer` as `calling`; the round trip on success.
pub async fn echo(calling: &str, peer: &Peer) -> Result<Duration, NodeError> {
    let start = Instant::now();
    tokio::time::timeout(peer.timeout, async {
        let (mut assoc, pc, _) = connect(calling, peer, dimse::VERIFICATION).await?;
        assoc
            .send(&pdata(
                pc,
                PDataValueType::Command,
                dimse::request(field::C_ECHO_RQ, 1, dimse::VERIFICATION, false, None),
            ))
            .await
            .map_err(|e| NodeError::Protocol(super::chain(&e)))?;
        let (rsp, _) = receive_message(&mut assoc).await?;
        assoc.release().await;
        match rsp.status {
            Some(status::SUCCESS) if rsp.field == field::C_ECHO_RSP => Ok(start.elapsed()),
            other => Err(NodeError::Refused(format!(
                "C-ECHO answered with status {:#06x}",
                other.unwrap_or(0xFFFF)
            ))),
        }
    })
    .await
    .map_err(|_| NodeError::Timeout(peer.timeout))?
}

/// The worklist `peer` holds for `query`, as `calling`, in scheduled order.
pub async fn worklist(
    calling: &str,
    peer: &Peer,
    query: &WorklistQuery,
) -> Result<Vec<WorklistItem>, NodeError> {
    worklist_at_most(calling, peer, query, MAX_WORKLIST_ITEMS).await
}

/// [`worklist`], cancelled beyond `max_items` (at most [`MAX_WORKLIST_ITEMS`]).
pub async fn worklist_at_most(
    calling: &str,
    peer: &Peer,
    query: &WorklistQuery,
    max_items: usize,
) -> Result<Vec<WorklistItem>, NodeError> {
    let max_items = max_items.min(MAX_WORKLIST_ITEMS);
    tokio::time::timeout(peer.timeout, async {
        let (mut assoc, pc, ts_uid) = connect(calling, peer, dimse::MODALITY_WORKLIST_FIND).await?;
        let ts = TransferSyntaxRegistry
            .get(&ts_uid)
            .ok_or_else(|| NodeError::Protocol(format!("unknown transfer syntax {ts_uid}")))?;
        let mut identifier = Vec::new();
        query_identifier(query)
            .write_dataset_with_ts(&mut identifier, ts)
            .map_err(|e| NodeError::Protocol(e.to_string()))?;
        for pdu in [
            pdata(
                pc,
                PDataValueType::Command,
                dimse::request(
                    field::C_FIND_RQ,
                    1,
                    dimse::MODALITY_WORKLIST_FIND,
                    true,
                    None,
                ),
            ),
            pdata(pc, PDataValueType::Data, identifier),
        ] {
            assoc
                .send(&pdu)
                .await
                .map_err(|e| NodeError::Protocol(super::chain(&e)))?;
        }
        let mut items = Vec::new();
        loop {
            let (rsp, data) = receive_message(&mut assoc).await?;
            if rsp.field != field::C_FIND_RSP {
                assoc.abort().await;
                return Err(NodeError::Protocol(format!(
                    "expected C-FIND-RSP, got command {:#06x}",
                    rsp.field
                )));
            }
            match rsp.status {
                Some(status::PENDING | status::PENDING_WARNING) => {
                    let Some(bytes) = data else { continue };
                    let ds = InMemDicomObject::read_dataset_with_ts(bytes.as_slice(), ts)
                        .map_err(|e| NodeError::Protocol(format!("an item cannot be read: {e}")))?;
                    items.push(item_of(&ds));
                    if items.len() > max_items {
                        assoc.abort().await;
                        return Err(NodeError::Refused(format!(
                            "more than {max_items} worklist items"
                        )));
                    }
                }
                Some(status::SUCCESS) => break,
                other => {
                    assoc.release().await;
                    return Err(NodeError::Refused(format!(
                        "the worklist query failed with status {:#06x}{}",
                        other.unwrap_or(0xFFFF),
                        rsp.error_comment
                            .map(|c| format!(": {c}"))
                            .unwrap_or_default()
                    )));
                }
            }
        }
        assoc.release().await;
        items.sort_by(|a, b| (a.scheduled, &a.patient_id).cmp(&(b.scheduled, &b.patient_id)));
        Ok(items)
    })
    .await
    .map_err(|_| NodeError::Timeout(peer.timeout))?
}

/// A C-STORE the peer accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// From the association request to the answer.
    pub round_trip: Duration,
    /// The answer's status: [`status::SUCCESS`] or a warning (0001, Bxxx; the peer
    /// kept the object, possibly coerced).
    pub status: u16,
    /// The peer's Error Comment, if any.
    pub comment: Option<String>,
}

/// Whether a C-STORE status means the object was kept: success, or a warning (PS3.4
/// B.2.3: 0001 and Bxxx). Everything else (Axxx, Cxxx, 01xx, 02xx, FE00) is a failure.
pub fn store_kept(code: u16) -> bool {
    code == status::SUCCESS || code == 0x0001 || (0xB000..=0xBFFF).contains(&code)
}

fn uid_of(object: &FileDicomObject<InMemDicomObject>, tag: dicom_core::Tag) -> Option<String> {
    object
        .get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .filter(|s| !s.is_empty())
}

/// C-STORE of `object` to `peer` as `calling`, in the transfer syntax the peer
/// accepts (Explicit or Implicit VR Little Endian): one association, one deadline
/// ([`Peer::timeout`]) for all of it. A warning status is success (reported in
/// [`Stored::status`]); a refused presentation context or association, or a failure
/// status, is an error carrying the status code and the peer's comment.
pub async fn store(
    calling: &str,
    peer: &Peer,
    object: &FileDicomObject<InMemDicomObject>,
) -> Result<Stored, NodeError> {
    use dicom_dictionary_std::tags;
    let start = Instant::now();
    let sop_class = uid_of(object, tags::SOP_CLASS_UID)
        .ok_or_else(|| NodeError::Protocol("the object has no SOP Class UID".into()))?;
    let sop_instance = uid_of(object, tags::SOP_INSTANCE_UID)
        .ok_or_else(|| NodeError::Protocol("the object has no SOP Instance UID".into()))?;
    tokio::time::timeout(peer.timeout, async {
        let (mut assoc, pc, ts_uid) = match connect(calling, peer, &sop_class).await {
            Ok(c) => c,
            // dicom-ul fails the association when the only context proposed is
            // refused: that is the peer refusing this SOP class.
            Err(NodeError::Association(m)) if m.contains(NO_CONTEXT_ACCEPTED) => {
                return Err(NodeError::Refused(format!(
                    "{} does not accept {sop_class} ({m})",
                    peer.ae_title
                )));
            }
            Err(e) => return Err(e),
        };
        let ts = TransferSyntaxRegistry
            .get(&ts_uid)
            .ok_or_else(|| NodeError::Protocol(format!("unknown transfer syntax {ts_uid}")))?;
        let mut data = Vec::new();
        if let Err(e) = object.write_dataset_with_ts(&mut data, ts) {
            assoc.abort().await;
            return Err(NodeError::Protocol(format!(
                "the object cannot be encoded in {ts_uid}: {e}"
            )));
        }
        if data.len() > MAX_STORE_BYTES {
            assoc.abort().await;
            return Err(NodeError::Refused(format!(
                "the object is {} bytes, more than {MAX_STORE_BYTES}",
                data.len()
            )));
        }
        let command = dimse::request(field::C_STORE_RQ, 1, &sop_class, true, Some(&sop_instance));
        let max_pdu = match assoc.peer_max_pdu() {
            0 => MAX_PDU_BYTES,
            n => n.min(MAX_PDU_BYTES),
        };
        // Even fragments, each PDU within the peer's limit.
        let fragment = (max_pdu as usize).saturating_sub(PDATA_OVERHEAD).max(2) & !1;
        let mut pdus = vec![pdata(pc, PDataValueType::Command, command)];
        let chunks: Vec<&[u8]> = data.chunks(fragment).collect();
        let last = chunks.len().saturating_sub(1);
        for (k, chunk) in chunks.into_iter().enumerate() {
            pdus.push(Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: pc,
                    value_type: PDataValueType::Data,
                    is_last: k == last,
                    data: chunk.to_vec(),
                }],
            });
        }
        for pdu in &pdus {
            if let Err(e) = assoc.send(pdu).await {
                return Err(NodeError::Protocol(super::chain(&e)));
            }
        }
        let (rsp, _) = receive_message(&mut assoc).await?;
        assoc.release().await;
        if rsp.field != field::C_STORE_RSP {
            return Err(NodeError::Protocol(format!(
                "expected C-STORE-RSP, got command {:#06x}",
                rsp.field
            )));
        }
        let code = rsp.status.unwrap_or(0xFFFF);
        if store_kept(code) {
            Ok(Stored {
                round_trip: start.elapsed(),
                status: code,
                comment: rsp.error_comment,
            })
        } else {
            Err(NodeError::Refused(format!(
                "C-STORE of {sop_instance} answered with status {code:#06x}{}",
                rsp.error_comment
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            )))
        }
    })
    .await
    .map_err(|_| NodeError::Timeout(peer.timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_kept_on_success_and_warnings_only() {
        for kept in [0x0000, 0x0001, 0xB000, 0xB006, 0xB007] {
            assert!(store_kept(kept), "{kept:#06x}");
        }
        for failed in [
            0x0122, 0x0124, 0x0211, 0xA700, 0xA900, 0xC000, 0xFE00, 0xFFFF,
        ] {
            assert!(!store_kept(failed), "{failed:#06x}");
        }
    }
}
