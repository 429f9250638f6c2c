//! The kiosk as a DICOM client: verification (C-ECHO) of a peer, and the
//! modality worklist query (C-FIND) to the hospital's worklist provider.
//!
//! Bounded like the receiver: the whole exchange has a deadline
//! ([`super::Peer::timeout`]), PDUs at most [`super::receiver::MAX_PDU_BYTES`], each
//! answer's identifier at most [`MAX_IDENTIFIER_BYTES`], at most
//! [`MAX_WORKLIST_ITEMS`] items.

use std::time::{Duration, Instant};

use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
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
