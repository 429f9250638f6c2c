//! The imaging agent SR (issue 15): written by the kiosk, read back by independent
//! readers (dcmtk's `dsrdump`, pydicom from Debian's `python3-pydicom`) and sent by
//! the kiosk's C-STORE to dcmtk's `storescp` standing in for the PACS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use cmr_kiosk::dicom::node::{self, NodeError, Peer};
use cmr_kiosk::report::sr::{
    self, AgentAdministration, DoseChange, GadoliniumInjection, PatientSex, SrPatient,
    StressAdministration,
};
use dicom_dictionary_std::tags;

use crate::support::mwl::{free_port, tool, wait_listening};

/// Debian's interpreter, where `python3-pydicom` lives (a pyenv `python3` may come
/// first on PATH).
const PYTHON: &str = "/usr/bin/python3";

/// A child process killed when dropped.
pub(crate) struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 7)
        .unwrap()
        .and_hms_opt(h, m, s)
        .unwrap()
}

fn gadovist(
    volume_ml: f64,
    rate: Option<f64>,
    start: NaiveDateTime,
    purpose: &str,
) -> GadoliniumInjection {
    GadoliniumInjection {
        brand: "Gadovist".into(),
        generic_name: "gadobutrol".into(),
        concentration_mmol_ml: 1.0,
        volume_ml,
        rate_ml_s: rate,
        start,
        purpose: purpose.into(),
        voided: None,
    }
}

/// A stress perfusion exam: adenosine with one escalation, stress and rest
/// first-pass injections, a voided entry, an LGE top-up by hand, a regadenoson bolus.
fn exam() -> AgentAdministration {
    AgentAdministration {
        patient: SrPatient {
            id: "P000123".into(),
            name: "王^小明".into(),
            sex: PatientSex::Male,
            birth_date: NaiveDate::from_ymd_opt(1980, 6, 15),
        },
        study_instance_uid: "1.2.826.0.1.3680043.9.7140.15.1".into(),
        accession: Some("ACC15001".into()),
        exam_id: "5b0f3c2a-8d4e-4f7a-9a61-2c3d4e5f6a7b".into(),
        training: false,
        observer: "李^娜".into(),
        content_datetime: at(10, 5, 0),
        institution: Some("北京安贞医院".into()),
        device_serial: "kiosk-mr1".into(),
        injections: vec![
            gadovist(7.5, Some(4.0), at(9, 10, 30), "stress first-pass perfusion"),
            GadoliniumInjection {
                brand: "Dotarem".into(),
                generic_name: "gadoterate meglumine".into(),
                concentration_mmol_ml: 0.5,
                volume_ml: 13.0,
                rate_ml_s: Some(4.0),
                start: at(9, 20, 0),
                purpose: "rest first-pass perfusion".into(),
                voided: Some("entered on the wrong agent".into()),
            },
            gadovist(7.25, Some(4.0), at(9, 25, 15), "rest first-pass perfusion"),
            gadovist(3.0, None, at(9, 31, 0), "LGE top-up"),
        ],
        stress: vec![
            StressAdministration::Adenosine {
                start: at(9, 5, 0),
                end: Some(at(9, 11, 30)),
                rate_ug_kg_min: 140.0,
                escalations: vec![DoseChange {
                    at: at(9, 8, 0),
                    rate_ug_kg_min: 210.0,
                }],
            },
            StressAdministration::Regadenoson {
                at: at(9, 40, 0),
                dose_mg: 0.4,
            },
        ],
    }
}

fn written(dir: &Path, input: &AgentAdministration) -> PathBuf {
    let path = dir.join("agents.dcm");
    sr::write(input, &path).unwrap();
    path
}

pub(crate) fn output(mut c: Command) -> (bool, String, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `dsrdump` on `file` (UTF-8 output, long values in full): exit status, stdout,
/// stderr.
pub(crate) fn dsrdump(file: &Path) -> (bool, String, String) {
    let mut c = tool("dsrdump");
    c.args(["-v", "+U8", "+Pl"]).arg(file);
    output(c)
}

/// What pydicom reads from the SR: one line per fact, fields split by `|`.
const PYDICOM_SCRIPT: &str = r#"
import sys
import pydicom

ds = pydicom.dcmread(sys.argv[1])
print("SOP|" + ds.SOPInstanceUID)
print("CLASS|" + ds.SOPClassUID)
print("CHARSET|" + str(ds.SpecificCharacterSet))
print("PATIENT|" + str(ds.PatientName))
print("MODALITY|" + ds.Modality)
print("STUDY|" + ds.StudyInstanceUID)
print("FLAGS|" + ds.CompletionFlag + "|" + ds.VerificationFlag)
print("SERIESDESC|" + str(ds.get("SeriesDescription", "")))
print("STUDYDESC|" + str(ds.get("StudyDescription", "")))

def concept(item):
    return item.ConceptNameCodeSequence[0].CodeValue

def children(item):
    return item.get("ContentSequence", [])

brands = {}
activities = []
def walk(item):
    for c in children(item):
        if c.ValueType == "CONTAINER" and concept(c) == "130183":
            ident = brand = None
            for g in children(c):
                if concept(g) == "130254": ident = g.TextValue
                if concept(g) == "111529": brand = g.TextValue
            brands[ident] = brand
        if c.ValueType == "CONTAINER" and concept(c) == "130237":
            act = {}
            for g in children(c):
                if concept(g) == "130255": act["ref"] = g.TextValue
                if concept(g) == "111526": act["dt"] = g.DateTime
                if concept(g) == "122091":
                    mv = g.MeasuredValueSequence[0]
                    act["ml"] = str(mv.NumericValue)
                    act["unit"] = mv.MeasurementUnitsCodeSequence[0].CodeValue
            activities.append(act)
        if c.ValueType == "TEXT" and concept(c) == "121106":
            print("COMMENT|" + c.TextValue)
        if c.ValueType == "CODE" and concept(c) == "122083":
            print("STRESS|" + c.ConceptCodeSequence[0].CodeMeaning)
        walk(c)
walk(ds)
for a in activities:
    print("INJ|%s|%s|%s|%s" % (brands.get(a.get("ref")), a.get("ml"), a.get("unit"), a.get("dt")))
"#;

/// pydicom's reading of `file`, as lines.
pub(crate) fn pydicom(dir: &Path, file: &Path) -> Vec<String> {
    assert!(
        Path::new(PYTHON).is_file(),
        "{PYTHON} is missing: scripts/setup --test installs python3-pydicom"
    );
    let script = dir.join("read_sr.py");
    std::fs::write(&script, PYDICOM_SCRIPT).unwrap();
    let mut c = Command::new(PYTHON);
    c.arg(&script).arg(file).stdin(Stdio::null());
    let (ok, out, err) = output(c);
    assert!(ok, "pydicom failed: {err}");
    out.lines().map(str::to_owned).collect()
}

pub(crate) fn field<'a>(lines: &'a [String], key: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("{key}|")))
        .collect()
}

/// What dcmtk 3.6.7 says of its own checker, for every document of this class in
/// UTF-8: not about the document.
pub(crate) const DSRDUMP_OWN_LIMITS: [&str; 2] = [
    "W: Check for template constraints not yet supported",
    "W: The VR checker does not support this Specific Character Set: ISO_IR 192",
];

/// dsrdump reads the SR with neither errors nor warnings about its structure, and
/// shows each given injection's agent, volume and start, and the stress agents.
#[test]
fn issue_15_sr_is_read_back_by_dsrdump_with_each_injection() {
    let dir = tempfile::tempdir().unwrap();
    let file = written(dir.path(), &exam());
    let (ok, out, err) = dsrdump(&file);
    assert!(ok, "dsrdump failed:\n{err}\n{out}");
    let complaints: Vec<&str> = err
        .lines()
        .chain(out.lines())
        .filter(|l| l.starts_with("W:") || l.starts_with("E:") || l.starts_with("F:"))
        .filter(|l| !DSRDUMP_OWN_LIMITS.contains(l))
        .collect();
    assert!(
        complaints.is_empty(),
        "dsrdump complains: {complaints:#?}\n{out}"
    );
    assert!(
        out.contains("Performed Imaging Agent Administration"),
        "{out}"
    );
    for needle in [
        "\"Gadovist\"",
        "\"gadobutrol\"",
        "=\"7.5\" (mL,UCUM,\"mL\")",
        "=\"7.25\" (mL,UCUM,\"mL\")",
        "=\"3\" (mL,UCUM,\"mL\")",
        "=\"20261207091030\"",
        "=\"20261207092515\"",
        "=\"20261207093100\"",
        "Adenosine",
        "Adenosine A2 receptor agonist",
        "(ug/kg/min,UCUM,\"ug/kg/min\")",
        "王^小明",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
    // The voided entry is no volume anywhere, only a comment saying so.
    assert!(!out.contains("=\"13\" (mL"), "{out}");
    assert!(out.contains("Voided record (not given): Dotarem"), "{out}");
}

/// pydicom reads each given injection's agent, volume and start: the voided one is
/// not among them; the header names the SR class, UTF-8, the study and the flags.
#[test]
fn issue_15_sr_is_read_by_pydicom_with_each_injection_volume_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let file = written(dir.path(), &exam());
    let lines = pydicom(dir.path(), &file);
    assert_eq!(
        field(&lines, "INJ"),
        [
            "Gadovist|7.5|mL|20261207091030",
            "Gadovist|7.25|mL|20261207092515",
            "Gadovist|3|mL|20261207093100",
        ],
        "{lines:#?}"
    );
    assert_eq!(field(&lines, "CLASS"), [sr::SOP_CLASS]);
    assert_eq!(field(&lines, "CHARSET"), ["ISO_IR 192"]);
    assert_eq!(field(&lines, "MODALITY"), ["SR"]);
    assert_eq!(field(&lines, "STUDY"), ["1.2.826.0.1.3680043.9.7140.15.1"]);
    assert_eq!(field(&lines, "FLAGS"), ["COMPLETE|UNVERIFIED"]);
    assert_eq!(
        field(&lines, "STRESS"),
        ["Adenosine", "Adenosine A2 receptor agonist"]
    );
    let comments = field(&lines, "COMMENT");
    assert!(
        comments
            .iter()
            .any(|c| c.starts_with("Voided record (not given): Dotarem")
                && c.contains("entered on the wrong agent")),
        "{comments:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("TRAINING")), "{lines:#?}");
}

/// A Chinese patient name (and observer and institution) survives writing in UTF-8:
/// dicom-rs, pydicom and dcmtk all read back the same characters.
#[test]
fn issue_15_a_chinese_patient_name_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = exam();
    input.patient.name = "欧阳^娜娜".into();
    let file = written(dir.path(), &input);
    let obj = dicom_object::open_file(&file).unwrap();
    let name = obj.element(tags::PATIENT_NAME).unwrap().to_str().unwrap();
    assert_eq!(name.trim_end(), "欧阳^娜娜");
    let institution = obj
        .element(tags::INSTITUTION_NAME)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(institution.trim_end(), "北京安贞医院");
    assert_eq!(field(&pydicom(dir.path(), &file), "PATIENT"), ["欧阳^娜娜"]);
    let (ok, out, err) = dsrdump(&file);
    assert!(ok, "{err}");
    assert!(out.contains("欧阳^娜娜"), "{out}");
    assert!(out.contains("李^娜"), "the observer:\n{out}");
}

/// Building the SR twice from the same record gives the same UIDs (series and
/// instance); a corrected record keeps the series and gets a new instance.
#[test]
fn issue_15_building_twice_gives_the_same_sop_instance_uid() {
    let a = sr::build(&exam()).unwrap();
    let b = sr::build(&exam()).unwrap();
    let uid = |o: &dicom_object::FileDicomObject<dicom_object::InMemDicomObject>, t| {
        o.element(t)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_string()
    };
    assert_eq!(
        uid(&a, tags::SOP_INSTANCE_UID),
        uid(&b, tags::SOP_INSTANCE_UID)
    );
    assert_eq!(
        uid(&a, tags::SERIES_INSTANCE_UID),
        uid(&b, tags::SERIES_INSTANCE_UID)
    );
    assert!(uid(&a, tags::SOP_INSTANCE_UID).starts_with("2.25."));
    assert_eq!(
        uid(&a, tags::STUDY_INSTANCE_UID),
        "1.2.826.0.1.3680043.9.7140.15.1",
        "the SR joins the exam's study"
    );
    let mut corrected = exam();
    corrected.injections[3].voided = Some("given by a colleague, not by this kiosk".into());
    let c = sr::build(&corrected).unwrap();
    assert_eq!(
        uid(&a, tags::SERIES_INSTANCE_UID),
        uid(&c, tags::SERIES_INSTANCE_UID)
    );
    assert_ne!(
        uid(&a, tags::SOP_INSTANCE_UID),
        uid(&c, tags::SOP_INSTANCE_UID)
    );
    // Another exam: other series.
    let mut other = exam();
    other.exam_id = "0c7e9b1a-1111-4222-8333-944455556666".into();
    let o = sr::build(&other).unwrap();
    assert_ne!(
        uid(&a, tags::SERIES_INSTANCE_UID),
        uid(&o, tags::SERIES_INSTANCE_UID)
    );
}

/// A training exam is marked where a PACS user sees it (study and series
/// descriptions) and in the content.
#[test]
fn issue_15_a_training_exam_is_marked_as_not_patient_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = exam();
    input.training = true;
    let file = written(dir.path(), &input);
    let lines = pydicom(dir.path(), &file);
    assert!(
        field(&lines, "STUDYDESC")[0].contains("TRAINING"),
        "{lines:#?}"
    );
    assert!(
        field(&lines, "SERIESDESC")[0].contains("TRAINING"),
        "{lines:#?}"
    );
    assert!(
        field(&lines, "COMMENT").contains(&"Training exam — not patient data"),
        "{lines:#?}"
    );
    let (ok, out, err) = dsrdump(&file);
    assert!(ok, "{err}");
    assert!(out.contains("Training exam — not patient data"), "{out}");
}

/// Input the SR cannot carry is refused before anything is written, naming the field.
#[test]
fn issue_15_unrepresentable_input_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = exam();
    input.injections[0].volume_ml = -1.0;
    let path = dir.path().join("bad.dcm");
    let e = sr::write(&input, &path).unwrap_err();
    assert!(e.to_string().contains("injections[0].volume_ml"), "{e}");
    assert!(!path.exists());
    let mut input = exam();
    input.accession = Some("AN-ACCESSION-LONGER-THAN-SH".into());
    assert!(
        sr::build(&input)
            .unwrap_err()
            .to_string()
            .contains("accession")
    );
}

pub(crate) fn storescp(out_dir: &Path, port: u16, extra: &[&str]) -> Killed {
    let mut c = tool("storescp");
    c.args(["-aet", "PACS"])
        .args(extra)
        .arg("-od")
        .arg(out_dir)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = Killed(c.spawn().unwrap());
    wait_listening(port);
    child
}

fn peer(port: u16) -> Peer {
    let mut p: Peer = format!("PACS@127.0.0.1:{port}").parse().unwrap();
    p.timeout = Duration::from_secs(10);
    p
}

/// The kiosk's C-STORE sends the SR to dcmtk's storescp: success status, and the
/// file storescp wrote is the SR with the same SOP instance UID and content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_sr_is_stored_to_storescp_and_arrives_with_its_uid() {
    let dir = tempfile::tempdir().unwrap();
    let received = dir.path().join("pacs");
    std::fs::create_dir_all(&received).unwrap();
    let port = free_port();
    let _scp = storescp(&received, port, &[]);
    let object = sr::build(&exam()).unwrap();
    let uid = object.meta().media_storage_sop_instance_uid().to_string();
    let stored = node::client::store("CMR_KIOSK", &peer(port), &object)
        .await
        .unwrap();
    assert_eq!(stored.status, 0x0000);
    assert!(stored.round_trip < Duration::from_secs(10));
    let files: Vec<PathBuf> = std::fs::read_dir(&received)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let got = dicom_object::open_file(&files[0]).unwrap();
    let got_uid = got
        .element(tags::SOP_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .to_string();
    assert_eq!(got_uid, uid);
    // What arrived is still the SR a reader understands.
    let lines = pydicom(dir.path(), &files[0]);
    assert_eq!(field(&lines, "INJ").len(), 3, "{lines:#?}");
    assert_eq!(field(&lines, "PATIENT"), ["王^小明"]);
}

/// A PACS that does not take this SR class refuses the presentation context, and one
/// that refuses the association refuses it: both are errors with a reason, not a hang
/// or a success; nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_a_refused_store_returns_an_error_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let received = dir.path().join("pacs");
    std::fs::create_dir_all(&received).unwrap();
    let cfg = dir.path().join("mr-only.cfg");
    std::fs::write(
        &cfg,
        "[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LocalEndianExplicit\n\
         TransferSyntax2 = LittleEndianImplicit\n\n[[PresentationContexts]]\n[MROnly]\n\
         PresentationContext1 = MRImageStorage\\Uncompressed\n\n[[Profiles]]\n[MROnly]\n\
         PresentationContexts = MROnly\n",
    )
    .unwrap();
    let object = sr::build(&exam()).unwrap();

    let port = free_port();
    let cfg_arg = cfg.to_str().unwrap();
    let scp = storescp(&received, port, &["-xf", cfg_arg, "MROnly"]);
    let e = node::client::store("CMR_KIOSK", &peer(port), &object)
        .await
        .unwrap_err();
    assert!(matches!(e, NodeError::Refused(_)), "{e}");
    assert!(e.to_string().contains(sr::SOP_CLASS), "{e}");
    drop(scp);

    let port = free_port();
    let _scp = storescp(&received, port, &["--refuse"]);
    let e = node::client::store("CMR_KIOSK", &peer(port), &object)
        .await
        .unwrap_err();
    assert!(matches!(e, NodeError::Association(_)), "{e}");
    assert!(!e.to_string().trim().is_empty());
    assert_eq!(std::fs::read_dir(&received).unwrap().count(), 0);
}
