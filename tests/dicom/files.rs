//! DICOM file-level tests on generated files: character sets of Chinese names,
//! damaged files (reported one per file and skipped), and proof that pixel data
//! is never read.

use std::path::{Path, PathBuf};

use cmr_kiosk::dicom::classify::Rules;
use cmr_kiosk::dicom::header::{HeaderError, read_header};
use cmr_kiosk::dicom::scan::{SkipReason, scan_dir};
use cmr_kiosk::dicom::synth::{SynthName, SynthStudy, VendorStyle, standard_series, write_series};
use cmr_kiosk::domain::protocol::ProtocolStep;
use proptest::prelude::*;
use rstest::rstest;

fn one_file(dir: &Path, name: SynthName, with_pixels: bool) -> PathBuf {
    let mut st = SynthStudy::new(VendorStyle::UnitedImaging, "1.2.826.0.1.3680043.10.99");
    st.name = name;
    let mut s = standard_series(VendorStyle::UnitedImaging, ProtocolStep::Cine4ch, "1.2.3");
    s.phases = 1;
    write_series(dir, &st, &s, with_pixels)
        .unwrap()
        .pop()
        .unwrap()
}

fn gb(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

fn even(mut b: Vec<u8>) -> Vec<u8> {
    if b.len() % 2 == 1 {
        b.push(b' ');
    }
    b
}

#[rstest]
#[case::utf8("ISO_IR 192", "Zhang^San=张^三", "张三")]
#[case::gb18030("GB18030", "王^小明", "王小明")]
#[case::gb18030_rare_char("GB18030", "䶮^一", "䶮一")]
#[case::gbk("GBK", "李^四", "李四")]
fn chinese_names_decode(#[case] charset: &str, #[case] name: &str, #[case] shown: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = one_file(
        dir.path(),
        SynthName::Encoded {
            charset: vec![charset.into()],
            name: name.into(),
        },
        false,
    );
    let h = read_header(&f).unwrap();
    assert_eq!(h.identity.patient_name.as_deref(), Some(name));
    assert_eq!(h.identity.display_name().as_deref(), Some(shown));
    assert_eq!(h.character_set, vec![charset.to_string()]);
}

#[test]
fn iso_2022_ir_58_code_extension_decodes() {
    // "\ISO 2022 IR 58": default G0, GB2312 designated into G1 by ESC $ ) A.
    let mut bytes = b"Zhang^San=".to_vec();
    bytes.extend_from_slice(b"\x1b$)A");
    bytes.extend(gb("张"));
    bytes.push(b'^');
    bytes.extend_from_slice(b"\x1b$)A");
    bytes.extend(gb("三"));
    bytes.push(b'=');
    let dir = tempfile::tempdir().unwrap();
    let f = one_file(
        dir.path(),
        SynthName::Raw {
            charset: vec![String::new(), "ISO 2022 IR 58".into()],
            bytes: even(bytes),
        },
        false,
    );
    let h = read_header(&f).unwrap();
    assert_eq!(h.identity.patient_name.as_deref(), Some("Zhang^San=张^三="));
    assert_eq!(h.identity.display_name().as_deref(), Some("张三"));
}

#[test]
fn iso_2022_ir_58_single_value_has_its_escapes_removed() {
    let mut bytes = b"\x1b$)A".to_vec();
    bytes.extend(gb("王"));
    bytes.push(b'^');
    bytes.extend_from_slice(b"\x1b$)A");
    bytes.extend(gb("五"));
    let dir = tempfile::tempdir().unwrap();
    let f = one_file(
        dir.path(),
        SynthName::Raw {
            charset: vec!["ISO 2022 IR 58".into()],
            bytes: even(bytes),
        },
        false,
    );
    let h = read_header(&f).unwrap();
    assert_eq!(h.identity.patient_name.as_deref(), Some("王^五"));
}

#[test]
fn undeclared_gb18030_bytes_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let f = one_file(
        dir.path(),
        SynthName::Raw {
            charset: vec![],
            bytes: even(encoding_rs::GB18030.encode("赵^六").0.into_owned()),
        },
        false,
    );
    let h = read_header(&f).unwrap();
    assert_eq!(h.identity.patient_name.as_deref(), Some("赵^六"));
}

// ------------------------------------------------------------ damaged files

fn valid_file(dir: &Path, with_pixels: bool) -> PathBuf {
    one_file(
        dir,
        SynthName::Encoded {
            charset: vec!["ISO_IR 192".into()],
            name: "Test^Patient".into(),
        },
        with_pixels,
    )
}

/// Byte offset where the Pixel Data element (7FE0,0010) starts.
fn pixel_data_offset(bytes: &[u8]) -> usize {
    bytes
        .windows(4)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00])
        .expect("pixel data tag")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn damaged_files_are_reported_one_per_file_and_skipped() {
    let src = tempfile::tempdir().unwrap();
    let good = std::fs::read(valid_file(src.path(), true)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Two good files of one series.
    let mut st = SynthStudy::new(VendorStyle::Siemens, "1.2.9");
    st.name = SynthName::Encoded {
        charset: vec!["ISO_IR 192".into()],
        name: "Good^File".into(),
    };
    let mut s = standard_series(VendorStyle::Siemens, ProtocolStep::Cine2ch, "1.2.9");
    s.phases = 2;
    write_series(dir.path(), &st, &s, false).unwrap();

    write(dir.path(), "empty.dcm", b"");
    write(dir.path(), "garbage.dcm", &[0x5Au8; 700]);
    write(dir.path(), "notes.txt", b"this is not an image\n");
    // Raw data set: meta group dropped.
    let meta_len = u32::from_le_bytes([good[140], good[141], good[142], good[143]]) as usize;
    write(dir.path(), "no_meta.dcm", &good[144 + meta_len..]);
    // Truncated inside the data set header (well before pixel data).
    write(dir.path(), "truncated.dcm", &good[..144 + meta_len + 200]);
    // Truncated inside the meta group.
    write(dir.path(), "truncated_meta.dcm", &good[..150]);
    // Wrong VR: Rows (0028,0010) written as DS text.
    {
        let tmp = tempfile::tempdir().unwrap();
        let f = valid_file(tmp.path(), false);
        let mut obj = dicom_object::open_file(&f).unwrap();
        obj.put(dicom_core::DataElement::new(
            dicom_dictionary_std::tags::ROWS,
            dicom_core::VR::DS,
            dicom_core::PrimitiveValue::from("abc"),
        ));
        obj.write_to_file(dir.path().join("wrong_vr.dcm")).unwrap();
    }

    let r = scan_dir(dir.path(), &Rules::builtin()).unwrap();
    let reason = |name: &str| {
        r.skipped
            .iter()
            .find(|s| s.file.file_name().and_then(|n| n.to_str()) == Some(name))
            .map(|s| s.reason)
    };
    assert_eq!(reason("empty.dcm"), Some(SkipReason::NotDicom));
    assert_eq!(reason("garbage.dcm"), Some(SkipReason::NotDicom));
    assert_eq!(reason("notes.txt"), Some(SkipReason::NotDicom));
    assert_eq!(reason("no_meta.dcm"), Some(SkipReason::MissingMeta));
    assert_eq!(reason("truncated.dcm"), Some(SkipReason::Truncated));
    assert!(matches!(
        reason("truncated_meta.dcm"),
        Some(SkipReason::Truncated | SkipReason::BadMeta)
    ));
    assert_eq!(reason("wrong_vr.dcm"), Some(SkipReason::WrongVr));
    assert_eq!(r.skipped.len(), 7, "{:#?}", r.skipped);
    // Every message names its file; the wrong-VR one names the tag.
    for s in &r.skipped {
        let name = s.file.file_name().unwrap().to_str().unwrap();
        assert!(s.detail.contains(name), "{}", s.detail);
    }
    let wrong = r
        .skipped
        .iter()
        .find(|s| s.reason == SkipReason::WrongVr)
        .unwrap();
    assert!(wrong.detail.contains("(0028,0010)"), "{}", wrong.detail);
    // The scan went on: the good series is there and classified.
    assert_eq!(r.series.len(), 1);
    assert_eq!(r.series[0].summary.files, 2);
    assert_eq!(
        r.series[0].classification.step(),
        Some(ProtocolStep::Cine2ch)
    );
    assert_eq!(r.files_seen, 9);
    assert_eq!(r.files_read, 2);
    assert_eq!(r.exit_code(), 2);
    let table = cmr_kiosk::dicom::render_table(&r);
    assert!(table.contains("Skipped files:"));
    assert!(table.contains("MissingMeta"));
}

#[test]
fn header_errors_carry_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "x.dcm", b"hello");
    let e = read_header(&p).unwrap_err();
    assert!(matches!(e, HeaderError::NotDicom { .. }));
    assert_eq!(e.file(), p.as_path());
    let missing = dir.path().join("absent.dcm");
    assert!(matches!(read_header(&missing), Err(HeaderError::Io { .. })));
}

#[test]
fn pixel_data_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = valid_file(dir.path(), true);
    let bytes = std::fs::read(&f).unwrap();
    let px = pixel_data_offset(&bytes);
    // Pixel Data header claims 256×256×2 bytes; keep only 10 of them.
    let cut = write(dir.path(), "cut_pixels.dcm", &bytes[..px + 12 + 10]);
    // Pixel Data value overwritten with garbage and a length that lies.
    let mut lying = bytes.clone();
    lying[px + 8..px + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let lie = write(dir.path(), "lying_pixels.dcm", &lying);
    for p in [&f, &cut, &lie] {
        let h = read_header(p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.geometry.rows, Some(256));
    }
    // The whole file's size is dominated by the pixel data that was not read.
    assert!(bytes.len() > 131_072);
}

/// A valid file's bytes, generated once for the property test.
fn valid_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::read(valid_file(dir.path(), false)).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// No truncation point or flipped byte makes the reader panic.
    #[test]
    fn damaged_headers_never_panic(cut in 0usize..2000, flip in 0usize..2000, byte in any::<u8>()) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = valid_bytes().to_vec();
        if flip < bytes.len() {
            bytes[flip] = byte;
        }
        bytes.truncate(cut.min(bytes.len()));
        let p = write(dir.path(), "d.dcm", &bytes);
        let _ = read_header(&p);
    }
}
