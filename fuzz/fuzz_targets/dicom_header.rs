//! Fuzz the bounded DICOM header reader (`cargo +nightly fuzz run dicom_header
//! fuzz/seeds/dicom_header`). Input starting with `DICM` gets the 128-byte preamble
//! in front, so mutations land in the meta group and the data set. Whatever the
//! bytes, the read returns (a header or a refusal): no panic, no stack overflow, no
//! allocation beyond the bounds in `cmr_kiosk::dicom::bounds`.
#![no_main]

use cmr_kiosk::dicom::header::read_header_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = if data.starts_with(b"DICM") {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(data);
        b
    } else {
        data.to_vec()
    };
    let _ = read_header_bytes(bytes, std::path::Path::new("fuzz.dcm"));
});
