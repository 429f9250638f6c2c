//! The report's technique section as an HL7 v2.5.1 ORU^R01 for the hospital RIS.
//!
//! Pure: [`build_oru`] turns a [`RisReport`] (already worded in one language), a
//! message control id and the time of building into the message text, the same text
//! for the same inputs. The outbox and the MLLP sender live in [`super::ris`].
//!
//! The message (segments end with CR, HL7 v2 chapter 2):
//!
//! ```text
//! MSH|^~\&|<app>|<facility>|<RIS app>|<RIS facility>|<now>||ORU^R01^ORU_R01|<control id>|P or T|2.5.1|||||||UNICODE UTF-8
//! PID|1||<patient id>^^^^MR||<name>||<birth date>|<sex>
//! ORC|RE|<placer>|<filler>||CM
//! OBR|1|<placer>|<filler>|CMR-TECH^Cardiac MR technique^L|||<exam start>|... OBR-20 <exam UUID>, OBR-22 <now>, OBR-25 F (C: correction)
//! OBX|1|TX|55111-9^Current imaging procedure descriptions^LN|1|<line 1>||||||F|||<exam start>
//! OBX|2|TX|...|2|<line 2>...      (TX: one OBX per line, OBX-4 the line's number)
//! ZDS|<study instance UID>^<app>^Application^DICOM   (only when the UID is known)
//! ```
//!
//! Decisions:
//! * The accession number is the order key in both the ORC and the OBR: as the
//!   filler order number (ORC-3, OBR-3; [`OrderKey::Obr3`], the default — the RIS
//!   assigns accession numbers, so it is the filler) or as the placer order number
//!   (ORC-2, OBR-2; [`OrderKey::Orc2`]). The other field stays empty.
//! * A training exam is sent with processing id `T` (MSH-11), so a RIS never files
//!   it as a patient's; every other exam with `P`.
//! * The whole patient name goes into the family-name component of PID-5 (a Chinese
//!   name is written family name first, without a space; splitting it is guesswork).
//! * Original acknowledgement mode (MSH-15/16 empty): the RIS answers AA, AE or AR.
//! * Every text taken from the input is escaped ([`escape`]): `|` `^` `~` `\` `&`
//!   become `\F\` `\S\` `\R\` `\E\` `\T\`; CR, LF and other control characters become
//!   spaces (they would end a segment or an MLLP frame).

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::screening::Sex;

/// The HL7 version the message declares (MSH-12).
pub const HL7_VERSION: &str = "2.5.1";
/// The character set the message declares (MSH-18): the text is UTF-8.
pub const CHARACTER_SET: &str = "UNICODE UTF-8";
/// The universal service identifier of the report (OBR-4): a local code.
pub const SERVICE_ID: &str = "CMR-TECH^Cardiac MR technique^L";
/// The observation identifier of the technique text (OBX-3): LOINC 55111-9, the
/// imaging report's procedure description (technique) section.
pub const OBSERVATION_ID: &str = "55111-9^Current imaging procedure descriptions^LN";
/// The FT line break (HL7 v2 chapter 2, formatted text).
pub const FT_LINE_BREAK: &str = "\\.br\\";

/// Which ORC/OBR field carries the accession number (`ris.order_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKey {
    /// Filler order number: ORC-3 and OBR-3 (the default).
    #[default]
    Obr3,
    /// Placer order number: ORC-2 and OBR-2.
    Orc2,
}

/// How the section's lines are carried in OBX-5 (`ris.text`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextStyle {
    /// One TX OBX per line, OBX-4 the line's number from 1 (the default).
    #[default]
    Tx,
    /// One FT OBX, the lines joined by `\.br\`.
    Ft,
}

/// Who sends, who receives, and the site's message choices (from `[ris]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OruSettings {
    /// MSH-3: the kiosk as an application.
    pub sending_application: String,
    /// MSH-4: the kiosk's facility.
    pub sending_facility: String,
    /// MSH-5: the RIS as an application.
    pub receiving_application: String,
    /// MSH-6: the RIS's facility.
    pub receiving_facility: String,
    /// Where the accession number goes.
    pub order_key: OrderKey,
    /// TX or FT.
    pub text: TextStyle,
}

/// What the RIS is told about one exam: the technique section, already worded in
/// one language, and the order and patient it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct RisReport {
    /// The hospital's patient id (PID-3, identifier type MR).
    pub patient_id: String,
    /// The full name as registered, any script (PID-5).
    pub patient_name: String,
    /// PID-8: `M`, `F` or `O`; `None` sends `U`.
    pub sex: Option<Sex>,
    /// PID-7.
    pub birth_date: Option<NaiveDate>,
    /// The accession number: the order key.
    pub accession: String,
    /// The study's DICOM Study Instance UID (ZDS-1), when known.
    pub study_instance_uid: Option<String>,
    /// The kiosk's exam id (OBR-20, filler field 1).
    pub exam_id: Uuid,
    /// When the exam started (OBR-7, OBX-14).
    pub exam_started: NaiveDateTime,
    /// A training exam: sent with processing id `T`.
    pub training: bool,
    /// A correction of a report already sent: result status `C` instead of `F`.
    pub correction: bool,
    /// The section's heading, the first line of the text.
    pub title: String,
    /// The section's lines after the heading.
    pub lines: Vec<String>,
    /// Sender, receiver and message choices.
    pub settings: OruSettings,
}

/// Escapes `text` for an HL7 text field with the standard delimiters `|^~\&`:
/// `\F\ \S\ \R\ \E\ \T\`; CR, LF and other control characters (tab kept) become a
/// space.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            '&' => out.push_str("\\T\\"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn dtm(t: NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

fn sex_code(sex: Option<Sex>) -> &'static str {
    match sex {
        Some(Sex::Male) => "M",
        Some(Sex::Female) => "F",
        Some(Sex::Other) => "O",
        None => "U",
    }
}

/// One segment: its fields from 1 on, joined by `|`, trailing empty fields dropped.
fn segment(name: &str, fields: &[(usize, String)]) -> String {
    let last = fields.iter().map(|(i, _)| *i).max().unwrap_or(0);
    let mut all = vec![String::new(); last];
    for (i, v) in fields {
        if let Some(slot) = i.checked_sub(1).and_then(|i| all.get_mut(i)) {
            *slot = v.clone();
        }
    }
    let mut s = String::from(name);
    for f in all {
        s.push('|');
        s.push_str(&f);
    }
    s.push('\r');
    s
}

/// Builds the ORU^R01 for `input` with MSH-10 `control_id`, built at `now`
/// (MSH-7, OBR-22). Deterministic given its inputs.
pub fn build_oru(input: &RisReport, control_id: &str, now: NaiveDateTime) -> String {
    let s = &input.settings;
    let status = if input.correction { "C" } else { "F" };
    let accession = escape(&input.accession);
    let (placer, filler) = match s.order_key {
        OrderKey::Obr3 => (String::new(), accession),
        OrderKey::Orc2 => (accession, String::new()),
    };
    let started = dtm(input.exam_started);

    // MSH-1 is the field separator itself: the encoding characters are field 1 here.
    let mut msg = String::from("MSH");
    msg.push_str(&segment(
        "",
        &[
            (1, "^~\\&".to_string()),
            (2, escape(&s.sending_application)),
            (3, escape(&s.sending_facility)),
            (4, escape(&s.receiving_application)),
            (5, escape(&s.receiving_facility)),
            (6, dtm(now)),
            (8, "ORU^R01^ORU_R01".to_string()),
            (9, escape(control_id)),
            (10, if input.training { "T" } else { "P" }.to_string()),
            (11, HL7_VERSION.to_string()),
            (17, CHARACTER_SET.to_string()),
        ],
    ));
    msg.push_str(&segment(
        "PID",
        &[
            (1, "1".to_string()),
            (3, format!("{}^^^^MR", escape(&input.patient_id))),
            (5, escape(&input.patient_name)),
            (
                7,
                input
                    .birth_date
                    .map(|d| d.format("%Y%m%d").to_string())
                    .unwrap_or_default(),
            ),
            (8, sex_code(input.sex).to_string()),
        ],
    ));
    msg.push_str(&segment(
        "ORC",
        &[
            (1, "RE".to_string()),
            (2, placer.clone()),
            (3, filler.clone()),
            (5, "CM".to_string()),
        ],
    ));
    msg.push_str(&segment(
        "OBR",
        &[
            (1, "1".to_string()),
            (2, placer),
            (3, filler),
            (4, SERVICE_ID.to_string()),
            (7, started.clone()),
            (20, input.exam_id.to_string()),
            (22, dtm(now)),
            (25, status.to_string()),
        ],
    ));
    let lines: Vec<String> = std::iter::once(&input.title)
        .chain(&input.lines)
        .map(|l| escape(l))
        .collect();
    let obx = |set_id: usize, kind: &str, value: String| {
        segment(
            "OBX",
            &[
                (1, set_id.to_string()),
                (2, kind.to_string()),
                (3, OBSERVATION_ID.to_string()),
                (4, set_id.to_string()),
                (5, value),
                (11, status.to_string()),
                (14, started.clone()),
            ],
        )
    };
    match s.text {
        TextStyle::Tx => {
            for (i, line) in lines.into_iter().enumerate() {
                msg.push_str(&obx(i + 1, "TX", line));
            }
        }
        TextStyle::Ft => msg.push_str(&obx(1, "FT", lines.join(FT_LINE_BREAK))),
    }
    if let Some(uid) = input
        .study_instance_uid
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        msg.push_str(&segment(
            "ZDS",
            &[(
                1,
                format!(
                    "{}^{}^Application^DICOM",
                    escape(uid),
                    escape(&s.sending_application)
                ),
            )],
        ));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(h, 5, 6))
            .expect("valid")
    }

    fn report() -> RisReport {
        RisReport {
            patient_id: "P001".into(),
            patient_name: "王小东".into(),
            sex: Some(Sex::Male),
            birth_date: NaiveDate::from_ymd_opt(1970, 1, 2),
            accession: "ACC1".into(),
            study_instance_uid: Some("1.2.3".into()),
            exam_id: Uuid::nil(),
            exam_started: at(9),
            training: false,
            correction: false,
            title: "Technique".into(),
            lines: vec!["a|b".into(), "c\nd".into()],
            settings: OruSettings {
                sending_application: "CMR_KIOSK".into(),
                ..OruSettings::default()
            },
        }
    }

    #[test]
    fn escapes_delimiters_and_controls() {
        assert_eq!(
            escape("a|b^c~d\\e&f\rg\u{0b}h"),
            "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f g h"
        );
    }

    #[test]
    fn message_shape() {
        let m = build_oru(&report(), "CTRL1", at(10));
        let segs: Vec<&str> = m.split_terminator('\r').collect();
        assert_eq!(
            segs[0],
            "MSH|^~\\&|CMR_KIOSK||||20261207100506||ORU^R01^ORU_R01|CTRL1|P|2.5.1||||||UNICODE UTF-8"
        );
        assert_eq!(segs[1], "PID|1||P001^^^^MR||王小东||19700102|M");
        assert_eq!(segs[2], "ORC|RE||ACC1||CM");
        assert!(segs[3].starts_with("OBR|1||ACC1|CMR-TECH^"));
        assert!(segs[3].ends_with("|F"));
        assert_eq!(segs.iter().filter(|s| s.starts_with("OBX|")).count(), 3);
        assert!(segs[5].contains("|TX|") && segs[5].contains("|a\\F\\b|"));
        assert_eq!(segs[7], "ZDS|1.2.3^CMR_KIOSK^Application^DICOM");
        assert_eq!(m, build_oru(&report(), "CTRL1", at(10)));
    }

    #[test]
    fn ft_training_placer_correction() {
        let mut r = report();
        r.training = true;
        r.correction = true;
        r.settings.text = TextStyle::Ft;
        r.settings.order_key = OrderKey::Orc2;
        let m = build_oru(&r, "C2", at(10));
        let segs: Vec<&str> = m.split_terminator('\r').collect();
        assert!(segs[0].contains("|C2|T|2.5.1|"));
        assert_eq!(segs[2], "ORC|RE|ACC1|||CM");
        assert!(segs[3].starts_with("OBR|1|ACC1||") && segs[3].ends_with("|C"));
        assert_eq!(segs.iter().filter(|s| s.starts_with("OBX|")).count(), 1);
        assert!(segs[4].contains("|FT|") && segs[4].contains("Technique\\.br\\a\\F\\b\\.br\\c d|"));
    }
}
