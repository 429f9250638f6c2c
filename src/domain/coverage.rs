//! Checks that span several series of one exam (3.1.1.1, 3.1.4.2, 3.1.4.3): the
//! planes static imaging covers, whether LGE used PSIR, and whether LGE was acquired
//! in the planes the cine was.
//!
//! A series check ([`crate::domain::protocol::check_series`]) looks at one series'
//! numbers; these look at the exam's series together, so they are open items that
//! a later series can close. Each series brings its planes as unit normals
//! ([`SeriesGeometry`]) and, when its header was read, whether it is a PSIR
//! reconstruction. A series without geometry is left out of the plane checks, never
//! counted as a miss.

use serde::{Deserialize, Serialize};

use super::protocol::ProtocolStep;

/// A plane whose normal lies within this angle of a patient axis is named after that
/// axis (axial, sagittal, coronal); anything further off is oblique (degrees).
pub const OBLIQUE_TOLERANCE_DEG: f64 = 15.0;

/// An LGE plane counts as "the same plane" as a cine view when their normals differ by
/// at most this angle (3.1.4.3; degrees). Planners copy the cine's geometry, so the
/// planes normally agree to a fraction of a degree; 10° leaves room for a replanned
/// view without taking a 2-chamber for a 4-chamber (they differ by about 60°).
pub const PLANE_MATCH_TOLERANCE_DEG: f64 = 10.0;

/// At most this many distinct planes are kept per series (a localiser has three, a
/// radial stack a dozen); the rest are dropped, so a hostile header cannot grow the log.
pub const MAX_SERIES_PLANES: usize = 32;

/// Planes of one series within this angle are one plane (degrees): frames of a stack
/// differ in their cosines only by rounding.
pub const SAME_PLANE_MERGE_DEG: f64 = 1.0;

/// Static imaging covers at least this many of axial, sagittal and coronal (3.1.1.1).
pub const STATIC_MIN_ORIENTATIONS: usize = 2;

/// Orientation class of a plane or a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrientationClass {
    /// Normal along head–foot.
    Axial,
    /// Normal along left–right.
    Sagittal,
    /// Normal along anterior–posterior.
    Coronal,
    /// Anything else (cardiac views are usually double oblique).
    Oblique,
    /// Planes of several classes in one series (e.g. a three-plane localiser).
    Mixed,
}

impl OrientationClass {
    /// Lower-case name, as used in classification rules and Fluent keys.
    pub fn name(self) -> &'static str {
        match self {
            OrientationClass::Axial => "axial",
            OrientationClass::Sagittal => "sagittal",
            OrientationClass::Coronal => "coronal",
            OrientationClass::Oblique => "oblique",
            OrientationClass::Mixed => "mixed",
        }
    }

    /// The class of one plane from its unit normal (patient coordinates: x left,
    /// y posterior, z head); `None` for a zero or non-finite vector.
    pub fn of_normal(n: [f64; 3]) -> Option<OrientationClass> {
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if !(len.is_finite() && len > 1e-6) {
            return None;
        }
        let (axis, value) =
            n.iter()
                .map(|c| c.abs() / len)
                .enumerate()
                .fold(
                    (0, 0.0),
                    |best, (i, a)| if a > best.1 { (i, a) } else { best },
                );
        if value < OBLIQUE_TOLERANCE_DEG.to_radians().cos() {
            return Some(OrientationClass::Oblique);
        }
        Some(match axis {
            0 => OrientationClass::Sagittal,
            1 => OrientationClass::Coronal,
            _ => OrientationClass::Axial,
        })
    }
}

/// The planes of one series: the unit normal of each distinct plane orientation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SeriesGeometry {
    /// Unit normals, at most [`MAX_SERIES_PLANES`].
    pub planes: Vec<[f64; 3]>,
}

impl SeriesGeometry {
    /// The geometry of `normals`: each normalised, non-finite or zero ones dropped,
    /// planes within [`SAME_PLANE_MERGE_DEG`] of one already kept merged, at most [`MAX_SERIES_PLANES`].
    pub fn from_normals(normals: impl IntoIterator<Item = [f64; 3]>) -> SeriesGeometry {
        let mut planes: Vec<[f64; 3]> = Vec::new();
        for n in normals {
            if planes.len() >= MAX_SERIES_PLANES {
                break;
            }
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if !(len.is_finite() && len > 1e-6) {
                continue;
            }
            let unit = [n[0] / len, n[1] / len, n[2] / len];
            if !planes
                .iter()
                .any(|p| same_plane(p, &unit, SAME_PLANE_MERGE_DEG))
            {
                planes.push(unit);
            }
        }
        SeriesGeometry { planes }
    }

    /// The classes of its planes (each once, in plane order).
    pub fn classes(&self) -> Vec<OrientationClass> {
        let mut out = Vec::new();
        for c in self
            .planes
            .iter()
            .filter_map(|p| OrientationClass::of_normal(*p))
        {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

/// Whether two plane normals are within `tolerance_deg` of each other (a plane and
/// its flipped normal are the same plane).
pub fn same_plane(a: &[f64; 3], b: &[f64; 3], tolerance_deg: f64) -> bool {
    let la = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    let lb = (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]).sqrt();
    if !(la > 1e-6 && lb > 1e-6 && la.is_finite() && lb.is_finite()) {
        return false;
    }
    let cos = ((a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (la * lb)).abs();
    cos >= tolerance_deg.to_radians().cos() - 1e-12
}

/// One series as these checks see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverageSeries<'a> {
    /// Its step.
    pub step: ProtocolStep,
    /// Its planes, when read from its header.
    pub geometry: Option<&'a SeriesGeometry>,
    /// Whether it is a PSIR reconstruction; `None` when not known.
    pub psir: Option<bool>,
}

/// Which exam-level check is still open (stable codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageCode {
    /// Static imaging in fewer than two of axial, sagittal and coronal (3.1.1.1).
    StaticOrientations,
    /// LGE acquired without a PSIR reconstruction (3.1.4.2, a recommendation).
    LgeWithoutPsir,
    /// LGE not (yet) acquired in one of the cine's planes (3.1.4.3).
    LgePlanesUnmatched,
}

impl CoverageCode {
    /// Every code, for tests that each has its words in every language.
    pub const ALL: [CoverageCode; 3] = [
        CoverageCode::StaticOrientations,
        CoverageCode::LgeWithoutPsir,
        CoverageCode::LgePlanesUnmatched,
    ];

    /// The clause it checks.
    pub fn clause(self) -> &'static str {
        match self {
            CoverageCode::StaticOrientations => "3.1.1.1",
            CoverageCode::LgeWithoutPsir => "3.1.4.2",
            CoverageCode::LgePlanesUnmatched => "3.1.4.3",
        }
    }

    /// The step whose checklist row shows it.
    pub fn step(self) -> ProtocolStep {
        match self {
            CoverageCode::StaticOrientations => ProtocolStep::BlackBlood,
            CoverageCode::LgeWithoutPsir | CoverageCode::LgePlanesUnmatched => ProtocolStep::Lge,
        }
    }
}

/// An open exam-level check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageGap {
    /// Which check.
    pub code: CoverageCode,
    /// Static orientations seen so far ([`CoverageCode::StaticOrientations`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<OrientationClass>,
    /// Cine views with no LGE plane yet ([`CoverageCode::LgePlanesUnmatched`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<ProtocolStep>,
}

/// The cine views whose planes LGE repeats (3.1.4.3: 2-chamber, 4-chamber and the
/// short-axis stack).
pub const LGE_CINE_VIEWS: [ProtocolStep; 3] = [
    ProtocolStep::Cine2ch,
    ProtocolStep::Cine4ch,
    ProtocolStep::CineSax,
];

/// The open exam-level checks of `series` (in acquisition order):
/// * 3.1.1.1: static imaging with geometry covers fewer than
///   [`STATIC_MIN_ORIENTATIONS`] of axial, sagittal and coronal;
/// * 3.1.4.2: every LGE series whose reconstruction is known is not PSIR;
/// * 3.1.4.3: an acquired cine view (2-chamber, 4-chamber, short axis) has no LGE
///   plane within [`PLANE_MATCH_TOLERANCE_DEG`] of any of its planes, once an LGE
///   series with geometry is in.
pub fn coverage_gaps(series: &[CoverageSeries<'_>]) -> Vec<CoverageGap> {
    let mut gaps = Vec::new();
    let is_static = |s: &CoverageSeries<'_>| {
        matches!(s.step, ProtocolStep::BlackBlood | ProtocolStep::BrightBlood)
    };
    let static_geometry: Vec<&SeriesGeometry> = series
        .iter()
        .filter(|s| is_static(s))
        .filter_map(|s| s.geometry)
        .collect();
    if !static_geometry.is_empty() {
        let mut seen: Vec<OrientationClass> = static_geometry
            .iter()
            .flat_map(|g| g.classes())
            .filter(|c| {
                matches!(
                    c,
                    OrientationClass::Axial
                        | OrientationClass::Sagittal
                        | OrientationClass::Coronal
                )
            })
            .collect();
        seen.sort();
        seen.dedup();
        if seen.len() < STATIC_MIN_ORIENTATIONS {
            gaps.push(CoverageGap {
                code: CoverageCode::StaticOrientations,
                seen,
                views: Vec::new(),
            });
        }
    }
    let lge: Vec<&CoverageSeries<'_>> = series
        .iter()
        .filter(|s| s.step == ProtocolStep::Lge)
        .collect();
    let known: Vec<bool> = lge.iter().filter_map(|s| s.psir).collect();
    if !known.is_empty() && !known.contains(&true) {
        gaps.push(CoverageGap {
            code: CoverageCode::LgeWithoutPsir,
            seen: Vec::new(),
            views: Vec::new(),
        });
    }
    let lge_planes: Vec<&[f64; 3]> = lge
        .iter()
        .filter_map(|s| s.geometry)
        .flat_map(|g| g.planes.iter())
        .collect();
    if !lge_planes.is_empty() {
        let views: Vec<ProtocolStep> = LGE_CINE_VIEWS
            .into_iter()
            .filter(|view| {
                let cine: Vec<&[f64; 3]> = series
                    .iter()
                    .filter(|s| s.step == *view)
                    .filter_map(|s| s.geometry)
                    .flat_map(|g| g.planes.iter())
                    .collect();
                !cine.is_empty()
                    && !cine.iter().any(|c| {
                        lge_planes
                            .iter()
                            .any(|l| same_plane(c, l, PLANE_MATCH_TOLERANCE_DEG))
                    })
            })
            .collect();
        if !views.is_empty() {
            gaps.push(CoverageGap {
                code: CoverageCode::LgePlanesUnmatched,
                seen: Vec::new(),
                views,
            });
        }
    }
    gaps
}
