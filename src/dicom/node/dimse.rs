//! DIMSE messages (PS3.7): command sets encoded and decoded with dicom-object, in
//! Implicit VR Little Endian as PS3.7 6.3.1 requires, and the UIDs and status
//! codes the kiosk's node uses.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// Verification SOP Class (C-ECHO).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
/// MR Image Storage.
pub const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
/// Enhanced MR Image Storage.
pub const ENHANCED_MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4.1";
/// Modality Worklist Information Model – FIND.
pub const MODALITY_WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";

/// The storage SOP classes the receiver accepts: the images of a cardiac MR exam.
pub const ACCEPTED_STORAGE: [&str; 2] = [MR_IMAGE_STORAGE, ENHANCED_MR_IMAGE_STORAGE];

/// The transfer syntaxes the receiver accepts, in its order of preference: the
/// native ones, deflated, and the compressed ones scanners send (JPEG lossless,
/// JPEG-LS, JPEG 2000), kept as they came: pixel data is never decoded.
pub const ACCEPTED_TRANSFER_SYNTAXES: [&str; 9] = [
    "1.2.840.10008.1.2.1",    // Explicit VR Little Endian
    "1.2.840.10008.1.2",      // Implicit VR Little Endian
    "1.2.840.10008.1.2.1.99", // Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.4.70", // JPEG Lossless, first-order prediction
    "1.2.840.10008.1.2.4.57", // JPEG Lossless
    "1.2.840.10008.1.2.4.80", // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.90", // JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91", // JPEG 2000
    "1.2.840.10008.1.2.4.81", // JPEG-LS near-lossless
];

/// Command Field values (PS3.7 E.1).
pub mod field {
    /// C-STORE-RQ.
    pub const C_STORE_RQ: u16 = 0x0001;
    /// C-STORE-RSP.
    pub const C_STORE_RSP: u16 = 0x8001;
    /// C-FIND-RQ.
    pub const C_FIND_RQ: u16 = 0x0020;
    /// C-FIND-RSP.
    pub const C_FIND_RSP: u16 = 0x8020;
    /// C-ECHO-RQ.
    pub const C_ECHO_RQ: u16 = 0x0030;
    /// C-ECHO-RSP.
    pub const C_ECHO_RSP: u16 = 0x8030;
}

/// Status codes (PS3.7 C and PS3.4 B.2.3, C.4.1.1.4, K.4.1.1.4).
pub mod status {
    /// Success.
    pub const SUCCESS: u16 = 0x0000;
    /// Pending: matches are continuing (C-FIND).
    pub const PENDING: u16 = 0xFF00;
    /// Pending, with optional keys not supported (C-FIND).
    pub const PENDING_WARNING: u16 = 0xFF01;
    /// Refused: SOP class not supported.
    pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
    /// Refused: out of resources (the kiosk's storage is full).
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    /// Error: data set does not match SOP class.
    pub const DATASET_MISMATCH: u16 = 0xA900;
    /// Error: cannot understand.
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
}

/// The "no data set" value of Command Data Set Type.
pub const NO_DATASET: u16 = 0x0101;
/// A data set follows (any other value; this one is what the kiosk sends).
pub const DATASET_PRESENT: u16 = 0x0000;

/// A decoded command set: the fields the node reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// Command Field.
    pub field: u16,
    /// Message ID (requests) or Message ID Being Responded To (responses).
    pub message_id: u16,
    /// Affected SOP Class UID.
    pub sop_class: String,
    /// Affected SOP Instance UID.
    pub sop_instance: String,
    /// Whether a data set follows.
    pub has_dataset: bool,
    /// Status (responses).
    pub status: Option<u16>,
    /// Error Comment (responses), if any.
    pub error_comment: Option<String>,
}

/// Why a command set could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the command set cannot be read: {0}")]
pub struct CommandError(pub String);

fn uid(s: &str) -> PrimitiveValue {
    // UIDs are padded with NUL to an even length (dicom-object pads on writing).
    PrimitiveValue::from(s.trim_end_matches('\0'))
}

fn encode(elements: Vec<DataElement<InMemDicomObject>>) -> Vec<u8> {
    let obj = InMemDicomObject::command_from_element_iter(elements);
    let mut out = Vec::new();
    // Writing a command set into memory cannot fail for these element types.
    let _ = obj.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased());
    out
}

/// A request's command set.
pub fn request(
    field: u16,
    message_id: u16,
    sop_class: &str,
    has_dataset: bool,
    sop_instance: Option<&str>,
) -> Vec<u8> {
    let mut e = vec![
        DataElement::new(tags::AFFECTED_SOP_CLASS_UID, VR::UI, uid(sop_class)),
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(field)),
        DataElement::new(tags::MESSAGE_ID, VR::US, PrimitiveValue::from(message_id)),
    ];
    if field == field::C_FIND_RQ || field == field::C_STORE_RQ {
        // Priority: medium.
        e.push(DataElement::new(
            tags::PRIORITY,
            VR::US,
            PrimitiveValue::from(0u16),
        ));
    }
    e.push(DataElement::new(
        tags::COMMAND_DATA_SET_TYPE,
        VR::US,
        PrimitiveValue::from(if has_dataset {
            DATASET_PRESENT
        } else {
            NO_DATASET
        }),
    ));
    if let Some(i) = sop_instance {
        e.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            uid(i),
        ));
    }
    encode(e)
}

/// A response's command set (no data set), with an error comment for refusals.
pub fn response(
    field: u16,
    responding_to: u16,
    sop_class: &str,
    sop_instance: Option<&str>,
    status: u16,
    comment: Option<&str>,
) -> Vec<u8> {
    let mut e = vec![
        DataElement::new(tags::AFFECTED_SOP_CLASS_UID, VR::UI, uid(sop_class)),
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(field)),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            PrimitiveValue::from(responding_to),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(NO_DATASET),
        ),
        DataElement::new(tags::STATUS, VR::US, PrimitiveValue::from(status)),
    ];
    if let Some(i) = sop_instance {
        e.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            uid(i),
        ));
    }
    if let Some(c) = comment {
        // Error Comment is LO: at most 64 characters.
        let c: String = c.chars().filter(|c| c.is_ascii()).take(64).collect();
        e.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            PrimitiveValue::from(c),
        ));
    }
    encode(e)
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

fn ushort(obj: &InMemDicomObject, tag: Tag) -> Option<u16> {
    obj.get(tag).and_then(|e| e.to_int::<u16>().ok())
}

/// Decodes a command set (bounded by the caller: at most
/// [`super::MAX_COMMAND_BYTES`]).
pub fn decode(bytes: &[u8]) -> Result<Command, CommandError> {
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| CommandError(e.to_string()))?;
    let field = ushort(&obj, tags::COMMAND_FIELD)
        .ok_or_else(|| CommandError("no Command Field (0000,0100)".into()))?;
    let message_id = ushort(&obj, tags::MESSAGE_ID)
        .or_else(|| ushort(&obj, tags::MESSAGE_ID_BEING_RESPONDED_TO))
        .unwrap_or(0);
    let has_dataset = ushort(&obj, tags::COMMAND_DATA_SET_TYPE)
        .ok_or_else(|| CommandError("no Command Data Set Type (0000,0800)".into()))?
        != NO_DATASET;
    let comment = text(&obj, tags::ERROR_COMMENT);
    Ok(Command {
        field,
        message_id,
        sop_class: text(&obj, tags::AFFECTED_SOP_CLASS_UID),
        sop_instance: text(&obj, tags::AFFECTED_SOP_INSTANCE_UID),
        has_dataset,
        status: ushort(&obj, tags::STATUS),
        error_comment: (!comment.is_empty()).then_some(comment),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_decodes_to_what_was_encoded() {
        let bytes = request(
            field::C_STORE_RQ,
            7,
            MR_IMAGE_STORAGE,
            true,
            Some("1.2.3.4"),
        );
        let c = decode(&bytes).unwrap();
        assert_eq!(c.field, field::C_STORE_RQ);
        assert_eq!(c.message_id, 7);
        assert_eq!(c.sop_class, MR_IMAGE_STORAGE);
        assert_eq!(c.sop_instance, "1.2.3.4");
        assert!(c.has_dataset);
        // The group length comes first and counts the rest.
        assert_eq!(&bytes[..8], &[0, 0, 0, 0, 4, 0, 0, 0]);
        let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        assert_eq!(len, bytes.len() - 12);
    }

    #[test]
    fn a_refusal_carries_its_status_and_reason() {
        let bytes = response(
            field::C_STORE_RSP,
            9,
            "1.2.840.10008.5.1.4.1.1.2",
            Some("9.8.7"),
            status::SOP_CLASS_NOT_SUPPORTED,
            Some("only MR images are kept here"),
        );
        let c = decode(&bytes).unwrap();
        assert_eq!(c.status, Some(status::SOP_CLASS_NOT_SUPPORTED));
        assert_eq!(c.message_id, 9);
        assert!(!c.has_dataset);
        assert_eq!(
            c.error_comment.as_deref(),
            Some("only MR images are kept here")
        );
    }

    #[test]
    fn garbage_is_refused_not_a_panic() {
        for junk in [
            &b""[..],
            b"\x00\x00",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\x00",
        ] {
            assert!(decode(junk).is_err(), "{junk:?}");
        }
    }
}
