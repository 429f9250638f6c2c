//! Localisation: Fluent bundles for zh-CN (the default) and en-US, and the bridge that
//! feeds them to Slint.
//!
//! Every `.ftl` file under `locales/<lang>/` is embedded at build time. The UI asks for
//! strings through the `I18n` global (`I18n.tr(key, I18n.rev)`); switching language
//! bumps `rev`, so every binding re-evaluates without restarting.

#[cfg(feature = "ui")]
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
#[cfg(feature = "ui")]
use std::rc::Rc;

use fluent::{FluentArgs, FluentBundle, FluentResource};
#[cfg(feature = "ui")]
use slint::ComponentHandle;
use unic_langid::LanguageIdentifier;

use crate::config::Language;
#[cfg(feature = "ui")]
use crate::ui::components::{AppWindow, I18n};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/locales.rs"));
}

pub use embedded::FTL_FILES;

/// A Fluent file that failed to parse or clashed with another.
#[derive(Debug, thiserror::Error)]
#[error("locales/{lang}/{file}: {message}")]
pub struct I18nError {
    /// Language folder.
    pub lang: String,
    /// File name.
    pub file: String,
    /// What was wrong.
    pub message: String,
}

/// The translated strings of both languages.
pub struct Localizer {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
    keys: HashMap<Language, BTreeSet<String>>,
}

impl std::fmt::Debug for Localizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Localizer")
            .field("keys", &self.keys)
            .finish()
    }
}

impl Localizer {
    /// Builds the bundles from the embedded Fluent files.
    pub fn embedded() -> Result<Localizer, I18nError> {
        Localizer::from_files(FTL_FILES.iter().map(|(l, f, t)| (*l, *f, *t)))
    }

    /// Builds the bundles from `(language tag, file name, text)` triples. Files of an
    /// unknown language are refused.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<Localizer, I18nError> {
        let mut bundles = HashMap::new();
        let mut keys: HashMap<Language, BTreeSet<String>> = HashMap::new();
        for lang in Language::ALL {
            let id: LanguageIdentifier = lang.tag().parse().expect("built-in tags are valid");
            let mut bundle = FluentBundle::new(vec![id]);
            // Without this, every placeable is wrapped in U+2068/U+2069 marks.
            bundle.set_use_isolating(false);
            bundles.insert(lang, bundle);
            keys.insert(lang, BTreeSet::new());
        }
        for (tag, file, text) in files {
            let err = |message: String| I18nError {
                lang: tag.to_string(),
                file: file.to_string(),
                message,
            };
            let lang =
                Language::from_tag(tag).ok_or_else(|| err("unknown language folder".into()))?;
            let resource = FluentResource::try_new(text.to_string())
                .map_err(|(_, errors)| err(format!("syntax errors: {errors:?}")))?;
            keys.get_mut(&lang)
                .expect("all languages present")
                .extend(message_ids(text));
            bundles
                .get_mut(&lang)
                .expect("all languages present")
                .add_resource(resource)
                .map_err(|errors| err(format!("duplicate or clashing entries: {errors:?}")))?;
        }
        Ok(Localizer { bundles, keys })
    }

    /// The message ids defined for a language.
    pub fn keys(&self, lang: Language) -> &BTreeSet<String> {
        &self.keys[&lang]
    }

    /// Whether `key` is defined for `lang`.
    pub fn has(&self, lang: Language, key: &str) -> bool {
        self.bundles[&lang].has_message(key)
    }

    /// The string for `key`; a missing key yields the key itself (and a log line) so a
    /// gap is visible rather than blank.
    pub fn tr(&self, lang: Language, key: &str) -> String {
        self.format(lang, key, None)
    }

    /// The string for `key` with Fluent arguments.
    pub fn tr_args(&self, lang: Language, key: &str, args: &FluentArgs) -> String {
        self.format(lang, key, Some(args))
    }

    fn format(&self, lang: Language, key: &str, args: Option<&FluentArgs>) -> String {
        let bundle = &self.bundles[&lang];
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(lang = lang.tag(), key, "missing translation");
            return key.to_string();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                lang = lang.tag(),
                key,
                ?errors,
                "translation formatting errors"
            );
        }
        text.into_owned()
    }
}

/// The message ids in a Fluent file: lines of the form `id = …` at column 0
/// (terms, which start with `-`, and comments are skipped).
pub fn message_ids(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().filter_map(|line| {
        let first = line.chars().next()?;
        if !first.is_ascii_alphabetic() {
            return None;
        }
        let (id, _) = line.split_once('=')?;
        let id = id.trim_end();
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            .then(|| id.to_string())
    })
}

/// The language currently shown, shared between the Slint bridge and controllers.
#[cfg(feature = "ui")]
#[derive(Debug, Clone)]
pub struct LanguageState {
    current: Rc<Cell<Language>>,
    localizer: Rc<Localizer>,
}

#[cfg(feature = "ui")]
impl LanguageState {
    /// Installs the Fluent bridge on `app` with `initial` as the shown language.
    pub fn install(app: &AppWindow, localizer: Rc<Localizer>, initial: Language) -> LanguageState {
        let state = LanguageState {
            current: Rc::new(Cell::new(initial)),
            localizer,
        };
        let global = app.global::<I18n>();
        let (current, loc) = (state.current.clone(), state.localizer.clone());
        global.on_tr(move |key, _rev| loc.tr(current.get(), key.as_str()).into());
        global.set_language(initial.tag().into());
        state
    }

    /// The language shown now.
    pub fn current(&self) -> Language {
        self.current.get()
    }

    /// The shared bundles.
    pub fn localizer(&self) -> &Localizer {
        &self.localizer
    }

    /// Switches the UI to `lang` at run time: every translated binding re-evaluates.
    pub fn set(&self, app: &AppWindow, lang: Language) {
        self.current.set(lang);
        let global = app.global::<I18n>();
        global.set_language(lang.tag().into());
        global.set_rev(global.get_rev().wrapping_add(1));
    }

    /// The string for `key` in the current language.
    pub fn tr(&self, key: &str) -> String {
        self.localizer.tr(self.current.get(), key)
    }
}
