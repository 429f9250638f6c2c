//! Crafted hostile DICOM files and folders, made by the tests themselves: deep
//! nesting, impossible element lengths, a valid header followed by gigabytes of
//! zeros (sparse), symbolic-link loops, and every truncation of a small valid file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cmr_kiosk::dicom::synth::{SynthStudy, VendorStyle, standard_series, write_series};
use cmr_kiosk::domain::protocol::ProtocolStep;

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Preamble, `DICM` and a file meta group naming explicit VR little endian.
pub fn preamble_and_meta() -> Vec<u8> {
    let mut f = vec![0u8; 128];
    f.extend_from_slice(b"DICM");
    let ts = b"1.2.840.10008.1.2.1\0";
    f.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    f.extend_from_slice(&(8 + ts.len() as u32).to_le_bytes());
    f.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
    f.extend_from_slice(&(ts.len() as u16).to_le_bytes());
    f.extend_from_slice(ts);
    f
}

/// `levels` nested sequences of undefined length, each with one item, closed.
pub fn deep_nesting(levels: usize) -> Vec<u8> {
    let mut f = preamble_and_meta();
    for _ in 0..levels {
        f.extend_from_slice(&[0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0]);
        f.extend_from_slice(&UNDEFINED.to_le_bytes());
        f.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        f.extend_from_slice(&UNDEFINED.to_le_bytes());
    }
    for _ in 0..levels {
        f.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        f.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }
    f
}

/// A small file with one element declaring `length` bytes (a private OB).
pub fn huge_length(length: u32) -> Vec<u8> {
    let mut f = preamble_and_meta();
    // (0008,0060) Modality CS "MR", then (0029,1010) OB of the declared length.
    f.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'M', b'R']);
    f.extend_from_slice(&[0x29, 0x00, 0x10, 0x10, b'O', b'B', 0, 0]);
    f.extend_from_slice(&length.to_le_bytes());
    f.extend_from_slice(&[0u8; 256]);
    f
}

/// One valid synthetic MR image file (with a small pixel data element).
pub fn valid_file(dir: &Path) -> PathBuf {
    let root = "1.2.826.0.1.3680043.9.7.19";
    let study = SynthStudy::new(VendorStyle::Siemens, root);
    let mut series = standard_series(VendorStyle::Siemens, ProtocolStep::Cine2ch, root);
    series.matrix = 8;
    write_series(dir, &study, &series, true).expect("synthetic series");
    let mut files: Vec<PathBuf> = walk(dir);
    files.sort();
    files.into_iter().next().expect("a synthetic file")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Where the top-level Pixel Data element starts in an explicit-VR-LE file.
pub fn pixel_data_offset(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00])
}

/// What [`hostile_folder`] made, for the assertions.
pub struct HostileFolder {
    /// The folder.
    pub dir: PathBuf,
    /// Files that must be refused, with the reason code `dicom scan --json` gives.
    pub refused: Vec<(PathBuf, &'static str)>,
    /// Truncated copies of a valid file (refused or read, never a crash).
    pub truncated: Vec<PathBuf>,
    /// Files that must be read (headers within bounds).
    pub readable: Vec<PathBuf>,
}

/// Bytes of zeros behind the valid header in the sparse file (20 GB).
pub const SPARSE_ZEROS: u64 = 20 * 1000 * 1000 * 1000;

/// A folder of every hostile case (inside `base`, which it must be empty).
/// `truncations` limits how many truncated copies are made (every offset: `usize::MAX`).
pub fn hostile_folder(base: &Path, truncations: usize) -> HostileFolder {
    let dir = base.join("incoming");
    std::fs::create_dir_all(&dir).unwrap();
    let mut refused = Vec::new();
    let mut readable = Vec::new();

    let p = dir.join("nest-10000.dcm");
    std::fs::write(&p, deep_nesting(10_000)).unwrap();
    refused.push((p, "out_of_bounds"));

    // Found by the dicom_header fuzz target: a file whose parse and walk diverged, so
    // the parser met an element claiming 1.38 GB (the reader once allocated it). The divergence: an SL element
    // of 14 bytes, which the parser reads as three values and then loses its place.
    let p = dir.join("fuzz-oom-sl-odd-length.dcm");
    let found = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dicom/fuzz-oom-sl-odd-length.dcm"
    );
    std::fs::copy(found, &p).unwrap();
    refused.push((p, "unreadable"));

    let p = dir.join("length-fffffff0.dcm");
    std::fs::write(&p, huge_length(0xFFFF_FFF0)).unwrap();
    refused.push((p, "out_of_bounds"));

    // A valid image, then its header alone followed by 20 GB of zeros (sparse), and
    // the whole image with its pixel data claiming gigabytes (header still read).
    let scratch = base.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let valid = valid_file(&scratch);
    let bytes = std::fs::read(&valid).unwrap();
    let pix = pixel_data_offset(&bytes).expect("the synthetic file has pixel data");
    let p = dir.join("header-then-20GB-zeros.dcm");
    std::fs::write(&p, &bytes[..pix]).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(pix as u64 + SPARSE_ZEROS).unwrap();
    drop(f);
    refused.push((p, "unreadable"));

    let p = dir.join("valid.dcm");
    std::fs::write(&p, &bytes).unwrap();
    readable.push(p);

    // Symbolic links: a self loop, a pair loop, a link out of the folder.
    std::os::unix::fs::symlink(".", dir.join("self")).unwrap();
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::os::unix::fs::symlink("../b", dir.join("a/to-b")).unwrap();
    std::os::unix::fs::symlink("../a", dir.join("b/to-a")).unwrap();
    std::fs::copy(&valid, dir.join("a/in-a.dcm")).unwrap();
    readable.push(dir.join("a/in-a.dcm"));
    std::fs::create_dir_all(base.join("outside")).unwrap();
    std::fs::write(base.join("outside/secret.dcm"), b"not for the kiosk").unwrap();
    std::os::unix::fs::symlink("../outside", dir.join("out")).unwrap();
    refused.push((dir.join("out"), "not_walked"));
    refused.push((dir.join("self"), "not_walked"));

    // Every truncation of the small valid file.
    let tdir = dir.join("truncated");
    std::fs::create_dir_all(&tdir).unwrap();
    let mut truncated = Vec::new();
    for len in (0..bytes.len()).take(truncations) {
        let p = tdir.join(format!("cut-{len:06}.dcm"));
        std::fs::write(&p, &bytes[..len]).unwrap();
        truncated.push(p);
    }
    std::fs::remove_dir_all(&scratch).unwrap();
    HostileFolder {
        dir,
        refused,
        truncated,
        readable,
    }
}
