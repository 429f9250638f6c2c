//! Synthetic MR exams written as DICOM files, for tests, benchmarks and the
//! simulator: four vendors' naming styles, every protocol step of the standard
//! with compliant geometry, classic (one file per image) or enhanced
//! multi-frame objects, optional real-size pixel data.
//!
//! Nothing here is used when reading real files.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use thiserror::Error;

use crate::domain::protocol::ProtocolStep;

/// MR Image Storage.
pub const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
/// Enhanced MR Image Storage.
pub const ENHANCED_MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4.1";
/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// Writing a synthetic file failed.
#[derive(Debug, Error)]
#[error("{file}: cannot write synthetic DICOM: {message}")]
pub struct SynthError {
    /// File.
    pub file: PathBuf,
    /// What failed.
    pub message: String,
}

/// Axial plane: rows run left, columns run posterior.
pub const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
/// Sagittal plane.
pub const SAGITTAL: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
/// Coronal plane.
pub const CORONAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
/// A double-oblique cardiac plane: columns run A-P, rows mostly L-R.
pub const OBLIQUE: [f64; 6] = [0.8, 0.0, 0.6, 0.0, 1.0, 0.0];

/// Naming style of a vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorStyle {
    /// Siemens Healthineers.
    Siemens,
    /// GE HealthCare.
    Ge,
    /// Philips.
    Philips,
    /// United Imaging Healthcare.
    UnitedImaging,
}

impl VendorStyle {
    /// All styles.
    pub const ALL: [VendorStyle; 4] = [
        VendorStyle::Siemens,
        VendorStyle::Ge,
        VendorStyle::Philips,
        VendorStyle::UnitedImaging,
    ];

    /// Manufacturer (0008,0070) as the vendor writes it.
    pub fn manufacturer(self) -> &'static str {
        match self {
            VendorStyle::Siemens => "SIEMENS",
            VendorStyle::Ge => "GE MEDICAL SYSTEMS",
            VendorStyle::Philips => "Philips Medical Systems",
            VendorStyle::UnitedImaging => "UIH",
        }
    }

    /// A model of that vendor.
    pub fn model(self) -> &'static str {
        match self {
            VendorStyle::Siemens => "MAGNETOM Skyra",
            VendorStyle::Ge => "SIGNA Artist",
            VendorStyle::Philips => "Ingenia",
            VendorStyle::UnitedImaging => "uMR 780",
        }
    }

    /// Field strength (T) as written (vendors write 1.494, 2.89, 3 ...).
    pub fn field_strength(self) -> f64 {
        match self {
            VendorStyle::Siemens => 2.89362,
            VendorStyle::Ge => 1.5,
            VendorStyle::Philips => 1.494,
            VendorStyle::UnitedImaging => 3.0,
        }
    }

    /// (series description, protocol name, sequence name) for a step.
    pub fn names(self, step: ProtocolStep) -> (&'static str, &'static str, &'static str) {
        use ProtocolStep::*;
        match self {
            VendorStyle::Siemens => match step {
                Localiser => ("localizer", "localizer", "*fl2d1"),
                BlackBlood => ("haste_db_tra", "haste_db_tra", "*h2d1_256"),
                BrightBlood => ("trufi_tra_multi", "trufi_tra_multi", "*tfi2d1_11"),
                Cine2ch => ("cine_trufi_retro_2ch", "cine_trufi_retro_2ch", "*tfi2d1_15"),
                Cine4ch => ("cine_trufi_retro_4ch", "cine_trufi_retro_4ch", "*tfi2d1_15"),
                CineSax => ("tf2d15_retro_iPAT_SA", "tf2d15_retro_iPAT_SA", "*tfi2d1_15"),
                CineLvot => ("cine_trufi_retro_3ch", "cine_trufi_retro_3ch", "*tfi2d1_15"),
                CineLvotCoronal => ("cine_trufi_LVOT_cor", "cine_trufi_LVOT_cor", "*tfi2d1_15"),
                CineRvot => ("cine_trufi_RVOT", "cine_trufi_RVOT", "*tfi2d1_15"),
                StressPerfusion => ("tfl_perf_stress_MOCO", "tfl_perf_stress", "*tfl2d1_16"),
                RestPerfusion => ("tfl_perf_rest_MOCO", "tfl_perf_rest", "*tfl2d1_16"),
                Lge => ("de_tfl_psir_sa", "de_tfl_psir_sa", "*tfl2d1r"),
                Flow => ("flow_ao_tp", "flow_ao_tp", "*fl2d1_v150in"),
                T1Map => ("MOLLI_5(3)3_T1map", "MOLLI_5(3)3", "*tfi2d1_12"),
                T2Map => ("T2map_trufi", "T2map_trufi", "*tfi2d1_8"),
                T2StarMap => ("t2star_gre_me_bh", "t2star_gre_me_bh", "*fl2d8"),
                T1Weighted => ("t1_tse_db_tra", "t1_tse_db_tra", "*tse2d1_3"),
                T2Weighted => ("t2_tirm_tra_db", "t2_tirm_tra_db", "*tir2d1_15"),
            },
            VendorStyle::Ge => match step {
                Localiser => ("3-Plane Loc", "CARDIAC", "fgre"),
                BlackBlood => ("DB FSE AX", "CARDIAC", "fse"),
                BrightBlood => ("FIESTA AX stack", "CARDIAC", "fiesta"),
                Cine2ch => ("FIESTA CINE 2CH", "CARDIAC", "fiestacine"),
                Cine4ch => ("FIESTA CINE 4CH", "CARDIAC", "fiestacine"),
                CineSax => ("FIESTA CINE SAX", "CARDIAC", "fiestacine"),
                CineLvot => ("FIESTA CINE LVOT", "CARDIAC", "fiestacine"),
                CineLvotCoronal => ("FIESTA CINE LVOT COR", "CARDIAC", "fiestacine"),
                CineRvot => ("FIESTA CINE RVOT", "CARDIAC", "fiestacine"),
                StressPerfusion => ("FGRE TIME COURSE STRESS", "CARDIAC", "fgretc"),
                RestPerfusion => ("FGRE TIME COURSE REST", "CARDIAC", "fgretc"),
                Lge => ("MDE PSIR SAX", "CARDIAC", "fgre"),
                Flow => ("2D FAST PC AAO", "CARDIAC", "fastpc"),
                T1Map => ("T1 MAPPING MOLLI", "CARDIAC", "fiesta"),
                T2Map => ("T2 MAP", "CARDIAC", "t2map"),
                T2StarMap => ("STAR MAP", "CARDIAC", "mfgre"),
                T1Weighted => ("T1 FSE DB AX", "CARDIAC", "fse"),
                T2Weighted => ("T2 STIR SAX", "CARDIAC", "fse"),
            },
            VendorStyle::Philips => match step {
                Localiser => ("Survey_BH", "Survey_BH", "TFE"),
                BlackBlood => ("BB_TSE_tra", "BB_TSE_tra", "TSE"),
                BrightBlood => ("BTFE_M2D_tra", "BTFE_M2D_tra", "BTFE"),
                Cine2ch => ("CINE_2CH_BTFE_BH", "CINE_2CH_BTFE_BH", "BTFE"),
                Cine4ch => ("CINE_4CH_BTFE_BH", "CINE_4CH_BTFE_BH", "BTFE"),
                CineSax => ("CINE_SA_BTFE_BH", "CINE_SA_BTFE_BH", "BTFE"),
                CineLvot => ("CINE_3CH_BTFE", "CINE_3CH_BTFE", "BTFE"),
                CineLvotCoronal => ("CINE_LVOT_COR_BTFE", "CINE_LVOT_COR_BTFE", "BTFE"),
                CineRvot => ("CINE_RVOT_BTFE", "CINE_RVOT_BTFE", "BTFE"),
                StressPerfusion => ("Perfusion_stress_SA", "Perfusion_stress_SA", "TFE"),
                RestPerfusion => ("Perfusion_rest_SA", "Perfusion_rest_SA", "TFE"),
                Lge => ("IR_TFE_LGE_SA", "IR_TFE_LGE_SA", "TFE"),
                Flow => ("Q-flow_AAo", "Q-flow_AAo", "FFE"),
                T1Map => ("T1_MOLLI", "T1_MOLLI", "TFE"),
                T2Map => ("T2prep_map", "T2prep_map", "TFE"),
                T2StarMap => ("T2*_mFFE", "T2*_mFFE", "FFE"),
                T1Weighted => ("T1W_TSE_BB_tra", "T1W_TSE_BB_tra", "TSE"),
                T2Weighted => ("T2W_STIR_BB_SA", "T2W_STIR_BB_SA", "TSE"),
            },
            VendorStyle::UnitedImaging => match step {
                Localiser => ("localizer", "localizer", "gre"),
                BlackBlood => ("fse_bb_tra", "fse_bb_tra", "fse"),
                BrightBlood => ("bssfp_bright_blood_tra", "bssfp_bright_blood_tra", "bssfp"),
                Cine2ch => ("cine_bSSFP_2ch", "cine_bSSFP_2ch", "bssfp"),
                Cine4ch => ("cine_bSSFP_4ch", "cine_bSSFP_4ch", "bssfp"),
                CineSax => ("cine_bSSFP_sax", "cine_bSSFP_sax", "bssfp"),
                CineLvot => ("cine_bSSFP_lvot", "cine_bSSFP_lvot", "bssfp"),
                CineLvotCoronal => ("cine_bSSFP_lvot_cor", "cine_bSSFP_lvot_cor", "bssfp"),
                CineRvot => ("cine_bSSFP_rvot", "cine_bSSFP_rvot", "bssfp"),
                StressPerfusion => ("perf_stress_sr_gre", "perf_stress_sr_gre", "gre"),
                RestPerfusion => ("perf_rest_sr_gre", "perf_rest_sr_gre", "gre"),
                Lge => ("psir_lge_sax", "psir_lge_sax", "gre"),
                Flow => ("pc_flow_ao", "pc_flow_ao", "gre"),
                T1Map => ("t1map_molli", "t1map_molli", "bssfp"),
                T2Map => ("t2map_bssfp", "t2map_bssfp", "bssfp"),
                T2StarMap => ("t2star_map_gre", "t2star_map_gre", "gre"),
                T1Weighted => ("t1w_fse_bb_tra", "t1w_fse_bb_tra", "fse"),
                T2Weighted => ("t2w_fse_bb_sax", "t2w_fse_bb_sax", "fse"),
            },
        }
    }
}

/// How the patient's name is written.
#[derive(Debug, Clone, PartialEq)]
pub enum SynthName {
    /// Written with the given Specific Character Set values (dicom-rs encodes it).
    Encoded {
        /// Specific Character Set values, e.g. `["GB18030"]`.
        charset: Vec<String>,
        /// The name.
        name: String,
    },
    /// Raw value bytes under the given character set values (e.g. ISO 2022 escapes).
    Raw {
        /// Specific Character Set values.
        charset: Vec<String>,
        /// The value bytes (even length).
        bytes: Vec<u8>,
    },
}

/// Study-level attributes of a synthetic exam.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthStudy {
    /// Vendor style (manufacturer, model, field).
    pub vendor: VendorStyle,
    /// Patient name.
    pub name: SynthName,
    /// Patient ID.
    pub patient_id: String,
    /// Institution.
    pub institution: String,
    /// Study Instance UID.
    pub study_uid: String,
    /// Study start.
    pub start: NaiveDateTime,
}

impl SynthStudy {
    /// A study for a vendor with an ASCII name.
    pub fn new(vendor: VendorStyle, uid_root: &str) -> SynthStudy {
        SynthStudy {
            vendor,
            name: SynthName::Encoded {
                charset: vec!["ISO_IR 192".into()],
                name: "Zhang^San".into(),
            },
            patient_id: "P0001".into(),
            institution: "Fuwai Hospital".into(),
            study_uid: format!("{uid_root}.1"),
            start: NaiveDate::from_ymd_opt(2025, 3, 14)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
        }
    }
}

/// One synthetic series.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSeries {
    /// Series number.
    pub number: i32,
    /// Series Instance UID.
    pub uid: String,
    /// Series description.
    pub description: String,
    /// Protocol name.
    pub protocol: String,
    /// Sequence name.
    pub sequence_name: String,
    /// Planes (one stack each; a localiser has three).
    pub planes: Vec<[f64; 6]>,
    /// Slices per plane.
    pub slices: u32,
    /// Phases (or dynamics) per slice.
    pub phases: u32,
    /// Slice thickness (mm).
    pub thickness_mm: f64,
    /// Centre-to-centre spacing (mm).
    pub spacing_mm: f64,
    /// Rows = columns.
    pub matrix: u16,
    /// Pixel spacing (mm).
    pub pixel_mm: f64,
    /// `ROW` or `COL`.
    pub phase_dir: &'static str,
    /// Minutes after the study start.
    pub start_min: i64,
    /// Whole-body SAR written to (0018,1316), W/kg (a normal-mode value by default).
    pub sar_w_kg: f64,
    /// Image Type (0008,0008) values.
    pub image_type: Vec<String>,
}

/// Compliant geometry for each step (clause 3.1 ranges), in the vendor's naming.
pub fn standard_series(vendor: VendorStyle, step: ProtocolStep, uid_root: &str) -> SynthSeries {
    use ProtocolStep::*;
    let (d, p, s) = vendor.names(step);
    let idx = ProtocolStep::ALL
        .iter()
        .position(|x| *x == step)
        .unwrap_or(0) as i32;
    // (planes, slices, phases, thickness, spacing, matrix, pixel, phase dir)
    let (planes, slices, phases, thk, sp, m, px, pe) = match step {
        Localiser => (
            vec![AXIAL, SAGITTAL, CORONAL],
            3,
            1,
            8.0,
            10.0,
            256,
            1.5,
            "COL",
        ),
        // Static imaging in two orientations (3.1.1.1).
        BlackBlood => (vec![AXIAL, CORONAL], 12, 1, 6.0, 8.0, 256, 1.328125, "COL"),
        BrightBlood | T1Weighted => (vec![AXIAL], 12, 1, 6.0, 8.0, 256, 1.328125, "COL"),
        Cine2ch => (vec![OBLIQUE], 1, 5, 6.0, 6.0, 256, 1.328125, "COL"),
        Cine4ch | CineLvot => (vec![OBLIQUE], 1, 5, 6.0, 6.0, 256, 1.25, "COL"),
        CineSax => (vec![OBLIQUE], 9, 5, 8.0, 10.0, 256, 1.25, "COL"),
        CineLvotCoronal | CineRvot => (vec![OBLIQUE], 1, 5, 6.0, 6.0, 256, 1.328125, "ROW"),
        StressPerfusion | RestPerfusion => (vec![OBLIQUE], 3, 4, 8.0, 18.0, 192, 2.34375, "COL"),
        Lge => (vec![OBLIQUE], 9, 1, 8.0, 8.0, 256, 1.328125, "ROW"),
        Flow => (vec![OBLIQUE], 1, 6, 6.0, 6.0, 192, 1.875, "COL"),
        T1Map | T2Map | T2StarMap => (vec![OBLIQUE], 1, 1, 8.0, 8.0, 192, 1.875, "COL"),
        T2Weighted => (vec![OBLIQUE], 3, 1, 8.0, 18.0, 256, 1.328125, "COL"),
    };
    SynthSeries {
        number: idx + 1,
        uid: format!("{uid_root}.2.{}", idx + 1),
        description: d.into(),
        protocol: p.into(),
        sequence_name: s.into(),
        planes,
        slices,
        phases,
        thickness_mm: thk,
        spacing_mm: sp,
        matrix: m,
        pixel_mm: px,
        phase_dir: pe,
        start_min: i64::from(idx) * 3,
        sar_w_kg: 0.8,
        // Philips marks its real-valued (PSIR) IR reconstruction in the image type.
        image_type: if vendor == VendorStyle::Philips && step == Lge {
            vec![
                "ORIGINAL".into(),
                "PRIMARY".into(),
                "R_IR".into(),
                "R".into(),
            ]
        } else {
            vec!["ORIGINAL".into(), "PRIMARY".into()]
        },
    }
}

fn put_str(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn put_strs(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: &[String]) {
    o.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(v.to_vec().into()),
    ));
}

fn ds(v: &[f64]) -> Vec<String> {
    v.iter().map(|x| format!("{x}")).collect()
}

fn seq(items: Vec<InMemDicomObject>) -> dicom_core::value::Value<InMemDicomObject> {
    DataSetSequence::from(items).into()
}

fn item(tag: Tag, vr: VR, values: &[String]) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put_strs(&mut o, tag, vr, values);
    o
}

fn dt(t: NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S%.6f").to_string()
}

fn common(study: &SynthStudy, series: &SynthSeries) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    let (charset, name_value) = match &study.name {
        SynthName::Encoded { charset, name } => (charset.clone(), Ok(name.clone())),
        SynthName::Raw { charset, bytes } => (charset.clone(), Err(bytes.clone())),
    };
    put_strs(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, &charset);
    match name_value {
        Ok(n) => put_str(&mut o, tags::PATIENT_NAME, VR::PN, &n),
        Err(b) => {
            o.put(DataElement::new(
                tags::PATIENT_NAME,
                VR::PN,
                PrimitiveValue::from(b),
            ));
        }
    }
    let v = study.vendor;
    let start = study.start + TimeDelta::minutes(series.start_min);
    for (tag, vr, val) in [
        (tags::PATIENT_ID, VR::LO, study.patient_id.clone()),
        (tags::PATIENT_SEX, VR::CS, "F".into()),
        (tags::PATIENT_AGE, VR::AS, "054Y".into()),
        (tags::PATIENT_WEIGHT, VR::DS, "62".into()),
        (tags::INSTITUTION_NAME, VR::LO, study.institution.clone()),
        (tags::STUDY_INSTANCE_UID, VR::UI, study.study_uid.clone()),
        (tags::SERIES_INSTANCE_UID, VR::UI, series.uid.clone()),
        (tags::MODALITY, VR::CS, "MR".into()),
        (
            tags::STUDY_DATE,
            VR::DA,
            study.start.format("%Y%m%d").to_string(),
        ),
        (
            tags::STUDY_TIME,
            VR::TM,
            study.start.format("%H%M%S").to_string(),
        ),
        (
            tags::SERIES_DATE,
            VR::DA,
            start.format("%Y%m%d").to_string(),
        ),
        (
            tags::SERIES_TIME,
            VR::TM,
            start.format("%H%M%S").to_string(),
        ),
        (tags::STUDY_DESCRIPTION, VR::LO, "CMR^heart".into()),
        (tags::MANUFACTURER, VR::LO, v.manufacturer().into()),
        (tags::MANUFACTURER_MODEL_NAME, VR::LO, v.model().into()),
        (tags::SOFTWARE_VERSIONS, VR::LO, "syngo MR XA31".into()),
        (
            tags::MAGNETIC_FIELD_STRENGTH,
            VR::DS,
            format!("{}", v.field_strength()),
        ),
        (tags::SERIES_NUMBER, VR::IS, series.number.to_string()),
        (tags::SERIES_DESCRIPTION, VR::LO, series.description.clone()),
        (tags::PROTOCOL_NAME, VR::LO, series.protocol.clone()),
        (tags::MR_ACQUISITION_TYPE, VR::CS, "2D".into()),
        (tags::REPETITION_TIME, VR::DS, "3.2".into()),
        (tags::ECHO_TIME, VR::DS, "1.4".into()),
        (tags::SAR, VR::DS, format!("{}", series.sar_w_kg)),
        (tags::FLIP_ANGLE, VR::DS, "50".into()),
        (tags::HEART_RATE, VR::IS, "72".into()),
        (
            tags::IN_PLANE_PHASE_ENCODING_DIRECTION,
            VR::CS,
            series.phase_dir.into(),
        ),
        (
            tags::RECONSTRUCTION_DIAMETER,
            VR::DS,
            format!("{}", f64::from(series.matrix) * series.pixel_mm),
        ),
    ] {
        put_str(&mut o, tag, vr, &val);
    }
    put_strs(
        &mut o,
        tags::SCANNING_SEQUENCE,
        VR::CS,
        &["GR".into(), "IR".into()],
    );
    o.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(series.matrix),
    ));
    o.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(series.matrix),
    ));
    for (tag, vr, val) in [
        (tags::BITS_ALLOCATED, VR::US, 16u16),
        (tags::BITS_STORED, VR::US, 12),
        (tags::HIGH_BIT, VR::US, 11),
        (tags::PIXEL_REPRESENTATION, VR::US, 0),
        (tags::SAMPLES_PER_PIXEL, VR::US, 1),
    ] {
        o.put(DataElement::new(tag, vr, PrimitiveValue::from(val)));
    }
    put_str(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    o
}

fn position(plane: &[f64; 6], k: u32, spacing: f64) -> [f64; 3] {
    let n = crate::dicom::series::normal(plane).unwrap_or([0.0, 0.0, 1.0]);
    let d = f64::from(k) * spacing - 40.0;
    [-170.0 + n[0] * d, -170.0 + n[1] * d, 20.0 + n[2] * d]
}

fn write(
    obj: InMemDicomObject,
    path: &Path,
    sop_class: &str,
    sop_uid: &str,
) -> Result<(), SynthError> {
    let err = |m: String| SynthError {
        file: path.to_path_buf(),
        message: m,
    };
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(sop_uid)
                .transfer_syntax(EXPLICIT_VR_LE),
        )
        .map_err(|e| err(e.to_string()))?;
    file.write_to_file(path).map_err(|e| err(e.to_string()))
}

fn pixel_data(matrix: u16, frames: u32) -> DataElement<InMemDicomObject> {
    let n = usize::from(matrix) * usize::from(matrix) * 2 * frames as usize;
    DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(vec![0u8; n]))
}

/// Write a series as classic MR files (one per image) into `dir`; returns the paths.
pub fn write_series(
    dir: &Path,
    study: &SynthStudy,
    series: &SynthSeries,
    with_pixels: bool,
) -> Result<Vec<PathBuf>, SynthError> {
    let mut out = Vec::new();
    let mut instance = 0u32;
    for plane in &series.planes {
        for k in 0..series.slices {
            for ph in 0..series.phases {
                instance += 1;
                let mut o = common(study, series);
                let sop = format!("{}.{instance}", series.uid);
                put_str(&mut o, tags::SOP_CLASS_UID, VR::UI, MR_IMAGE_STORAGE);
                put_str(&mut o, tags::SOP_INSTANCE_UID, VR::UI, &sop);
                put_str(&mut o, tags::INSTANCE_NUMBER, VR::IS, &instance.to_string());
                put_strs(&mut o, tags::IMAGE_TYPE, VR::CS, &series.image_type);
                put_str(&mut o, tags::SEQUENCE_NAME, VR::SH, &series.sequence_name);
                put_str(
                    &mut o,
                    tags::SLICE_THICKNESS,
                    VR::DS,
                    &series.thickness_mm.to_string(),
                );
                put_str(
                    &mut o,
                    tags::SPACING_BETWEEN_SLICES,
                    VR::DS,
                    &series.spacing_mm.to_string(),
                );
                put_strs(
                    &mut o,
                    tags::PIXEL_SPACING,
                    VR::DS,
                    &ds(&[series.pixel_mm, series.pixel_mm]),
                );
                put_strs(&mut o, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, &ds(plane));
                put_strs(
                    &mut o,
                    tags::IMAGE_POSITION_PATIENT,
                    VR::DS,
                    &ds(&position(plane, k, series.spacing_mm)),
                );
                put_str(
                    &mut o,
                    tags::TRIGGER_TIME,
                    VR::DS,
                    &(f64::from(ph) * 40.0).to_string(),
                );
                put_str(
                    &mut o,
                    tags::CARDIAC_NUMBER_OF_IMAGES,
                    VR::IS,
                    &series.phases.to_string(),
                );
                let t = study.start
                    + TimeDelta::minutes(series.start_min)
                    + TimeDelta::seconds(i64::from(k) * 10 + i64::from(ph));
                put_str(
                    &mut o,
                    tags::ACQUISITION_DATE,
                    VR::DA,
                    &t.format("%Y%m%d").to_string(),
                );
                put_str(
                    &mut o,
                    tags::ACQUISITION_TIME,
                    VR::TM,
                    &t.format("%H%M%S%.6f").to_string(),
                );
                if with_pixels {
                    o.put(pixel_data(series.matrix, 1));
                }
                let path = dir.join(format!("s{:03}_{instance:05}.dcm", series.number));
                write(o, &path, MR_IMAGE_STORAGE, &sop)?;
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// Write a series as one Enhanced MR multi-frame file (first plane only).
pub fn write_enhanced(
    dir: &Path,
    study: &SynthStudy,
    series: &SynthSeries,
    with_pixels: bool,
) -> Result<PathBuf, SynthError> {
    let plane = series.planes.first().copied().unwrap_or(OBLIQUE);
    let mut o = common(study, series);
    // Enhanced objects keep per-frame attributes in functional groups only.
    for t in [
        tags::REPETITION_TIME,
        tags::FLIP_ANGLE,
        tags::IN_PLANE_PHASE_ENCODING_DIRECTION,
    ] {
        o.remove_element(t);
    }
    let sop = format!("{}.1", series.uid);
    put_str(
        &mut o,
        tags::SOP_CLASS_UID,
        VR::UI,
        ENHANCED_MR_IMAGE_STORAGE,
    );
    put_str(&mut o, tags::SOP_INSTANCE_UID, VR::UI, &sop);
    put_str(
        &mut o,
        tags::PULSE_SEQUENCE_NAME,
        VR::SH,
        &series.sequence_name,
    );
    let frames = series.slices * series.phases;
    put_str(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string());

    let mut shared = InMemDicomObject::new_empty();
    let mut pm = InMemDicomObject::new_empty();
    put_strs(
        &mut pm,
        tags::PIXEL_SPACING,
        VR::DS,
        &ds(&[series.pixel_mm, series.pixel_mm]),
    );
    put_str(
        &mut pm,
        tags::SLICE_THICKNESS,
        VR::DS,
        &series.thickness_mm.to_string(),
    );
    put_str(
        &mut pm,
        tags::SPACING_BETWEEN_SLICES,
        VR::DS,
        &series.spacing_mm.to_string(),
    );
    shared.put(DataElement::new(
        tags::PIXEL_MEASURES_SEQUENCE,
        VR::SQ,
        seq(vec![pm]),
    ));
    shared.put(DataElement::new(
        tags::PLANE_ORIENTATION_SEQUENCE,
        VR::SQ,
        seq(vec![item(
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            &ds(&plane),
        )]),
    ));
    let mut fov = InMemDicomObject::new_empty();
    put_str(
        &mut fov,
        tags::IN_PLANE_PHASE_ENCODING_DIRECTION,
        VR::CS,
        series.phase_dir,
    );
    put_str(&mut fov, tags::PERCENT_PHASE_FIELD_OF_VIEW, VR::DS, "87.5");
    shared.put(DataElement::new(
        tags::MRFOV_GEOMETRY_SEQUENCE,
        VR::SQ,
        seq(vec![fov]),
    ));
    let mut timing = InMemDicomObject::new_empty();
    timing.put(DataElement::new(
        tags::REPETITION_TIME,
        VR::FD,
        PrimitiveValue::from(3.1f64),
    ));
    timing.put(DataElement::new(
        tags::FLIP_ANGLE,
        VR::FD,
        PrimitiveValue::from(55.0f64),
    ));
    shared.put(DataElement::new(
        tags::MR_TIMING_AND_RELATED_PARAMETERS_SEQUENCE,
        VR::SQ,
        seq(vec![timing]),
    ));

    let mut per_frame = Vec::new();
    for k in 0..series.slices {
        for ph in 0..series.phases {
            let mut f = InMemDicomObject::new_empty();
            f.put(DataElement::new(
                tags::PLANE_POSITION_SEQUENCE,
                VR::SQ,
                seq(vec![item(
                    tags::IMAGE_POSITION_PATIENT,
                    VR::DS,
                    &ds(&position(&plane, k, series.spacing_mm)),
                )]),
            ));
            let mut cs = InMemDicomObject::new_empty();
            cs.put(DataElement::new(
                tags::NOMINAL_CARDIAC_TRIGGER_DELAY_TIME,
                VR::FD,
                PrimitiveValue::from(f64::from(ph) * 40.0),
            ));
            f.put(DataElement::new(
                tags::CARDIAC_SYNCHRONIZATION_SEQUENCE,
                VR::SQ,
                seq(vec![cs]),
            ));
            let t = study.start
                + TimeDelta::minutes(series.start_min)
                + TimeDelta::seconds(i64::from(k) * 10 + i64::from(ph));
            f.put(DataElement::new(
                tags::FRAME_CONTENT_SEQUENCE,
                VR::SQ,
                seq(vec![item(
                    tags::FRAME_ACQUISITION_DATE_TIME,
                    VR::DT,
                    &[dt(t)],
                )]),
            ));
            per_frame.push(f);
        }
    }
    o.put(DataElement::new(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        VR::SQ,
        seq(vec![shared]),
    ));
    o.put(DataElement::new(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        VR::SQ,
        seq(per_frame),
    ));
    if with_pixels {
        o.put(pixel_data(series.matrix, frames));
    }
    let path = dir.join(format!("enh_s{:03}.dcm", series.number));
    write(o, &path, ENHANCED_MR_IMAGE_STORAGE, &sop)?;
    Ok(path)
}

/// Write a whole exam: every protocol step in the vendor's naming, compliant geometry.
pub fn write_standard_exam(
    dir: &Path,
    study: &SynthStudy,
    with_pixels: bool,
) -> Result<Vec<PathBuf>, SynthError> {
    let root = study.study_uid.trim_end_matches(".1").to_string();
    let mut out = Vec::new();
    for step in ProtocolStep::ALL {
        let s = standard_series(study.vendor, step, &root);
        out.extend(write_series(dir, study, &s, with_pixels)?);
    }
    Ok(out)
}
