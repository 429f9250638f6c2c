//! The imaging agents given in an exam as a DICOM Structured Report for the PACS
//! (issue 15): a **Performed Imaging Agent Administration SR** (DICOM Supplement 164,
//! SOP Class [`SOP_CLASS`], root template TID 11020), built with dicom-object and
//! written as a Part 10 file; [`crate::dicom::node::client::store`] sends it.
//!
//! # Input
//! [`AgentAdministration`]: a narrow, already-decided record (the exam's ledger
//! resolved to names, amounts and wall-clock times). This module checks that it can
//! be represented (lengths, characters, [bounds](MAX_INJECTIONS)); the clinical limits
//! are the domain's business and are not checked again here.
//!
//! # Document
//! * Patient, General Study (the exam's own Study Instance UID: the SR goes into the
//!   same study; Study Date/Time are left empty, type 2, so the SR never contradicts
//!   the scanner's), SR Document Series (Modality `SR`, series number
//!   [`SERIES_NUMBER`]), Synchronization (mandatory here: the kiosk's clock as its
//!   own frame of reference, trigger `NO TRIGGER`, not synchronized to the scanner or
//!   the injector), General and Enhanced General Equipment (the kiosk), SR
//!   Document General (Completion Flag `COMPLETE`, Verification Flag `UNVERIFIED`:
//!   nobody signs the SR itself; Referenced Request Sequence naming the study and the
//!   accession), SOP Common with Specific Character Set `ISO_IR 192` (UTF-8, so
//!   Chinese names survive).
//! * UIDs are `2.25.<decimal of a UUID>`, the UUID made from SHA-256 over the exam
//!   id (UUID form 8, custom): the series UID from the exam id alone, the SOP instance
//!   UID from the exam id and a digest of the whole input. Re-producing the SR from
//!   the same record gives the same UIDs (a resend is a duplicate the PACS drops); a
//!   corrected record (an injection voided afterwards) gets a new SOP instance in the
//!   same series, never different content under a UID already sent.
//!
//! # Content tree (codes are DCM unless marked)
//! ```text
//! CONTAINER (130227 "Performed Imaging Agent Administration")   TID 11020, DCMR
//!  HAS OBS CONTEXT  CODE (121005 Observer Type) = (121006 Person)          TID 1002
//!  HAS OBS CONTEXT  PNAME (121008 Person Observer Name)
//!  HAS OBS CONTEXT  TEXT (121009 Person Observer's Organization Name)     if known
//!  HAS OBS CONTEXT  UIDREF (121018 Procedure Study Instance UID)           TID 1005
//!  HAS OBS CONTEXT  TEXT (121022 Accession Number)                          if known
//!  CONTAINS TEXT (121106 Comment) = "Training exam — not patient data"   training
//!  CONTAINS CONTAINER (130183 Imaging Agent Information)    TID 11002, per injection
//!    CONTAINS TEXT (130254 Imaging Agent Identifier) = "GD<n>"
//!    CONTAINS TEXT (111529 Brand Name)
//!    CONTAINS CONTAINER (130238 Imaging Agent Component)                 TID 11004
//!      CONTAINS CODE (123011 Contrast/Bolus Agent) = SCT agent (CID 12)
//!      CONTAINS TEXT (121145 Description of Material) = generic name
//!      CONTAINS NUM (121380 Active Ingredient Undiluted Concentration) mmol/mL
//!  CONTAINS CONTAINER (130192 Imaging Agent Administration Steps)
//!    CONTAINS CONTAINER (130195 Imaging Agent Administration Step)     per injection
//!      CONTAINS TEXT (130196 Step Identifier), UIDREF (130246 Performed Step UID)
//!      CONTAINS CODE (130250 Administration Step Type) = (130249 Diagnostic Administration)
//!      CONTAINS CODE (410675002 SCT Route of administration) = (47625008 SCT Intravenous route)
//!      CONTAINS CODE (130211 Completion Status) = (255594003 SCT Complete)
//!      CONTAINS TEXT (121106 Comment) = "Purpose: …"
//!      CONTAINS CONTAINER (130202 Imaging Agent Administration Phase)
//!        CONTAINS TEXT (130203 Phase Identifier), UIDREF (130261 Performed Phase UID)
//!        CONTAINS CONTAINER (130237 Syringe/Pump Phase Activity)         TID 11003
//!          CONTAINS TEXT (130255 Referenced Imaging Agent Identifier) = "GD<n>"
//!          CONTAINS DATETIME (111526 DateTime Started)
//!          CONTAINS NUM (122091 Volume administered) mL
//!          CONTAINS NUM (130208 Starting Flow Rate of administration) mL/s   if known
//!  CONTAINS CODE (122083 Drug administered) = stress agent           per stress drug
//!    HAS PROPERTIES TEXT (121145 Description of Material)
//!    HAS PROPERTIES CODE (410675002 SCT Route of administration) = intravenous
//!    HAS PROPERTIES DATETIME (111526 DateTime Started) [, (111527 DateTime Ended)]
//!    HAS PROPERTIES NUM (122705 Pharmacological Stress Agent Dose Rate) ug/kg/min
//!      HAS PROPERTIES DATETIME (111526 DateTime Started)      adenosine, per rate
//!    HAS PROPERTIES NUM (122715 Pharmacological Stress Agent Dose) mg   regadenoson
//!  CONTAINS TEXT (121106 Comment) = "Voided record (not given): …"   per voided one
//! ```
//! Units are UCUM (`mL`, `mL/s`, `mmol/mL`, `ug/kg/min`, `mg`). Agents: gadodiamide
//! and gadopentetate dimeglumine have their own SNOMED CT codes in CID 12; every
//! other gadolinium agent is coded (58281002, SCT, "Gadolinium") with its generic
//! name beside. Adenosine is (108502004, SCT), regadenoson the CID 3204 concept
//! (432062000, SCT, "Adenosine A2 receptor agonist").
//!
//! # Choices (documented, not standard)
//! * **Voided injections are omitted** from the structured content: no agent
//!   information, no step, no volume. Each leaves a root `Comment` naming the brand,
//!   the time recorded and the reason, worded "not given", so the correction is
//!   visible without any reader summing it as given.
//! * **Stress agents**: TID 11020 has no row for a pharmacological stress drug, and
//!   no vendor records one there. Each is a root `CONTAINS CODE (122083 "Drug
//!   administered")` item shaped after TID 3106 "Drugs/Contrast Administered", with
//!   the stress-echo concepts for dose and dose rate. The template is extensible, the
//!   items satisfy the IOD's relationship constraints (PS3.3 A.35.20-2), and a
//!   TID 11020 reader counting imaging agents never mistakes adenosine for one.
//! * **Training exams** carry "TRAINING" in the Study and Series Descriptions and a
//!   root `Comment` "Training exam — not patient data".
//! * The template rows below TID 11020 follow Supplement 164's concepts as far as the
//!   kiosk has facts; optional rows it has no facts for (patient characteristics,
//!   consumables, injector events) are absent. dcmtk's `dsrdump` checks the IOD's
//!   value types and relationship constraints, not the template's rows.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Performed Imaging Agent Administration SR Storage.
pub const SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.75";
/// The transfer syntax of the written file: Explicit VR Little Endian.
pub const TRANSFER_SYNTAX: &str = "1.2.840.10008.1.2.1";
/// Specific Character Set (0008,0005): UTF-8.
pub const CHARACTER_SET: &str = "ISO_IR 192";
/// The SR's series number (kept clear of the scanner's series numbers).
pub const SERIES_NUMBER: i32 = 9901;
/// The Series Description of the SR.
pub const SERIES_DESCRIPTION: &str = "Imaging agents given";
/// The prefix of the Study and Series Descriptions of a training exam.
pub const TRAINING_MARK: &str = "TRAINING EXAM - NOT PATIENT DATA";
/// The root comment of a training exam.
pub const TRAINING_COMMENT: &str = "Training exam — not patient data";

/// The most gadolinium injections (given and voided) one SR holds.
pub const MAX_INJECTIONS: usize = 32;
/// The most stress-agent administrations one SR holds.
pub const MAX_STRESS: usize = 8;
/// The most dose changes of one adenosine infusion.
pub const MAX_ESCALATIONS: usize = 16;
/// The longest free text (purpose, void reason) in characters.
pub const MAX_TEXT_CHARS: usize = 1024;
/// The longest LO value (PS3.5: 64 characters).
pub const MAX_LO_CHARS: usize = 64;
/// The longest SH value (PS3.5: 16 characters): the accession number.
pub const MAX_SH_CHARS: usize = 16;
/// The longest UI value (PS3.5: 64 characters).
pub const MAX_UID_CHARS: usize = 64;
/// Representable range of one injection's volume in mL (beyond any gadolinium
/// injection; the domain enforces the clinical limits).
pub const MAX_VOLUME_ML: f64 = 200.0;
/// Representable range of an injection rate in mL/s.
pub const MAX_RATE_ML_S: f64 = 20.0;
/// Representable range of an agent's concentration in mmol/mL.
pub const MAX_CONCENTRATION_MMOL_ML: f64 = 2.0;
/// Representable range of an adenosine dose rate in µg/kg/min.
pub const MAX_ADENOSINE_UG_KG_MIN: f64 = 1000.0;
/// Representable range of a regadenoson bolus in mg.
pub const MAX_REGADENOSON_MG: f64 = 10.0;
/// Decimals kept in numeric values (DS, at most 16 characters).
const DS_DECIMALS: usize = 4;

/// Patient's Sex (0010,0040).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PatientSex {
    /// `M`.
    Male,
    /// `F`.
    Female,
    /// `O`.
    Other,
}

impl PatientSex {
    fn code(self) -> &'static str {
        match self {
            PatientSex::Male => "M",
            PatientSex::Female => "F",
            PatientSex::Other => "O",
        }
    }
}

/// The patient as the SR names them (the worklist's or the registration's values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SrPatient {
    /// Patient ID (LO).
    pub id: String,
    /// Patient's Name in DICOM form, `family^given` (may be Chinese: `王^小明`).
    pub name: String,
    /// Patient's Sex.
    pub sex: PatientSex,
    /// Patient's Birth Date, if known.
    pub birth_date: Option<NaiveDate>,
}

/// One gadolinium injection as recorded (always intravenous).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GadoliniumInjection {
    /// Brand name (`Gadovist`).
    pub brand: String,
    /// Generic name (`gadobutrol`).
    pub generic_name: String,
    /// Concentration in mmol/mL.
    pub concentration_mmol_ml: f64,
    /// Volume given in mL.
    pub volume_ml: f64,
    /// Injection rate in mL/s, if known (a hand injection has none).
    pub rate_ml_s: Option<f64>,
    /// When the injection started (local wall-clock time).
    pub start: NaiveDateTime,
    /// Why it was given, in words (`first-pass perfusion`).
    pub purpose: String,
    /// `Some(reason)` when the record was voided afterwards: not given, left out of
    /// the structured content (see the module's choices).
    pub voided: Option<String>,
}

/// A dose change of an adenosine infusion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoseChange {
    /// When the new rate started.
    pub at: NaiveDateTime,
    /// The new rate in µg/kg/min.
    pub rate_ug_kg_min: f64,
}

/// A pharmacological stress agent given (always intravenous).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StressAdministration {
    /// An adenosine infusion.
    Adenosine {
        /// Infusion start.
        start: NaiveDateTime,
        /// Infusion end, if it has ended.
        end: Option<NaiveDateTime>,
        /// The starting rate in µg/kg/min.
        rate_ug_kg_min: f64,
        /// Later rate changes (escalations), in time order.
        escalations: Vec<DoseChange>,
    },
    /// A regadenoson bolus.
    Regadenoson {
        /// When it was given.
        at: NaiveDateTime,
        /// The dose in mg.
        dose_mg: f64,
    },
}

/// Everything the SR says: who, which study, and the agents given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentAdministration {
    /// The patient.
    pub patient: SrPatient,
    /// The exam's Study Instance UID (the SR joins that study).
    pub study_instance_uid: String,
    /// The accession number (SH), if the exam came from the worklist.
    pub accession: Option<String>,
    /// The exam's id, a UUID: the root of the SR's UIDs.
    pub exam_id: String,
    /// A training exam (marked as such throughout).
    pub training: bool,
    /// Who recorded the administrations, DICOM PN form (`family^given`).
    pub observer: String,
    /// Content Date/Time: when the record was closed.
    pub content_datetime: NaiveDateTime,
    /// Institution Name, if configured.
    pub institution: Option<String>,
    /// The kiosk's device id (Device Serial Number, Enhanced General Equipment).
    pub device_serial: String,
    /// Gadolinium injections, given and voided, in time order.
    pub injections: Vec<GadoliniumInjection>,
    /// Stress agents given, in time order.
    pub stress: Vec<StressAdministration>,
}

/// Why the SR could not be built or written.
#[derive(Debug, thiserror::Error)]
pub enum SrError {
    /// A value cannot be represented in the SR.
    #[error("{field}: {reason}")]
    Invalid {
        /// Which input field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// dicom-object refused the data set.
    #[error("the SR cannot be encoded: {0}")]
    Encode(String),
    /// The file could not be written.
    #[error("{}: cannot write the SR: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SrError {
    SrError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

// ---- input checks -------------------------------------------------------------

fn check_text(field: &str, s: &str, max: usize, multi_valued_vr: bool) -> Result<(), SrError> {
    if s.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(field, "contains control characters"));
    }
    if multi_valued_vr && (s.contains('\\') || s.contains(['\n', '\r', '\t'])) {
        return Err(invalid(field, "contains a backslash or a line break"));
    }
    Ok(())
}

fn check_required(field: &str, s: &str, max: usize) -> Result<(), SrError> {
    if s.trim().is_empty() {
        return Err(invalid(field, "is empty"));
    }
    check_text(field, s, max, true)
}

fn check_person_name(field: &str, s: &str) -> Result<(), SrError> {
    if s.trim_matches(['^', ' ']).is_empty() {
        return Err(invalid(field, "is empty"));
    }
    check_text(field, s, 3 * MAX_LO_CHARS + 2, true)?;
    let groups: Vec<&str> = s.split('=').collect();
    if groups.len() > 3 || groups.iter().any(|g| g.chars().count() > MAX_LO_CHARS) {
        return Err(invalid(
            field,
            format!("more than 3 component groups or one longer than {MAX_LO_CHARS} characters"),
        ));
    }
    if groups.iter().any(|g| g.split('^').count() > 5) {
        return Err(invalid(field, "more than 5 name components"));
    }
    Ok(())
}

fn check_uid(field: &str, s: &str) -> Result<(), SrError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_UID_CHARS
        && s.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(field, format!("{s:?} is not a UID")))
    }
}

fn check_amount(field: &str, v: f64, max: f64) -> Result<(), SrError> {
    if v.is_finite() && v > 0.0 && v <= max {
        Ok(())
    } else {
        Err(invalid(field, format!("{v} is outside (0, {max}]")))
    }
}

fn validate(input: &AgentAdministration) -> Result<uuid::Uuid, SrError> {
    let exam = uuid::Uuid::parse_str(&input.exam_id)
        .map_err(|e| invalid("exam_id", format!("not a UUID: {e}")))?;
    check_required("patient.id", &input.patient.id, MAX_LO_CHARS)?;
    check_person_name("patient.name", &input.patient.name)?;
    check_uid("study_instance_uid", &input.study_instance_uid)?;
    if let Some(a) = &input.accession {
        check_required("accession", a, MAX_SH_CHARS)?;
    }
    check_person_name("observer", &input.observer)?;
    if let Some(i) = &input.institution {
        check_required("institution", i, MAX_LO_CHARS)?;
    }
    check_required("device_serial", &input.device_serial, MAX_LO_CHARS)?;
    if input.injections.len() > MAX_INJECTIONS {
        return Err(invalid(
            "injections",
            format!("more than {MAX_INJECTIONS} injections"),
        ));
    }
    for (k, inj) in input.injections.iter().enumerate() {
        let f = |name: &str| format!("injections[{k}].{name}");
        check_required(&f("brand"), &inj.brand, MAX_LO_CHARS)?;
        check_required(&f("generic_name"), &inj.generic_name, MAX_LO_CHARS)?;
        check_amount(
            &f("concentration_mmol_ml"),
            inj.concentration_mmol_ml,
            MAX_CONCENTRATION_MMOL_ML,
        )?;
        check_amount(&f("volume_ml"), inj.volume_ml, MAX_VOLUME_ML)?;
        if let Some(r) = inj.rate_ml_s {
            check_amount(&f("rate_ml_s"), r, MAX_RATE_ML_S)?;
        }
        check_text(&f("purpose"), &inj.purpose, MAX_TEXT_CHARS, false)?;
        if let Some(reason) = &inj.voided {
            if reason.trim().is_empty() {
                return Err(invalid(f("voided"), "a void needs its reason"));
            }
            check_text(&f("voided"), reason, MAX_TEXT_CHARS, false)?;
        }
    }
    if input.stress.len() > MAX_STRESS {
        return Err(invalid(
            "stress",
            format!("more than {MAX_STRESS} administrations"),
        ));
    }
    for (k, s) in input.stress.iter().enumerate() {
        let f = |name: &str| format!("stress[{k}].{name}");
        match s {
            StressAdministration::Adenosine {
                start,
                end,
                rate_ug_kg_min,
                escalations,
            } => {
                check_amount(
                    &f("rate_ug_kg_min"),
                    *rate_ug_kg_min,
                    MAX_ADENOSINE_UG_KG_MIN,
                )?;
                if escalations.len() > MAX_ESCALATIONS {
                    return Err(invalid(
                        f("escalations"),
                        format!("more than {MAX_ESCALATIONS} dose changes"),
                    ));
                }
                let mut last = *start;
                for (j, e) in escalations.iter().enumerate() {
                    check_amount(
                        &f(&format!("escalations[{j}].rate_ug_kg_min")),
                        e.rate_ug_kg_min,
                        MAX_ADENOSINE_UG_KG_MIN,
                    )?;
                    if e.at < last {
                        return Err(invalid(
                            f(&format!("escalations[{j}].at")),
                            "before the previous rate started",
                        ));
                    }
                    last = e.at;
                }
                if end.is_some_and(|end| end < last) {
                    return Err(invalid(f("end"), "before the infusion's last rate started"));
                }
            }
            StressAdministration::Regadenoson { dose_mg, .. } => {
                check_amount(&f("dose_mg"), *dose_mg, MAX_REGADENOSON_MG)?;
            }
        }
    }
    Ok(exam)
}

// ---- UIDs ---------------------------------------------------------------------

/// Domain separation for the SR's UIDs.
const UID_NAMESPACE: &[u8] = b"cmr-kiosk/report/sr/v1";

/// `2.25.<decimal>` of a version-8 UUID made from SHA-256 over the namespace, the
/// exam and `parts` (each length-prefixed).
fn derived_uid(exam: uuid::Uuid, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(UID_NAMESPACE);
    h.update(exam.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let u = uuid::Builder::from_custom_bytes(bytes).into_uuid();
    format!("2.25.{}", u.as_u128())
}

/// The Synchronization Frame of Reference UID of a kiosk's clock: its own time base
/// (the kiosk is no time source for the scanner or the injector).
fn clock_frame_uid(device_serial: &str) -> String {
    derived_uid(uuid::Uuid::nil(), &[b"clock", device_serial.as_bytes()])
}

/// The UIDs of the SR made from `input` (its exam id and, for the instance, its
/// whole content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrUids {
    /// Series Instance UID: one series per exam.
    pub series: String,
    /// SOP Instance UID: one per distinct record of the exam.
    pub instance: String,
}

/// The UIDs [`build`] gives the SR of `input`.
pub fn uids(input: &AgentAdministration) -> Result<SrUids, SrError> {
    let exam = validate(input)?;
    uids_for(exam, input)
}

fn uids_for(exam: uuid::Uuid, input: &AgentAdministration) -> Result<SrUids, SrError> {
    let content = serde_json::to_vec(input).map_err(|e| SrError::Encode(e.to_string()))?;
    let digest = Sha256::digest(&content);
    Ok(SrUids {
        series: derived_uid(exam, &[b"series"]),
        instance: derived_uid(exam, &[b"instance", digest.as_slice()]),
    })
}

// ---- codes --------------------------------------------------------------------

/// A coded concept.
#[derive(Debug, Clone, Copy)]
struct Code {
    value: &'static str,
    scheme: &'static str,
    meaning: &'static str,
}

const fn dcm(value: &'static str, meaning: &'static str) -> Code {
    Code {
        value,
        scheme: "DCM",
        meaning,
    }
}

const fn sct(value: &'static str, meaning: &'static str) -> Code {
    Code {
        value,
        scheme: "SCT",
        meaning,
    }
}

const fn ucum(value: &'static str) -> Code {
    Code {
        value,
        scheme: "UCUM",
        meaning: value,
    }
}

const PERFORMED_ADMINISTRATION: Code = dcm("130227", "Performed Imaging Agent Administration");
const OBSERVER_TYPE: Code = dcm("121005", "Observer Type");
const PERSON: Code = dcm("121006", "Person");
const PERSON_OBSERVER_NAME: Code = dcm("121008", "Person Observer Name");
const OBSERVER_ORGANIZATION: Code = dcm("121009", "Person Observer's Organization Name");
const PROCEDURE_STUDY_UID: Code = dcm("121018", "Procedure Study Instance UID");
const ACCESSION_NUMBER: Code = dcm("121022", "Accession Number");
const COMMENT: Code = dcm("121106", "Comment");
const AGENT_INFORMATION: Code = dcm("130183", "Imaging Agent Information");
const AGENT_IDENTIFIER: Code = dcm("130254", "Imaging Agent Identifier");
const BRAND_NAME: Code = dcm("111529", "Brand Name");
const AGENT_COMPONENT: Code = dcm("130238", "Imaging Agent Component");
const CONTRAST_AGENT: Code = dcm("123011", "Contrast/Bolus Agent");
const DESCRIPTION_OF_MATERIAL: Code = dcm("121145", "Description of Material");
const UNDILUTED_CONCENTRATION: Code = dcm("121380", "Active Ingredient Undiluted Concentration");
const STEPS: Code = dcm("130192", "Imaging Agent Administration Steps");
const STEP: Code = dcm("130195", "Imaging Agent Administration Step");
const STEP_IDENTIFIER: Code = dcm("130196", "Imaging Agent Administration Step Identifier");
const PERFORMED_STEP_UID: Code = dcm("130246", "Imaging Agent Administration Performed Step UID");
const STEP_TYPE: Code = dcm("130250", "Administration Step Type");
const DIAGNOSTIC_ADMINISTRATION: Code = dcm("130249", "Diagnostic Administration");
const COMPLETION_STATUS: Code = dcm("130211", "Imaging Agent Administration Completion Status");
const COMPLETE: Code = sct("255594003", "Complete");
const PHASE: Code = dcm("130202", "Imaging Agent Administration Phase");
const PHASE_IDENTIFIER: Code = dcm("130203", "Imaging Agent Administration Phase Identifier");
const PERFORMED_PHASE_UID: Code = dcm("130261", "Imaging Agent Administration Performed Phase UID");
const PHASE_ACTIVITY: Code = dcm(
    "130237",
    "Imaging Agent Administration Syringe/Pump Phase Activity",
);
const REFERENCED_AGENT_IDENTIFIER: Code = dcm("130255", "Referenced Imaging Agent Identifier");
const DATETIME_STARTED: Code = dcm("111526", "DateTime Started");
const DATETIME_ENDED: Code = dcm("111527", "DateTime Ended");
const VOLUME_ADMINISTERED: Code = dcm("122091", "Volume administered");
const STARTING_FLOW_RATE: Code = dcm("130208", "Starting Flow Rate of administration");
const ROUTE: Code = sct("410675002", "Route of administration");
const INTRAVENOUS: Code = sct("47625008", "Intravenous route");
const DRUG_ADMINISTERED: Code = dcm("122083", "Drug administered");
const STRESS_DOSE_RATE: Code = dcm("122705", "Pharmacological Stress Agent Dose Rate");
const STRESS_DOSE: Code = dcm("122715", "Pharmacological Stress Agent Dose");
const ADENOSINE: Code = sct("108502004", "Adenosine");
const A2_AGONIST: Code = sct("432062000", "Adenosine A2 receptor agonist");
const GADOLINIUM: Code = sct("58281002", "Gadolinium");
const GADODIAMIDE: Code = sct("354088005", "Gadodiamide");
const GADOPENTETATE: Code = sct("404846007", "Gadopentetate dimeglumine");

const ML: Code = ucum("mL");
const ML_PER_S: Code = ucum("mL/s");
const MMOL_PER_ML: Code = ucum("mmol/mL");
const UG_KG_MIN: Code = ucum("ug/kg/min");
const MG: Code = ucum("mg");

/// The CID 12 code of a gadolinium agent by its generic name.
fn agent_code(generic_name: &str) -> Code {
    let g = generic_name.to_lowercase();
    if g.contains("gadodiamide") {
        GADODIAMIDE
    } else if g.contains("gadopentetate") {
        GADOPENTETATE
    } else {
        GADOLINIUM
    }
}

// ---- data set helpers ----------------------------------------------------------

type Item = InMemDicomObject;

fn put_str(obj: &mut Item, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_empty(obj: &mut Item, tag: Tag, vr: VR) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
}

fn put_seq(obj: &mut Item, tag: Tag, items: Vec<Item>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn code_item(code: Code) -> Item {
    let mut o = Item::new_empty();
    put_str(&mut o, tags::CODE_VALUE, VR::SH, code.value);
    put_str(&mut o, tags::CODING_SCHEME_DESIGNATOR, VR::SH, code.scheme);
    put_str(&mut o, tags::CODE_MEANING, VR::LO, code.meaning);
    o
}

fn da(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn tm(t: NaiveDateTime) -> String {
    t.format("%H%M%S").to_string()
}

fn dt(t: NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// Relationship Type (0040,A010).
#[derive(Debug, Clone, Copy)]
enum Rel {
    Contains,
    HasObsContext,
    HasProperties,
}

impl Rel {
    fn text(self) -> &'static str {
        match self {
            Rel::Contains => "CONTAINS",
            Rel::HasObsContext => "HAS OBS CONTEXT",
            Rel::HasProperties => "HAS PROPERTIES",
        }
    }
}

/// A content item's common part: relationship, value type, concept name.
fn content(rel: Option<Rel>, value_type: &str, concept: Code) -> Item {
    let mut o = Item::new_empty();
    if let Some(r) = rel {
        put_str(&mut o, tags::RELATIONSHIP_TYPE, VR::CS, r.text());
    }
    put_str(&mut o, tags::VALUE_TYPE, VR::CS, value_type);
    put_seq(
        &mut o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code_item(concept)],
    );
    o
}

fn with_children(mut o: Item, children: Vec<Item>) -> Item {
    if !children.is_empty() {
        put_seq(&mut o, tags::CONTENT_SEQUENCE, children);
    }
    o
}

fn container(rel: Option<Rel>, concept: Code, children: Vec<Item>) -> Item {
    let mut o = content(rel, "CONTAINER", concept);
    put_str(&mut o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    with_children(o, children)
}

fn text(rel: Rel, concept: Code, value: &str) -> Item {
    let mut o = content(Some(rel), "TEXT", concept);
    put_str(&mut o, tags::TEXT_VALUE, VR::UT, value);
    o
}

fn code(rel: Rel, concept: Code, value: Code) -> Item {
    let mut o = content(Some(rel), "CODE", concept);
    put_seq(&mut o, tags::CONCEPT_CODE_SEQUENCE, vec![code_item(value)]);
    o
}

fn num(rel: Rel, concept: Code, value: f64, unit: Code) -> Item {
    let mut o = content(Some(rel), "NUM", concept);
    let mut mv = Item::new_empty();
    put_str(
        &mut mv,
        tags::NUMERIC_VALUE,
        VR::DS,
        &super::number(value, DS_DECIMALS),
    );
    put_seq(
        &mut mv,
        tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
        vec![code_item(unit)],
    );
    put_seq(&mut o, tags::MEASURED_VALUE_SEQUENCE, vec![mv]);
    o
}

fn datetime(rel: Rel, concept: Code, value: NaiveDateTime) -> Item {
    let mut o = content(Some(rel), "DATETIME", concept);
    put_str(&mut o, tags::DATE_TIME, VR::DT, &dt(value));
    o
}

fn uidref(rel: Rel, concept: Code, value: &str) -> Item {
    let mut o = content(Some(rel), "UIDREF", concept);
    put_str(&mut o, tags::UID, VR::UI, value);
    o
}

fn pname(rel: Rel, concept: Code, value: &str) -> Item {
    let mut o = content(Some(rel), "PNAME", concept);
    put_str(&mut o, tags::PERSON_NAME, VR::PN, value);
    o
}

// ---- the document ---------------------------------------------------------------

fn agent_information(id: &str, inj: &GadoliniumInjection) -> Item {
    container(
        Some(Rel::Contains),
        AGENT_INFORMATION,
        vec![
            text(Rel::Contains, AGENT_IDENTIFIER, id),
            text(Rel::Contains, BRAND_NAME, &inj.brand),
            container(
                Some(Rel::Contains),
                AGENT_COMPONENT,
                vec![
                    code(Rel::Contains, CONTRAST_AGENT, agent_code(&inj.generic_name)),
                    text(Rel::Contains, DESCRIPTION_OF_MATERIAL, &inj.generic_name),
                    num(
                        Rel::Contains,
                        UNDILUTED_CONCENTRATION,
                        inj.concentration_mmol_ml,
                        MMOL_PER_ML,
                    ),
                ],
            ),
        ],
    )
}

fn step(exam: uuid::Uuid, n: usize, id: &str, inj: &GadoliniumInjection) -> Item {
    let index = n.to_string();
    let mut activity = vec![
        text(Rel::Contains, REFERENCED_AGENT_IDENTIFIER, id),
        datetime(Rel::Contains, DATETIME_STARTED, inj.start),
        num(Rel::Contains, VOLUME_ADMINISTERED, inj.volume_ml, ML),
    ];
    if let Some(rate) = inj.rate_ml_s {
        activity.push(num(Rel::Contains, STARTING_FLOW_RATE, rate, ML_PER_S));
    }
    let mut children = vec![
        text(Rel::Contains, STEP_IDENTIFIER, &index),
        uidref(
            Rel::Contains,
            PERFORMED_STEP_UID,
            &derived_uid(exam, &[b"step", index.as_bytes()]),
        ),
        code(Rel::Contains, STEP_TYPE, DIAGNOSTIC_ADMINISTRATION),
        code(Rel::Contains, ROUTE, INTRAVENOUS),
        code(Rel::Contains, COMPLETION_STATUS, COMPLETE),
    ];
    if !inj.purpose.trim().is_empty() {
        children.push(text(
            Rel::Contains,
            COMMENT,
            &format!("Purpose: {}", inj.purpose.trim()),
        ));
    }
    children.push(container(
        Some(Rel::Contains),
        PHASE,
        vec![
            text(Rel::Contains, PHASE_IDENTIFIER, "1"),
            uidref(
                Rel::Contains,
                PERFORMED_PHASE_UID,
                &derived_uid(exam, &[b"phase", index.as_bytes()]),
            ),
            container(Some(Rel::Contains), PHASE_ACTIVITY, activity),
        ],
    ));
    container(Some(Rel::Contains), STEP, children)
}

fn stress_item(s: &StressAdministration) -> Item {
    match s {
        StressAdministration::Adenosine {
            start,
            end,
            rate_ug_kg_min,
            escalations,
        } => {
            let mut props = vec![
                text(
                    Rel::HasProperties,
                    DESCRIPTION_OF_MATERIAL,
                    "adenosine infusion: pharmacological stress agent, not an imaging agent",
                ),
                code(Rel::HasProperties, ROUTE, INTRAVENOUS),
                datetime(Rel::HasProperties, DATETIME_STARTED, *start),
            ];
            if let Some(end) = end {
                props.push(datetime(Rel::HasProperties, DATETIME_ENDED, *end));
            }
            let rates = std::iter::once((*start, *rate_ug_kg_min))
                .chain(escalations.iter().map(|e| (e.at, e.rate_ug_kg_min)));
            for (at, rate) in rates {
                props.push(with_children(
                    num(Rel::HasProperties, STRESS_DOSE_RATE, rate, UG_KG_MIN),
                    vec![datetime(Rel::HasProperties, DATETIME_STARTED, at)],
                ));
            }
            with_children(code(Rel::Contains, DRUG_ADMINISTERED, ADENOSINE), props)
        }
        StressAdministration::Regadenoson { at, dose_mg } => with_children(
            code(Rel::Contains, DRUG_ADMINISTERED, A2_AGONIST),
            vec![
                text(
                    Rel::HasProperties,
                    DESCRIPTION_OF_MATERIAL,
                    "regadenoson bolus: pharmacological stress agent, not an imaging agent",
                ),
                code(Rel::HasProperties, ROUTE, INTRAVENOUS),
                datetime(Rel::HasProperties, DATETIME_STARTED, *at),
                num(Rel::HasProperties, STRESS_DOSE, *dose_mg, MG),
            ],
        ),
    }
}

fn content_tree(exam: uuid::Uuid, input: &AgentAdministration) -> Vec<Item> {
    let mut items = vec![
        code(Rel::HasObsContext, OBSERVER_TYPE, PERSON),
        pname(Rel::HasObsContext, PERSON_OBSERVER_NAME, &input.observer),
    ];
    if let Some(org) = &input.institution {
        items.push(text(Rel::HasObsContext, OBSERVER_ORGANIZATION, org));
    }
    items.push(uidref(
        Rel::HasObsContext,
        PROCEDURE_STUDY_UID,
        &input.study_instance_uid,
    ));
    if let Some(acc) = &input.accession {
        items.push(text(Rel::HasObsContext, ACCESSION_NUMBER, acc));
    }
    if input.training {
        items.push(text(Rel::Contains, COMMENT, TRAINING_COMMENT));
    }
    let given: Vec<(usize, &GadoliniumInjection)> = input
        .injections
        .iter()
        .filter(|i| i.voided.is_none())
        .enumerate()
        .map(|(k, i)| (k + 1, i))
        .collect();
    for (n, inj) in &given {
        items.push(agent_information(&format!("GD{n}"), inj));
    }
    if !given.is_empty() {
        items.push(container(
            Some(Rel::Contains),
            STEPS,
            given
                .iter()
                .map(|(n, inj)| step(exam, *n, &format!("GD{n}"), inj))
                .collect(),
        ));
    }
    items.extend(input.stress.iter().map(stress_item));
    for inj in input.injections.iter() {
        if let Some(reason) = &inj.voided {
            items.push(text(
                Rel::Contains,
                COMMENT,
                &format!(
                    "Voided record (not given): {} ({}) recorded for {}; reason: {}",
                    inj.brand,
                    inj.generic_name,
                    inj.start.format("%Y-%m-%d %H:%M:%S"),
                    reason.trim()
                ),
            ));
        }
    }
    items
}

/// The SR of `input` as a DICOM file object (Part 10 meta, Explicit VR Little
/// Endian), ready to write or to send.
pub fn build(input: &AgentAdministration) -> Result<FileDicomObject<InMemDicomObject>, SrError> {
    let exam = validate(input)?;
    let uids = uids_for(exam, input)?;
    let mut o = Item::new_empty();
    // SOP Common.
    put_str(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, CHARACTER_SET);
    put_str(&mut o, tags::SOP_CLASS_UID, VR::UI, SOP_CLASS);
    put_str(&mut o, tags::SOP_INSTANCE_UID, VR::UI, &uids.instance);
    put_str(
        &mut o,
        tags::INSTANCE_CREATION_DATE,
        VR::DA,
        &da(input.content_datetime.date()),
    );
    put_str(
        &mut o,
        tags::INSTANCE_CREATION_TIME,
        VR::TM,
        &tm(input.content_datetime),
    );
    // Patient.
    let p = &input.patient;
    put_str(&mut o, tags::PATIENT_NAME, VR::PN, &p.name);
    put_str(&mut o, tags::PATIENT_ID, VR::LO, &p.id);
    match p.birth_date {
        Some(d) => put_str(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, &da(d)),
        None => put_empty(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA),
    }
    put_str(&mut o, tags::PATIENT_SEX, VR::CS, p.sex.code());
    // General Study.
    put_str(
        &mut o,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &input.study_instance_uid,
    );
    put_empty(&mut o, tags::STUDY_DATE, VR::DA);
    put_empty(&mut o, tags::STUDY_TIME, VR::TM);
    put_empty(&mut o, tags::REFERRING_PHYSICIAN_NAME, VR::PN);
    put_empty(&mut o, tags::STUDY_ID, VR::SH);
    match &input.accession {
        Some(a) => put_str(&mut o, tags::ACCESSION_NUMBER, VR::SH, a),
        None => put_empty(&mut o, tags::ACCESSION_NUMBER, VR::SH),
    }
    if input.training {
        put_str(&mut o, tags::STUDY_DESCRIPTION, VR::LO, TRAINING_MARK);
    }
    // SR Document Series.
    put_str(&mut o, tags::MODALITY, VR::CS, "SR");
    put_str(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, &uids.series);
    put_str(
        &mut o,
        tags::SERIES_NUMBER,
        VR::IS,
        &SERIES_NUMBER.to_string(),
    );
    let series_description = if input.training {
        format!("{TRAINING_MARK}: {SERIES_DESCRIPTION}")
    } else {
        SERIES_DESCRIPTION.to_string()
    };
    put_str(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        &series_description,
    );
    put_seq(
        &mut o,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        Vec::new(),
    );
    // Synchronization (mandatory in this IOD): the times are the kiosk's clock.
    put_str(
        &mut o,
        tags::SYNCHRONIZATION_FRAME_OF_REFERENCE_UID,
        VR::UI,
        &clock_frame_uid(&input.device_serial),
    );
    put_str(&mut o, tags::SYNCHRONIZATION_TRIGGER, VR::CS, "NO TRIGGER");
    put_str(&mut o, tags::ACQUISITION_TIME_SYNCHRONIZED, VR::CS, "N");
    // General and Enhanced General Equipment.
    put_str(&mut o, tags::MANUFACTURER, VR::LO, "cmr-kiosk");
    if let Some(i) = &input.institution {
        put_str(&mut o, tags::INSTITUTION_NAME, VR::LO, i);
    }
    put_str(&mut o, tags::MANUFACTURER_MODEL_NAME, VR::LO, "cmr-kiosk");
    put_str(
        &mut o,
        tags::DEVICE_SERIAL_NUMBER,
        VR::LO,
        &input.device_serial,
    );
    put_str(
        &mut o,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    );
    // SR Document General.
    put_str(&mut o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put_str(&mut o, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
    put_str(&mut o, tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED");
    put_str(
        &mut o,
        tags::CONTENT_DATE,
        VR::DA,
        &da(input.content_datetime.date()),
    );
    put_str(
        &mut o,
        tags::CONTENT_TIME,
        VR::TM,
        &tm(input.content_datetime),
    );
    let mut request = Item::new_empty();
    put_str(
        &mut request,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &input.study_instance_uid,
    );
    put_seq(&mut request, tags::REFERENCED_STUDY_SEQUENCE, Vec::new());
    match &input.accession {
        Some(a) => put_str(&mut request, tags::ACCESSION_NUMBER, VR::SH, a),
        None => put_empty(&mut request, tags::ACCESSION_NUMBER, VR::SH),
    }
    put_empty(
        &mut request,
        tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
        VR::LO,
    );
    put_empty(
        &mut request,
        tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
        VR::LO,
    );
    put_empty(&mut request, tags::REQUESTED_PROCEDURE_ID, VR::SH);
    put_empty(&mut request, tags::REQUESTED_PROCEDURE_DESCRIPTION, VR::LO);
    put_seq(
        &mut request,
        tags::REQUESTED_PROCEDURE_CODE_SEQUENCE,
        Vec::new(),
    );
    put_seq(&mut o, tags::REFERENCED_REQUEST_SEQUENCE, vec![request]);
    put_seq(&mut o, tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, Vec::new());
    // SR Document Content: the root container.
    put_str(&mut o, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    put_seq(
        &mut o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code_item(PERFORMED_ADMINISTRATION)],
    );
    put_str(&mut o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    let mut template = Item::new_empty();
    put_str(&mut template, tags::MAPPING_RESOURCE, VR::CS, "DCMR");
    put_str(&mut template, tags::TEMPLATE_IDENTIFIER, VR::CS, "11020");
    put_seq(&mut o, tags::CONTENT_TEMPLATE_SEQUENCE, vec![template]);
    put_seq(&mut o, tags::CONTENT_SEQUENCE, content_tree(exam, input));

    o.with_meta(
        FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(SOP_CLASS)
            .media_storage_sop_instance_uid(uids.instance.as_str())
            .transfer_syntax(TRANSFER_SYNTAX),
    )
    .map_err(|e| SrError::Encode(e.to_string()))
}

/// Builds the SR of `input` and writes it to `path` (through a sibling temporary
/// file renamed into place, so a reader never sees half a file); its SOP Instance
/// UID.
pub fn write(input: &AgentAdministration, path: &Path) -> Result<String, SrError> {
    let file = build(input)?;
    let err = |message: String| SrError::Write {
        path: path.to_path_buf(),
        message,
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    file.write_to_file(&partial)
        .map_err(|e| err(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        err(e.to_string())
    })?;
    Ok(file.meta().media_storage_sop_instance_uid().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .expect("a valid time")
    }

    fn sample() -> AgentAdministration {
        AgentAdministration {
            patient: SrPatient {
                id: "P1".into(),
                name: "王^小明".into(),
                sex: PatientSex::Male,
                birth_date: NaiveDate::from_ymd_opt(1980, 6, 15),
            },
            study_instance_uid: "1.2.826.0.1.3680043.9.7140.1".into(),
            accession: Some("A1".into()),
            exam_id: "7f6c1f2e-3b7a-4c41-9d2e-1b2c3d4e5f60".into(),
            training: false,
            observer: "李^娜".into(),
            content_datetime: at(10, 0),
            institution: None,
            device_serial: "kiosk-1".into(),
            injections: vec![GadoliniumInjection {
                brand: "Gadovist".into(),
                generic_name: "gadobutrol".into(),
                concentration_mmol_ml: 1.0,
                volume_ml: 7.5,
                rate_ml_s: Some(4.0),
                start: at(9, 10),
                purpose: "first-pass perfusion".into(),
                voided: None,
            }],
            stress: Vec::new(),
        }
    }

    #[test]
    fn uids_are_2_25_and_fit_a_ui() {
        let u = uids(&sample()).expect("uids");
        for uid in [&u.series, &u.instance] {
            assert!(uid.starts_with("2.25."), "{uid}");
            assert!(uid.len() <= MAX_UID_CHARS);
            check_uid("uid", uid).expect("a valid UID");
        }
        assert_ne!(u.series, u.instance);
    }

    #[test]
    fn a_changed_record_gets_a_new_instance_in_the_same_series() {
        let a = sample();
        let mut b = sample();
        b.injections[0].voided = Some("entered twice".into());
        let (ua, ub) = (uids(&a).expect("a"), uids(&b).expect("b"));
        assert_eq!(ua.series, ub.series);
        assert_ne!(ua.instance, ub.instance);
    }

    #[test]
    fn unrepresentable_input_is_refused_with_the_field() {
        let mut s = sample();
        s.injections[0].volume_ml = f64::NAN;
        assert!(
            matches!(build(&s), Err(SrError::Invalid { field, .. }) if field == "injections[0].volume_ml")
        );
        let mut s = sample();
        s.exam_id = "not-a-uuid".into();
        assert!(build(&s).is_err());
        let mut s = sample();
        s.patient.id = "A\\B".into();
        assert!(build(&s).is_err());
        let mut s = sample();
        s.study_instance_uid = "1.02.3".into();
        assert!(build(&s).is_err());
    }
}
