//! Bounds on reading one DICOM file, checked before any DICOM library parses it.
//!
//! A file in the incoming folder is hostile input: it may nest sequences thousands
//! deep (the recursive parser would overflow its stack), declare an element of
//! 4 GB in a file of 500 bytes (the parser would allocate it), or follow a valid
//! header with gigabytes of zeros. [`read_bounded`] opens the file once, reads at
//! most [`MAX_HEADER_BYTES`], and walks the element structure *without recursion*:
//! every element's length is checked against what is left of its container, of the
//! file and of the bound; sequence nesting is counted against [`MAX_NESTING_DEPTH`];
//! elements against [`MAX_ELEMENTS`]. The walk stops at the top-level Pixel Data
//! element. Only the bytes before it, which passed every check, go to the parser.
//!
//! Transfer syntaxes: explicit VR little endian (and every encapsulated syntax,
//! whose header is explicit little endian), implicit VR little endian, explicit VR
//! big endian. A deflated data set cannot be walked without inflating it and is
//! refused with its own reason.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

/// The most bytes read from one file: its header (everything before the pixel data)
/// must fit. An enhanced multi-frame header with thousands of frames stays far below.
pub const MAX_HEADER_BYTES: u64 = 16 * 1024 * 1024;

/// The deepest sequence nesting accepted. Real MR headers nest 4 or 5 deep
/// (functional groups → their macros → code sequences).
pub const MAX_NESTING_DEPTH: usize = 32;

/// The most elements (at every level, items and delimiters included) in one header.
pub const MAX_ELEMENTS: usize = 250_000;

/// The most bytes of the file meta information group (group 0002).
pub const MAX_META_BYTES: usize = 64 * 1024;

/// Which bound a file crossed (stable codes for reports and JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// [`MAX_NESTING_DEPTH`].
    NestingDepth,
    /// An element longer than [`MAX_HEADER_BYTES`] or than its container.
    ElementLength,
    /// [`MAX_HEADER_BYTES`]: no pixel data within the bytes read.
    HeaderBytes,
    /// [`MAX_ELEMENTS`].
    ElementCount,
    /// [`MAX_META_BYTES`].
    MetaBytes,
}

impl Bound {
    /// Stable lower-case name.
    pub fn code(self) -> &'static str {
        match self {
            Bound::NestingDepth => "nesting_depth",
            Bound::ElementLength => "element_length",
            Bound::HeaderBytes => "header_bytes",
            Bound::ElementCount => "element_count",
            Bound::MetaBytes => "meta_bytes",
        }
    }
}

/// Why the walk refused a file.
#[derive(Debug)]
pub enum WalkError {
    /// Opening or reading failed.
    Io(std::io::Error),
    /// No `DICM` marker: the caller decides between "not DICOM" and "raw data set".
    NoMarker {
        /// The first bytes (at most 132).
        head: Vec<u8>,
    },
    /// A bound was crossed.
    Bound {
        /// Which.
        bound: Bound,
        /// What was found, with offset and tag.
        detail: String,
    },
    /// The file ends inside the header.
    Truncated(String),
    /// The file meta information group is broken.
    BadMeta(String),
    /// The structure is not DICOM (bad VR, stray delimiter, overrun container).
    Malformed(String),
    /// Deflated transfer syntax: not walked.
    Deflated,
}

/// A header that passed every bound: the bytes from the file meta group (without
/// the 128-byte preamble and `DICM`) up to the top-level pixel data, or the whole
/// file when there is none.
#[derive(Debug)]
pub struct BoundedHeader {
    /// Meta group and data set up to the pixel data, ready for the parser.
    pub bytes: Vec<u8>,
    /// The file's transfer syntax UID.
    pub transfer_syntax: String,
    /// Deepest sequence nesting found.
    pub max_depth: usize,
    /// Elements walked.
    pub elements: usize,
}

/// Byte order and VR encoding of the data set.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    ExplicitLe,
    ImplicitLe,
    ExplicitBe,
}

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &[&str] = &["1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"];

const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQ_END: Tag = Tag(0xFFFE, 0xE0DD);
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Reads `path` within the bounds above (one open, at most [`MAX_HEADER_BYTES`] read).
pub fn read_bounded(path: &Path) -> Result<BoundedHeader, WalkError> {
    let file = File::open(path).map_err(WalkError::Io)?;
    let size = file.metadata().map_err(WalkError::Io)?.len();
    let mut buf = Vec::with_capacity(size.min(MAX_HEADER_BYTES) as usize);
    file.take(MAX_HEADER_BYTES)
        .read_to_end(&mut buf)
        .map_err(WalkError::Io)?;
    // The file may have grown or shrunk since the stat: what was read is what counts.
    let whole = (buf.len() as u64) < MAX_HEADER_BYTES || size <= MAX_HEADER_BYTES;
    walk(buf, whole)
}

/// Walks bytes already read; `whole` says whether they are the entire file (else the
/// file is longer than [`MAX_HEADER_BYTES`]).
pub fn walk(buf: Vec<u8>, whole: bool) -> Result<BoundedHeader, WalkError> {
    if buf.len() < 132 || &buf[128..132] != b"DICM" {
        let head = buf[..buf.len().min(132)].to_vec();
        return Err(WalkError::NoMarker { head });
    }
    let (ts, meta_end) = walk_meta(&buf, whole)?;
    let ts_trim = ts.trim_end_matches(['\0', ' ']).to_string();
    if DEFLATED.contains(&ts_trim.as_str()) {
        return Err(WalkError::Deflated);
    }
    let enc = match ts_trim.as_str() {
        IMPLICIT_LE => Encoding::ImplicitLe,
        EXPLICIT_BE => Encoding::ExplicitBe,
        _ => Encoding::ExplicitLe,
    };
    let mut w = Walker {
        buf: &buf,
        whole,
        pos: meta_end,
        elements: 0,
        max_depth: 0,
        stack: Vec::new(),
    };
    let end = w.data_set(enc)?;
    let (max_depth, elements) = (w.max_depth, w.elements);
    let mut bytes = buf;
    bytes.truncate(end);
    bytes.drain(..128);
    Ok(BoundedHeader {
        bytes,
        transfer_syntax: ts_trim,
        max_depth,
        elements,
    })
}

fn u16_at(buf: &[u8], pos: usize, be: bool) -> Option<u16> {
    let b: [u8; 2] = buf.get(pos..pos + 2)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

fn u32_at(buf: &[u8], pos: usize, be: bool) -> Option<u32> {
    let b: [u8; 4] = buf.get(pos..pos + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// VRs whose length field is 4 bytes after 2 reserved bytes (explicit VR).
fn long_form(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB
            | VR::OD
            | VR::OF
            | VR::OL
            | VR::OV
            | VR::OW
            | VR::SQ
            | VR::SV
            | VR::UC
            | VR::UN
            | VR::UR
            | VR::UT
            | VR::UV
    )
}

/// The size of one value of a binary VR (PS3.5 table 6.2-1); `None` for text and
/// byte-string VRs.
fn fixed_size(vr: VR) -> Option<u32> {
    match vr {
        VR::SS | VR::US | VR::OW => Some(2),
        VR::SL | VR::UL | VR::FL | VR::AT | VR::OL | VR::OF => Some(4),
        VR::FD | VR::SV | VR::UV | VR::OD | VR::OV => Some(8),
        _ => None,
    }
}

fn tag_name(t: Tag) -> String {
    format!("({:04X},{:04X})", t.0, t.1)
}

/// Walks the file meta group (explicit VR little endian) from byte 132 exactly as
/// the parser will: (0002,0000) first, four bytes long, giving the group length;
/// then elements until that many bytes are used (the last may run past it). Returns
/// the transfer syntax and where the data set starts, so the walk and the parser
/// read the same elements.
fn walk_meta(buf: &[u8], whole: bool) -> Result<(String, usize), WalkError> {
    let short = |what: &str| {
        if whole {
            WalkError::Truncated(format!("file meta group ends inside {what}"))
        } else {
            WalkError::Bound {
                bound: Bound::HeaderBytes,
                detail: "the file meta group does not end within the bytes read".into(),
            }
        }
    };
    // (0002,0000) UL, length 4.
    let first = (
        u16_at(buf, 132, false),
        u16_at(buf, 134, false),
        buf.get(136..138),
        u16_at(buf, 138, false),
    );
    let group_length = match first {
        (Some(0x0002), Some(0x0000), Some(b"UL"), Some(4)) => {
            u32_at(buf, 140, false).ok_or_else(|| short("the group length"))?
        }
        (None, ..) | (_, None, ..) | (_, _, None, _) | (.., None) => {
            return Err(short("the group length"));
        }
        _ => {
            return Err(WalkError::BadMeta(
                "the file meta group does not start with its group length (0002,0000)".into(),
            ));
        }
    };
    if group_length as usize > MAX_META_BYTES {
        return Err(WalkError::Bound {
            bound: Bound::MetaBytes,
            detail: format!(
                "file meta group length {group_length} is over MAX_META_BYTES ({MAX_META_BYTES})"
            ),
        });
    }
    let mut pos = 144;
    let mut used: usize = 0;
    let mut ts = None;
    while used < group_length as usize {
        let (Some(group), Some(elem)) = (u16_at(buf, pos, false), u16_at(buf, pos + 2, false))
        else {
            return Err(short("a tag"));
        };
        let vr_bytes: [u8; 2] = buf
            .get(pos + 4..pos + 6)
            .ok_or_else(|| short("a VR"))?
            .try_into()
            .unwrap_or([0, 0]);
        let vr = VR::from_binary(vr_bytes).ok_or_else(|| {
            WalkError::BadMeta(format!(
                "({group:04X},{elem:04X}) has no valid VR at byte {pos}"
            ))
        })?;
        let (len, head) = if long_form(vr) {
            (
                u32_at(buf, pos + 8, false).ok_or_else(|| short("a length"))?,
                12,
            )
        } else {
            (
                u32::from(u16_at(buf, pos + 6, false).ok_or_else(|| short("a length"))?),
                8,
            )
        };
        if len == UNDEFINED || len as usize > MAX_META_BYTES {
            return Err(WalkError::Bound {
                bound: Bound::MetaBytes,
                detail: format!(
                    "({group:04X},{elem:04X}) in the file meta group declares {len} bytes"
                ),
            });
        }
        let value = pos + head;
        let end = value + len as usize;
        if end > buf.len() {
            return Err(short("a value"));
        }
        if (group, elem) == (0x0002, 0x0010) {
            ts = Some(String::from_utf8_lossy(&buf[value..end]).into_owned());
        }
        used += head + len as usize;
        pos = end;
        if used > MAX_META_BYTES {
            return Err(WalkError::Bound {
                bound: Bound::MetaBytes,
                detail: format!("file meta group longer than {MAX_META_BYTES} bytes"),
            });
        }
    }
    let ts = ts.ok_or_else(|| WalkError::BadMeta("no transfer syntax (0002,0010)".into()))?;
    Ok((ts, pos))
}

/// One open container while walking.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// A sequence; `end` when its length is defined; `enc` of its items.
    Seq { end: Option<usize>, enc: Encoding },
    /// An item of a sequence.
    Item { end: Option<usize>, enc: Encoding },
    /// Encapsulated pixel data nested in an item (icon images): fragments.
    Fragments,
}

struct Walker<'a> {
    buf: &'a [u8],
    whole: bool,
    pos: usize,
    elements: usize,
    max_depth: usize,
    stack: Vec<Frame>,
}

impl Walker<'_> {
    fn out_of_bytes(&self, what: &str) -> WalkError {
        if self.whole {
            WalkError::Truncated(format!("file ends inside {what} at byte {}", self.pos))
        } else {
            WalkError::Bound {
                bound: Bound::HeaderBytes,
                detail: format!(
                    "no pixel data within the first {MAX_HEADER_BYTES} bytes (MAX_HEADER_BYTES)"
                ),
            }
        }
    }

    /// The end of the innermost container with a defined length.
    fn container_end(&self) -> usize {
        self.stack
            .iter()
            .rev()
            .find_map(|f| match f {
                Frame::Seq { end: Some(e), .. } | Frame::Item { end: Some(e), .. } => Some(*e),
                _ => None,
            })
            .unwrap_or(self.buf.len())
    }

    fn depth(&self) -> usize {
        self.stack
            .iter()
            .filter(|f| matches!(f, Frame::Seq { .. }))
            .count()
    }

    /// Checks a defined length at `value` (where the value starts) against the
    /// bound, the container and the file.
    fn check_len(&self, tag: Tag, len: u32, value: usize) -> Result<usize, WalkError> {
        if u64::from(len) > MAX_HEADER_BYTES {
            return Err(WalkError::Bound {
                bound: Bound::ElementLength,
                detail: format!(
                    "{} at byte {} declares {len} bytes, more than MAX_HEADER_BYTES ({MAX_HEADER_BYTES})",
                    tag_name(tag),
                    self.pos
                ),
            });
        }
        let end = value + len as usize;
        let container = self.container_end();
        if end > container && container < self.buf.len() {
            return Err(WalkError::Malformed(format!(
                "{} at byte {} declares {len} bytes, past the end of its sequence or item",
                tag_name(tag),
                self.pos
            )));
        }
        if end > self.buf.len() {
            return Err(if self.whole {
                WalkError::Truncated(format!(
                    "{} at byte {} declares {len} bytes but only {} remain in the file",
                    tag_name(tag),
                    self.pos,
                    self.buf.len().saturating_sub(value)
                ))
            } else {
                self.out_of_bytes("an element")
            });
        }
        Ok(end)
    }

    fn count(&mut self) -> Result<(), WalkError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(WalkError::Bound {
                bound: Bound::ElementCount,
                detail: format!("more than {MAX_ELEMENTS} elements (MAX_ELEMENTS)"),
            });
        }
        Ok(())
    }

    fn push_seq(&mut self, tag: Tag, end: Option<usize>, enc: Encoding) -> Result<(), WalkError> {
        let depth = self.depth() + 1;
        if depth > MAX_NESTING_DEPTH {
            return Err(WalkError::Bound {
                bound: Bound::NestingDepth,
                detail: format!(
                    "{} at byte {} opens sequence level {depth}, deeper than MAX_NESTING_DEPTH ({MAX_NESTING_DEPTH})",
                    tag_name(tag),
                    self.pos
                ),
            });
        }
        self.max_depth = self.max_depth.max(depth);
        self.stack.push(Frame::Seq { end, enc });
        Ok(())
    }

    /// Walks the data set; returns the offset where the parser's input ends.
    fn data_set(&mut self, base: Encoding) -> Result<usize, WalkError> {
        loop {
            // Close containers whose defined length is used up.
            while let Some(&f) = self.stack.last() {
                match f {
                    Frame::Seq { end: Some(e), .. } | Frame::Item { end: Some(e), .. }
                        if self.pos >= e =>
                    {
                        if self.pos > e {
                            return Err(WalkError::Malformed(format!(
                                "an element crosses the end of its sequence or item at byte {e}"
                            )));
                        }
                        self.stack.pop();
                    }
                    _ => break,
                }
            }
            let enc = match self.stack.last() {
                Some(Frame::Seq { enc, .. }) | Some(Frame::Item { enc, .. }) => *enc,
                _ => base,
            };
            let be = enc == Encoding::ExplicitBe;
            if self.pos == self.buf.len() {
                if self.stack.is_empty() && self.whole {
                    return Ok(self.pos);
                }
                return Err(self.out_of_bytes("an open sequence"));
            }
            let (Some(group), Some(elem)) = (
                u16_at(self.buf, self.pos, be),
                u16_at(self.buf, self.pos + 2, be),
            ) else {
                return Err(self.out_of_bytes("a tag"));
            };
            let tag = Tag(group, elem);
            if self.stack.is_empty() && group >= 0x7FE0 {
                // Top-level pixel data (or anything after it): the header ends here.
                return Ok(self.pos);
            }
            self.count()?;
            if group == 0xFFFE {
                self.delimiter(tag, be, enc)?;
                continue;
            }
            if matches!(
                self.stack.last(),
                Some(Frame::Seq { .. } | Frame::Fragments)
            ) {
                return Err(WalkError::Malformed(format!(
                    "{} at byte {} where a sequence item was expected",
                    tag_name(tag),
                    self.pos
                )));
            }
            let (vr, len, head) = match enc {
                Encoding::ImplicitLe => {
                    let len = u32_at(self.buf, self.pos + 4, false)
                        .ok_or_else(|| self.out_of_bytes("a length"))?;
                    (implicit_vr(tag, len), len, 8)
                }
                Encoding::ExplicitLe | Encoding::ExplicitBe => {
                    let vr_bytes: [u8; 2] = self
                        .buf
                        .get(self.pos + 4..self.pos + 6)
                        .ok_or_else(|| self.out_of_bytes("a VR"))?
                        .try_into()
                        .unwrap_or([0, 0]);
                    let vr = VR::from_binary(vr_bytes).ok_or_else(|| {
                        WalkError::Malformed(format!(
                            "{} at byte {} has no valid VR",
                            tag_name(tag),
                            self.pos
                        ))
                    })?;
                    if long_form(vr) {
                        let len = u32_at(self.buf, self.pos + 8, be)
                            .ok_or_else(|| self.out_of_bytes("a length"))?;
                        (vr, len, 12)
                    } else {
                        let len = u16_at(self.buf, self.pos + 6, be)
                            .ok_or_else(|| self.out_of_bytes("a length"))?;
                        (vr, u32::from(len), 8)
                    }
                }
            };
            let value = self.pos + head;
            if vr == VR::SQ || (len == UNDEFINED && vr == VR::UN) {
                // UN of undefined length holds a sequence in implicit VR LE.
                let inner = if vr == VR::UN {
                    Encoding::ImplicitLe
                } else {
                    enc
                };
                if len == UNDEFINED {
                    self.push_seq(tag, None, inner)?;
                    self.pos = value;
                } else {
                    let end = self.check_len(tag, len, value)?;
                    self.push_seq(tag, Some(end), inner)?;
                    self.pos = value;
                }
                continue;
            }
            if len == UNDEFINED {
                if matches!(vr, VR::OB | VR::OW) {
                    // Encapsulated pixel data inside an item (an icon image).
                    self.stack.push(Frame::Fragments);
                    self.pos = value;
                    continue;
                }
                return Err(WalkError::Malformed(format!(
                    "{} at byte {} has an undefined length but VR {}",
                    tag_name(tag),
                    self.pos,
                    vr.to_string()
                )));
            }
            if let Some(size) = fixed_size(vr)
                && len % size != 0
            {
                // PS3.5 6.2: a binary value is a whole number of its fixed-size
                // values. The parser would read whole values and lose its place.
                return Err(WalkError::Malformed(format!(
                    "{} at byte {} has VR {} but {len} bytes, not a multiple of {size}",
                    tag_name(tag),
                    self.pos,
                    vr.to_string()
                )));
            }
            self.pos = self.check_len(tag, len, value)?;
        }
    }

    /// An item or a delimiter (group FFFE; no VR in any transfer syntax).
    fn delimiter(&mut self, tag: Tag, be: bool, enc: Encoding) -> Result<(), WalkError> {
        let len =
            u32_at(self.buf, self.pos + 4, be).ok_or_else(|| self.out_of_bytes("a length"))?;
        let value = self.pos + 8;
        let stray =
            |w: &Self| WalkError::Malformed(format!("stray {} at byte {}", tag_name(tag), w.pos));
        match (tag, self.stack.last().copied()) {
            (ITEM, Some(Frame::Seq { .. })) => {
                if len == UNDEFINED {
                    self.stack.push(Frame::Item { end: None, enc });
                    self.pos = value;
                } else {
                    let end = self.check_len(tag, len, value)?;
                    self.stack.push(Frame::Item {
                        end: Some(end),
                        enc,
                    });
                    self.pos = value;
                }
            }
            (ITEM, Some(Frame::Fragments)) => {
                if len == UNDEFINED {
                    return Err(stray(self));
                }
                self.pos = self.check_len(tag, len, value)?;
            }
            (ITEM_END, Some(Frame::Item { end: None, .. })) => {
                self.stack.pop();
                self.pos = value;
            }
            (SEQ_END, Some(Frame::Seq { end: None, .. }) | Some(Frame::Fragments)) => {
                self.stack.pop();
                self.pos = value;
            }
            _ => return Err(stray(self)),
        }
        Ok(())
    }
}

/// The VR of an element in implicit VR: from the standard dictionary; an unknown
/// (private) tag of undefined length is a sequence, as the standard requires.
fn implicit_vr(tag: Tag, len: u32) -> VR {
    match StandardDataDictionary.by_tag(tag).map(|e| e.vr()) {
        Some(VirtualVr::Exact(vr)) => vr,
        Some(_) => VR::OW,
        None if len == UNDEFINED => VR::SQ,
        None => VR::UN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal explicit-VR-LE file: preamble, meta with the transfer syntax, then `body`.
    fn file_with(body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        let ts = b"1.2.840.10008.1.2.1\0";
        f.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
        f.extend_from_slice(&(8 + ts.len() as u32).to_le_bytes());
        f.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        f.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        f.extend_from_slice(ts);
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn the_meta_group_ends_where_its_group_length_says() {
        // A group length that covers the transfer syntax only: the next element, even
        // in group 0002, belongs to the data set (as the parser reads it).
        let mut body = vec![0x02, 0x00, 0x13, 0x00, b'S', b'H', 2, 0, b'X', b' '];
        body.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'M', b'R']);
        let h = walk(file_with(&body), true).expect("walks");
        assert_eq!(h.elements, 2);
        // A group length past the bound is refused.
        let mut f = file_with(&[]);
        f[140..144].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            walk(f, true),
            Err(WalkError::Bound {
                bound: Bound::MetaBytes,
                ..
            })
        ));
    }

    fn sq_open(out: &mut Vec<u8>) {
        // (0008,1140) SQ undefined length, then an undefined-length item.
        out.extend_from_slice(&[0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0]);
        out.extend_from_slice(&UNDEFINED.to_le_bytes());
        out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        out.extend_from_slice(&UNDEFINED.to_le_bytes());
    }

    fn sq_close(out: &mut Vec<u8>) {
        out.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }

    #[test]
    fn nesting_within_the_bound_is_walked_and_deeper_is_refused() {
        for (levels, ok) in [(MAX_NESTING_DEPTH, true), (MAX_NESTING_DEPTH + 1, false)] {
            let mut body = Vec::new();
            for _ in 0..levels {
                sq_open(&mut body);
            }
            for _ in 0..levels {
                sq_close(&mut body);
            }
            let r = walk(file_with(&body), true);
            match (ok, r) {
                (true, Ok(h)) => assert_eq!(h.max_depth, levels),
                (
                    false,
                    Err(WalkError::Bound {
                        bound: Bound::NestingDepth,
                        ..
                    }),
                ) => {}
                (_, other) => panic!("{levels} levels: {other:?}"),
            }
        }
    }

    #[test]
    fn a_length_beyond_the_file_or_the_bound_is_refused_before_reading() {
        let mut body = vec![0x10, 0x00, 0x10, 0x00, b'U', b'T', 0, 0];
        body.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let r = walk(file_with(&body), true);
        assert!(
            matches!(
                r,
                Err(WalkError::Bound {
                    bound: Bound::ElementLength,
                    ..
                })
            ),
            "{r:?}"
        );
        let mut body = vec![0x10, 0x00, 0x10, 0x00, b'U', b'T', 0, 0];
        body.extend_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(
            walk(file_with(&body), true),
            Err(WalkError::Truncated(_))
        ));
    }

    #[test]
    fn the_header_ends_at_top_level_pixel_data() {
        let mut body = vec![0x28, 0x00, 0x10, 0x00, b'U', b'S', 2, 0, 4, 0];
        body.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        body.extend_from_slice(&0xFFFF_FF00u32.to_le_bytes());
        let f = file_with(&body);
        let h = walk(f.clone(), true).expect("walks");
        assert_eq!(h.bytes.len(), f.len() - 128 - 12, "cut before (7FE0,0010)");
    }

    #[test]
    fn more_elements_than_the_bound_are_refused() {
        let mut body = Vec::new();
        for _ in 0..=MAX_ELEMENTS {
            body.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 0, 0]);
        }
        assert!(matches!(
            walk(file_with(&body), true),
            Err(WalkError::Bound {
                bound: Bound::ElementCount,
                ..
            })
        ));
    }

    #[test]
    fn a_header_that_does_not_end_within_the_bytes_read_is_refused() {
        // Well-formed elements up to the read bound, no pixel data, more file behind.
        let body = [0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'M', b'R'];
        assert!(matches!(
            walk(file_with(&body), false),
            Err(WalkError::Bound {
                bound: Bound::HeaderBytes,
                ..
            })
        ));
    }

    #[test]
    fn a_file_larger_than_the_bound_without_pixel_data_is_refused() {
        let mut body = Vec::new();
        // (0008,0000)-group zeros read as tags with an invalid VR: malformed, not a hang.
        body.extend_from_slice(&[0u8; 64]);
        let r = walk(file_with(&body), false);
        assert!(matches!(r, Err(WalkError::Malformed(_))), "{r:?}");
    }
}
