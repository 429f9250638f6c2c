//! Series summaries: files grouped by Series Instance UID and the geometry the
//! standard's clause 3 speaks about derived from them.
//!
//! * slice count: distinct slice positions, projected on the slice normal, per
//!   orientation (a three-plane localiser has three stacks);
//! * phase count: the most frames found at one slice position (cine phases, or
//!   perfusion dynamics) — what arrived, not what was planned;
//! * FOV: the larger in-plane extent (rows × row spacing, columns × column
//!   spacing), falling back on Reconstruction Diameter;
//! * gap: centre-to-centre spacing − thickness; spacing measured from positions
//!   when the series has two or more slices, else Spacing Between Slices;
//! * orientation class and phase-encoding direction in patient terms.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::header::{DicomHeader, InPlanePhase};
use crate::domain::protocol::{PhaseEncoding, SeriesParams};
use crate::domain::screening::SeriesSafety;

pub use crate::domain::coverage::{OBLIQUE_TOLERANCE_DEG, OrientationClass, SeriesGeometry};

/// Words that mark a PSIR reconstruction in a series' description, protocol name,
/// sequence name or image type (matched case-insensitively): the name vendors give it,
/// and Philips's real-valued IR image type.
pub const PSIR_MARKERS: [&str; 3] = ["PSIR", "PHASE SENSITIVE", "R_IR"];

/// Whether any of `texts` carries a [`PSIR_MARKERS`] word.
pub fn marks_psir<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    texts.into_iter().any(|t| {
        let t = t.to_ascii_uppercase();
        PSIR_MARKERS.iter().any(|m| t.contains(m))
    })
}

/// Positions closer than this along the normal are one slice (mm).
pub const SLICE_POSITION_TOLERANCE_MM: f64 = 0.05;

/// The orientation class of one plane from its Image Orientation (Patient).
pub fn orientation_class(iop: &[f64; 6]) -> Option<OrientationClass> {
    OrientationClass::of_normal(normal(iop)?)
}

/// Phase-encoding direction in patient terms: the in-plane direction's cosines
/// (ROW: first triplet, COL: second), named by their largest component.
pub fn phase_encoding(iop: &[f64; 6], dir: InPlanePhase) -> Option<PhaseEncoding> {
    let v = match dir {
        InPlanePhase::Row => [iop[0], iop[1], iop[2]],
        InPlanePhase::Col => [iop[3], iop[4], iop[5]],
    };
    if v.iter().all(|c| c.abs() < 1e-6) {
        return None;
    }
    Some(match dominant(&v).0 {
        0 => PhaseEncoding::Lr,
        1 => PhaseEncoding::Ap,
        _ => PhaseEncoding::Hf,
    })
}

/// Short name of a phase-encoding direction (`A-P`, `L-R`, `H-F`).
pub fn phase_name(p: PhaseEncoding) -> &'static str {
    match p {
        PhaseEncoding::Ap => "A-P",
        PhaseEncoding::Lr => "L-R",
        PhaseEncoding::Hf => "H-F",
    }
}

fn dominant(v: &[f64; 3]) -> (usize, f64) {
    let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let mut best = (0, 0.0);
    for (i, c) in v.iter().enumerate() {
        let a = if len > 0.0 { c.abs() / len } else { 0.0 };
        if a > best.1 {
            best = (i, a);
        }
    }
    best
}

/// Unit normal of a plane (row × column cosines).
pub fn normal(iop: &[f64; 6]) -> Option<[f64; 3]> {
    let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    let n = [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    (len > 1e-6).then(|| [n[0] / len, n[1] / len, n[2] / len])
}

/// What one series looks like, derived from its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// Series Instance UID.
    pub series_uid: String,
    /// Study Instance UID.
    pub study_uid: Option<String>,
    /// Series number.
    pub number: Option<i64>,
    /// Series description.
    pub description: Option<String>,
    /// Protocol name.
    pub protocol_name: Option<String>,
    /// Sequence name.
    pub sequence_name: Option<String>,
    /// Scanning sequence.
    pub scanning_sequence: Vec<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Files in the series.
    pub files: usize,
    /// Images (frames) in the series.
    pub images: usize,
    /// Whether the series came as enhanced multi-frame objects.
    pub enhanced: bool,
    /// Distinct slice positions.
    pub slices: u32,
    /// Phases (frames per slice position).
    pub phases: u32,
    /// Field of view (mm).
    pub fov_mm: Option<f64>,
    /// Slice thickness (mm).
    pub slice_thickness_mm: Option<f64>,
    /// Centre-to-centre slice spacing (mm).
    pub spacing_mm: Option<f64>,
    /// Gap = spacing − thickness (mm).
    pub gap_mm: Option<f64>,
    /// Orientation class.
    pub orientation: Option<OrientationClass>,
    /// Phase-encoding direction in patient terms.
    pub phase_encoding: Option<PhaseEncoding>,
    /// Rows × columns.
    pub matrix: Option<[u32; 2]>,
    /// TR (ms).
    pub tr_ms: Option<f64>,
    /// TE (ms).
    pub te_ms: Option<f64>,
    /// TI (ms).
    pub ti_ms: Option<f64>,
    /// Flip angle (degrees).
    pub flip_angle_deg: Option<f64>,
    /// First acquisition moment.
    pub start: Option<NaiveDateTime>,
    /// Last acquisition moment.
    pub end: Option<NaiveDateTime>,
    /// The series' safety facts: its field strength and the highest SAR, B1+rms and
    /// dB/dt of any of its files (checked against implant conditions, 2.1.2).
    #[serde(default)]
    pub safety: SeriesSafety,
    /// The distinct planes of its frames, as unit normals (3.1.1.1, 3.1.4.3).
    #[serde(default)]
    pub geometry: SeriesGeometry,
    /// Whether it is a phase-sensitive inversion-recovery reconstruction (3.1.4.2):
    /// one of [`PSIR_MARKERS`] in its description, protocol or sequence name or
    /// image type.
    #[serde(default)]
    pub psir: bool,
}

impl SeriesSummary {
    /// The parameters the domain checks (clause 3.1).
    pub fn params(&self) -> SeriesParams {
        SeriesParams {
            fov_mm: self.fov_mm,
            slice_mm: self.slice_thickness_mm,
            gap_mm: self.gap_mm,
            phase_encoding: self.phase_encoding,
            slices: Some(self.slices).filter(|&n| n > 0),
        }
    }

    /// Label for tables: number and description.
    pub fn label(&self) -> String {
        let name = self
            .description
            .as_deref()
            .or(self.protocol_name.as_deref())
            .unwrap_or("(no description)");
        match self.number {
            Some(n) => format!("{n} {name}"),
            None => name.to_string(),
        }
    }
}

fn round_to(v: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    let r = (v * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn most_common<T: Ord + Clone>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(k, _)| k)
}

/// Quantised orientation key, so frames of one stack group together.
fn orientation_key(iop: &[f64; 6]) -> [i64; 6] {
    iop.map(|c| (c * 1000.0).round() as i64)
}

/// Summarise one series from its headers (all with the same Series Instance UID).
pub fn summarize(series_uid: &str, headers: &[&DicomHeader]) -> SeriesSummary {
    let first = headers.first();
    let pick = |f: &dyn Fn(&DicomHeader) -> Option<String>| {
        most_common(headers.iter().filter_map(|h| f(h)))
    };
    let pick_f = |f: &dyn Fn(&DicomHeader) -> Option<f64>| {
        most_common(
            headers
                .iter()
                .filter_map(|h| f(h))
                .map(|v| (round_to(v, 3) * 1000.0) as i64),
        )
        .map(|k| k as f64 / 1000.0)
    };

    // Stacks: frames grouped by orientation; positions projected on each normal.
    let mut stacks: BTreeMap<[i64; 6], ([f64; 6], Vec<f64>)> = BTreeMap::new();
    let mut images = 0usize;
    let mut start: Option<NaiveDateTime> = None;
    let mut end: Option<NaiveDateTime> = None;
    for h in headers {
        for f in &h.frames {
            images += 1;
            if let Some(t) = f.acquired_at {
                start = Some(start.map_or(t, |s| s.min(t)));
                end = Some(end.map_or(t, |e| e.max(t)));
            }
            match (f.orientation, f.position) {
                (Some(o), Some(p)) if normal(&o).is_some() => {
                    let n = normal(&o).unwrap_or([0.0, 0.0, 1.0]);
                    let d = n[0] * p[0] + n[1] * p[1] + n[2] * p[2];
                    stacks
                        .entry(orientation_key(&o))
                        .or_insert_with(|| (o, Vec::new()))
                        .1
                        .push(d);
                }
                _ => {}
            }
        }
    }
    let mut slices = 0u32;
    let mut phases = 0u32;
    let mut spacings = Vec::new();
    let mut classes = Vec::new();
    for (iop, ds) in stacks.values() {
        let mut ds = ds.clone();
        ds.sort_by(f64::total_cmp);
        let mut distinct: Vec<(f64, u32)> = Vec::new();
        for d in ds {
            match distinct.last_mut() {
                Some((last, n)) if (d - *last).abs() <= SLICE_POSITION_TOLERANCE_MM => *n += 1,
                _ => distinct.push((d, 1)),
            }
        }
        slices += distinct.len() as u32;
        phases = phases.max(distinct.iter().map(|x| x.1).max().unwrap_or(0));
        spacings.extend(distinct.windows(2).map(|w| (w[1].0 - w[0].0).abs()));
        if let Some(c) = orientation_class(iop) {
            classes.push(c);
        }
    }
    if phases == 0 && images > 0 {
        phases = 1;
    }
    classes.dedup();
    let orientation = match classes.as_slice() {
        [] => None,
        [one] => Some(*one),
        many if many.iter().all(|c| *c == many[0]) => Some(many[0]),
        _ => Some(OrientationClass::Mixed),
    };

    let thickness = pick_f(&|h| h.geometry.slice_thickness);
    let measured_spacing = median(spacings).map(|v| round_to(v, 3));
    let spacing = measured_spacing.or_else(|| pick_f(&|h| h.geometry.spacing_between_slices));
    let gap = match (spacing, thickness) {
        (Some(s), Some(t)) => Some(round_to(s - t, 2)),
        _ => None,
    };

    let fov = pick_f(&|h| {
        let g = &h.geometry;
        match (g.rows, g.columns, g.pixel_spacing) {
            (Some(r), Some(c), Some([ps_r, ps_c])) if ps_r > 0.0 && ps_c > 0.0 => {
                Some(round_to((f64::from(r) * ps_r).max(f64::from(c) * ps_c), 1))
            }
            _ => g.reconstruction_diameter,
        }
    });

    let phase = most_common(headers.iter().filter_map(|h| {
        let dir = h.geometry.phase_direction?;
        let iop = h.frames.first()?.orientation?;
        phase_encoding(&iop, dir).map(phase_name)
    }))
    .map(|name| match name {
        "A-P" => PhaseEncoding::Ap,
        "L-R" => PhaseEncoding::Lr,
        _ => PhaseEncoding::Hf,
    });

    let matrix = most_common(
        headers
            .iter()
            .filter_map(|h| Some([h.geometry.rows?, h.geometry.columns?])),
    );

    // The highest value any file reports: a condition holds only if every image kept it.
    let highest = |f: &dyn Fn(&DicomHeader) -> Option<f64>| {
        headers
            .iter()
            .filter_map(|h| f(h))
            .filter(|v| v.is_finite())
            .reduce(f64::max)
    };
    let safety = SeriesSafety {
        field_strength_t: pick_f(&|h| h.equipment.field_strength_t),
        sar_w_kg: highest(&|h| h.equipment.sar_w_kg),
        b1rms_ut: highest(&|h| h.equipment.b1rms_ut),
        dbdt_t_s: highest(&|h| h.equipment.dbdt_t_s),
    };
    let geometry = SeriesGeometry::from_normals(stacks.values().filter_map(|(iop, _)| normal(iop)));
    let psir = headers.iter().any(|h| {
        let s = &h.series;
        marks_psir(
            [&s.description, &s.protocol_name, &s.sequence_name]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .chain(s.image_type.iter().map(String::as_str)),
        )
    });
    SeriesSummary {
        safety,
        geometry,
        psir,
        series_uid: series_uid.to_string(),
        study_uid: pick(&|h| h.identity.study_uid.clone()),
        number: most_common(headers.iter().filter_map(|h| h.series.number)),
        description: pick(&|h| h.series.description.clone()),
        protocol_name: pick(&|h| h.series.protocol_name.clone()),
        sequence_name: pick(&|h| h.series.sequence_name.clone()),
        scanning_sequence: first
            .map(|h| h.series.scanning_sequence.clone())
            .unwrap_or_default(),
        manufacturer: pick(&|h| h.equipment.manufacturer.clone()),
        files: headers.len(),
        images,
        enhanced: headers.iter().any(|h| h.enhanced),
        slices,
        phases,
        fov_mm: fov,
        slice_thickness_mm: thickness,
        spacing_mm: spacing,
        gap_mm: gap,
        orientation,
        phase_encoding: phase,
        matrix,
        tr_ms: pick_f(&|h| h.timing.tr_ms),
        te_ms: pick_f(&|h| h.timing.te_ms),
        ti_ms: pick_f(&|h| h.timing.ti_ms),
        flip_angle_deg: pick_f(&|h| h.timing.flip_angle_deg),
        start,
        end,
    }
}

/// Group headers by Series Instance UID (files without one are grouped under
/// `"(no series uid)"`) and summarise each, ordered by series number then start.
pub fn group_series(headers: &[DicomHeader]) -> Vec<SeriesSummary> {
    let mut groups: BTreeMap<&str, Vec<&DicomHeader>> = BTreeMap::new();
    for h in headers {
        let uid = h
            .identity
            .series_uid
            .as_deref()
            .unwrap_or("(no series uid)");
        groups.entry(uid).or_default().push(h);
    }
    let mut out: Vec<SeriesSummary> = groups
        .into_iter()
        .map(|(uid, hs)| summarize(uid, &hs))
        .collect();
    out.sort_by(|a, b| {
        a.number
            .unwrap_or(i64::MAX)
            .cmp(&b.number.unwrap_or(i64::MAX))
            .then(a.start.cmp(&b.start))
            .then(a.series_uid.cmp(&b.series_uid))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    const SAGITTAL: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
    const CORONAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];

    #[test]
    fn orientation_classes() {
        assert_eq!(orientation_class(&AXIAL), Some(OrientationClass::Axial));
        assert_eq!(
            orientation_class(&SAGITTAL),
            Some(OrientationClass::Sagittal)
        );
        assert_eq!(orientation_class(&CORONAL), Some(OrientationClass::Coronal));
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert_eq!(
            orientation_class(&[s, s, 0.0, -0.5, 0.5, -s]),
            Some(OrientationClass::Oblique)
        );
    }

    #[test]
    fn phase_direction_in_patient_terms() {
        // Axial: COL runs posterior → A-P; ROW runs left → L-R.
        assert_eq!(
            phase_encoding(&AXIAL, InPlanePhase::Col),
            Some(PhaseEncoding::Ap)
        );
        assert_eq!(
            phase_encoding(&AXIAL, InPlanePhase::Row),
            Some(PhaseEncoding::Lr)
        );
        // Coronal: COL runs foot-ward → H-F.
        assert_eq!(
            phase_encoding(&CORONAL, InPlanePhase::Col),
            Some(PhaseEncoding::Hf)
        );
        // Sagittal: ROW runs posterior → A-P.
        assert_eq!(
            phase_encoding(&SAGITTAL, InPlanePhase::Row),
            Some(PhaseEncoding::Ap)
        );
    }
}
