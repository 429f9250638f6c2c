//! Modality worklist items (PS3.4 K.6.1.2): the query the kiosk sends, an item as
//! the RIS answers it (names decoded from the item's Specific Character Set), and
//! the requested procedure mapped to an exam type by the site's rules.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::{Deserialize, Serialize};

use crate::dicom::classify::pattern_matches;
use crate::dicom::header::DatasetText;
use crate::domain::protocol::ExamType;

/// What to ask the worklist provider for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklistQuery {
    /// The scheduled date.
    pub date: NaiveDate,
    /// The scanner's AE title as scheduled (empty: any station).
    pub station_ae: String,
    /// The modality (`MR`).
    pub modality: String,
}

/// One scheduled procedure step, as the nurse picks it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WorklistItem {
    /// Patient's name as decoded (`^` and `=` groups kept).
    pub patient_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// `M`, `F` or `O`, as sent.
    pub sex: Option<String>,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Weight in kg, when sent.
    pub weight_kg: Option<f64>,
    /// Height in m (Patient's Size), when sent.
    pub height_m: Option<f64>,
    /// Accession number (the order key).
    pub accession: String,
    /// Study Instance UID the scanner will use.
    pub study_uid: String,
    /// Requested procedure description.
    pub requested_procedure: String,
    /// Requested procedure ID.
    pub procedure_id: String,
    /// Referring physician, when sent.
    pub referring_physician: Option<String>,
    /// Scheduled start.
    pub scheduled: Option<NaiveDateTime>,
    /// Scheduled station AE title.
    pub station_ae: String,
    /// Modality.
    pub modality: String,
    /// Scheduled procedure step description.
    pub step_description: String,
    /// The Specific Character Set the item declared.
    pub character_set: Vec<String>,
}

impl WorklistItem {
    /// The name for display: the ideographic group when present (`王小明`), else the
    /// alphabetic one, `^` shown as spaces.
    pub fn display_name(&self) -> String {
        let groups: Vec<&str> = self.patient_name.split('=').collect();
        let chosen = groups
            .get(1)
            .filter(|g| !g.trim().is_empty())
            .copied()
            .unwrap_or(groups[0]);
        let ideographic = !chosen.is_ascii();
        let parts: Vec<&str> = chosen
            .split('^')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        parts.join(if ideographic { "" } else { " " })
    }

    /// Age in whole years on `on`.
    pub fn age_on(&self, on: NaiveDate) -> Option<u32> {
        let b = self.birth_date?;
        let mut years = on.year() - b.year();
        if (on.month(), on.day()) < (b.month(), b.day()) {
            years -= 1;
        }
        u32::try_from(years).ok()
    }
}

/// The site's rules from requested procedure to exam type, tried in order; the
/// first whose pattern matches the requested procedure (or, failing that, the
/// step description) wins. Patterns as the classification rules write them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcedureRule {
    /// The pattern (`腺苷`, `~stress`, `glob:*regadenoson*`).
    pub pattern: String,
    /// The exam type it suggests.
    pub exam: ExamType,
}

/// The rules shipped with the kiosk, after the site's own: Chinese and English
/// names of the four exam types.
pub fn builtin_procedure_rules() -> Vec<ProcedureRule> {
    let r = |pattern: &str, exam| ProcedureRule {
        pattern: pattern.into(),
        exam,
    };
    vec![
        r("瑞加德松", ExamType::RegadenosonStress),
        r("regadenoson", ExamType::RegadenosonStress),
        r("腺苷", ExamType::AdenosineStress),
        r("adenosine", ExamType::AdenosineStress),
        r("负荷", ExamType::AdenosineStress),
        r("stress", ExamType::AdenosineStress),
        r("增强", ExamType::Contrast),
        r("延迟强化", ExamType::Contrast),
        r("contrast", ExamType::Contrast),
        r("lge", ExamType::Contrast),
        r("平扫", ExamType::Routine),
        r("non-contrast", ExamType::Routine),
    ]
}

/// The exam type `item`'s requested procedure suggests under `rules`, if any.
pub fn suggested_exam(item: &WorklistItem, rules: &[ProcedureRule]) -> Option<ExamType> {
    [&item.requested_procedure, &item.step_description]
        .into_iter()
        .filter(|t| !t.is_empty())
        .find_map(|text| {
            rules
                .iter()
                .find(|r| pattern_matches(&r.pattern, text))
                .map(|r| r.exam)
        })
}

fn empty(tag: Tag, vr: VR) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::Empty)
}

/// The C-FIND identifier for `q`: the return keys the kiosk uses, matching on the
/// scheduled date, modality and (when set) station AE title.
pub fn query_identifier(q: &WorklistQuery) -> InMemDicomObject {
    let mut step = vec![
        DataElement::new(
            tags::MODALITY,
            VR::CS,
            PrimitiveValue::from(q.modality.as_str()),
        ),
        DataElement::new(
            tags::SCHEDULED_PROCEDURE_STEP_START_DATE,
            VR::DA,
            PrimitiveValue::from(q.date.format("%Y%m%d").to_string()),
        ),
        empty(tags::SCHEDULED_PROCEDURE_STEP_START_TIME, VR::TM),
        empty(tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION, VR::LO),
        empty(tags::SCHEDULED_PROCEDURE_STEP_ID, VR::SH),
    ];
    step.push(if q.station_ae.is_empty() {
        empty(tags::SCHEDULED_STATION_AE_TITLE, VR::AE)
    } else {
        DataElement::new(
            tags::SCHEDULED_STATION_AE_TITLE,
            VR::AE,
            PrimitiveValue::from(q.station_ae.as_str()),
        )
    });
    let item = InMemDicomObject::from_element_iter(step);
    InMemDicomObject::from_element_iter([
        empty(tags::SPECIFIC_CHARACTER_SET, VR::CS),
        empty(tags::ACCESSION_NUMBER, VR::SH),
        empty(tags::REFERRING_PHYSICIAN_NAME, VR::PN),
        empty(tags::PATIENT_NAME, VR::PN),
        empty(tags::PATIENT_ID, VR::LO),
        empty(tags::PATIENT_BIRTH_DATE, VR::DA),
        empty(tags::PATIENT_SEX, VR::CS),
        empty(tags::PATIENT_SIZE, VR::DS),
        empty(tags::PATIENT_WEIGHT, VR::DS),
        empty(tags::STUDY_INSTANCE_UID, VR::UI),
        empty(tags::REQUESTED_PROCEDURE_DESCRIPTION, VR::LO),
        empty(tags::REQUESTED_PROCEDURE_ID, VR::SH),
        DataElement::new(
            tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![item]),
        ),
    ])
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y%m%d").ok()
}

fn time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let (h, m, sec) = match digits.len() {
        2 => (&digits[..2], "00", "00"),
        4 => (&digits[..2], &digits[2..4], "00"),
        6.. => (&digits[..2], &digits[2..4], &digits[4..6]),
        _ => return None,
    };
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?)
}

fn number(s: Option<String>) -> Option<f64> {
    s?.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// One C-FIND response identifier as an item.
pub fn item_of(ds: &InMemDicomObject) -> WorklistItem {
    let t = DatasetText::of(ds);
    let text = |ds: &InMemDicomObject, tag| t.text(ds, tag).unwrap_or_default();
    let step = ds
        .get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first());
    let in_step = |tag| step.map(|s| text(s, tag)).unwrap_or_default();
    let scheduled = date(&in_step(tags::SCHEDULED_PROCEDURE_STEP_START_DATE)).map(|d| {
        d.and_time(time(&in_step(tags::SCHEDULED_PROCEDURE_STEP_START_TIME)).unwrap_or_default())
    });
    let physician = text(ds, tags::REFERRING_PHYSICIAN_NAME);
    WorklistItem {
        patient_name: text(ds, tags::PATIENT_NAME),
        patient_id: text(ds, tags::PATIENT_ID),
        sex: Some(text(ds, tags::PATIENT_SEX)).filter(|s| !s.is_empty()),
        birth_date: date(&text(ds, tags::PATIENT_BIRTH_DATE)),
        weight_kg: number(t.text(ds, tags::PATIENT_WEIGHT)),
        height_m: number(t.text(ds, tags::PATIENT_SIZE)),
        accession: text(ds, tags::ACCESSION_NUMBER),
        study_uid: text(ds, tags::STUDY_INSTANCE_UID),
        requested_procedure: text(ds, tags::REQUESTED_PROCEDURE_DESCRIPTION),
        procedure_id: text(ds, tags::REQUESTED_PROCEDURE_ID),
        referring_physician: (!physician.is_empty()).then_some(physician),
        scheduled,
        station_ae: in_step(tags::SCHEDULED_STATION_AE_TITLE),
        modality: in_step(tags::MODALITY),
        step_description: in_step(tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION),
        character_set: t.charsets().to_vec(),
    }
}

/// The worklist as a table for `cmr-kiosk dicom worklist`.
pub fn render_table(items: &[WorklistItem], today: NaiveDate) -> String {
    let mut out = String::from(
        "time   patient                  ID           sex age accession    procedure\n",
    );
    for i in items {
        out.push_str(&format!(
            "{:<6} {:<24} {:<12} {:<3} {:>3} {:<12} {}\n",
            i.scheduled
                .map(|s| s.format("%H:%M").to_string())
                .unwrap_or_default(),
            i.display_name(),
            i.patient_id,
            i.sex.as_deref().unwrap_or("-"),
            i.age_on(today)
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            i.accession,
            i.requested_procedure
        ));
    }
    out.push_str(&format!("{} scheduled\n", items.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, procedure: &str) -> WorklistItem {
        WorklistItem {
            patient_name: name.into(),
            requested_procedure: procedure.into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 6, 15),
            ..Default::default()
        }
    }

    #[test]
    fn the_ideographic_name_is_shown_when_there_is_one() {
        assert_eq!(item("Wang^Xiaoming=王^小明", "").display_name(), "王小明");
        assert_eq!(item("Wang^Xiaoming", "").display_name(), "Wang Xiaoming");
        assert_eq!(item("张^伟", "").display_name(), "张伟");
    }

    #[test]
    fn age_counts_whole_years() {
        let i = item("x", "");
        assert_eq!(
            i.age_on(NaiveDate::from_ymd_opt(2026, 6, 14).unwrap()),
            Some(45)
        );
        assert_eq!(
            i.age_on(NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()),
            Some(46)
        );
    }

    #[test]
    fn the_requested_procedure_suggests_the_exam_type() {
        let rules = builtin_procedure_rules();
        for (text, exam) in [
            ("心脏磁共振腺苷负荷灌注", Some(ExamType::AdenosineStress)),
            (
                "Cardiac MR regadenoson stress",
                Some(ExamType::RegadenosonStress),
            ),
            ("心脏磁共振增强", Some(ExamType::Contrast)),
            ("心脏磁共振平扫", Some(ExamType::Routine)),
            ("Knee MR", None),
        ] {
            assert_eq!(suggested_exam(&item("x", text), &rules), exam, "{text}");
        }
        // A site rule comes first.
        let mut site = vec![ProcedureRule {
            pattern: "CMR-S".into(),
            exam: ExamType::RegadenosonStress,
        }];
        site.extend(rules);
        assert_eq!(
            suggested_exam(&item("x", "CMR-S 负荷"), &site),
            Some(ExamType::RegadenosonStress)
        );
    }

    #[test]
    fn scheduled_times_are_read_in_their_short_forms() {
        assert_eq!(time("0930"), NaiveTime::from_hms_opt(9, 30, 0));
        assert_eq!(time("093015.5"), NaiveTime::from_hms_opt(9, 30, 15));
        assert_eq!(time("09"), NaiveTime::from_hms_opt(9, 0, 0));
        assert_eq!(time("9"), None);
    }
}
