//! One terminology table (`locales/terminology.toml`) for the clinical words on screen,
//! in the log and in reports (issue 17), and no English words in zh-CN output beyond
//! units and the abbreviations staff read as such.

use std::collections::BTreeSet;

use cmr_kiosk::config::Language;
use cmr_kiosk::i18n::{FTL_FILES, Localizer};
use serde::Deserialize;

#[derive(Deserialize)]
struct Table {
    term: Vec<Term>,
    latin: Latin,
}

#[derive(Deserialize)]
struct Term {
    concept: String,
    #[serde(rename = "zh-CN")]
    zh: String,
    #[serde(rename = "en-US")]
    en: String,
    #[serde(rename = "avoid-zh-CN", default)]
    avoid_zh: Vec<String>,
    #[serde(rename = "avoid-en-US", default)]
    avoid_en: Vec<String>,
}

#[derive(Deserialize)]
struct Latin {
    #[serde(rename = "zh-CN")]
    zh: Vec<String>,
}

fn table() -> Table {
    let path = format!("{}/locales/terminology.toml", env!("CARGO_MANIFEST_DIR"));
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The text of every message in `lang`'s file `file` (placeholders removed), by key.
fn messages(lang: &str, file: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (l, f, text) in FTL_FILES {
        if *l != lang || file.is_some_and(|want| !f.starts_with(want)) {
            continue;
        }
        let mut key = String::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let value = if line.starts_with(char::is_whitespace) {
                line
            } else if let Some((k, v)) = line.split_once('=') {
                key = k.trim().to_string();
                v
            } else {
                continue;
            };
            out.push((key.clone(), strip_placeables(value)));
        }
    }
    out
}

fn strip_placeables(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Latin words in `text`: runs of ASCII letters, digits and `/ . - * _` that start
/// with a letter (or µ), with trailing punctuation trimmed.
fn latin_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        let w = current.trim_end_matches(['.', '-', '/', '_']).to_string();
        if w.starts_with(|c: char| c.is_ascii_alphabetic() || c == 'µ') {
            words.push(w);
        }
        current.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "/.-*_".contains(c) || (c == 'µ' && current.is_empty()) {
            current.push(c);
        } else {
            flush(&mut current, &mut words);
        }
    }
    flush(&mut current, &mut words);
    words
}

/// Latin words in `text` that the table's `[latin]` list does not allow in zh-CN.
fn foreign_words(text: &str, t: &Table) -> Vec<String> {
    let allowed: BTreeSet<&str> = t.latin.zh.iter().map(String::as_str).collect();
    latin_words(text)
        .into_iter()
        .filter(|w| !allowed.contains(w.as_str()))
        .collect()
}

/// The staff-facing files, where only the table's word may name a concept.
const STAFF_FILES: [&str; 5] = ["console", "nurse", "report", "shell", "input"];

#[test]
fn issue_17_each_clinical_term_is_used_in_both_languages() {
    let t = table();
    assert!(t.term.len() >= 15, "the table names the clinical concepts");
    for term in &t.term {
        for (lang, word) in [("zh-CN", &term.zh), ("en-US", &term.en)] {
            assert!(
                messages(lang, None)
                    .iter()
                    .any(|(_, v)| v.contains(word.as_str())),
                "{}: \"{word}\" is the {lang} term but no message uses it",
                term.concept
            );
        }
    }
}

#[test]
fn issue_17_staff_screens_log_and_report_use_one_word_per_concept() {
    let t = table();
    let mut wrong = Vec::new();
    for file in STAFF_FILES {
        for (lang, avoid) in [
            (
                "zh-CN",
                t.term
                    .iter()
                    .map(|x| (&x.concept, &x.avoid_zh))
                    .collect::<Vec<_>>(),
            ),
            (
                "en-US",
                t.term.iter().map(|x| (&x.concept, &x.avoid_en)).collect(),
            ),
        ] {
            for (key, value) in messages(lang, Some(file)) {
                for (concept, words) in &avoid {
                    for w in words.iter() {
                        if value.contains(w.as_str()) {
                            wrong.push(format!("{lang} {key}: \"{w}\" for {concept}"));
                        }
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "avoided words: {wrong:#?}");
}

#[test]
fn issue_17_zh_cn_messages_carry_no_english_words() {
    let t = table();
    let mut found = Vec::new();
    for (key, value) in messages("zh-CN", None) {
        for w in foreign_words(&value, &t) {
            found.push(format!("{key}: {w}"));
        }
    }
    assert!(found.is_empty(), "English in zh-CN: {found:#?}");
}

#[test]
fn issue_17_the_zh_cn_log_and_technique_section_carry_no_english_words() {
    let t = table();
    let loc = Localizer::embedded().unwrap();
    let mut text = Vec::new();
    for state in ["log", "technique", "checklist", "lge"] {
        let (session, now) = cmr_kiosk::gallery::console::preview_session(state).unwrap();
        for line in cmr_kiosk::ui::console::log::log_lines(&loc, Language::ZhCn, session.journal())
        {
            text.push(line.text);
        }
        text.extend(cmr_kiosk::report::technique_lines(
            &loc,
            Language::ZhCn,
            &session.exam().technique(now),
        ));
    }
    // A series outside the standard words its findings, counts included ("7 slices").
    let findings = cmr_kiosk::domain::protocol::check_series(
        cmr_kiosk::domain::protocol::ProtocolStep::StressPerfusion,
        &cmr_kiosk::domain::protocol::SeriesParams {
            slices: Some(2),
            slice_mm: Some(12.0),
            phase_encoding: Some(cmr_kiosk::domain::protocol::PhaseEncoding::Hf),
            ..Default::default()
        },
    );
    assert!(findings.len() >= 2, "{findings:?}");
    for f in &findings {
        let mut a = fluent::FluentArgs::new();
        a.set("measured", f.measured.clone());
        a.set("expected", f.expected.clone());
        a.set("clause", f.clause.clone());
        text.push(loc.tr_args(
            Language::ZhCn,
            &cmr_kiosk::report::key_for("finding", &f.code),
            &a,
        ));
    }
    assert!(
        text.len() > 20,
        "the worked exams have a log: {}",
        text.len()
    );
    let found: Vec<String> = text
        .iter()
        .flat_map(|line| {
            foreign_words(line, &t)
                .into_iter()
                .map(move |w| format!("{w} in \"{line}\""))
        })
        .collect();
    assert!(found.is_empty(), "English in zh-CN output: {found:#?}");
}

#[test]
fn latin_words_are_found_and_units_kept_whole() {
    assert_eq!(
        latin_words("层数 7 slices（应为 3–5，14 mL/s，µg/kg/min）"),
        ["slices", "mL/s", "µg/kg/min"]
    );
    assert!(latin_words("心率 72 次/分").is_empty());
}
