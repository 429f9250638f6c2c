//! Headless screenshots: a rendered frame is not blank, Chinese renders as glyphs with
//! the bundled font, and `--all` writes a PNG per screen × language × theme.
//! (A Slint platform can be installed once per process: one test function.)

use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::gallery::screens::SCREENS;
use cmr_kiosk::gallery::screenshot::Renderer;
use cmr_kiosk::ui::components::Screen;

#[test]
fn frames_are_drawn_with_cjk_glyphs_and_written_as_png() {
    let renderer = Renderer::new(Config::default()).unwrap();

    let zh = renderer.render_screen(Screen::Home, Language::ZhCn, ThemeName::Day);
    assert_eq!((zh.width, zh.height), (1280, 800));
    assert!(
        zh.distinct_colours() > 20,
        "not blank: {} colours",
        zh.distinct_colours()
    );

    // The title band (below the status bar) holds the home title. With no CJK font the
    // Chinese title would be blank; require real ink comparable to the English one.
    let bg = zh.pixel(5, 300);
    let en = renderer.render_screen(Screen::Home, Language::EnUs, ThemeName::Day);
    let zh_ink = zh.ink_in(300, 80, 980, 160, bg);
    let en_ink = en.ink_in(300, 80, 980, 160, bg);
    assert!(en_ink > 500, "English title drawn: {en_ink}");
    assert!(zh_ink > 500, "Chinese title drawn as glyphs: {zh_ink}");

    // Night theme really changes the background.
    let night = renderer.render_screen(Screen::Home, Language::ZhCn, ThemeName::Night);
    assert_ne!(night.pixel(5, 300), bg);

    // The technical alarm of the exam record shows as a red band under the status bar.
    renderer
        .shell()
        .app()
        .set_record_alarm_text("技术报警：检查记录无法保存——2 条事件暂存于内存，正在重试。".into());
    let alarm = renderer.render_screen(Screen::Home, Language::ZhCn, ThemeName::Day);
    if let Ok(out) = std::env::var("CMR_SCREENSHOT_OUT") {
        alarm.write_png(std::path::Path::new(&out)).unwrap();
    }
    let red = alarm.pixel(5, 75);
    assert!(red.r > 150 && red.g < 60, "alarm band is red: {red:?}");
    renderer.shell().app().set_record_alarm_text("".into());

    let dir = tempfile::tempdir().unwrap();
    let files = renderer.render_all(dir.path()).unwrap();
    // Every named screen and the console states, each in 2 languages × 2 themes.
    assert_eq!(
        files.len(),
        (SCREENS.len() + cmr_kiosk::gallery::console::PREVIEWS.len()) * 2 * 2
    );
    assert!(SCREENS.len() >= 17);
    assert!(
        dir.path()
            .join("technologist-alarm.en-US.night.png")
            .exists()
    );
    for f in &files {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(f).unwrap()));
        let reader = decoder.read_info().unwrap();
        assert_eq!(
            (reader.info().width, reader.info().height),
            (1280, 800),
            "{}",
            f.display()
        );
    }
    assert!(dir.path().join("home.zh-CN.night.png").exists());
    assert!(
        dir.path()
            .join("patient-breath-hold.en-US.day.png")
            .exists()
    );
    assert!(dir.path().join("keypad.zh-CN.night.png").exists());
    assert!(
        renderer
            .render_named("no-such-screen", Language::EnUs, ThemeName::Day)
            .is_none()
    );
}
