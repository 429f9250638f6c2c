//! IHE ATNA audit records (pure): each security-relevant row of the exam log as a
//! DICOM audit message (PS3.15 A.5, the XML `AuditMessage`) inside an RFC 5424
//! syslog message, framed for TLS transport by octet counting (RFC 5425 §4.3).
//!
//! Codes are DICOM's (DCM) audit event and role codes: sign-in and sign-out are
//! "User Authentication" (110114) with Login/Logout (110122/110123); a record
//! opened is "Patient Record" (110110); an export "Export" (110106); a physician's
//! override or countersign a "Security Alert" (110113) of type "Emergency Override
//! Started" (110127); an account change a Security Alert of type "User security
//! Attributes Changed" (110137); a settings change one of "Software Configuration"
//! (110131); a failed log verification one of "Object Security Attributes Changed"
//! (110135) with a major failure outcome; a signed checkpoint "Application
//! Activity" (110100).

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};

use crate::store::accounts::{AuditAction, AuditEvent, AuditOutcome};
use crate::store::checkpoint::Checkpoint;

/// Syslog facility of the messages: 10, security/authorization (authpriv).
pub const FACILITY_AUTHPRIV: u8 = 10;
/// Syslog application name.
pub const APP_NAME: &str = "cmr-kiosk";
/// The MSGID IHE ATNA gives audit messages in syslog.
pub const MSGID: &str = "IHE+RFC-3881";
/// Longest syslog message sent (bytes); longer subjects are cut to fit.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// A coded value (DCM code system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The code.
    pub code: &'static str,
    /// Its meaning.
    pub meaning: &'static str,
}

const fn dcm(code: &'static str, meaning: &'static str) -> Code {
    Code { code, meaning }
}

/// What one audit message says: event, type, action code and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// EventID.
    pub event: Code,
    /// EventTypeCode, when the event has one.
    pub event_type: Option<Code>,
    /// EventActionCode: C(reate), R(ead), U(pdate), D(elete), E(xecute).
    pub action: char,
    /// EventOutcomeIndicator: 0 success, 4 minor, 8 serious, 12 major failure.
    pub outcome: u8,
    /// Syslog severity: 5 notice for successes, 4 warning for failures, 2 critical
    /// for a failed log verification.
    pub severity: u8,
}

/// The DICOM audit classification of a log audit event (pure).
pub fn classify(e: &AuditEvent) -> Classified {
    use AuditAction as A;
    let failed = matches!(e.outcome, AuditOutcome::Failure { .. });
    let security_alert = dcm("110113", "Security Alert");
    let (event, event_type, action) = match e.action {
        A::Login => (
            dcm("110114", "User Authentication"),
            Some(dcm("110122", "Login")),
            'E',
        ),
        A::Logout | A::Lock | A::AutoLock => (
            dcm("110114", "User Authentication"),
            Some(dcm("110123", "Logout")),
            'E',
        ),
        A::RecordView => (dcm("110110", "Patient Record"), None, 'R'),
        A::Export => (dcm("110106", "Export"), None, 'R'),
        A::Override | A::Countersign | A::Confirmation => (
            security_alert,
            Some(dcm("110127", "Emergency Override Started")),
            'E',
        ),
        A::UserAdded | A::UserDisabled | A::PinChanged | A::LockoutEnded | A::AdminRecovered => (
            security_alert,
            Some(dcm("110137", "User security Attributes Changed")),
            'U',
        ),
        A::SettingsChanged => (
            security_alert,
            Some(dcm("110131", "Software Configuration")),
            'U',
        ),
        A::PromptDismissed => (dcm("110110", "Patient Record"), None, 'U'),
        A::DicomNode => (dcm("110104", "DICOM Instances Transferred"), None, 'C'),
        A::Backup => (dcm("110106", "Export"), None, 'R'),
        A::Restore => (dcm("110107", "Import"), None, 'C'),
        A::Upgrade => (
            security_alert,
            Some(dcm("110131", "Software Configuration")),
            'U',
        ),
        A::VerificationFailed => (
            security_alert,
            Some(dcm("110135", "Object Security Attributes Changed")),
            'E',
        ),
    };
    let (outcome, severity) = match (e.action, failed) {
        (A::VerificationFailed, _) => (12, 2),
        (_, true) => (4, 4),
        (_, false) => (0, 5),
    };
    Classified {
        event,
        event_type,
        action,
        outcome,
        severity,
    }
}

fn code_element(w: &mut Writer<Vec<u8>>, name: &str, c: Code) {
    let mut el = BytesStart::new(name);
    el.push_attribute(("csd-code", c.code));
    el.push_attribute(("codeSystemName", "DCM"));
    el.push_attribute(("originalText", c.meaning));
    let _ = w.write_event(Event::Empty(el));
}

fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The subject of an event, cut at a character boundary to `max` bytes.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The `AuditMessage` XML of one audit event logged by `device` at `wall`.
pub fn audit_message(e: &AuditEvent, device: &str, wall: &DateTime<Utc>) -> String {
    let reason = match &e.outcome {
        AuditOutcome::Failure { reason } => Some(reason.as_str()),
        AuditOutcome::Success => None,
    };
    message(
        &classify(e),
        e.user.as_deref(),
        e.subject.as_deref(),
        reason,
        device,
        wall,
    )
}

/// The `AuditMessage` of a signed checkpoint: an application activity naming the
/// chain, the row, its hash and the signing key.
pub fn checkpoint_message(cp: &Checkpoint) -> String {
    let c = Classified {
        event: dcm("110100", "Application Activity"),
        event_type: None,
        action: 'E',
        outcome: 0,
        severity: 6,
    };
    let subject = format!(
        "log checkpoint {} #{} {} signed by {}",
        cp.device_id, cp.seq, cp.hash, cp.public_key
    );
    message(
        &c,
        None,
        Some(&subject),
        None,
        &cp.device_id,
        &cp.wall_clock,
    )
}

fn message(
    c: &Classified,
    user: Option<&str>,
    subject: Option<&str>,
    reason: Option<&str>,
    device: &str,
    wall: &DateTime<Utc>,
) -> String {
    let mut w = Writer::new(Vec::new());
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = w.write_event(Event::Start(BytesStart::new("AuditMessage")));
    let mut id = BytesStart::new("EventIdentification");
    id.push_attribute(("EventActionCode", c.action.to_string().as_str()));
    id.push_attribute(("EventDateTime", time_text(wall).as_str()));
    id.push_attribute(("EventOutcomeIndicator", c.outcome.to_string().as_str()));
    let _ = w.write_event(Event::Start(id));
    code_element(&mut w, "EventID", c.event);
    if let Some(t) = c.event_type {
        code_element(&mut w, "EventTypeCode", t);
    }
    if let Some(reason) = reason {
        let _ = w.write_event(Event::Start(BytesStart::new("EventOutcomeDescription")));
        let _ = w.write_event(Event::Text(quick_xml::events::BytesText::new(cut(
            reason, 512,
        ))));
        let _ = w.write_event(Event::End(BytesEnd::new("EventOutcomeDescription")));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("EventIdentification")));
    if let Some(user) = user {
        let mut p = BytesStart::new("ActiveParticipant");
        p.push_attribute(("UserID", cut(user, 256)));
        p.push_attribute(("UserIsRequestor", "true"));
        let _ = w.write_event(Event::Empty(p));
    }
    let mut app = BytesStart::new("ActiveParticipant");
    app.push_attribute(("UserID", format!("{APP_NAME}@{device}").as_str()));
    app.push_attribute(("UserIsRequestor", "false"));
    app.push_attribute(("NetworkAccessPointID", device));
    app.push_attribute(("NetworkAccessPointTypeCode", "1"));
    let _ = w.write_event(Event::Start(app));
    code_element(&mut w, "RoleIDCode", dcm("110150", "Application"));
    let _ = w.write_event(Event::End(BytesEnd::new("ActiveParticipant")));
    let mut src = BytesStart::new("AuditSourceIdentification");
    src.push_attribute(("AuditSourceID", device));
    let _ = w.write_event(Event::Start(src));
    let mut ty = BytesStart::new("AuditSourceTypeCode");
    ty.push_attribute(("csd-code", "1"));
    ty.push_attribute((
        "originalText",
        "End-user display device, diagnostic display",
    ));
    let _ = w.write_event(Event::Empty(ty));
    let _ = w.write_event(Event::End(BytesEnd::new("AuditSourceIdentification")));
    if let Some(subject) = subject {
        let mut o = BytesStart::new("ParticipantObjectIdentification");
        o.push_attribute(("ParticipantObjectID", cut(subject, 1024)));
        o.push_attribute(("ParticipantObjectTypeCode", "2"));
        let _ = w.write_event(Event::Start(o));
        let mut idt = BytesStart::new("ParticipantObjectIDTypeCode");
        idt.push_attribute(("csd-code", "cmr-kiosk-subject"));
        idt.push_attribute(("codeSystemName", "99CMRKIOSK"));
        idt.push_attribute(("originalText", "Subject of the audited action"));
        let _ = w.write_event(Event::Empty(idt));
        let _ = w.write_event(Event::End(BytesEnd::new("ParticipantObjectIdentification")));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("AuditMessage")));
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

/// One RFC 5424 syslog message carrying `xml` (UTF-8 with its BOM, as RFC 5424 §6.4
/// asks), framed by octet counting for TLS (RFC 5425): `LEN SP MSG`.
pub fn syslog_frame(xml: &str, severity: u8, device: &str, wall: &DateTime<Utc>) -> Vec<u8> {
    let pri = u16::from(FACILITY_AUTHPRIV) * 8 + u16::from(severity.min(7));
    let header = format!(
        "<{pri}>1 {} {} {APP_NAME} - {MSGID} - \u{feff}",
        time_text(wall),
        if device.is_empty() { "-" } else { device }
    );
    let room = MAX_MESSAGE_BYTES.saturating_sub(header.len());
    let msg = format!("{header}{}", cut(xml, room));
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-06T08:00:00.250Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_failed_login_is_a_user_authentication_minor_failure() {
        let e = AuditEvent::new(
            AuditAction::Login,
            Some("nina".into()),
            None,
            AuditOutcome::Failure {
                reason: "wrong PIN <&>".into(),
            },
        );
        let c = classify(&e);
        assert_eq!(c.event.code, "110114");
        assert_eq!(c.outcome, 4);
        let xml = audit_message(&e, "kiosk-1", &wall());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><AuditMessage>"));
        assert!(xml.contains(r#"EventOutcomeIndicator="4""#), "{xml}");
        assert!(xml.contains("wrong PIN &lt;&amp;&gt;"), "escaped: {xml}");
        assert!(xml.contains(r#"UserID="nina""#));
        assert!(xml.contains(r#"AuditSourceID="kiosk-1""#));
    }

    #[test]
    fn the_dicom_node_reports_instances_transferred() {
        let stored =
            crate::dicom::node::service::audit_event(&crate::dicom::node::NodeEvent::Stored {
                calling: "SCANNER".into(),
                file: "/var/lib/cmr-kiosk/incoming/1.2/1.2.3.dcm".into(),
                sop_class: crate::dicom::node::dimse::MR_IMAGE_STORAGE.into(),
                sop_instance: "1.2.3".into(),
                transfer_syntax: "1.2.840.10008.1.2.1".into(),
                bytes: 1234,
            });
        let c = classify(&stored);
        assert_eq!((c.event.code, c.action, c.outcome), ("110104", 'C', 0));
        let xml = audit_message(&stored, "kiosk-1", &wall());
        assert!(xml.contains(r#"UserID="SCANNER""#), "{xml}");
        assert!(xml.contains("stored 1.2.3 (1234 bytes"), "{xml}");
        let rejected =
            crate::dicom::node::service::audit_event(&crate::dicom::node::NodeEvent::Rejected {
                peer: "10.0.0.9:40000".parse().unwrap(),
                reason: "called AE title not recognized".into(),
            });
        let c = classify(&rejected);
        assert_eq!((c.event.code, c.outcome, c.severity), ("110104", 4, 4));
    }

    #[test]
    fn frames_count_their_octets_and_carry_the_priority() {
        let f = syslog_frame("<AuditMessage/>", 5, "kiosk-1", &wall());
        let text = String::from_utf8(f).unwrap();
        let (len, msg) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        assert!(msg.starts_with("<85>1 2026-12-06T08:00:00.250Z kiosk-1 cmr-kiosk - IHE+RFC-3881 - \u{feff}<AuditMessage/>"), "{msg}");
        let long = "x".repeat(MAX_MESSAGE_BYTES * 2);
        let f = syslog_frame(&long, 5, "kiosk-1", &wall());
        let text = String::from_utf8(f).unwrap();
        let (len, msg) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        assert!(msg.len() <= MAX_MESSAGE_BYTES);
    }
}
