//! The audit trail the hospital keeps (IHE ATNA): security-relevant events of the
//! exam log — sign-in, failed PIN, lockout, override, account change, export, log
//! verification failure, signed checkpoint — sent to the hospital's syslog collector.
//!
//! * [`atna`] (pure): the DICOM audit message (PS3.15 A.5) of each event, in an RFC
//!   5424 syslog message framed for TLS (RFC 5425).
//! * [`relay`] (runtime): the log as the outbox, a mark per collector, verified TLS.

pub mod atna;
pub mod relay;
