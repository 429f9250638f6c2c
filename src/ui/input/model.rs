//! Touch-only input models behind the on-screen keypad and keyboard (issue 7).
//!
//! Pure and window-free: [`NumberEntry`] edits a number key by key, validates it
//! against a [`NumberSpec`] (range, decimals) as it is typed and names the Fluent key of
//! the message to show; [`TextEntry`] edits short text with shift, space and backspace.
//! The Slint side (`ui/widgets/keypad.slint`, `ui/widgets/keyboard.slint`) only draws
//! the keys and shows what these models say; [`crate::ui::input::view`] wires the two.

/// What a number field accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberSpec {
    /// Smallest accepted value.
    pub min: f64,
    /// Largest accepted value.
    pub max: f64,
    /// Digits allowed after the decimal point (0: whole numbers only).
    pub decimals: u8,
    /// Fluent key of the unit (e.g. `unit-kg`); empty for none.
    pub unit_key: &'static str,
    /// Fluent key of the field's title (e.g. `keypad-title-weight`).
    pub title_key: &'static str,
    /// A PIN: digits only, shown masked, no range message.
    pub pin: bool,
}

impl NumberSpec {
    /// A number from `min` to `max` with `decimals` places, in `unit_key`, titled
    /// `title_key` (both Fluent keys).
    pub fn range(
        (min, max, decimals): (f64, f64, u8),
        unit_key: &'static str,
        title_key: &'static str,
    ) -> NumberSpec {
        NumberSpec {
            min,
            max,
            decimals,
            unit_key,
            title_key,
            pin: false,
        }
    }

    /// Body weight in kg, 1–350, one decimal (the domain's limit, [`crate::domain::screening::MAX_WEIGHT_KG`]).
    pub fn weight_kg() -> NumberSpec {
        NumberSpec {
            min: 1.0,
            max: crate::domain::screening::MAX_WEIGHT_KG,
            decimals: 1,
            unit_key: "unit-kg",
            title_key: "keypad-title-weight",
            pin: false,
        }
    }

    /// Height in cm, 30–300, whole numbers.
    pub fn height_cm() -> NumberSpec {
        NumberSpec {
            min: 30.0,
            max: 300.0,
            decimals: 0,
            unit_key: "unit-cm",
            title_key: "keypad-title-height",
            pin: false,
        }
    }

    /// eGFR in mL/min/1.73 m², 0–200, whole numbers (2.3.1).
    pub fn egfr() -> NumberSpec {
        NumberSpec {
            min: 0.0,
            max: 200.0,
            decimals: 0,
            unit_key: "unit-egfr",
            title_key: "keypad-title-egfr",
            pin: false,
        }
    }

    /// Whether the field takes a date as `YYYYMMDD` ([`NumberSpec::date`]): only a real
    /// calendar date is valid.
    pub fn is_date(&self) -> bool {
        self.unit_key == "unit-date"
    }

    /// A calendar date typed as the eight digits `YYYYMMDD` (checked as a date by
    /// [`crate::ui::nurse::registration::parse_date`]).
    pub fn date(title_key: &'static str) -> NumberSpec {
        NumberSpec {
            min: 19000101.0,
            max: 21001231.0,
            decimals: 0,
            unit_key: "unit-date",
            title_key,
            pin: false,
        }
    }

    /// Hours since a drink or drug (caffeine, dipyridamole), 0–96, one decimal.
    pub fn hours(title_key: &'static str) -> NumberSpec {
        NumberSpec {
            min: 0.0,
            max: 96.0,
            decimals: 1,
            unit_key: "unit-h",
            title_key,
            pin: false,
        }
    }

    /// The idle time before a staff screen locks, 30–1800 s.
    pub fn idle_lock_s() -> NumberSpec {
        NumberSpec {
            min: 30.0,
            max: 1800.0,
            decimals: 0,
            unit_key: "unit-s",
            title_key: "admin-setting-ui-idle-lock-s",
            pin: false,
        }
    }

    /// The breath-hold threshold below which free breathing is suggested, 3–60 s.
    pub fn breath_hold_threshold_s() -> NumberSpec {
        NumberSpec {
            min: 3.0,
            max: 60.0,
            decimals: 0,
            unit_key: "unit-s",
            title_key: "admin-setting-ui-breath-hold-threshold-s",
            pin: false,
        }
    }

    /// A staff PIN of 4–8 digits.
    pub fn pin() -> NumberSpec {
        NumberSpec {
            min: 0.0,
            max: 0.0,
            decimals: 0,
            unit_key: "",
            title_key: "keypad-title-pin",
            pin: true,
        }
    }

    /// The range as digits only, e.g. `1–350` (language-neutral).
    pub fn range_text(&self) -> String {
        format!(
            "{}–{}",
            format_number(self.min, self.decimals),
            format_number(self.max, self.decimals)
        )
    }
}

/// Shortest PIN accepted.
pub const PIN_MIN_DIGITS: usize = 4;
/// Longest PIN accepted.
pub const PIN_MAX_DIGITS: usize = 8;
/// Most characters a number field takes (digits and the point).
pub const NUMBER_MAX_CHARS: usize = 8;

/// The state of a number as typed so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntryCheck {
    /// Nothing typed.
    Empty,
    /// A PIN shorter than [`PIN_MIN_DIGITS`].
    PinTooShort,
    /// Below the minimum.
    BelowMin,
    /// Above the maximum.
    AboveMax,
    /// Eight digits that are no calendar date (month 13, 45th day), or fewer than
    /// eight for a date.
    NotADate,
    /// Acceptable; the value.
    Valid(f64),
}

impl EntryCheck {
    /// The Fluent key of the message shown under the value.
    pub fn message_key(self) -> &'static str {
        match self {
            EntryCheck::Empty => "keypad-empty",
            EntryCheck::PinTooShort => "keypad-pin-too-short",
            EntryCheck::BelowMin => "keypad-below-min",
            EntryCheck::AboveMax => "keypad-above-max",
            EntryCheck::NotADate => "keypad-not-a-date",
            EntryCheck::Valid(_) => "keypad-valid",
        }
    }

    /// Whether OK may be pressed.
    pub fn is_valid(self) -> bool {
        matches!(self, EntryCheck::Valid(_))
    }
}

/// A number typed key by key on the on-screen keypad.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberEntry {
    spec: NumberSpec,
    text: String,
    /// The Fluent key saying why the last key was not taken (a third decimal, too
    /// many digits): shown until the next key, so no digit is dropped unseen.
    refused: Option<&'static str>,
}

impl NumberEntry {
    /// An empty entry for `spec`.
    pub fn new(spec: NumberSpec) -> NumberEntry {
        NumberEntry {
            spec,
            text: String::new(),
            refused: None,
        }
    }

    /// An entry pre-filled with `value` (e.g. to correct a weight).
    pub fn with_value(spec: NumberSpec, value: f64) -> NumberEntry {
        let text = format_number(value, spec.decimals);
        NumberEntry {
            spec,
            text,
            refused: None,
        }
    }

    /// What the field accepts.
    pub fn spec(&self) -> &NumberSpec {
        &self.spec
    }

    /// The characters typed (unmasked).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the field shows: the digits, or one `•` per digit for a PIN.
    pub fn display(&self) -> String {
        if self.spec.pin {
            "•".repeat(self.text.chars().count())
        } else {
            self.text.clone()
        }
    }

    /// Whether the decimal point key is offered.
    pub fn allows_point(&self) -> bool {
        !self.spec.pin && self.spec.decimals > 0
    }

    /// Types one digit; refused (returns `false`) when it would exceed the length or
    /// the allowed decimals, or add a leading zero.
    pub fn digit(&mut self, d: u8) -> bool {
        if d > 9 {
            return false;
        }
        let max = if self.spec.pin {
            PIN_MAX_DIGITS
        } else if self.spec.is_date() {
            8
        } else {
            NUMBER_MAX_CHARS
        };
        if self.text.chars().count() >= max {
            self.refused = Some("keypad-refused-length");
            return false;
        }
        if !self.spec.pin {
            if let Some((_, frac)) = self.text.split_once('.')
                && frac.len() >= usize::from(self.spec.decimals)
            {
                self.refused = Some("keypad-refused-decimals");
                return false;
            }
            if self.text == "0" {
                // "07" becomes "7".
                self.text.clear();
            }
        }
        self.text.push(char::from(b'0' + d));
        self.refused = None;
        true
    }

    /// Why the last key was not taken, if it was not (a Fluent key).
    pub fn refused(&self) -> Option<&'static str> {
        self.refused
    }

    /// Types the decimal point; refused for whole numbers, PINs, or a second point.
    pub fn point(&mut self) -> bool {
        if !self.allows_point() || self.text.contains('.') || self.text.len() >= NUMBER_MAX_CHARS {
            return false;
        }
        if self.text.is_empty() {
            self.text.push('0');
        }
        self.text.push('.');
        true
    }

    /// Types a key by its label (`0`–`9` or `.`); anything else is refused.
    pub fn key(&mut self, key: &str) -> bool {
        match key {
            "." => self.point(),
            k if k.len() == 1 && k.as_bytes()[0].is_ascii_digit() => {
                self.digit(k.as_bytes()[0] - b'0')
            }
            _ => false,
        }
    }

    /// Removes the last character.
    pub fn backspace(&mut self) {
        self.text.pop();
        self.refused = None;
    }

    /// Empties the field.
    pub fn clear(&mut self) {
        self.text.clear();
        self.refused = None;
    }

    /// The value typed so far, if it parses (a trailing point is ignored).
    pub fn value(&self) -> Option<f64> {
        let t = self.text.trim_end_matches('.');
        if t.is_empty() { None } else { t.parse().ok() }
    }

    /// The live range check.
    pub fn check(&self) -> EntryCheck {
        if self.text.is_empty() {
            return EntryCheck::Empty;
        }
        if self.spec.pin {
            return if self.text.len() < PIN_MIN_DIGITS {
                EntryCheck::PinTooShort
            } else {
                EntryCheck::Valid(0.0)
            };
        }
        if self.spec.is_date() && crate::ui::nurse::registration::parse_date(&self.text).is_none() {
            return EntryCheck::NotADate;
        }
        match self.value() {
            None => EntryCheck::Empty,
            Some(v) if v < self.spec.min => EntryCheck::BelowMin,
            Some(v) if v > self.spec.max => EntryCheck::AboveMax,
            Some(v) => EntryCheck::Valid(v),
        }
    }
}

/// `value` with at most `decimals` digits after the point and no trailing zeros.
pub fn format_number(value: f64, decimals: u8) -> String {
    let s = format!("{value:.*}", usize::from(decimals));
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Most characters a short text field takes.
pub const TEXT_MAX_CHARS: usize = 64;

/// What a text field holds, for the keyboard: Latin only (user names, IDs), or text
/// that may be Chinese (pinyin mode offered), a person's name among them (issue 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextKind {
    /// Letters, digits, `-` and `.` only: no pinyin mode.
    Latin,
    /// Free text: pinyin mode offered, candidates by word frequency.
    #[default]
    Text,
    /// A person's name: pinyin mode offered, common surnames first.
    Name,
}

/// The pinyin composer of a Chinese-mode entry (compared by what is composing).
#[derive(Debug, Clone)]
struct Pinyin(crate::ui::input::pinyin::Composer);

impl PartialEq for Pinyin {
    fn eq(&self, other: &Self) -> bool {
        self.0.input() == other.0.input() && self.0.mode() == other.0.mode()
    }
}

impl Eq for Pinyin {}

/// Short text typed on the on-screen keyboard. It edits the same string a system
/// input method writes into, so both can be used in turn. In Chinese mode (the 中/英
/// key) letters build pinyin and a candidate bar offers characters and words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextEntry {
    text: String,
    shift: bool,
    kind: TextKind,
    /// `Some` while in Chinese mode.
    pinyin: Option<Pinyin>,
}

impl TextEntry {
    /// An entry holding `text` (what the field shows now, whoever typed it).
    pub fn new(text: &str) -> TextEntry {
        TextEntry::of_kind(text, TextKind::Text)
    }

    /// An entry for a field of `kind`, holding `text`, in Latin mode.
    pub fn of_kind(text: &str, kind: TextKind) -> TextEntry {
        TextEntry {
            text: text.to_string(),
            shift: false,
            kind,
            pinyin: None,
        }
    }

    /// The field's kind.
    pub fn kind(&self) -> TextKind {
        self.kind
    }

    /// Whether the 中/英 key is offered.
    pub fn offers_chinese(&self) -> bool {
        self.kind != TextKind::Latin
    }

    /// Whether letters build pinyin now.
    pub fn chinese(&self) -> bool {
        self.pinyin.is_some()
    }

    /// The 中/英 key: into Chinese mode (a name field ranks surnames first while
    /// the field is empty), or back to Latin with the composing letters put into the
    /// field as typed.
    pub fn toggle_chinese(&mut self) {
        use crate::ui::input::pinyin::{Composer, Mode};
        match self.pinyin.take() {
            Some(mut p) => {
                let letters = p.0.commit_letters();
                self.append(&letters);
            }
            None if self.offers_chinese() => {
                let mode = if self.kind == TextKind::Name && self.text.trim().is_empty() {
                    Mode::Name
                } else if self.kind == TextKind::Name {
                    Mode::GivenName
                } else {
                    Mode::Text
                };
                self.pinyin = Some(Pinyin(Composer::new(mode)));
            }
            None => {}
        }
    }

    /// The pinyin composing, shown above the keys (`zhang'wei`; empty: none).
    pub fn composing(&self) -> String {
        self.pinyin
            .as_ref()
            .map(|p| p.0.composing_text())
            .unwrap_or_default()
    }

    /// The candidate bar's page (empty when nothing is composing).
    pub fn candidates(&self) -> crate::ui::input::pinyin::CandidatePage {
        self.pinyin
            .as_ref()
            .map(|p| p.0.candidates())
            .unwrap_or_default()
    }

    /// Picks candidate `index` of the page shown: its characters go into the field
    /// (as far as [`TEXT_MAX_CHARS`] allows); the rest of the pinyin keeps composing.
    pub fn pick(&mut self, index: usize) -> bool {
        let Some(p) = self.pinyin.as_mut() else {
            return false;
        };
        let room = TEXT_MAX_CHARS.saturating_sub(self.text.chars().count());
        let fits =
            p.0.candidates()
                .candidates
                .get(index)
                .is_some_and(|c| c.text.chars().count() <= room);
        if !fits {
            return false;
        }
        match p.0.pick(index) {
            Some(chars) => {
                self.text.push_str(&chars);
                true
            }
            None => false,
        }
    }

    /// The candidate bar's next (`true`) or previous page.
    pub fn page(&mut self, next: bool) -> bool {
        match self.pinyin.as_mut() {
            Some(p) if next => p.0.next_page(),
            Some(p) => p.0.prev_page(),
            None => false,
        }
    }

    /// Before the field's text is taken (OK): composing letters go in as typed.
    pub fn finish(&mut self) {
        if let Some(p) = self.pinyin.as_mut() {
            let letters = p.0.commit_letters();
            self.append(&letters);
        }
    }

    fn append(&mut self, s: &str) {
        for c in s.chars() {
            if self.text.chars().count() >= TEXT_MAX_CHARS {
                break;
            }
            self.text.push(c);
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the next letter is upper case.
    pub fn shift(&self) -> bool {
        self.shift
    }

    /// Toggles shift.
    pub fn toggle_shift(&mut self) {
        self.shift = !self.shift;
    }

    /// Replaces the text (after a system input method changed the field).
    pub fn set_text(&mut self, text: &str) {
        self.text = text.to_string();
    }

    /// Types a key: a letter (upper case while shift is on; shift then releases), a
    /// digit, or a space. Refused past [`TEXT_MAX_CHARS`] or for anything else.
    pub fn key(&mut self, key: &str) -> bool {
        let mut chars = key.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return false;
        };
        if let Some(p) = self.pinyin.as_mut() {
            if c.is_ascii_alphabetic() {
                return p.0.push(c.to_ascii_lowercase()).is_ok();
            }
            if !p.0.is_empty() {
                // Space takes the first candidate; anything else waits for a pick.
                return c == ' ' && self.pick(0);
            }
            if let Some(wide) = p.0.punctuation(c) {
                if self.text.chars().count() >= TEXT_MAX_CHARS {
                    return false;
                }
                self.text.push(wide);
                return true;
            }
        }
        if !(c.is_alphanumeric() || c == ' ' || c == '-' || c == '.')
            || self.text.chars().count() >= TEXT_MAX_CHARS
        {
            return false;
        }
        if c.is_alphabetic() && self.shift {
            self.text.extend(c.to_uppercase());
            self.shift = false;
        } else {
            self.text.extend(c.to_lowercase());
        }
        true
    }

    /// Removes the last pinyin letter while composing, else the last character (a
    /// whole Chinese character, never half of one).
    pub fn backspace(&mut self) {
        if let Some(p) = self.pinyin.as_mut()
            && p.0.backspace()
        {
            return;
        }
        self.text.pop();
    }

    /// Empties the field (and what is composing).
    pub fn clear(&mut self) {
        self.text.clear();
        if let Some(p) = self.pinyin.as_mut() {
            p.0.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(spec: NumberSpec, keys: &str) -> NumberEntry {
        let mut e = NumberEntry::new(spec);
        for k in keys.chars() {
            e.key(&k.to_string());
        }
        e
    }

    #[test]
    fn weight_is_range_checked_as_typed() {
        let mut e = NumberEntry::new(NumberSpec::weight_kg());
        assert_eq!(e.check(), EntryCheck::Empty);
        e.key("7");
        assert_eq!(e.check(), EntryCheck::Valid(7.0));
        e.key("2");
        e.key(".");
        assert_eq!(e.text(), "72.");
        assert_eq!(e.check(), EntryCheck::Valid(72.0));
        e.key("5");
        assert_eq!(e.check(), EntryCheck::Valid(72.5));
        assert!(!e.key("3"), "only one decimal");
        assert_eq!(e.text(), "72.5");
        let e = typed(NumberSpec::weight_kg(), "4000");
        assert_eq!(e.check(), EntryCheck::AboveMax);
        assert_eq!(e.check().message_key(), "keypad-above-max");
        let e = typed(NumberSpec::weight_kg(), "0.5");
        assert_eq!(e.check(), EntryCheck::BelowMin);
    }

    #[test]
    fn whole_numbers_refuse_the_point_and_leading_zeros_drop() {
        let mut e = NumberEntry::new(NumberSpec::height_cm());
        assert!(!e.allows_point());
        assert!(!e.point());
        e.key("0");
        e.key("1");
        e.key("7");
        e.key("5");
        assert_eq!(e.text(), "175");
        assert_eq!(e.check(), EntryCheck::Valid(175.0));
        e.backspace();
        assert_eq!(e.check(), EntryCheck::BelowMin);
        e.clear();
        assert_eq!(e.check(), EntryCheck::Empty);
        assert_eq!(NumberSpec::height_cm().range_text(), "30–300");
        assert_eq!(NumberSpec::weight_kg().range_text(), "1–350");
    }

    #[test]
    fn a_point_first_becomes_zero_point() {
        let mut e = NumberEntry::new(NumberSpec::weight_kg());
        assert!(e.point());
        assert!(!e.point());
        assert_eq!(e.text(), "0.");
        assert_eq!(e.check(), EntryCheck::BelowMin);
    }

    #[test]
    fn pin_is_masked_and_needs_four_digits() {
        let mut e = NumberEntry::new(NumberSpec::pin());
        assert!(!e.point());
        for k in ["1", "2", "3"] {
            e.key(k);
        }
        assert_eq!(e.display(), "•••");
        assert_eq!(e.check(), EntryCheck::PinTooShort);
        e.key("4");
        assert!(e.check().is_valid());
        assert_eq!(e.text(), "1234");
        for _ in 0..10 {
            e.key("9");
        }
        assert_eq!(e.text().len(), PIN_MAX_DIGITS);
        assert!(!e.display().contains('1'));
    }

    #[test]
    fn length_is_capped_and_bad_keys_refused() {
        let mut e = NumberEntry::new(NumberSpec::height_cm());
        for _ in 0..20 {
            e.key("9");
        }
        assert_eq!(e.text().len(), NUMBER_MAX_CHARS);
        assert!(!e.key("x"));
        assert!(!e.key("12"));
        assert!(!e.digit(10));
        let e = NumberEntry::with_value(NumberSpec::weight_kg(), 68.0);
        assert_eq!(e.text(), "68");
    }

    #[test]
    fn text_entry_shift_space_backspace_and_chinese() {
        let mut t = TextEntry::default();
        t.toggle_shift();
        for k in ["w", "a", "n", "g", " ", "m"] {
            assert!(t.key(k));
        }
        assert_eq!(t.text(), "Wang m");
        assert!(!t.shift(), "shift releases after one letter");
        t.backspace();
        t.backspace();
        assert_eq!(t.text(), "Wang");
        assert!(!t.key("ab"));
        assert!(!t.key("!"));
        // A system input method wrote Chinese into the same field.
        t.set_text("王小明");
        t.backspace();
        assert_eq!(t.text(), "王小");
        t.key("2");
        assert_eq!(t.text(), "王小2");
        t.clear();
        assert_eq!(t.text(), "");
        for _ in 0..100 {
            t.key("a");
        }
        assert_eq!(t.text().chars().count(), TEXT_MAX_CHARS);
    }

    /// Issue 17: a digit the field cannot take is not dropped unseen: the keypad says
    /// why until the next key (7.25 in a one-decimal weight keeps 7.2 and says so).
    #[test]
    fn a_digit_not_taken_says_why() {
        let mut e = NumberEntry::new(NumberSpec::weight_kg());
        for k in ["7", ".", "2"] {
            assert!(e.key(k));
        }
        assert_eq!(e.refused(), None);
        assert!(!e.key("5"));
        assert_eq!(e.text(), "7.2");
        assert_eq!(e.refused(), Some("keypad-refused-decimals"));
        e.backspace();
        assert_eq!(e.refused(), None);
        let mut e = NumberEntry::new(NumberSpec::date("reg-birth-date"));
        for k in "19450301".chars() {
            assert!(e.key(&k.to_string()));
        }
        assert!(!e.key("9"));
        assert_eq!(e.refused(), Some("keypad-refused-length"));
    }

    /// Issue 17: the birth-date keypad accepts only a calendar date (2030-13-45 is
    /// not "in range").
    #[test]
    fn a_date_keypad_takes_only_calendar_dates() {
        let date = |digits: &str| {
            let mut e = NumberEntry::new(NumberSpec::date("reg-birth-date"));
            for k in digits.chars() {
                e.key(&k.to_string());
            }
            e.check()
        };
        assert_eq!(date("20301345"), EntryCheck::NotADate);
        assert_eq!(date("19680231"), EntryCheck::NotADate);
        assert_eq!(date("1968"), EntryCheck::NotADate);
        assert_eq!(date("19680502"), EntryCheck::Valid(19680502.0));
        assert_eq!(EntryCheck::NotADate.message_key(), "keypad-not-a-date");
        assert!(!EntryCheck::NotADate.is_valid());
    }
}
