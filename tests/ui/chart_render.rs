//! The trend chart draws each value where its axis says: rendered with the software
//! renderer, the baseline SBP, DBP and HR lines of the worked stress exam sit at their
//! values between the grid lines (within 2 units). (One Slint platform per process.)

use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::gallery::screenshot::Renderer;
use slint::Rgb8Pixel;

fn is(p: Rgb8Pixel, rgb: (u8, u8, u8)) -> bool {
    (p.r, p.g, p.b) == rgb
}

#[test]
fn trend_lines_sit_at_their_values() {
    let renderer = Renderer::new(Config::default()).unwrap();
    let f = renderer
        .render_console("stress", Language::EnUs, ThemeName::Day)
        .expect("the stress preview");
    // A column in the baseline part of the chart (day theme: grid #E3E8EE, BP lines
    // #0B4F8A, HR #1B6B2A).
    let x = 600;
    let rows = |rgb| -> Vec<u32> {
        let mut ys: Vec<u32> = (200..770).filter(|&y| is(f.pixel(x, y), rgb)).collect();
        ys.dedup_by(|a, b| *a == *b + 1 || *a == *b + 2 || *a == *b + 3);
        ys
    };
    let grid = rows((0xE3, 0xE8, 0xEE));
    assert_eq!(
        grid.len(),
        4,
        "four grid lines (180, 140, 100, 60): {grid:?}"
    );
    // Value at a pixel row, from the grid lines 180 (top) and 60 (bottom).
    let (y180, y60) = (grid[0] as f64, grid[3] as f64);
    let value = |y: u32| 180.0 - (y as f64 - y180) / (y60 - y180) * 120.0;
    let bp = rows((0x0B, 0x4F, 0x8A));
    assert_eq!(bp.len(), 2, "SBP and DBP lines: {bp:?}");
    let hr = rows((0x1B, 0x6B, 0x2A));
    assert!(!hr.is_empty(), "HR line");
    let (sbp, dbp, hr) = (value(bp[0] + 1), value(bp[1] + 1), value(hr[0] + 1));
    // The preview's resting readings: SBP 126, DBP 78 (0.62 × SBP), HR 64–66.
    assert!((sbp - 126.0).abs() <= 2.0, "SBP drawn at {sbp:.1}");
    assert!((dbp - 78.0).abs() <= 2.0, "DBP drawn at {dbp:.1}");
    assert!((63.0..=68.0).contains(&hr), "HR drawn at {hr:.1}");
}

/// The lines sit where the time axis says (issue 17): the HR line starts at its first
/// reading's time and ends at its last, as fractions of the plot's width — a path
/// drawn in a square and stretched by a transform the software renderer does not
/// apply would end elsewhere.
#[test]
fn trend_lines_start_and_end_at_their_readings_times() {
    use cmr_kiosk::ui::console::chart::TrendData;
    use i_slint_backend_testing::ElementHandle;
    let renderer = Renderer::new(Config::default()).unwrap();
    let mut plot = None;
    let f = renderer
        .render_console_then("stress", Language::EnUs, ThemeName::Day, |r| {
            let title = r.shell().language_state().tr("console-chart-title");
            let e = ElementHandle::find_by_accessible_label(r.shell().app(), &title)
                .find(|e| {
                    e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Image)
                })
                .expect("the plot, labelled with the chart's title");
            plot = Some((e.absolute_position(), e.size()));
        })
        .expect("the stress preview");
    let (pos, size) = plot.unwrap();
    let (session, now) = cmr_kiosk::gallery::console::preview_session("stress").unwrap();
    let data = TrendData::from_journal(session.journal());
    let (from, to) = data.window(now);
    let frac = |at: cmr_kiosk::domain::Instant| {
        (at.as_millis() - from.as_millis()) as f64 / (to.as_millis() - from.as_millis()) as f64
    };
    let first = frac(data.hr.first().unwrap().at);
    let last = frac(data.hr.last().unwrap().at);
    assert!(last < 0.95, "the window runs past the last reading: {last}");
    // HR green (#1B6B2A) inside the plot.
    let (x0, y0) = (pos.x as u32, pos.y as u32);
    let (w, h) = (size.width as u32, size.height as u32);
    let columns: Vec<u32> = (x0..x0 + w)
        .filter(|&x| (y0..y0 + h).any(|y| is(f.pixel(x, y), (0x1B, 0x6B, 0x2A))))
        .collect();
    let (left, right) = (*columns.first().unwrap(), *columns.last().unwrap());
    let expect = |fr: f64| x0 as f64 + fr * w as f64;
    assert!(
        (left as f64 - expect(first)).abs() <= 4.0,
        "HR starts at x={left}, its first reading is at x={:.0}",
        expect(first)
    );
    assert!(
        (right as f64 - expect(last)).abs() <= 4.0,
        "HR ends at x={right}, its last reading is at x={:.0}",
        expect(last)
    );
}

/// Issue 22 (per-redraw work proportional to what changed): each redraw reads only
/// the journal rows logged since the one before, none while the console is hidden,
/// and the chart drawn from that running digest is the chart of the whole journal.
#[test]
fn issue_22_each_redraw_reads_only_the_new_rows() {
    use cmr_kiosk::domain::ExamEvent;
    use cmr_kiosk::domain::stress::Vitals;
    use cmr_kiosk::domain::time::Duration;
    use cmr_kiosk::engine::Command;
    use cmr_kiosk::gallery::console::preview_session;
    use cmr_kiosk::ui::components::{ConsoleAdapter, Screen};
    use cmr_kiosk::ui::console::chart::{TrendData, trend_chart};
    use cmr_kiosk::ui::console::view::{CHART_COLUMNS, ConsoleUi};
    use slint::ComponentHandle;

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("kiosk.db").display());
    let renderer = Renderer::new(config.clone()).unwrap();
    let shell = renderer.shell();
    shell.app().set_screen(Screen::Technologist);
    let (session, mut now) = preview_session("stress").unwrap();
    let engine = shell.engine().clone();
    engine
        .call(Command::Install(Some(Box::new(session))))
        .unwrap();
    let recorder = cmr_kiosk::engine::recorder::Recorder::start(&config.database, |_| {})
        .expect("the recorder starts");
    engine
        .call(Command::AttachRecorder(std::sync::Arc::new(recorder)))
        .unwrap();
    let wall = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap();
    let mut console = ConsoleUi::default();
    let journal_len = || engine.read().session().unwrap().journal().len() as u64;
    let redraw = |console: &mut ConsoleUi, now| {
        console.refresh(
            shell.app(),
            shell.language_state(),
            &engine.read(),
            now,
            wall,
        )
    };
    let readings = |now: &mut cmr_kiosk::domain::Instant, n: u64| {
        for i in 0..n {
            *now += Duration::from_millis(500);
            engine.call(Command::ResumeAt(*now)).unwrap();
            let vitals = Vitals {
                hr: Some(70.0 + (i % 9) as f64),
                sbp: i.is_multiple_of(60).then_some(120.0),
                dbp: i.is_multiple_of(60).then_some(76.0),
                ..Default::default()
            };
            engine
                .handle(ExamEvent::VitalsReading { vitals }, "monitor")
                .unwrap();
        }
    };
    redraw(&mut console, now);
    assert_eq!(console.journal_rows_read(), journal_len());
    // Two readings a second, a redraw every 250 ms: each row is read once.
    for _ in 0..200 {
        readings(&mut now, 1);
        redraw(&mut console, now);
        redraw(&mut console, now);
    }
    assert_eq!(
        console.journal_rows_read(),
        journal_len(),
        "each row read once"
    );
    // Hidden (another screen): nothing is read.
    let before = console.journal_rows_read();
    shell.app().set_screen(Screen::Home);
    for _ in 0..50 {
        readings(&mut now, 2);
        redraw(&mut console, now);
    }
    assert_eq!(console.journal_rows_read(), before, "hidden: no rows read");
    // Shown again: the new rows only, and the chart is the whole journal's.
    shell.app().set_screen(Screen::Technologist);
    redraw(&mut console, now);
    assert_eq!(console.journal_rows_read(), journal_len());
    let a = shell.app().global::<ConsoleAdapter>();
    let full = trend_chart(
        &TrendData::from_journal(engine.read().session().unwrap().journal()),
        now,
        CHART_COLUMNS,
    );
    assert_eq!(a.get_chart_hr().as_str(), full.hr);
    assert_eq!(a.get_chart_sbp().as_str(), full.sbp);
    assert!(!full.hr.is_empty());
}
