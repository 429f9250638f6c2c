//! Day and night palettes, their contrast checks, and touch targets in millimetres.
//!
//! The palettes are data here (not in `ui/`) so that the contrast requirements of the
//! usability reference — body text ≥ 7:1, large text ≥ 4.5:1, controls and icons
//! ≥ 3:1 — are checked by tests for both themes.

use slint::ComponentHandle;

use crate::config::{ThemeName, UiConfig};
use crate::ui::components::{AppWindow, Theme};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// WCAG relative luminance.
    pub fn luminance(self) -> f64 {
        fn channel(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    fn to_slint(self) -> slint::Color {
        slint::Color::from_rgb_u8(self.0, self.1, self.2)
    }
}

/// WCAG contrast ratio between two colours (1.0 to 21.0).
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// The colours of one theme. Field names match the `Theme` global in `ui/theme.slint`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    /// Window background.
    pub background: Rgb,
    /// Panels and the status bar.
    pub surface: Rgb,
    /// Body text.
    pub text: Rgb,
    /// Secondary text (hints).
    pub text_muted: Rgb,
    /// Primary buttons.
    pub accent: Rgb,
    /// Text on primary buttons.
    pub on_accent: Rgb,
    /// Secondary buttons.
    pub control: Rgb,
    /// Any button while pressed.
    pub control_pressed: Rgb,
    /// Button and field borders.
    pub control_border: Rgb,
    /// High-priority alarm (IEC 60601-1-8: red).
    pub alarm_high: Rgb,
    /// Medium-priority alarm (yellow).
    pub alarm_medium: Rgb,
    /// Low-priority alarm (cyan).
    pub alarm_low: Rgb,
    /// Normal / connected state.
    pub ok: Rgb,
}

/// Light palette for a bright exam room.
pub const DAY: Palette = Palette {
    background: Rgb(0xf4, 0xf6, 0xf8),
    surface: Rgb(0xff, 0xff, 0xff),
    text: Rgb(0x11, 0x14, 0x18),
    text_muted: Rgb(0x3d, 0x46, 0x50),
    accent: Rgb(0x0b, 0x4f, 0x8a),
    on_accent: Rgb(0xff, 0xff, 0xff),
    control: Rgb(0xe3, 0xe8, 0xee),
    control_pressed: Rgb(0xc7, 0xd0, 0xda),
    control_border: Rgb(0x5b, 0x66, 0x73),
    alarm_high: Rgb(0xc0, 0x00, 0x1a),
    alarm_medium: Rgb(0x8a, 0x5a, 0x00),
    alarm_low: Rgb(0x00, 0x6b, 0x80),
    ok: Rgb(0x1b, 0x6b, 0x2a),
};

/// Dark palette for a dim MR control room.
pub const NIGHT: Palette = Palette {
    background: Rgb(0x0d, 0x11, 0x17),
    surface: Rgb(0x16, 0x1b, 0x22),
    text: Rgb(0xe6, 0xed, 0xf3),
    text_muted: Rgb(0xaa, 0xb4, 0xbf),
    accent: Rgb(0x6c, 0xb6, 0xff),
    on_accent: Rgb(0x0d, 0x11, 0x17),
    control: Rgb(0x21, 0x26, 0x2d),
    control_pressed: Rgb(0x30, 0x36, 0x3d),
    control_border: Rgb(0x8b, 0x94, 0x9e),
    alarm_high: Rgb(0xff, 0x6b, 0x6b),
    alarm_medium: Rgb(0xe3, 0xb3, 0x41),
    alarm_low: Rgb(0x56, 0xd4, 0xe0),
    ok: Rgb(0x56, 0xd3, 0x64),
};

/// The palette of a theme.
pub fn palette(theme: ThemeName) -> &'static Palette {
    match theme {
        ThemeName::Day => &DAY,
        ThemeName::Night => &NIGHT,
    }
}

/// Cap height of the stress page's far-view numbers (issue 17): readable from the
/// scanner console 1–2 m away.
pub const FAR_CAP_HEIGHT_MM: f64 = 15.0;

/// Height of a digit as a share of the font size, for the bundled font (WenQuanYi
/// Micro Hei's digits stand about 0.72 em; 0.70 is taken so the cap height is at
/// least [`FAR_CAP_HEIGHT_MM`]).
pub const DIGIT_HEIGHT_EM: f64 = 0.70;

/// The far-view font size in logical pixels for the configured screen.
pub fn far_font_px(dpi: f64, scale_factor: f64) -> f64 {
    mm_to_logical_px(FAR_CAP_HEIGHT_MM / DIGIT_HEIGHT_EM, dpi, scale_factor)
}

/// Millimetres to logical pixels for a screen of `dpi` physical pixels per inch shown
/// at `scale_factor` physical pixels per logical pixel.
pub fn mm_to_logical_px(mm: f64, dpi: f64, scale_factor: f64) -> f64 {
    mm * dpi / 25.4 / scale_factor
}

/// Pushes a theme's palette and the configured touch-target sizes into the UI.
pub fn apply(app: &AppWindow, theme: ThemeName, ui: &UiConfig) {
    let p = palette(theme);
    let t = app.global::<Theme>();
    t.set_night(theme == ThemeName::Night);
    t.set_background(p.background.to_slint());
    t.set_surface(p.surface.to_slint());
    t.set_text(p.text.to_slint());
    t.set_text_muted(p.text_muted.to_slint());
    t.set_accent(p.accent.to_slint());
    t.set_on_accent(p.on_accent.to_slint());
    t.set_control(p.control.to_slint());
    t.set_control_pressed(p.control_pressed.to_slint());
    t.set_control_border(p.control_border.to_slint());
    t.set_alarm_high(p.alarm_high.to_slint());
    t.set_alarm_medium(p.alarm_medium.to_slint());
    t.set_alarm_low(p.alarm_low.to_slint());
    t.set_ok(p.ok.to_slint());
    let scale = f64::from(app.window().scale_factor());
    t.set_staff_target(mm_to_logical_px(ui.staff_target_mm, ui.dpi, scale) as f32);
    t.set_patient_target(mm_to_logical_px(ui.patient_target_mm, ui.dpi, scale) as f32);
    t.set_font_far(far_font_px(ui.dpi, scale) as f32);
}
