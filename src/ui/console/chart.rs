//! The console's HR and blood-pressure trend since baseline, as data the Slint `Path`
//! element draws: pure, from the exam's logged readings and events.
//!
//! Every series is thinned to at most one point per chart column (the last reading in
//! it), so drawing stays cheap for the software renderer however long the exam runs;
//! gaps longer than a series' `break_after` start a new stroke instead of a line across
//! missing data. Coordinates are in a `VIEW × VIEW` box (`viewbox-width/height` in
//! Slint), y = 0 at the top.

use crate::domain::ExamEvent;
use crate::domain::time::{Duration, Instant};
use crate::engine::session::JournalRow;

/// Size of the chart's view box (both axes).
pub const VIEW: f64 = 1000.0;
/// Lowest value on the y axis (/min and mmHg share the axis).
pub const Y_MIN: f64 = 40.0;
/// Highest value on the y axis.
pub const Y_MAX: f64 = 200.0;
/// Grid lines drawn across the chart (values on the y axis).
pub const GRID: [f64; 4] = [60.0, 100.0, 140.0, 180.0];
/// How much time before the stress start the chart shows (the baseline).
pub const BASELINE_LEAD: Duration = Duration::from_secs(120);
/// The shortest time span drawn (the x axis never shrinks below it).
pub const MIN_SPAN: Duration = Duration::from_secs(300);
/// HR readings further apart than this are not joined.
pub const HR_BREAK: Duration = Duration::from_secs(30);
/// NIBP readings further apart than this are not joined (NIBP cycles every 1–5 min).
pub const BP_BREAK: Duration = Duration::from_secs(600);

/// What a marker on the chart stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// Stress drug started (infusion or bolus).
    StressStart,
    /// Adenosine dose escalated.
    Escalation,
    /// Infusion stopped / regadenoson reversed.
    StressStop,
    /// Contrast injected.
    Injection,
    /// A series acquired.
    Acquisition,
}

impl MarkerKind {
    /// The Fluent key of the marker's label on the chart.
    pub fn key(self) -> &'static str {
        match self {
            MarkerKind::StressStart => "chart-marker-stress-start",
            MarkerKind::Escalation => "chart-marker-escalation",
            MarkerKind::StressStop => "chart-marker-stress-stop",
            MarkerKind::Injection => "chart-marker-injection",
            MarkerKind::Acquisition => "chart-marker-series",
        }
    }

    /// Every kind (the locale test checks their keys).
    pub const ALL: [MarkerKind; 5] = [
        MarkerKind::StressStart,
        MarkerKind::Escalation,
        MarkerKind::StressStop,
        MarkerKind::Injection,
        MarkerKind::Acquisition,
    ];

    /// A stable number for Slint (colour and legend index).
    pub fn index(self) -> i32 {
        match self {
            MarkerKind::StressStart => 0,
            MarkerKind::Escalation => 1,
            MarkerKind::StressStop => 2,
            MarkerKind::Injection => 3,
            MarkerKind::Acquisition => 4,
        }
    }
}

/// One value of one series at an exam time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When.
    pub at: Instant,
    /// The value (/min or mmHg).
    pub value: f64,
}

/// The chart's inputs, taken from the exam's log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendData {
    /// Heart rate readings, in time order.
    pub hr: Vec<Point>,
    /// Systolic pressure readings.
    pub sbp: Vec<Point>,
    /// Diastolic pressure readings.
    pub dbp: Vec<Point>,
    /// Events to mark.
    pub markers: Vec<(Instant, MarkerKind)>,
    /// The first stress start, if any (the baseline is just before it).
    pub stress_start: Option<Instant>,
}

impl TrendData {
    /// Collects readings and markers from the session's journal.
    pub fn from_journal(rows: &[JournalRow]) -> TrendData {
        let mut d = TrendData::default();
        d.extend(rows);
        d
    }

    /// Adds the readings and markers of `rows`, logged after everything already here
    /// (the journal is append-only, so the console reads each row once).
    pub fn extend(&mut self, rows: &[JournalRow]) {
        let d = self;
        for row in rows {
            let JournalRow::Event { at, event, .. } = row else {
                continue;
            };
            let at = *at;
            let marker = match event {
                ExamEvent::VitalsReading { vitals } => {
                    let push = |s: &mut Vec<Point>, v: Option<f64>| {
                        if let Some(value) = v.filter(|v| v.is_finite()) {
                            s.push(Point { at, value });
                        }
                    };
                    push(&mut d.hr, vitals.hr);
                    push(&mut d.sbp, vitals.sbp);
                    push(&mut d.dbp, vitals.dbp);
                    None
                }
                ExamEvent::StressStarted { .. } => {
                    d.stress_start.get_or_insert(at);
                    Some(MarkerKind::StressStart)
                }
                ExamEvent::StressEscalated { .. } => Some(MarkerKind::Escalation),
                ExamEvent::StressStopped => Some(MarkerKind::StressStop),
                ExamEvent::Injected(_) => Some(MarkerKind::Injection),
                ExamEvent::SeriesAcquired { .. } => Some(MarkerKind::Acquisition),
                _ => None,
            };
            if let Some(kind) = marker {
                d.markers.push((at, kind));
            }
        }
    }

    /// The time span to draw at `now`: from the baseline (2 min before the first
    /// stress start, or the first reading) to `now`, at least [`MIN_SPAN`] wide.
    pub fn window(&self, now: Instant) -> (Instant, Instant) {
        let first = [self.hr.first(), self.sbp.first()]
            .into_iter()
            .flatten()
            .map(|p| p.at)
            .min();
        let from = match (self.stress_start, first) {
            (Some(s), Some(f)) => {
                let lead =
                    Instant::from_millis(s.as_millis().saturating_sub(BASELINE_LEAD.as_millis()));
                lead.max(f).min(s)
            }
            (Some(s), None) => s,
            (None, Some(f)) => f,
            (None, None) => now,
        };
        let to = now.max(from + MIN_SPAN);
        (from, to)
    }
}

/// One marker placed on the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlacedMarker {
    /// x in `0..=VIEW`.
    pub x: f64,
    /// Kind.
    pub kind: MarkerKind,
}

/// The chart ready to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendChart {
    /// `Path` commands of the HR line ("" when there is nothing to draw).
    pub hr: String,
    /// `Path` commands of the systolic line.
    pub sbp: String,
    /// `Path` commands of the diastolic line.
    pub dbp: String,
    /// Markers inside the window.
    pub markers: Vec<PlacedMarker>,
    /// Grid lines: (y in `0..=VIEW`, value).
    pub grid: Vec<(f64, f64)>,
    /// Time drawn from.
    pub from: Instant,
    /// Time drawn to.
    pub to: Instant,
}

/// Steps between the time axis's ticks, in seconds: the first that gives at most
/// [`MAX_TIME_TICKS`] ticks in the window.
pub const TICK_STEPS_S: [u64; 6] = [60, 120, 300, 600, 1200, 1800];

/// At most this many ticks on the time axis (labels stay apart on a narrow chart).
pub const MAX_TIME_TICKS: u64 = 6;

/// The time axis's ticks in the window `from..to`: (x in `0..=VIEW`, exam time) at
/// whole wall-clock minutes (multiples of the step), from the first inside the window.
/// `wall_offset_ms` is the wall-clock time of day minus the exam time, in ms (any
/// whole number of days may be added).
pub fn time_ticks(from: Instant, to: Instant, wall_offset_ms: i64) -> Vec<(f64, Instant)> {
    let span_s = to.as_millis().saturating_sub(from.as_millis()) / 1000;
    let step = TICK_STEPS_S
        .iter()
        .copied()
        .find(|s| span_s / s <= MAX_TIME_TICKS)
        .unwrap_or(TICK_STEPS_S[TICK_STEPS_S.len() - 1]);
    let step_ms = step * 1000;
    // The first exam time at or after `from` whose wall-clock time is a multiple of
    // the step.
    let phase = wall_offset_ms.rem_euclid(step_ms as i64) as u64;
    let first = (from.as_millis() + phase).div_ceil(step_ms) * step_ms - phase;
    (0..)
        .map(|i| first + i * step_ms)
        .take_while(|ms| *ms <= to.as_millis())
        .map(|ms| {
            let t = Instant::from_millis(ms);
            (x_of(t, from, to), t)
        })
        .collect()
}

/// x of time `t` in the window `from..to` (clamped to the box).
pub fn x_of(t: Instant, from: Instant, to: Instant) -> f64 {
    let span = to.as_millis().saturating_sub(from.as_millis()).max(1) as f64;
    let dt = t.as_millis() as f64 - from.as_millis() as f64;
    (dt / span * VIEW).clamp(0.0, VIEW)
}

/// y of a value (clamped to the axis).
pub fn y_of(value: f64) -> f64 {
    let f = ((value - Y_MIN) / (Y_MAX - Y_MIN)).clamp(0.0, 1.0);
    VIEW - f * VIEW
}

/// The thinned points of one series in `from..=to`: at most one per column (the last
/// reading falling in it), each as (x, y) in the view box, split into strokes at gaps
/// longer than `break_after`.
pub fn thin(
    series: &[Point],
    from: Instant,
    to: Instant,
    columns: usize,
    break_after: Duration,
) -> Vec<Vec<(f64, f64)>> {
    let columns = columns.max(1);
    let mut strokes: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut last: Option<(usize, Instant)> = None;
    for p in series.iter().filter(|p| p.at >= from && p.at <= to) {
        let x = x_of(p.at, from, to);
        let col = ((x / VIEW) * columns as f64)
            .floor()
            .min(columns as f64 - 1.0) as usize;
        let point = (x, y_of(p.value));
        let gap = last.is_some_and(|(_, t)| p.at - t > break_after);
        match (last, strokes.last_mut()) {
            (Some((c, _)), Some(stroke)) if c == col && !gap => {
                // Same column: the later reading replaces the earlier one.
                if let Some(end) = stroke.last_mut() {
                    *end = point;
                }
            }
            (Some(_), Some(stroke)) if !gap => stroke.push(point),
            _ => strokes.push(vec![point]),
        }
        last = Some((col, p.at));
    }
    strokes
}

/// Where a series breaks: the indices `i` whose reading comes more than
/// `break_after` after reading `i - 1`, in order. Kept beside an append-only series so
/// [`thin_indexed`] need not look at every reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breaks {
    /// The indices, ascending.
    pub at: Vec<usize>,
    /// Readings of the series already looked at.
    pub seen: usize,
    /// Whether the readings are in time order (else [`thin`] reads them all).
    pub ordered: bool,
    /// The gap that breaks the line.
    pub break_after: Duration,
}

impl Breaks {
    /// Looks at the readings of `series` added since the last call.
    pub fn follow(&mut self, series: &[Point], break_after: Duration) {
        if self.seen == 0 {
            self.ordered = true;
        }
        self.break_after = break_after;
        for i in self.seen.max(1)..series.len() {
            if series[i].at < series[i - 1].at {
                self.ordered = false;
            } else if series[i].at - series[i - 1].at > break_after {
                self.at.push(i);
            }
        }
        self.seen = series.len();
    }

    /// The breaks of a whole series.
    pub fn of(series: &[Point], break_after: Duration) -> Breaks {
        let mut b = Breaks::default();
        b.follow(series, break_after);
        b
    }
}

/// [`thin`] for a series in time order whose breaks are known: the same strokes,
/// found by binary search per chart column instead of by reading every point, so the
/// cost depends on the columns, not on how long the exam has run.
pub fn thin_indexed(
    series: &[Point],
    breaks: &Breaks,
    from: Instant,
    to: Instant,
    columns: usize,
) -> Vec<Vec<(f64, f64)>> {
    let columns = columns.max(1);
    let col = |p: &Point| {
        ((x_of(p.at, from, to) / VIEW) * columns as f64)
            .floor()
            .min(columns as f64 - 1.0) as usize
    };
    let point = |p: &Point| (x_of(p.at, from, to), y_of(p.value));
    let lo = series.partition_point(|p| p.at < from);
    let hi = series.partition_point(|p| p.at <= to);
    let is_break = |i: usize| breaks.at.binary_search(&i).is_ok();
    let mut strokes: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut a = lo;
    while a < hi {
        let c = col(&series[a]);
        let b = a + series[a..hi].partition_point(|p| col(p) <= c);
        // The breaks strictly inside the column's readings split it into segments;
        // each segment shows its last reading.
        let first = breaks.at.partition_point(|&i| i <= a);
        let last = breaks.at.partition_point(|&i| i < b);
        let inner = &breaks.at[first..last];
        let first_end = inner.first().copied().unwrap_or(b);
        let shown = point(&series[first_end - 1]);
        match strokes.last_mut() {
            Some(stroke) if a != lo && !is_break(a) => stroke.push(shown),
            _ => strokes.push(vec![shown]),
        }
        for (k, &start) in inner.iter().enumerate() {
            let end = inner.get(k + 1).copied().unwrap_or(b);
            debug_assert!(start < end);
            strokes.push(vec![point(&series[end - 1])]);
        }
        a = b;
    }
    strokes
}

/// The trend data with the breaks of each series, updated row by row from the
/// journal: what the console keeps between redraws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendIndex {
    /// Readings and markers.
    pub data: TrendData,
    hr: Breaks,
    sbp: Breaks,
    dbp: Breaks,
}

impl TrendIndex {
    /// Adds `rows`, logged after everything already here.
    pub fn extend(&mut self, rows: &[JournalRow]) {
        self.data.extend(rows);
        self.hr.follow(&self.data.hr, HR_BREAK);
        self.sbp.follow(&self.data.sbp, BP_BREAK);
        self.dbp.follow(&self.data.dbp, BP_BREAK);
    }

    /// The chart at `now` (as [`trend_chart`], at a cost independent of the exam's
    /// length).
    pub fn chart(&self, now: Instant, columns: usize) -> TrendChart {
        chart_of(&self.data, [&self.hr, &self.sbp, &self.dbp], now, columns)
    }
}

/// `Path` commands for strokes ("M x y L x y …"); a lone point becomes a short dash
/// so it stays visible.
pub fn commands(strokes: &[Vec<(f64, f64)>]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(strokes.iter().map(Vec::len).sum::<usize>() * 14);
    for stroke in strokes {
        for (i, (x, y)) in stroke.iter().enumerate() {
            let op = if i == 0 { 'M' } else { 'L' };
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "{op} {} {}", Tenths(*x), Tenths(*y));
        }
        if stroke.len() == 1 {
            let (x, y) = stroke[0];
            let _ = write!(out, " L {} {}", Tenths((x + 4.0).min(VIEW)), Tenths(y));
        }
    }
    out
}

/// A coordinate in the view box written to one decimal through integer formatting
/// (a float's `{:.1}` costs about ten times as much, and a chart has up to three
/// lines of [`crate::ui::console::view::CHART_COLUMNS`] points each redraw).
struct Tenths(f64);

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if !v.is_finite() || !(0.0..=1.0e9).contains(&v) {
            return write!(f, "{v:.1}");
        }
        let t = (v * 10.0).round() as u64;
        write!(f, "{}.{}", t / 10, t % 10)
    }
}

/// The chart at `now` with at most `columns` points per series.
pub fn trend_chart(data: &TrendData, now: Instant, columns: usize) -> TrendChart {
    let hr = Breaks::of(&data.hr, HR_BREAK);
    let sbp = Breaks::of(&data.sbp, BP_BREAK);
    let dbp = Breaks::of(&data.dbp, BP_BREAK);
    chart_of(data, [&hr, &sbp, &dbp], now, columns)
}

fn chart_of(
    data: &TrendData,
    [hr, sbp, dbp]: [&Breaks; 3],
    now: Instant,
    columns: usize,
) -> TrendChart {
    let (from, to) = data.window(now);
    let line = |s: &[Point], b: &Breaks| {
        commands(&if b.ordered {
            thin_indexed(s, b, from, to, columns)
        } else {
            thin(s, from, to, columns, b.break_after)
        })
    };
    TrendChart {
        hr: line(&data.hr, hr),
        sbp: line(&data.sbp, sbp),
        dbp: line(&data.dbp, dbp),
        // Markers are few (one per step taken).
        markers: data
            .markers
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(t, kind)| PlacedMarker {
                x: x_of(*t, from, to),
                kind: *kind,
            })
            .collect(),
        grid: GRID.iter().map(|v| (y_of(*v), *v)).collect(),
        from,
        to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(u64, f64)]) -> Vec<Point> {
        v.iter()
            .map(|(s, value)| Point {
                at: Instant::from_secs(*s),
                value: *value,
            })
            .collect()
    }

    #[test]
    fn window_starts_two_minutes_before_stress() {
        let d = TrendData {
            hr: pts(&[(10, 64.0), (500, 80.0)]),
            stress_start: Some(Instant::from_secs(300)),
            ..Default::default()
        };
        assert_eq!(
            d.window(Instant::from_secs(900)),
            (Instant::from_secs(180), Instant::from_secs(900))
        );
        // Stress soon after the first reading: the window starts at that reading.
        let d = TrendData {
            hr: pts(&[(100, 64.0)]),
            stress_start: Some(Instant::from_secs(150)),
            ..Default::default()
        };
        assert_eq!(d.window(Instant::from_secs(200)).0, Instant::from_secs(100));
        // Never narrower than five minutes.
        assert_eq!(
            d.window(Instant::from_secs(200)).1,
            Instant::from_secs(100 + 300)
        );
    }

    #[test]
    fn time_ticks_fall_on_whole_minutes_and_stay_few() {
        // 5 min window from 2:30: ticks each minute from 3:00.
        let t = time_ticks(Instant::from_secs(150), Instant::from_secs(450), 0);
        let secs: Vec<u64> = t.iter().map(|(_, at)| at.as_millis() / 1000).collect();
        assert_eq!(secs, vec![180, 240, 300, 360, 420]);
        assert!((t[0].0 - VIEW * 30.0 / 300.0).abs() < 1e-9);
        // A 20 min window: every 5 min, at most MAX_TIME_TICKS.
        let t = time_ticks(Instant::from_secs(0), Instant::from_secs(1200), 0);
        assert_eq!(t.len(), 5);
        assert!(t.len() as u64 <= MAX_TIME_TICKS + 1);
        // An empty window has at most one tick.
        assert!(time_ticks(Instant::from_secs(10), Instant::from_secs(10), 0).len() <= 1);
        // The wall clock 09:27:10 at exam time 0: ticks at 09:28:00, 09:29:00, …
        let offset = (9 * 3600 + 27 * 60 + 10) * 1000;
        let t = time_ticks(Instant::from_secs(0), Instant::from_secs(300), offset);
        let secs: Vec<u64> = t.iter().map(|(_, at)| at.as_millis() / 1000).collect();
        assert_eq!(secs, vec![50, 110, 170, 230, 290]);
    }

    #[test]
    fn axis_maps_and_clamps() {
        assert_eq!(y_of(Y_MIN), VIEW);
        assert_eq!(y_of(Y_MAX), 0.0);
        assert_eq!(y_of(500.0), 0.0);
        assert_eq!(y_of(-3.0), VIEW);
        assert_eq!(y_of(120.0), VIEW / 2.0);
    }

    #[test]
    fn coordinates_are_written_to_one_decimal() {
        for (v, text) in [
            (0.0, "0.0"),
            (50.0, "50.0"),
            (999.94, "999.9"),
            (999.96, "1000.0"),
            (12.345, "12.3"),
            (7.06, "7.1"),
        ] {
            assert_eq!(Tenths(v).to_string(), text);
        }
        // Within half a tenth of the value everywhere in the box.
        for i in 0..=100_000 {
            let v = i as f64 * 0.01;
            let back: f64 = Tenths(v).to_string().parse().unwrap();
            assert!((back - v).abs() <= 0.05 + 1e-9, "{v} → {back}");
        }
    }

    #[test]
    fn one_point_per_column_and_gaps_break_the_line() {
        let from = Instant::from_secs(0);
        let to = Instant::from_secs(100);
        // 10 columns of 10 s; two readings in column 0: the later one stays.
        let s = pts(&[(1, 60.0), (5, 70.0), (15, 80.0), (80, 90.0)]);
        let strokes = thin(&s, from, to, 10, Duration::from_secs(30));
        assert_eq!(strokes.len(), 2, "{strokes:?}");
        assert_eq!(strokes[0].len(), 2);
        assert_eq!(strokes[0][0], (50.0, y_of(70.0)));
        assert_eq!(strokes[1], vec![(800.0, y_of(90.0))]);
        let cmd = commands(&strokes);
        assert!(cmd.starts_with("M 50.0 "), "{cmd}");
        assert_eq!(cmd.matches('M').count(), 2);
    }

    #[test]
    fn markers_and_series_come_from_the_journal() {
        use crate::domain::stress::{StressDrug, Vitals};
        let ev = |s, event| JournalRow::Event {
            at: Instant::from_secs(s),
            actor: Some("t".into()),
            event,
        };
        let rows = vec![
            ev(
                10,
                ExamEvent::VitalsReading {
                    vitals: Vitals {
                        hr: Some(64.0),
                        sbp: Some(120.0),
                        ..Default::default()
                    },
                },
            ),
            ev(
                30,
                ExamEvent::StressStarted {
                    drug: StressDrug::Adenosine,
                    dose: None,
                    authority: Default::default(),
                },
            ),
            ev(200, ExamEvent::StressStopped),
        ];
        let d = TrendData::from_journal(&rows);
        assert_eq!(d.hr.len(), 1);
        assert_eq!(d.sbp.len(), 1);
        assert!(d.dbp.is_empty());
        assert_eq!(d.stress_start, Some(Instant::from_secs(30)));
        let chart = trend_chart(&d, Instant::from_secs(310), 200);
        assert_eq!(chart.from, Instant::from_secs(10));
        let kinds: Vec<_> = chart.markers.iter().map(|m| m.kind).collect();
        assert_eq!(kinds, [MarkerKind::StressStart, MarkerKind::StressStop]);
        assert_eq!(chart.markers[0].x, 1000.0 * 20.0 / 300.0);
    }
}
