//! Contrast of both palettes (usability reference: body text ≥ 7:1, large text ≥ 4.5:1,
//! controls and icons ≥ 3:1) and the millimetre touch-target conversion.

use cmr_kiosk::ui::theme::{DAY, NIGHT, Palette, Rgb, contrast_ratio, mm_to_logical_px};
use rstest::rstest;

#[test]
fn contrast_ratio_matches_wcag_reference_values() {
    let black = Rgb(0, 0, 0);
    let white = Rgb(255, 255, 255);
    assert!((contrast_ratio(black, white) - 21.0).abs() < 1e-9);
    assert!((contrast_ratio(white, white) - 1.0).abs() < 1e-9);
    // #767676 on white is the classic 4.54:1.
    assert!((contrast_ratio(Rgb(0x76, 0x76, 0x76), white) - 4.54).abs() < 0.01);
}

#[rstest]
#[case::day(&DAY)]
#[case::night(&NIGHT)]
fn palette_meets_contrast_minimums(#[case] p: &Palette) {
    let body = [
        ("text/background", p.text, p.background),
        ("text/surface", p.text, p.surface),
        ("text/control", p.text, p.control),
        ("text/control-pressed", p.text, p.control_pressed),
        ("text-muted/background", p.text_muted, p.background),
        ("text-muted/surface", p.text_muted, p.surface),
    ];
    for (name, a, b) in body {
        assert!(
            contrast_ratio(a, b) >= 7.0,
            "{name}: {:.2}",
            contrast_ratio(a, b)
        );
    }
    // Button labels are large text.
    assert!(contrast_ratio(p.on_accent, p.accent) >= 4.5);
    // The record alarm's banner: bold large text on the high-priority colour.
    assert!(contrast_ratio(p.on_accent, p.alarm_high) >= 4.5);
    assert!(contrast_ratio(p.text_muted, p.control) >= 4.5);
    let graphics = [
        ("control-border", p.control_border),
        ("accent", p.accent),
        ("alarm-high", p.alarm_high),
        ("alarm-medium", p.alarm_medium),
        ("alarm-low", p.alarm_low),
        ("ok", p.ok),
    ];
    for (name, c) in graphics {
        for (bg_name, bg) in [("background", p.background), ("surface", p.surface)] {
            let r = contrast_ratio(c, bg);
            assert!(
                r >= 4.5,
                "{name} on {bg_name}: {r:.2} (status words use these colours)"
            );
        }
    }
}

#[rstest]
#[case::staff_96dpi(9.0, 96.0, 1.0, 34.0)]
#[case::patient_96dpi(20.0, 96.0, 1.0, 75.6)]
#[case::patient_141dpi_scaled(20.0, 141.0, 1.5, 74.0)]
fn millimetres_become_pixels(
    #[case] mm: f64,
    #[case] dpi: f64,
    #[case] scale: f64,
    #[case] px: f64,
) {
    assert!(
        (mm_to_logical_px(mm, dpi, scale) - px).abs() < 0.1,
        "{}",
        mm_to_logical_px(mm, dpi, scale)
    );
}
