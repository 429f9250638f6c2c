//! The PDF exam sheet (issue 15): the exam on one or two A4 pages, for the paper file.
//!
//! The writer is handed text already worded in one language (the caller words it
//! through Fluent) and the numbers of the timeline picture; it lays them out and
//! draws them with [`krilla`] (Typst's PDF library): no PDF syntax is written here.
//! The kiosk's own CJK font, WenQuanYi Micro Hei (`ui/fonts/wqy-microhei.ttc`, the
//! same file the touchscreen imports; it covers Latin too), is embedded and subset.
//!
//! Layout runs in two passes. `Layout` turns the sheet into pages of drawing
//! operations (`Op`): text wrapped to the page by glyph advances (Chinese per
//! character, Latin at spaces), tables with column widths from their content, the
//! timeline chart; a page break continues on the next page and never cuts text
//! off. Only then is the page count known, so every page gets its footer and page
//! label before the pages are written. Nothing reads a clock: the same sheet gives
//! the same bytes.

use std::ops::Range;
use std::sync::LazyLock;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, LineJoin, Stroke, StrokeDash};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

// ---------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------

/// One exam's sheet, every text already worded in the language it is printed in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExamSheet {
    /// The sheet's title, first on page 1 (also the PDF's title).
    pub title: String,
    /// Printed in red at the top of every page when the exam is a rehearsal
    /// (training mode), e.g. "培训演练 — 非临床记录".
    pub training_banner: Option<String>,
    /// The identity block under the title (patient, exam, date, staff), one entry a
    /// line; the first line is repeated at the top of every later page.
    pub header_lines: Vec<String>,
    /// The sections, in order.
    pub sections: Vec<SheetSection>,
    /// The vital-signs timeline, if the exam has readings.
    pub timeline: Option<Timeline>,
    /// How many sections come before the timeline: 0 draws it right under the
    /// identity block, `sections.len()` (or more) after the last section.
    pub timeline_after: usize,
    /// The footer of every page: the log's verification status and head hash.
    pub footer: String,
    /// The page label, a pattern in which `{n}` is the page number and `{m}` the page
    /// count, e.g. "第 {n} / {m} 页" or "Page {n} of {m}".
    pub page_label: String,
}

/// A headed section of the sheet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SheetSection {
    /// The section's heading.
    pub heading: String,
    /// Its rows, in order.
    pub rows: Vec<SheetRow>,
}

/// One row of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum SheetRow {
    /// A paragraph, wrapped to the page width; `\n` starts a new line.
    Line(String),
    /// A label and its value ("对比剂: 钆布醇 7.5 mL"); the labels of a section share
    /// one column.
    Pair(String, String),
    /// A table: a header row and body rows, column widths from the content; the
    /// header is repeated on every page the table runs onto.
    Table {
        /// The column headings.
        header: Vec<String>,
        /// The body rows (a short row leaves its last cells empty).
        rows: Vec<Vec<String>>,
    },
}

/// The timeline picture: vital signs over the exam, the stress drug's time, and
/// marks for injections, series, alarms and stop criteria. Times are seconds from
/// the exam's start, values bpm and mmHg (one shared axis).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// The heading above the chart.
    pub heading: String,
    /// The unit of the time axis, printed at its end ("min"); the axis is in minutes.
    pub axis_label: String,
    /// The unit of the value axis, printed above it ("bpm / mmHg").
    pub value_axis_label: String,
    /// Heart rate readings: (seconds, bpm), in time order.
    pub hr: Vec<(f64, f64)>,
    /// Systolic pressure readings: (seconds, mmHg), in time order.
    pub systolic: Vec<(f64, f64)>,
    /// Diastolic pressure readings: (seconds, mmHg), in time order.
    pub diastolic: Vec<(f64, f64)>,
    /// Spans while a stress drug runs, shaded.
    pub bands: Vec<TimelineBand>,
    /// Events marked by vertical lines with short labels.
    pub markers: Vec<TimelineMarker>,
    /// The legend under the chart: each entry's words and what it explains.
    pub legend: Vec<(String, LegendKey)>,
}

/// A span of the timeline while a stress drug runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineBand {
    /// Start, seconds from the exam's start.
    pub from_s: f64,
    /// End, seconds from the exam's start.
    pub to_s: f64,
    /// A short label printed above the band ("腺苷 140 µg/kg/min").
    pub label: String,
}

/// An event on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineMarker {
    /// When, seconds from the exam's start.
    pub at_s: f64,
    /// What kind of event (sets the line style).
    pub kind: MarkerKind,
    /// A short label printed above the chart; left out when the labels above the
    /// chart are too crowded to place it (the sheet's tables carry every event).
    pub label: String,
}

/// The kinds of timeline events, each drawn in its own line style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// A contrast injection: solid line.
    Injection,
    /// An imaging series: thin dotted grey line.
    Series,
    /// An alarm: dash-dot line.
    Alarm,
    /// A stop criterion met: heavy long dashes.
    StopCriterion,
}

/// What a legend entry explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegendKey {
    /// The heart-rate line (solid).
    HeartRate,
    /// The systolic line (dashed).
    Systolic,
    /// The diastolic line (dotted).
    Diastolic,
    /// The shaded stress-drug band.
    DrugBand,
    /// A kind of event marker.
    Marker(MarkerKind),
}

/// Why a sheet could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The embedded font could not be read (a broken build).
    #[error("the sheet's embedded font could not be read: {0}")]
    Font(String),
    /// The PDF library refused the document.
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

// ---------------------------------------------------------------------------------
// Geometry and limits (PDF points: 1/72 inch)
// ---------------------------------------------------------------------------------

/// Points in a millimetre.
pub const MM: f32 = 72.0 / 25.4;
/// A4 width, rounded as PDF tools print it.
pub const PAGE_W: f32 = 595.0;
/// A4 height, rounded as PDF tools print it.
pub const PAGE_H: f32 = 842.0;
/// The page margin on every side.
const MARGIN: f32 = 15.0 * MM;
/// The width of the text column.
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Line height as a multiple of the font size.
const LINE_FACTOR: f32 = 1.35;

const TITLE_SIZE: f32 = 16.0;
const BANNER_SIZE: f32 = 11.0;
const BANNER_PAD: f32 = 4.0;
const IDENTITY_SIZE: f32 = 9.5;
const RUNNING_SIZE: f32 = 7.5;
const HEADING_SIZE: f32 = 11.0;
const BODY_SIZE: f32 = 9.0;
const TABLE_SIZE: f32 = 8.0;
const FOOTER_SIZE: f32 = 7.0;
/// Space above a section heading (none at the top of a page).
const SECTION_GAP: f32 = 9.0;
/// Space between a heading's rule and its first row.
const HEADING_AFTER: f32 = 4.0;
/// Space between the footer's rule and the body's last line.
const FOOTER_GAP: f32 = 8.0;
/// Gap between the label column and the value of a [`SheetRow::Pair`].
const PAIR_GAP: f32 = 8.0;
/// The label column of pairs takes at most this share of the text column.
const PAIR_LABEL_MAX: f32 = 0.38;
/// Padding inside a table cell.
const CELL_PAD_X: f32 = 4.0;
/// Padding above and below a table cell's text.
const CELL_PAD_Y: f32 = 1.5;
/// Stroke width that thickens the title, headings and banner (the font has one
/// weight).
const BOLD_STROKE: f32 = 0.035;
/// Tolerance of layout comparisons.
const EPS: f32 = 0.01;

/// The chart's width, value axis included (170 mm).
const CHART_W: f32 = 170.0 * MM;
/// The value axis' column left of the plot.
const Y_AXIS_W: f32 = 22.0;
/// The plot's height (with the label lanes above and the time axis below the chart
/// is about 60 mm).
const PLOT_H: f32 = 44.0 * MM;
/// The row above the label lanes holding the value axis' unit.
const VALUE_LABEL_H: f32 = 9.0;
/// The height of the time axis under the plot (ticks and their labels).
const X_AXIS_H: f32 = 13.0;
/// Font size of the chart's labels.
const CHART_LABEL_SIZE: f32 = 6.5;
/// Height of one lane of event labels above the plot.
const LANE_H: f32 = 8.0;
/// At most this many lanes of event labels; a label that fits in none is left out.
pub const MAX_LABEL_LANES: usize = 4;
/// One legend row's height.
const LEGEND_ROW_H: f32 = 10.0;
/// The line sample's width in the legend.
const LEGEND_SAMPLE_W: f32 = 18.0;
/// Width of a thinning column: at most [`POINTS_PER_COLUMN`] points of a series are
/// drawn per 0.2 mm of the time axis.
pub const THIN_COLUMN_MM: f32 = 0.2;
/// Points kept per thinning column: first, minimum, maximum, last.
pub const POINTS_PER_COLUMN: usize = 4;
/// A series with at most this many points drawn also marks each reading with a dot
/// (a single reading between gaps would otherwise not show).
const SPARSE_DOTS: usize = 240;
/// A series' line breaks where readings are missing for longer than this many times
/// its median interval...
const GAP_FACTOR: f64 = 5.0;
/// ...and at least this many seconds.
const GAP_MIN_S: f64 = 60.0;
/// The value axis always spans at least these values (bpm / mmHg).
const VALUE_FLOOR: f64 = 40.0;
/// See [`VALUE_FLOOR`].
const VALUE_CEIL: f64 = 160.0;
/// The time axis' tick steps to choose from, minutes.
const TICK_STEPS_MIN: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0];
/// At most this many time ticks.
const MAX_TICKS: f64 = 13.0;

type Rgb = (u8, u8, u8);
const INK: Rgb = (20, 20, 20);
const MUTED: Rgb = (85, 85, 85);
const RULE: Rgb = (160, 160, 160);
const HEAD_FILL: Rgb = (230, 230, 230);
const BANNER_RED: Rgb = (190, 0, 0);
const BANNER_FILL: Rgb = (253, 232, 232);
const GRID: Rgb = (215, 215, 215);
const BAND_FILL: Rgb = (208, 226, 244);
const BAND_EDGE: Rgb = (70, 105, 155);

/// A line style: width, colour and dash pattern (empty: solid).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pen {
    width: f32,
    color: Rgb,
    dash: &'static [f32],
}

const HR_PEN: Pen = Pen {
    width: 0.9,
    color: (0, 60, 150),
    dash: &[],
};
const SYSTOLIC_PEN: Pen = Pen {
    width: 0.8,
    color: (175, 20, 20),
    dash: &[4.0, 2.0],
};
const DIASTOLIC_PEN: Pen = Pen {
    width: 0.8,
    color: (200, 95, 0),
    dash: &[0.8, 1.6],
};
const BAND_PEN: Pen = Pen {
    width: 0.4,
    color: BAND_EDGE,
    dash: &[],
};

fn marker_pen(kind: MarkerKind) -> Pen {
    match kind {
        MarkerKind::Injection => Pen {
            width: 1.0,
            color: (110, 0, 140),
            dash: &[],
        },
        MarkerKind::Series => Pen {
            width: 0.5,
            color: (105, 105, 105),
            dash: &[1.0, 1.5],
        },
        MarkerKind::Alarm => Pen {
            width: 0.9,
            color: (210, 0, 0),
            dash: &[3.0, 1.5, 0.8, 1.5],
        },
        MarkerKind::StopCriterion => Pen {
            width: 1.4,
            color: (0, 0, 0),
            dash: &[5.0, 2.0],
        },
    }
}

/// The order event labels claim room above the chart in (most important first).
fn marker_rank(kind: MarkerKind) -> u8 {
    match kind {
        MarkerKind::StopCriterion => 0,
        MarkerKind::Alarm => 1,
        MarkerKind::Injection => 2,
        MarkerKind::Series => 4,
    }
}
const BAND_RANK: u8 = 3;

// ---------------------------------------------------------------------------------
// The font
// ---------------------------------------------------------------------------------

/// WenQuanYi Micro Hei, the kiosk's UI font (`ui/app.slint` imports the same file).
static FONT_DATA: &[u8] = include_bytes!("../../ui/fonts/wqy-microhei.ttc");
/// The collection's first face (Micro Hei; the second is its monospaced twin).
const FONT_INDEX: u32 = 0;

/// The font for krilla, read once (hashing five megabytes each sheet is wasted work).
static PDF_FONT: LazyLock<Option<Font>> =
    LazyLock::new(|| Font::new(krilla::Data::from(FONT_DATA), FONT_INDEX));

/// The font's metrics for measuring text, glyph by glyph (no kerning or ligatures:
/// neither matters to this font, and measuring and drawing use the same advances).
struct Face {
    charmap: Charmap<'static>,
    advances: GlyphMetrics<'static>,
    units_per_em: f32,
    /// Ascent in ems.
    ascent: f32,
    /// Descent in ems, positive.
    descent: f32,
}

impl Face {
    fn load() -> Result<Self, PdfError> {
        let font = FontRef::from_index(FONT_DATA, FONT_INDEX)
            .map_err(|e| PdfError::Font(e.to_string()))?;
        let metrics = font.metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(metrics.units_per_em.max(1));
        Ok(Self {
            charmap: font.charmap(),
            advances: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em,
            ascent: metrics.ascent / units_per_em,
            descent: -metrics.descent / units_per_em,
        })
    }

    /// The glyph of a character and its advance in ems (the missing glyph, 0, where
    /// the font has none; a tab is a space).
    fn glyph(&self, c: char) -> (u32, f32) {
        let c = if c == '\t' { ' ' } else { c };
        let gid = self.charmap.map(c).unwrap_or_default();
        let advance = self.advances.advance_width(gid).unwrap_or(0.0) / self.units_per_em;
        (gid.to_u32(), advance)
    }

    /// The width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    /// The glyphs krilla draws for `text`, each tied to its characters (for text
    /// extraction and copy-paste).
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, c)| {
                let (gid, advance) = self.glyph(c);
                KrillaGlyph::new(
                    GlyphId::new(gid),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    i..i + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }

    fn line_height(size: f32) -> f32 {
        size * LINE_FACTOR
    }

    /// The baseline's offset below the top of a line box of `size`.
    fn baseline(&self, size: f32) -> f32 {
        let lh = Self::line_height(size);
        (lh - (self.ascent + self.descent) * size) / 2.0 + self.ascent * size
    }

    /// `text` broken into lines no wider than `width` at `size`: at spaces, around
    /// every CJK character (not before closing punctuation nor after opening), and
    /// inside a word only when the word alone is too wide. `\n` forces a break.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut out = Vec::new();
        for para in text.split('\n') {
            let para = para.trim_end_matches('\r');
            let first = out.len();
            let mut line = String::new();
            let mut line_w = 0.0f32;
            for (range, kind) in tokens(para) {
                let tok = &para[range];
                let w = self.width(tok, size);
                if kind == Kind::Space {
                    if line.is_empty() && out.len() > first {
                        continue; // no leading space on a wrapped line
                    }
                    line.push_str(tok);
                    line_w += w;
                    continue;
                }
                if line_w + w <= width + EPS {
                    line.push_str(tok);
                    line_w += w;
                    continue;
                }
                if !line.trim().is_empty() {
                    out.push(line.trim_end().to_owned());
                    line.clear();
                    line_w = 0.0;
                } else {
                    line.clear();
                    line_w = 0.0;
                }
                if w <= width + EPS {
                    line.push_str(tok);
                    line_w = w;
                    continue;
                }
                // A word wider than the line: broken between characters.
                for c in tok.chars() {
                    let cw = self.glyph(c).1 * size;
                    if line_w + cw > width + EPS && !line.is_empty() {
                        out.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(c);
                    line_w += cw;
                }
            }
            let rest = line.trim_end();
            if !rest.is_empty() || out.len() == first {
                out.push(rest.to_owned());
            }
        }
        out
    }

    /// The widest unbreakable piece of `text` at `size`.
    fn min_width(&self, text: &str, size: f32) -> f32 {
        text.split('\n')
            .flat_map(|p| {
                tokens(p)
                    .into_iter()
                    .filter(|(_, k)| *k != Kind::Space)
                    .map(move |(r, _)| self.width(&p[r], size))
            })
            .fold(0.0, f32::max)
    }

    /// The widest line of `text` at `size`, unwrapped.
    fn natural_width(&self, text: &str, size: f32) -> f32 {
        text.split('\n')
            .map(|p| self.width(p.trim_end(), size))
            .fold(0.0, f32::max)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Space,
    Wide,
    Narrow,
}

/// Characters that break anywhere (CJK ideographs, kana, hangul, fullwidth forms).
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// Punctuation that never starts a line.
fn no_line_start(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '」'
            | '』'
            | '》'
            | '〉'
            | '】'
            | '”'
            | '’'
            | '…'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | ')'
            | ']'
            | '%'
    )
}

/// Punctuation that never ends a line.
fn no_line_end(c: char) -> bool {
    matches!(
        c,
        '（' | '「' | '『' | '《' | '〈' | '【' | '“' | '‘' | '(' | '['
    )
}

/// `text` cut into pieces a line may break between: runs of spaces, runs of other
/// narrow characters (words), single wide characters; punctuation stays with its
/// neighbour.
fn tokens(text: &str) -> Vec<(Range<usize>, Kind)> {
    let mut out: Vec<(Range<usize>, Kind)> = Vec::new();
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        let kind = if c.is_whitespace() {
            Kind::Space
        } else if is_wide(c) {
            Kind::Wide
        } else {
            Kind::Narrow
        };
        if let Some((range, last)) = out.last_mut() {
            let before = text[..range.end].chars().next_back();
            let glue = match (*last, kind) {
                (Kind::Space, Kind::Space) | (Kind::Narrow, Kind::Narrow) => true,
                (Kind::Space, _) | (_, Kind::Space) => false,
                _ => no_line_start(c) || before.is_some_and(no_line_end),
            };
            if glue {
                range.end = end;
                continue;
            }
        }
        out.push((i..end, kind));
    }
    out
}

// ---------------------------------------------------------------------------------
// Drawing operations
// ---------------------------------------------------------------------------------

/// One thing drawn on a page; `y` grows downwards from the page's top.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// Text on a baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        color: Rgb,
        bold: bool,
        text: String,
    },
    /// Polylines in one style.
    Path {
        runs: Vec<Vec<(f32, f32)>>,
        pen: Pen,
    },
    /// A filled rectangle.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Rgb,
    },
}

fn segment(x0: f32, y0: f32, x1: f32, y1: f32, pen: Pen) -> Op {
    Op::Path {
        runs: vec![vec![(x0, y0), (x1, y1)]],
        pen,
    }
}

fn hrule(x: f32, y: f32, w: f32, width: f32, color: Rgb) -> Op {
    segment(
        x,
        y,
        x + w,
        y,
        Pen {
            width,
            color,
            dash: &[],
        },
    )
}

// ---------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------

/// A table's columns, with its header for the pages it runs onto.
struct TableHead {
    xs: Vec<f32>,
    widths: Vec<f32>,
    head: Vec<Vec<String>>,
}

/// One column of a row being placed.
struct Cell {
    x: f32,
    lines: Vec<String>,
    color: Rgb,
}

/// Turns a sheet into pages of drawing operations.
struct Layout<'a> {
    face: &'a Face,
    sheet: &'a ExamSheet,
    pages: Vec<Vec<Op>>,
    /// The top of the next thing placed.
    y: f32,
    /// Where the current page's body starts.
    body_top: f32,
    /// Where every page's body ends (the footer below).
    body_bottom: f32,
}

impl<'a> Layout<'a> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn at_top(&self) -> bool {
        self.y <= self.body_top + EPS
    }

    fn text(&mut self, x: f32, top: f32, size: f32, color: Rgb, bold: bool, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let y = top + self.face.baseline(size);
        self.ops().push(Op::Text {
            x,
            y,
            size,
            color,
            bold,
            text: text.to_owned(),
        });
    }

    /// Starts a page: the training banner, and on later pages the running header.
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
        if let Some(banner) = &self.sheet.training_banner {
            let lines = self
                .face
                .wrap(banner, BANNER_SIZE, CONTENT_W - 2.0 * BANNER_PAD);
            let lh = Face::line_height(BANNER_SIZE);
            let h = lines.len() as f32 * lh + 2.0 * BANNER_PAD;
            let top = self.y;
            self.ops().push(Op::Rect {
                x: MARGIN,
                y: top,
                w: CONTENT_W,
                h,
                fill: BANNER_FILL,
            });
            let pen = Pen {
                width: 1.2,
                color: BANNER_RED,
                dash: &[],
            };
            let (l, r, b) = (MARGIN, MARGIN + CONTENT_W, top + h);
            self.ops().push(Op::Path {
                runs: vec![vec![(l, top), (r, top), (r, b), (l, b), (l, top)]],
                pen,
            });
            for (i, line) in lines.iter().enumerate() {
                let x = MARGIN + (CONTENT_W - self.face.width(line, BANNER_SIZE)) / 2.0;
                let t = top + BANNER_PAD + i as f32 * lh;
                self.text(x, t, BANNER_SIZE, BANNER_RED, true, line);
            }
            self.y = top + h + 6.0;
        }
        if self.pages.len() > 1 {
            let mut running = self.sheet.title.clone();
            if let Some(first) = self.sheet.header_lines.first() {
                running.push_str("  ·  ");
                running.push_str(first);
            }
            let lh = Face::line_height(RUNNING_SIZE);
            for line in self.face.wrap(&running, RUNNING_SIZE, CONTENT_W) {
                let top = self.y;
                self.text(MARGIN, top, RUNNING_SIZE, MUTED, false, &line);
                self.y += lh;
            }
            let y = self.y + 1.0;
            self.ops().push(hrule(MARGIN, y, CONTENT_W, 0.4, RULE));
            self.y = y + 5.0;
        }
        self.body_top = self.y;
    }

    /// Makes room for `h`: a new page unless it fits or the page is still empty.
    fn ensure(&mut self, h: f32) -> bool {
        if self.y + h > self.body_bottom + EPS && !self.at_top() {
            self.new_page();
            return true;
        }
        false
    }

    /// Page 1's title and identity block.
    fn title_block(&mut self) {
        let lh = Face::line_height(TITLE_SIZE);
        for line in self.face.wrap(&self.sheet.title, TITLE_SIZE, CONTENT_W) {
            self.ensure(lh);
            let top = self.y;
            self.text(MARGIN, top, TITLE_SIZE, INK, true, &line);
            self.y += lh;
        }
        self.y += 2.0;
        let lh = Face::line_height(IDENTITY_SIZE);
        for header in &self.sheet.header_lines {
            for line in self.face.wrap(header, IDENTITY_SIZE, CONTENT_W) {
                self.ensure(lh);
                let top = self.y;
                self.text(MARGIN, top, IDENTITY_SIZE, INK, false, &line);
                self.y += lh;
            }
        }
        let y = self.y + 2.0;
        self.ops().push(hrule(MARGIN, y, CONTENT_W, 0.8, INK));
        self.y = y + 4.0;
        self.body_top = self.body_top.min(self.y);
    }

    /// A section heading kept together with the `keep` points that follow it.
    fn heading(&mut self, text: &str, keep: f32) {
        let lines = self.face.wrap(text, HEADING_SIZE, CONTENT_W);
        let lh = Face::line_height(HEADING_SIZE);
        let h = lines.len() as f32 * lh + 1.5 + HEADING_AFTER;
        let gap = if self.at_top() { 0.0 } else { SECTION_GAP };
        if self.ensure(gap + h + keep) {
            // a fresh page: no gap above
        } else {
            self.y += gap;
        }
        for line in &lines {
            let top = self.y;
            self.text(MARGIN, top, HEADING_SIZE, INK, true, line);
            self.y += lh;
        }
        let y = self.y + 0.5;
        self.ops().push(hrule(MARGIN, y, CONTENT_W, 0.5, RULE));
        self.y = y + HEADING_AFTER;
    }

    fn section(&mut self, section: &SheetSection) {
        let face = self.face;
        let label_w = section
            .rows
            .iter()
            .filter_map(|r| match r {
                SheetRow::Pair(label, _) => Some(face.natural_width(label, BODY_SIZE)),
                _ => None,
            })
            .fold(0.0, f32::max)
            .min(CONTENT_W * PAIR_LABEL_MAX);
        let keep = match section.rows.first() {
            Some(SheetRow::Table { header, .. }) => {
                let head = self.table_head(header, &[]);
                self.head_height(&head) + Face::line_height(TABLE_SIZE) + 2.0 * CELL_PAD_Y
            }
            Some(_) => Face::line_height(BODY_SIZE),
            None => 0.0,
        };
        self.heading(&section.heading, keep);
        for row in &section.rows {
            match row {
                SheetRow::Line(text) => {
                    let lh = Face::line_height(BODY_SIZE);
                    for line in face.wrap(text, BODY_SIZE, CONTENT_W) {
                        self.ensure(lh);
                        let top = self.y;
                        self.text(MARGIN, top, BODY_SIZE, INK, false, &line);
                        self.y += lh;
                    }
                }
                SheetRow::Pair(label, value) => {
                    let value_x = MARGIN + label_w + PAIR_GAP;
                    let cells = [
                        Cell {
                            x: MARGIN,
                            lines: face.wrap(label, BODY_SIZE, label_w),
                            color: MUTED,
                        },
                        Cell {
                            x: value_x,
                            lines: face.wrap(value, BODY_SIZE, MARGIN + CONTENT_W - value_x),
                            color: INK,
                        },
                    ];
                    self.place_row(&cells, BODY_SIZE, 0.5, None);
                }
                SheetRow::Table { header, rows } => self.table(header, rows),
            }
        }
    }

    /// Column widths from content: each column its natural width where the page
    /// allows, else at least its widest word, the rest shared by what each needs.
    fn table_head(&self, header: &[String], rows: &[Vec<String>]) -> TableHead {
        let face = self.face;
        let n = rows.iter().map(Vec::len).fold(header.len(), usize::max);
        let mut natural = vec![0.0f32; n];
        let mut least = vec![0.0f32; n];
        for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
            for (i, cell) in row.iter().enumerate() {
                natural[i] = natural[i].max(face.natural_width(cell, TABLE_SIZE));
                least[i] = least[i].max(face.min_width(cell, TABLE_SIZE));
            }
        }
        let pad = 2.0 * CELL_PAD_X;
        let natural: Vec<f32> = natural.iter().map(|w| w + pad).collect();
        let least: Vec<f32> = least
            .iter()
            .zip(&natural)
            .map(|(l, nat)| (l + pad).min(*nat))
            .collect();
        let widths = column_widths(&natural, &least, CONTENT_W);
        let mut xs = Vec::with_capacity(n);
        let mut x = MARGIN;
        for w in &widths {
            xs.push(x);
            x += w;
        }
        let head = (0..n)
            .map(|i| {
                let text = header.get(i).map(String::as_str).unwrap_or("");
                face.wrap(text, TABLE_SIZE, widths[i] - pad)
            })
            .collect();
        TableHead { xs, widths, head }
    }

    fn head_height(&self, head: &TableHead) -> f32 {
        let lines = head.head.iter().map(Vec::len).max().unwrap_or(1);
        lines as f32 * Face::line_height(TABLE_SIZE) + 2.0 * CELL_PAD_Y
    }

    fn draw_head(&mut self, head: &TableHead) {
        let h = self.head_height(head);
        let top = self.y;
        self.ops().push(Op::Rect {
            x: MARGIN,
            y: top,
            w: CONTENT_W,
            h,
            fill: HEAD_FILL,
        });
        let lh = Face::line_height(TABLE_SIZE);
        for (i, lines) in head.head.iter().enumerate() {
            for (j, line) in lines.iter().enumerate() {
                let t = top + CELL_PAD_Y + j as f32 * lh;
                self.text(head.xs[i] + CELL_PAD_X, t, TABLE_SIZE, INK, false, line);
            }
        }
        self.ops().push(hrule(MARGIN, top + h, CONTENT_W, 0.6, INK));
        self.y = top + h;
    }

    fn table(&mut self, header: &[String], rows: &[Vec<String>]) {
        let head = self.table_head(header, rows);
        let first_row = Face::line_height(TABLE_SIZE) + 2.0 * CELL_PAD_Y;
        self.ensure(self.head_height(&head) + first_row);
        self.draw_head(&head);
        let face = self.face;
        for row in rows {
            let cells: Vec<Cell> = (0..head.xs.len())
                .map(|i| Cell {
                    x: head.xs[i] + CELL_PAD_X,
                    lines: face.wrap(
                        row.get(i).map(String::as_str).unwrap_or(""),
                        TABLE_SIZE,
                        head.widths[i] - 2.0 * CELL_PAD_X,
                    ),
                    color: INK,
                })
                .collect();
            self.place_row(&cells, TABLE_SIZE, CELL_PAD_Y, Some(&head));
        }
        self.y += 2.0;
    }

    /// Places a row of cells, whole on this page or the next; a row taller than a
    /// page is split between lines. A table's header is repeated on a new page.
    fn place_row(&mut self, cells: &[Cell], size: f32, pad: f32, table: Option<&TableHead>) {
        let lh = Face::line_height(size);
        let total = cells
            .iter()
            .map(|c| c.lines.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut k = 0;
        while k < total {
            let left = total - k;
            let need = left as f32 * lh + 2.0 * pad;
            let room = self.body_bottom - self.y;
            let n = if need <= room + EPS {
                left
            } else {
                let fits = ((room - 2.0 * pad + EPS) / lh).floor().max(0.0) as usize;
                let whole_on_next = k == 0 && need <= self.fresh_room(table) + EPS;
                if self.at_top() {
                    fits.max(1) // cannot be helped: split here
                } else if whole_on_next || fits == 0 {
                    self.next_page(table);
                    continue;
                } else {
                    fits
                }
            };
            let top = self.y;
            for cell in cells {
                for (j, line) in cell.lines.iter().skip(k).take(n).enumerate() {
                    let t = top + pad + j as f32 * lh;
                    self.text(cell.x, t, size, cell.color, false, line);
                }
            }
            self.y = top + n as f32 * lh + 2.0 * pad;
            if table.is_some() {
                let y = self.y;
                self.ops().push(hrule(MARGIN, y, CONTENT_W, 0.3, RULE));
            }
            k += n;
            if k < total {
                self.next_page(table);
            }
        }
    }

    /// The room a row has at the top of a new page (under a repeated table header).
    fn fresh_room(&self, table: Option<&TableHead>) -> f32 {
        let mut top = MARGIN;
        if let Some(banner) = &self.sheet.training_banner {
            let lines = self
                .face
                .wrap(banner, BANNER_SIZE, CONTENT_W - 2.0 * BANNER_PAD)
                .len();
            top += lines as f32 * Face::line_height(BANNER_SIZE) + 2.0 * BANNER_PAD + 6.0;
        }
        let mut running = self.sheet.title.clone();
        if let Some(first) = self.sheet.header_lines.first() {
            running.push_str("  ·  ");
            running.push_str(first);
        }
        let lines = self.face.wrap(&running, RUNNING_SIZE, CONTENT_W).len();
        top += lines as f32 * Face::line_height(RUNNING_SIZE) + 6.0;
        if let Some(head) = table {
            top += self.head_height(head);
        }
        self.body_bottom - top
    }

    fn next_page(&mut self, table: Option<&TableHead>) {
        self.new_page();
        if let Some(head) = table {
            self.draw_head(head);
        }
    }

    fn timeline(&mut self, t: &Timeline) {
        let chart = Chart::new(self.face, t);
        let h = chart.height();
        self.heading(&t.heading, h);
        let top = self.y;
        let ops = chart.draw(self.face, top);
        self.ops().extend(ops);
        self.y = top + h;
    }

    /// Every page's footer: a rule, the footer text and the page label.
    fn footers(&mut self, footer_lines: &[String]) {
        let m = self.pages.len();
        let lh = Face::line_height(FOOTER_SIZE);
        let top = self.body_bottom + FOOTER_GAP;
        for n in 1..=m {
            let label = page_label(&self.sheet.page_label, n, m);
            let label_w = self.face.width(&label, FOOTER_SIZE);
            let base = self.face.baseline(FOOTER_SIZE);
            let page = &mut self.pages[n - 1];
            page.push(hrule(MARGIN, top - 3.0, CONTENT_W, 0.4, RULE));
            for (i, line) in footer_lines.iter().enumerate() {
                page.push(Op::Text {
                    x: MARGIN,
                    y: top + i as f32 * lh + base,
                    size: FOOTER_SIZE,
                    color: MUTED,
                    bold: false,
                    text: line.clone(),
                });
            }
            page.push(Op::Text {
                x: MARGIN + CONTENT_W - label_w,
                y: top + base,
                size: FOOTER_SIZE,
                color: MUTED,
                bold: false,
                text: label,
            });
        }
    }
}

/// A table's column widths (padding included) in `avail`, from each column's natural
/// width (its longest line) and least width (its longest word). When everything fits
/// the spare room is shared out by natural width. Otherwise a column narrower than
/// its fair share of what is left keeps its natural width (a time, a name) and the
/// wide ones share the rest by how much they want beyond their least; when even the
/// least widths do not fit, all are scaled down and words broken.
fn column_widths(natural: &[f32], least: &[f32], avail: f32) -> Vec<f32> {
    let sum_nat: f32 = natural.iter().sum();
    if sum_nat <= avail {
        let extra = avail - sum_nat;
        return natural
            .iter()
            .map(|w| w + extra * w / sum_nat.max(EPS))
            .collect();
    }
    let mut fixed = vec![false; natural.len()];
    loop {
        let rest: f32 = avail
            - natural
                .iter()
                .zip(&fixed)
                .filter(|(_, f)| **f)
                .map(|(w, _)| w)
                .sum::<f32>();
        let open = fixed.iter().filter(|f| !**f).count().max(1);
        let share = rest / open as f32;
        let mut changed = false;
        for (i, f) in fixed.iter_mut().enumerate() {
            if !*f && natural[i] <= share {
                *f = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let rest: f32 = avail
        - natural
            .iter()
            .zip(&fixed)
            .filter(|(_, f)| **f)
            .map(|(w, _)| w)
            .sum::<f32>();
    let open_least: f32 = least
        .iter()
        .zip(&fixed)
        .filter(|(_, f)| !**f)
        .map(|(w, _)| w)
        .sum();
    if open_least > rest {
        let sum_least: f32 = least.iter().sum();
        return least
            .iter()
            .map(|l| l * avail / sum_least.max(EPS))
            .collect();
    }
    let want: f32 = natural
        .iter()
        .zip(least)
        .zip(&fixed)
        .filter(|(_, f)| !**f)
        .map(|((n, l), _)| n - l)
        .sum();
    let flex = rest - open_least;
    natural
        .iter()
        .zip(least)
        .zip(&fixed)
        .map(|((n, l), f)| {
            if *f {
                *n
            } else {
                l + flex * (n - l) / want.max(EPS)
            }
        })
        .collect()
}

/// The page label pattern with `{n}` and `{m}` filled in.
fn page_label(pattern: &str, n: usize, m: usize) -> String {
    pattern
        .replace("{n}", &n.to_string())
        .replace("{m}", &m.to_string())
}

// ---------------------------------------------------------------------------------
// The timeline chart
// ---------------------------------------------------------------------------------

/// An event label placed above the plot.
struct Placed {
    x: f32,
    lane: usize,
    text: String,
    color: Rgb,
    /// The marker's own x and pen, for the leader from the plot to its lane.
    anchor: Option<(f32, Pen)>,
}

/// The chart's scales and everything placed on it.
struct Chart<'t> {
    t: &'t Timeline,
    t0: f64,
    t1: f64,
    v0: f64,
    v1: f64,
    grid_step: f64,
    tick_step_s: f64,
    labels: Vec<Placed>,
    lanes: usize,
    legend: Vec<Vec<(f32, String, LegendKey)>>,
}

const PLOT_X0: f32 = MARGIN + Y_AXIS_W;
const PLOT_W: f32 = CHART_W - Y_AXIS_W;

impl<'t> Chart<'t> {
    fn new(face: &Face, t: &'t Timeline) -> Self {
        // Time: from the exam's start (or the earliest time given) to the last, up to
        // a whole tick.
        let times =
            t.hr.iter()
                .chain(&t.systolic)
                .chain(&t.diastolic)
                .map(|p| p.0)
                .chain(t.bands.iter().flat_map(|b| [b.from_s, b.to_s]))
                .chain(t.markers.iter().map(|m| m.at_s))
                .filter(|v| v.is_finite());
        let (lo, hi) = times.fold((0.0f64, 60.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let span_min = (hi - lo) / 60.0;
        let step_min = TICK_STEPS_MIN
            .iter()
            .copied()
            .find(|s| span_min / s <= MAX_TICKS)
            .unwrap_or_else(|| (span_min / MAX_TICKS / 60.0).ceil() * 60.0);
        let tick_step_s = step_min * 60.0;
        let t0 = (lo / tick_step_s).floor() * tick_step_s;
        let t1 = ((hi / tick_step_s).ceil() * tick_step_s).max(t0 + tick_step_s);

        // Values: one axis for bpm and mmHg, in whole steps of 20.
        let values =
            t.hr.iter()
                .chain(&t.systolic)
                .chain(&t.diastolic)
                .map(|p| p.1)
                .filter(|v| v.is_finite());
        let (vmin, vmax) = values.fold((VALUE_FLOOR, VALUE_CEIL), |(a, b), v| (a.min(v), b.max(v)));
        let v0 = (vmin / 20.0).floor() * 20.0;
        let v1 = (vmax / 20.0).ceil() * 20.0;
        let grid_step = if v1 - v0 > 200.0 { 40.0 } else { 20.0 };

        let mut chart = Chart {
            t,
            t0,
            t1,
            v0,
            v1,
            grid_step,
            tick_step_s,
            labels: Vec::new(),
            lanes: 0,
            legend: Vec::new(),
        };
        chart.place_labels(face);
        chart.place_legend(face);
        chart
    }

    fn x(&self, s: f64) -> f32 {
        let f = ((s - self.t0) / (self.t1 - self.t0)).clamp(0.0, 1.0);
        PLOT_X0 + (f as f32) * PLOT_W
    }

    fn y(&self, plot_top: f32, v: f64) -> f32 {
        let f = ((v - self.v0) / (self.v1 - self.v0)).clamp(0.0, 1.0);
        plot_top + PLOT_H - (f as f32) * PLOT_H
    }

    /// Event and band labels into lanes above the plot, the most important first; a
    /// label that finds no room in [`MAX_LABEL_LANES`] lanes is left out.
    fn place_labels(&mut self, face: &Face) {
        // (rank, label with `x` still the point it belongs to)
        let mut wanted: Vec<(u8, Placed)> = Vec::new();
        for b in &self.t.bands {
            if !b.label.trim().is_empty() && b.from_s.is_finite() {
                let label = Placed {
                    x: self.x(b.from_s),
                    lane: 0,
                    text: b.label.clone(),
                    color: BAND_EDGE,
                    anchor: None,
                };
                wanted.push((BAND_RANK, label));
            }
        }
        for m in &self.t.markers {
            if !m.label.trim().is_empty() && m.at_s.is_finite() {
                let x = self.x(m.at_s);
                let pen = marker_pen(m.kind);
                let label = Placed {
                    x,
                    lane: 0,
                    text: m.label.clone(),
                    color: pen.color,
                    anchor: Some((x, pen)),
                };
                wanted.push((marker_rank(m.kind), label));
            }
        }
        wanted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.x.total_cmp(&b.1.x)));
        let mut lanes: Vec<Vec<(f32, f32)>> = Vec::new();
        let right = PLOT_X0 + PLOT_W;
        for (_, mut label) in wanted {
            let w = face.width(&label.text, CHART_LABEL_SIZE);
            let x = (label.x + 1.5).min(right - w).max(MARGIN);
            let span = (x - 1.0, x + w + 2.0);
            let free =
                |lane: &Vec<(f32, f32)>| lane.iter().all(|&(a, b)| span.1 <= a || span.0 >= b);
            let lane = match lanes.iter().position(free) {
                Some(i) => i,
                None if lanes.len() < MAX_LABEL_LANES => {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                }
                None => continue,
            };
            lanes[lane].push(span);
            label.x = x;
            label.lane = lane;
            self.labels.push(label);
        }
        self.lanes = lanes.len();
    }

    /// Legend entries flowed into rows of the chart's width.
    fn place_legend(&mut self, face: &Face) {
        let mut rows: Vec<Vec<(f32, String, LegendKey)>> = Vec::new();
        let mut x = MARGIN;
        for (text, key) in &self.t.legend {
            let w = LEGEND_SAMPLE_W + 3.0 + face.width(text, CHART_LABEL_SIZE + 0.5) + 10.0;
            if rows.is_empty() || (x + w > MARGIN + CHART_W && x > MARGIN) {
                rows.push(Vec::new());
                x = MARGIN;
            }
            if let Some(row) = rows.last_mut() {
                row.push((x, text.clone(), *key));
            }
            x += w;
        }
        self.legend = rows;
    }

    fn strip_h(&self) -> f32 {
        self.lanes as f32 * LANE_H + if self.lanes > 0 { 2.0 } else { 0.0 }
    }

    fn height(&self) -> f32 {
        let legend = self.legend.len() as f32 * LEGEND_ROW_H;
        VALUE_LABEL_H + self.strip_h() + PLOT_H + X_AXIS_H + 3.0 + legend
    }

    fn draw(&self, face: &Face, top: f32) -> Vec<Op> {
        let mut ops = Vec::new();
        let text = |ops: &mut Vec<Op>, x: f32, baseline: f32, color: Rgb, s: &str| {
            ops.push(Op::Text {
                x,
                y: baseline,
                size: CHART_LABEL_SIZE,
                color,
                bold: false,
                text: s.to_owned(),
            });
        };
        let t = self.t;
        let plot_top = top + VALUE_LABEL_H + self.strip_h();
        let plot_bottom = plot_top + PLOT_H;
        let right = PLOT_X0 + PLOT_W;

        // The value axis' unit.
        text(&mut ops, MARGIN, top + 6.5, MUTED, &t.value_axis_label);

        // Bands under everything.
        for b in &t.bands {
            if !(b.from_s.is_finite() && b.to_s.is_finite()) {
                continue;
            }
            let (x0, x1) = (self.x(b.from_s), self.x(b.to_s.max(b.from_s)));
            ops.push(Op::Rect {
                x: x0,
                y: plot_top,
                w: (x1 - x0).max(0.5),
                h: PLOT_H,
                fill: BAND_FILL,
            });
            for x in [x0, x1] {
                ops.push(segment(x, plot_top, x, plot_bottom, BAND_PEN));
            }
        }

        // Value grid and labels.
        let mut v = self.v0;
        while v <= self.v1 + 1e-9 {
            let y = self.y(plot_top, v);
            let grid = Pen {
                width: 0.3,
                color: GRID,
                dash: &[],
            };
            ops.push(segment(PLOT_X0, y, right, y, grid));
            let s = format!("{v:.0}");
            let w = face.width(&s, CHART_LABEL_SIZE);
            text(&mut ops, PLOT_X0 - 3.0 - w, y + 2.2, MUTED, &s);
            v += self.grid_step;
        }

        // Event markers: the line through the plot, a leader up to its label.
        for m in &t.markers {
            if !m.at_s.is_finite() {
                continue;
            }
            let x = self.x(m.at_s);
            ops.push(segment(x, plot_top, x, plot_bottom, marker_pen(m.kind)));
        }
        let baseline = |lane: usize| plot_top - 3.5 - lane as f32 * LANE_H;
        for p in &self.labels {
            if let Some((x, pen)) = p.anchor {
                let lead = Pen {
                    width: 0.3,
                    dash: &[],
                    ..pen
                };
                let end = baseline(p.lane) - LANE_H + 2.5;
                ops.push(segment(x, plot_top, x, end, lead));
            }
        }
        for p in &self.labels {
            // A white ground, so leaders to higher lanes pass behind the label.
            let y = baseline(p.lane);
            ops.push(Op::Rect {
                x: p.x - 0.8,
                y: y - CHART_LABEL_SIZE * 0.95,
                w: face.width(&p.text, CHART_LABEL_SIZE) + 1.6,
                h: CHART_LABEL_SIZE * 1.25,
                fill: (255, 255, 255),
            });
            text(&mut ops, p.x, y, p.color, &p.text);
        }

        // The readings, thinned.
        let columns = (PLOT_W / (THIN_COLUMN_MM * MM)).ceil() as usize;
        for (series, pen) in [
            (&t.systolic, SYSTOLIC_PEN),
            (&t.diastolic, DIASTOLIC_PEN),
            (&t.hr, HR_PEN),
        ] {
            let thin = thin_series(series, self.t0, self.t1, columns);
            let gap = gap_limit(series);
            let mut runs: Vec<Vec<(f32, f32)>> = Vec::new();
            let mut last_t = f64::NEG_INFINITY;
            for &(s, v) in &thin {
                let pt = (self.x(s), self.y(plot_top, v));
                match runs.last_mut() {
                    Some(run) if s - last_t <= gap => run.push(pt),
                    _ => runs.push(vec![pt]),
                }
                last_t = s;
            }
            if thin.len() <= SPARSE_DOTS {
                for &(x, y) in runs.iter().flatten() {
                    ops.push(Op::Rect {
                        x: x - 0.9,
                        y: y - 0.9,
                        w: 1.8,
                        h: 1.8,
                        fill: pen.color,
                    });
                }
            }
            runs.retain(|r| r.len() > 1);
            if !runs.is_empty() {
                ops.push(Op::Path { runs, pen });
            }
        }

        // Axes, ticks and their labels.
        let axis = Pen {
            width: 0.6,
            color: INK,
            dash: &[],
        };
        ops.push(segment(PLOT_X0, plot_top, PLOT_X0, plot_bottom, axis));
        ops.push(segment(PLOT_X0, plot_bottom, right, plot_bottom, axis));
        let mut s = self.t0;
        while s <= self.t1 + 1e-6 {
            let x = self.x(s);
            ops.push(segment(x, plot_bottom, x, plot_bottom + 3.0, axis));
            let label = format!("{:.0}", s / 60.0);
            let w = face.width(&label, CHART_LABEL_SIZE);
            text(&mut ops, x - w / 2.0, plot_bottom + 10.0, INK, &label);
            s += self.tick_step_s;
        }
        text(
            &mut ops,
            right + 6.0,
            plot_bottom + 10.0,
            INK,
            &t.axis_label,
        );

        // Legend.
        let legend_top = plot_bottom + X_AXIS_H + 3.0;
        for (i, row) in self.legend.iter().enumerate() {
            let mid = legend_top + i as f32 * LEGEND_ROW_H + LEGEND_ROW_H / 2.0;
            for (x, label, key) in row {
                let (x0, x1) = (*x, *x + LEGEND_SAMPLE_W);
                match key {
                    LegendKey::DrugBand => {
                        ops.push(Op::Rect {
                            x: x0,
                            y: mid - 3.5,
                            w: LEGEND_SAMPLE_W,
                            h: 7.0,
                            fill: BAND_FILL,
                        });
                        ops.push(segment(x0, mid - 3.5, x0, mid + 3.5, BAND_PEN));
                        ops.push(segment(x1, mid - 3.5, x1, mid + 3.5, BAND_PEN));
                    }
                    LegendKey::Marker(kind) => {
                        let pen = marker_pen(*kind);
                        ops.push(segment(
                            x0 + LEGEND_SAMPLE_W / 2.0,
                            mid - 4.0,
                            x0 + LEGEND_SAMPLE_W / 2.0,
                            mid + 4.0,
                            pen,
                        ));
                        ops.push(segment(x0, mid, x1, mid, pen));
                    }
                    LegendKey::HeartRate => ops.push(segment(x0, mid, x1, mid, HR_PEN)),
                    LegendKey::Systolic => ops.push(segment(x0, mid, x1, mid, SYSTOLIC_PEN)),
                    LegendKey::Diastolic => ops.push(segment(x0, mid, x1, mid, DIASTOLIC_PEN)),
                }
                ops.push(Op::Text {
                    x: x1 + 3.0,
                    y: mid + 2.5,
                    size: CHART_LABEL_SIZE + 0.5,
                    color: INK,
                    bold: false,
                    text: label.clone(),
                });
            }
        }
        ops
    }
}

/// The longest pause in a series still drawn as one line: [`GAP_FACTOR`] times the
/// median interval between its readings, at least [`GAP_MIN_S`] (a cuff pressure
/// every three minutes stays one line; a monitor cut off for two minutes does not).
fn gap_limit(points: &[(f64, f64)]) -> f64 {
    let mut steps: Vec<f64> = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|d| d.is_finite() && *d > 0.0)
        .collect();
    if steps.is_empty() {
        return GAP_MIN_S;
    }
    let mid = steps.len() / 2;
    let (_, median, _) = steps.select_nth_unstable_by(mid, f64::total_cmp);
    (*median * GAP_FACTOR).max(GAP_MIN_S)
}

/// A series thinned for drawing: time from `t0` to `t1` cut into `columns`; of the
/// points in each column at most [`POINTS_PER_COLUMN`] are kept, the first, the
/// lowest, the highest and the last, in time order, so a spike survives. Points
/// that are not finite are dropped; unsorted input is sorted by time first.
pub fn thin_series(points: &[(f64, f64)], t0: f64, t1: f64, columns: usize) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    if !pts.is_sorted_by(|a, b| a.0 <= b.0) {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let columns = columns.max(1);
    let span = (t1 - t0).max(f64::MIN_POSITIVE);
    let column_of = |t: f64| -> usize {
        let c = ((t - t0) / span * columns as f64).floor();
        if c <= 0.0 {
            0
        } else {
            (c as usize).min(columns - 1)
        }
    };
    let mut out = Vec::with_capacity(pts.len().min(columns * POINTS_PER_COLUMN));
    let mut i = 0;
    while i < pts.len() {
        let col = column_of(pts[i].0);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < pts.len() && column_of(pts[j].0) == col {
            if pts[j].1 < pts[lo].1 {
                lo = j;
            }
            if pts[j].1 > pts[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let mut keep = [i, lo, hi, j - 1];
        keep.sort_unstable();
        let mut prev = usize::MAX;
        for k in keep {
            if k != prev {
                out.push(pts[k]);
                prev = k;
            }
        }
        i = j;
    }
    out
}

// ---------------------------------------------------------------------------------
// Writing the PDF
// ---------------------------------------------------------------------------------

/// The sheet as a PDF: A4 portrait pages, the embedded font subset, no date or other
/// varying data (the same sheet gives the same bytes).
pub fn render(sheet: &ExamSheet) -> Result<Vec<u8>, PdfError> {
    let face = Face::load()?;
    let font = PDF_FONT
        .clone()
        .ok_or_else(|| PdfError::Font("the font collection has no face 0".to_owned()))?;

    // The footer's height is the same on every page: the label measured at its widest.
    let widest_label = page_label(&sheet.page_label, 999, 999);
    let label_w = face.width(&widest_label, FOOTER_SIZE);
    let footer_lines = face.wrap(&sheet.footer, FOOTER_SIZE, CONTENT_W - label_w - 12.0);
    let footer_h = footer_lines.len() as f32 * Face::line_height(FOOTER_SIZE);
    let body_bottom = PAGE_H - MARGIN - footer_h - FOOTER_GAP;

    let mut layout = Layout {
        face: &face,
        sheet,
        pages: Vec::new(),
        y: MARGIN,
        body_top: MARGIN,
        body_bottom,
    };
    layout.new_page();
    layout.title_block();
    for (i, section) in sheet.sections.iter().enumerate() {
        if i == sheet.timeline_after
            && let Some(t) = &sheet.timeline
        {
            layout.timeline(t);
        }
        layout.section(section);
    }
    if sheet.timeline_after >= sheet.sections.len()
        && let Some(t) = &sheet.timeline
    {
        layout.timeline(t);
    }
    layout.footers(&footer_lines);

    let mut document = Document::new();
    document.set_metadata(Metadata::new().title(sheet.title.clone()));
    for ops in &layout.pages {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| PdfError::Write("page size".to_owned()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, &face, &font, op);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))
}

fn color(c: Rgb) -> rgb::Color {
    rgb::Color::new(c.0, c.1, c.2)
}

fn stroke(pen: Pen) -> Stroke {
    Stroke {
        paint: color(pen.color).into(),
        width: pen.width,
        line_cap: LineCap::Butt,
        line_join: LineJoin::Round,
        dash: (!pen.dash.is_empty()).then(|| StrokeDash {
            array: pen.dash.to_vec(),
            offset: 0.0,
        }),
        ..Stroke::default()
    }
}

fn fill(c: Rgb) -> Fill {
    Fill {
        paint: color(c).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn draw(surface: &mut Surface<'_>, face: &Face, font: &Font, op: &Op) {
    match op {
        Op::Text {
            x,
            y,
            size,
            color: c,
            bold,
            text,
        } => {
            surface.set_fill(Some(fill(*c)));
            surface.set_stroke(bold.then(|| Stroke {
                width: size * BOLD_STROKE,
                ..stroke(Pen {
                    width: 0.0,
                    color: *c,
                    dash: &[],
                })
            }));
            let glyphs = face.glyphs(text);
            surface.draw_glyphs(
                Point::from_xy(*x, *y),
                &glyphs,
                font.clone(),
                text,
                *size,
                false,
            );
        }
        Op::Path { runs, pen } => {
            let mut builder = PathBuilder::new();
            for run in runs {
                let mut points = run.iter();
                if let Some(&(x, y)) = points.next() {
                    builder.move_to(x, y);
                    for &(x, y) in points {
                        builder.line_to(x, y);
                    }
                }
            }
            if let Some(path) = builder.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(stroke(*pen)));
                surface.draw_path(&path);
            }
        }
        Op::Rect {
            x,
            y,
            w,
            h,
            fill: c,
        } => {
            let mut builder = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                builder.push_rect(rect);
            }
            if let Some(path) = builder.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(fill(*c)));
                surface.draw_path(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Face {
        Face::load().expect("the embedded font")
    }

    #[test]
    fn chinese_wraps_between_characters_and_keeps_punctuation_off_a_line_start() {
        let face = face();
        let text = "负荷灌注期间患者诉轻微胸闷及面部潮红，持续约两分钟，未见心电图缺血性改变；腺苷输注结束后症状自行缓解。";
        let width = 100.0;
        let lines = face.wrap(text, BODY_SIZE, width);
        assert!(lines.len() > 2, "{lines:?}");
        assert_eq!(lines.concat(), text, "nothing lost or added");
        for line in &lines {
            assert!(face.width(line, BODY_SIZE) <= width + EPS, "{line}");
            let first = line.chars().next().unwrap_or(' ');
            assert!(!no_line_start(first), "{line}");
        }
    }

    #[test]
    fn latin_wraps_at_spaces_and_breaks_a_word_only_when_it_alone_is_too_wide() {
        let face = face();
        let lines = face.wrap("stress perfusion under adenosine", BODY_SIZE, 80.0);
        assert_eq!(lines, ["stress perfusion", "under adenosine"]);
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let lines = face.wrap(hash, BODY_SIZE, 120.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), hash);
        assert_eq!(face.wrap("a\nb", BODY_SIZE, 80.0), ["a", "b"]);
        assert_eq!(face.wrap("", BODY_SIZE, 80.0), [""]);
    }

    #[test]
    fn the_font_covers_the_sheets_characters() {
        let face = face();
        for c in "钆布醇腺苷µ·—（）：，。ABCxyz0189/<>%".chars() {
            assert_ne!(face.glyph(c).0, 0, "{c} has a glyph");
        }
    }

    #[test]
    fn narrow_columns_keep_their_width_when_a_wide_one_must_wrap() {
        let w = column_widths(&[40.0, 900.0, 30.0], &[40.0, 60.0, 20.0], 500.0);
        assert_eq!(w, [40.0, 430.0, 30.0]);
        let w = column_widths(&[40.0, 100.0], &[40.0, 60.0], 500.0);
        assert!((w.iter().sum::<f32>() - 500.0).abs() < 0.01 && w[0] < w[1]);
        let w = column_widths(&[400.0, 400.0], &[300.0, 300.0], 500.0);
        assert_eq!(w, [250.0, 250.0]);
    }

    #[test]
    fn a_thin_series_keeps_first_extremes_and_last_per_column() {
        let pts: Vec<(f64, f64)> = (0..100)
            .map(|i| (f64::from(i), f64::from(i % 10)))
            .collect();
        let thin = thin_series(&pts, 0.0, 100.0, 2);
        assert_eq!(
            thin,
            [
                (0.0, 0.0),
                (9.0, 9.0),
                (49.0, 9.0),
                (50.0, 0.0),
                (59.0, 9.0),
                (99.0, 9.0)
            ]
        );
    }
}
