//! The registration desk's form (issue 7): the patient record a nurse types on the
//! kiosk, checked field by field, and the exam type that decides which steps follow.
//!
//! Pure: no window, no clock read. The record is kept in the `exam_opened` row of the
//! exam log (it is identity, not a clinical input); the domain receives only what its
//! rules need ([`Registration::patient`]). A half-filled form is plain data, so it
//! survives the lock screen untouched.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::protocol::ExamType;
use crate::domain::screening::{MAX_WEIGHT_KG, Patient, Sex, weight_plausible_for_age};

/// Longest accepted name, ID, department or clinical question (characters).
pub const TEXT_MAX_CHARS: usize = 120;

/// A complete patient record as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// Full name as on the request (any script).
    pub name: String,
    /// Hospital patient ID.
    pub patient_id: String,
    /// Sex.
    pub sex: Sex,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Weight in kg.
    pub weight_kg: f64,
    /// Height in cm, if measured.
    pub height_cm: Option<f64>,
    /// Referring department.
    pub department: String,
    /// The clinical question of the request.
    pub question: String,
    /// The exam type.
    pub exam_type: ExamType,
    /// The order this exam fulfils, when it came from the worklist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
}

/// The RIS order behind an exam picked from the modality worklist: what the scanner
/// and PACS will use to file the images and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Accession number (the order key).
    pub accession: String,
    /// Study Instance UID the scanner uses.
    pub study_uid: String,
    /// The requested procedure as the RIS wrote it.
    pub requested_procedure: String,
    /// The patient's name as the worklist item gave it (issue 18: registration and
    /// order must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_name: Option<String>,
    /// The date of birth as the worklist item gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
}

/// A name compared with another: spaces, `^` and case left out.
fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '^')
        .flat_map(char::to_lowercase)
        .collect()
}

impl Registration {
    /// Whole years of age on `today`.
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        age_between(self.birth_date, today)
    }

    /// The facts the clinical rules need, on `today`, with the eGFR known so far.
    pub fn patient(
        &self,
        today: NaiveDate,
        egfr: Option<f64>,
        egfr_date: Option<NaiveDate>,
    ) -> Patient {
        Patient {
            weight_kg: self.weight_kg,
            height_cm: self.height_cm,
            sex: self.sex,
            age_years: self.age_on(today),
            egfr,
            egfr_date: egfr_date.map(|d| d.format("%Y-%m-%d").to_string()),
        }
    }

    /// The record as the `exam_opened` payload.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({}))
    }

    /// Reads a record back from an `exam_opened` payload (`None` for `{}` or a payload
    /// of another shape).
    pub fn from_json(v: &serde_json::Value) -> Option<Registration> {
        serde_json::from_value(v.clone()).ok()
    }
}

/// One field of the form, in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Name (keyboard).
    Name,
    /// Patient ID (keyboard).
    PatientId,
    /// Sex (three buttons).
    Sex,
    /// Date of birth (keypad, YYYYMMDD).
    BirthDate,
    /// Weight (keypad).
    Weight,
    /// Height (keypad, optional).
    Height,
    /// Referring department (keyboard).
    Department,
    /// Clinical question (keyboard).
    Question,
    /// Exam type (four buttons).
    ExamType,
}

impl Field {
    /// Every field, in the order shown.
    pub const ALL: [Field; 9] = [
        Field::Name,
        Field::PatientId,
        Field::Sex,
        Field::BirthDate,
        Field::Weight,
        Field::Height,
        Field::Department,
        Field::Question,
        Field::ExamType,
    ];

    /// Fluent key of the field's label.
    pub fn label_key(self) -> &'static str {
        match self {
            Field::Name => "reg-name",
            Field::PatientId => "reg-patient-id",
            Field::Sex => "reg-sex",
            Field::BirthDate => "reg-birth-date",
            Field::Weight => "reg-weight",
            Field::Height => "reg-height",
            Field::Department => "reg-department",
            Field::Question => "reg-question",
            Field::ExamType => "reg-exam-type",
        }
    }

    /// Whether the field may stay empty.
    pub fn optional(self) -> bool {
        matches!(self, Field::Height)
    }
}

/// What is wrong with a field (each names a Fluent key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    /// Required and empty.
    Missing,
    /// Longer than [`TEXT_MAX_CHARS`].
    TooLong,
    /// Not a calendar date.
    NotADate,
    /// A birth date after today.
    InTheFuture,
    /// A birth date more than 150 years ago.
    TooOld,
    /// Outside the field's range.
    OutOfRange,
    /// A weight outside the band expected for the age: a second touch on "register"
    /// confirms it (a named confirmation, never a refusal).
    WeightUnusualForAge,
    /// The name or date of birth differs from the worklist order the form was filled
    /// from (issue 18): pick the order again or correct the field.
    DiffersFromOrder,
}

impl FieldError {
    /// Fluent key of the message.
    pub fn key(self) -> &'static str {
        match self {
            FieldError::Missing => "reg-error-missing",
            FieldError::TooLong => "reg-error-too-long",
            FieldError::NotADate => "reg-error-not-a-date",
            FieldError::InTheFuture => "reg-error-future",
            FieldError::TooOld => "reg-error-too-old",
            FieldError::OutOfRange => "reg-error-range",
            FieldError::WeightUnusualForAge => "reg-error-weight-unusual",
            FieldError::DiffersFromOrder => "reg-error-differs-from-order",
        }
    }
}

/// The form as typed so far; every field may be empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistrationForm {
    /// Name.
    pub name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Sex.
    pub sex: Option<Sex>,
    /// Date of birth as typed, `YYYYMMDD`.
    pub birth_date: String,
    /// Weight in kg.
    pub weight_kg: Option<f64>,
    /// Height in cm.
    pub height_cm: Option<f64>,
    /// Referring department.
    pub department: String,
    /// Clinical question.
    pub question: String,
    /// Exam type.
    pub exam_type: Option<ExamType>,
    /// A weight the nurse confirmed although unusual for the age (this value only).
    pub weight_confirmed: Option<f64>,
    /// The worklist order the form was filled from, if any.
    pub order: Option<Order>,
}

/// Whole years from `birth` to `today` (0 for a date after today).
pub fn age_between(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years.max(0)).unwrap_or(0)
}

/// Parses a date typed as `YYYYMMDD` (the keypad's digits).
pub fn parse_date(digits: &str) -> Option<NaiveDate> {
    let digits = digits.trim();
    if digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

fn text_error(s: &str) -> Option<FieldError> {
    if s.trim().is_empty() {
        Some(FieldError::Missing)
    } else if s.chars().count() > TEXT_MAX_CHARS {
        Some(FieldError::TooLong)
    } else {
        None
    }
}

impl RegistrationForm {
    /// A form filled from an earlier record (today's list), to confirm or correct.
    pub fn from_registration(r: &Registration) -> RegistrationForm {
        RegistrationForm {
            name: r.name.clone(),
            patient_id: r.patient_id.clone(),
            sex: Some(r.sex),
            birth_date: r.birth_date.format("%Y%m%d").to_string(),
            weight_kg: Some(r.weight_kg),
            height_cm: r.height_cm,
            department: r.department.clone(),
            question: r.question.clone(),
            exam_type: Some(r.exam_type),
            weight_confirmed: Some(r.weight_kg),
            order: r.order.clone(),
        }
    }

    /// A form filled from a worklist item: identity, body measures and the order as
    /// the RIS sent them, the exam type its requested procedure suggests under
    /// `rules`. What the RIS did not send stays empty for the nurse to fill.
    pub fn from_worklist(
        item: &crate::dicom::node::WorklistItem,
        rules: &[crate::dicom::node::worklist::ProcedureRule],
    ) -> RegistrationForm {
        RegistrationForm {
            name: item.display_name(),
            patient_id: item.patient_id.clone(),
            sex: match item.sex.as_deref() {
                Some("F") => Some(Sex::Female),
                Some("M") => Some(Sex::Male),
                Some("O") => Some(Sex::Other),
                _ => None,
            },
            birth_date: item
                .birth_date
                .map(|d| d.format("%Y%m%d").to_string())
                .unwrap_or_default(),
            weight_kg: item.weight_kg,
            // Patient's Size is in metres.
            height_cm: item.height_m.map(|m| (m * 1000.0).round() / 10.0),
            department: String::new(),
            question: String::new(),
            exam_type: crate::dicom::node::worklist::suggested_exam(item, rules),
            weight_confirmed: None,
            order: Some(Order {
                accession: item.accession.clone(),
                study_uid: item.study_uid.clone(),
                requested_procedure: item.requested_procedure.clone(),
                patient_name: Some(item.display_name()).filter(|n| !n.is_empty()),
                birth_date: item.birth_date,
            }),
        }
    }

    /// Whether nothing has been entered.
    pub fn is_empty(&self) -> bool {
        *self == RegistrationForm::default()
    }

    /// What is wrong with `field` on `today`, if anything.
    pub fn error(&self, field: Field, today: NaiveDate) -> Option<FieldError> {
        match field {
            Field::Name => text_error(&self.name).or_else(|| {
                let ordered = self.order.as_ref()?.patient_name.as_deref()?;
                (name_key(ordered) != name_key(&self.name)).then_some(FieldError::DiffersFromOrder)
            }),
            Field::PatientId => text_error(&self.patient_id),
            Field::Department => text_error(&self.department),
            Field::Question => text_error(&self.question),
            Field::Sex => self.sex.is_none().then_some(FieldError::Missing),
            Field::ExamType => self.exam_type.is_none().then_some(FieldError::Missing),
            Field::BirthDate => {
                if self.birth_date.is_empty() {
                    return Some(FieldError::Missing);
                }
                match parse_date(&self.birth_date) {
                    None => Some(FieldError::NotADate),
                    Some(d) if d > today => Some(FieldError::InTheFuture),
                    Some(d) if today.year() - d.year() > 150 => Some(FieldError::TooOld),
                    Some(d) => self
                        .order
                        .as_ref()
                        .and_then(|o| o.birth_date)
                        .is_some_and(|ordered| ordered != d)
                        .then_some(FieldError::DiffersFromOrder),
                }
            }
            Field::Weight => match self.weight_kg {
                None => Some(FieldError::Missing),
                Some(w) if !(w.is_finite() && w > 0.0 && w <= MAX_WEIGHT_KG) => {
                    Some(FieldError::OutOfRange)
                }
                Some(w) => {
                    let age = parse_date(&self.birth_date)
                        .filter(|d| *d <= today)
                        .map(|d| age_between(d, today));
                    let unusual = age.is_some_and(|a| !weight_plausible_for_age(w, a));
                    (unusual && self.weight_confirmed != Some(w))
                        .then_some(FieldError::WeightUnusualForAge)
                }
            },
            Field::Height => match self.height_cm {
                Some(h) if !(h.is_finite() && h > 0.0 && h <= 300.0) => {
                    Some(FieldError::OutOfRange)
                }
                _ => None,
            },
        }
    }

    /// Every field's problem on `today`, in form order.
    pub fn errors(&self, today: NaiveDate) -> Vec<(Field, FieldError)> {
        Field::ALL
            .into_iter()
            .filter_map(|f| self.error(f, today).map(|e| (f, e)))
            .collect()
    }

    /// The record, once every field is right on `today`.
    pub fn complete(&self, today: NaiveDate) -> Result<Registration, Vec<(Field, FieldError)>> {
        let errors = self.errors(today);
        let (Some(sex), Some(birth_date), Some(weight_kg), Some(exam_type)) = (
            self.sex,
            parse_date(&self.birth_date),
            self.weight_kg,
            self.exam_type,
        ) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Registration {
            name: self.name.trim().to_string(),
            patient_id: self.patient_id.trim().to_string(),
            sex,
            birth_date,
            weight_kg,
            height_cm: self.height_cm,
            department: self.department.trim().to_string(),
            question: self.question.trim().to_string(),
            exam_type,
            order: self.order.clone(),
        })
    }
}

#[cfg(test)]
mod tests {

    /// Issue 18: a form filled from a worklist item refuses a name or date of birth
    /// edited away from the order's (the wrong patient for this order); spacing and
    /// case do not count.
    #[test]
    fn issue_18_registration_must_agree_with_the_worklist_order() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let mut form = RegistrationForm {
            name: "王小明".into(),
            birth_date: "19650302".into(),
            order: Some(Order {
                accession: "ACC1".into(),
                study_uid: "1.2.3".into(),
                requested_procedure: "CMR".into(),
                patient_name: Some("王小明".into()),
                birth_date: NaiveDate::from_ymd_opt(1965, 3, 2),
            }),
            ..RegistrationForm::default()
        };
        assert_eq!(form.error(Field::Name, today), None);
        assert_eq!(form.error(Field::BirthDate, today), None);
        form.name = "王晓明".into();
        assert_eq!(
            form.error(Field::Name, today),
            Some(FieldError::DiffersFromOrder)
        );
        form.name = " 王 小明 ".into();
        assert_eq!(form.error(Field::Name, today), None);
        form.birth_date = "19650303".into();
        assert_eq!(
            form.error(Field::BirthDate, today),
            Some(FieldError::DiffersFromOrder)
        );
        // Without an order, any name is the nurse's to type.
        form.order = None;
        form.name = "王晓明".into();
        assert_eq!(form.error(Field::Name, today), None);
    }
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn filled() -> RegistrationForm {
        RegistrationForm {
            name: "王小明".into(),
            patient_id: "P0012345".into(),
            sex: Some(Sex::Male),
            birth_date: "19680502".into(),
            weight_kg: Some(72.5),
            height_cm: Some(172.0),
            department: "心内科".into(),
            question: "胸痛，排除心肌缺血".into(),
            exam_type: Some(ExamType::AdenosineStress),
            weight_confirmed: None,
            order: None,
        }
    }

    #[test]
    fn issue_14_a_worklist_item_fills_the_form_and_keeps_its_order() {
        use crate::dicom::node::WorklistItem;
        let item = WorklistItem {
            patient_name: "Wang^Xiaoming=王^小明".into(),
            patient_id: "P0012345".into(),
            sex: Some("M".into()),
            birth_date: NaiveDate::from_ymd_opt(1968, 5, 2),
            weight_kg: Some(72.5),
            height_m: Some(1.72),
            accession: "ACC00012".into(),
            study_uid: "1.2.3.4".into(),
            requested_procedure: "心脏磁共振腺苷负荷灌注".into(),
            ..Default::default()
        };
        let rules = crate::dicom::node::worklist::builtin_procedure_rules();
        let mut form = RegistrationForm::from_worklist(&item, &rules);
        assert_eq!(form.name, "王小明");
        assert_eq!(form.sex, Some(Sex::Male));
        assert_eq!(form.birth_date, "19680502");
        assert_eq!(form.height_cm, Some(172.0));
        assert_eq!(form.exam_type, Some(ExamType::AdenosineStress));
        // What the worklist does not carry is typed by the nurse.
        assert!(form.complete(today()).is_err());
        form.department = "心内科".into();
        form.question = "胸痛".into();
        let reg = form.complete(today()).unwrap();
        let order = reg.order.clone().unwrap();
        assert_eq!(order.accession, "ACC00012");
        assert_eq!(order.study_uid, "1.2.3.4");
        // The order travels in the exam_opened record and comes back from it.
        let back = Registration::from_json(&reg.to_json()).unwrap();
        assert_eq!(back, reg);
        assert_eq!(reg.to_json()["order"]["accession"], "ACC00012");
        // A record without an order (typed by hand, or from before) still reads.
        let mut manual = reg.to_json();
        manual.as_object_mut().unwrap().remove("order");
        assert_eq!(Registration::from_json(&manual).unwrap().order, None);
    }

    /// Issue 17: 7.25 kg for an 81-year-old (72.5 mistyped) is not taken without a
    /// confirmation of that weight; 72.5 is; a confirmed 7.25 is; a child's 7.25 is.
    #[test]
    fn a_weight_unusual_for_the_age_needs_that_weight_confirmed() {
        let mut f = filled();
        f.birth_date = "19450301".into();
        f.weight_kg = Some(7.25);
        assert_eq!(
            f.complete(today()).unwrap_err(),
            vec![(Field::Weight, FieldError::WeightUnusualForAge)]
        );
        f.weight_confirmed = Some(7.2);
        assert!(f.complete(today()).is_err(), "another weight was confirmed");
        f.weight_confirmed = Some(7.25);
        assert_eq!(f.complete(today()).unwrap().weight_kg, 7.25);
        let mut f = filled();
        f.birth_date = "19450301".into();
        assert!(f.complete(today()).is_ok(), "72.5 kg at 81");
        let mut baby = filled();
        baby.birth_date = "20260101".into();
        baby.weight_kg = Some(7.25);
        assert!(baby.complete(today()).is_ok(), "7.25 kg at 10 months");
    }

    #[test]
    fn a_filled_form_completes_with_the_age_on_the_day() {
        let r = filled().complete(today()).unwrap();
        assert_eq!(r.age_on(today()), 58);
        let p = r.patient(today(), Some(25.0), NaiveDate::from_ymd_opt(2026, 11, 20));
        assert_eq!(p.age_years, 58);
        assert_eq!(p.egfr_date.as_deref(), Some("2026-11-20"));
        assert_eq!(Registration::from_json(&r.to_json()), Some(r));
    }

    #[test]
    fn birthday_later_this_year_counts_one_year_less() {
        let mut f = filled();
        f.birth_date = "19681231".into();
        assert_eq!(f.complete(today()).unwrap().age_on(today()), 57);
    }

    #[test]
    fn each_problem_names_its_field() {
        type Edit = fn(&mut RegistrationForm);
        let cases: [(Edit, Field, FieldError); 8] = [
            (|f| f.name = "  ".into(), Field::Name, FieldError::Missing),
            (
                |f| f.patient_id = "x".repeat(121),
                Field::PatientId,
                FieldError::TooLong,
            ),
            (
                |f| f.birth_date = "19680231".into(),
                Field::BirthDate,
                FieldError::NotADate,
            ),
            (
                |f| f.birth_date = "20270101".into(),
                Field::BirthDate,
                FieldError::InTheFuture,
            ),
            (
                |f| f.birth_date = "18500101".into(),
                Field::BirthDate,
                FieldError::TooOld,
            ),
            (
                |f| f.weight_kg = Some(400.0),
                Field::Weight,
                FieldError::OutOfRange,
            ),
            (|f| f.sex = None, Field::Sex, FieldError::Missing),
            (|f| f.exam_type = None, Field::ExamType, FieldError::Missing),
        ];
        for (edit, field, error) in cases {
            let mut f = filled();
            edit(&mut f);
            assert_eq!(f.complete(today()).unwrap_err(), vec![(field, error)]);
        }
    }

    #[test]
    fn height_is_optional_and_an_empty_form_lists_every_required_field() {
        let mut f = filled();
        f.height_cm = None;
        assert!(f.complete(today()).is_ok());
        let missing = RegistrationForm::default().errors(today());
        assert_eq!(missing.len(), Field::ALL.len() - 1);
        assert!(RegistrationForm::default().is_empty());
    }
}
