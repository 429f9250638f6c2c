//! Integration tests: the exam record leaving the kiosk (issue 15): report sections
//! as text and JSON, the PDF exam sheet, the DICOM SR for PACS and the HL7 ORU to the
//! RIS, each against real readers and peers.

#[path = "../support/mod.rs"]
mod support;

mod pdf;

mod sr;

mod ris;

mod sections;

mod end_to_end;

mod print;
