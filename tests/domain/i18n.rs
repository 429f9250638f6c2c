//! Localisation completeness: both languages define the same keys, every string the UI
//! asks for exists, and `ui/` carries no user-visible string literals.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cmr_kiosk::config::Language;
use cmr_kiosk::i18n::{FTL_FILES, Localizer, message_ids};

fn slint_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            slint_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            out.push(path);
        }
    }
}

/// Every double-quoted string literal in a Slint file, with its line number. Comments
/// are skipped.
fn string_literals(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        let mut rest = code;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('"') else { break };
            found.push((n + 1, after[..end].to_string()));
            rest = &after[end + 1..];
        }
    }
    found
}

#[test]
fn both_languages_define_the_same_keys() {
    let loc = Localizer::embedded().expect("all Fluent files parse");
    let zh = loc.keys(Language::ZhCn);
    let en = loc.keys(Language::EnUs);
    let only_zh: BTreeSet<_> = zh.difference(en).collect();
    let only_en: BTreeSet<_> = en.difference(zh).collect();
    assert!(only_zh.is_empty(), "keys only in zh-CN: {only_zh:?}");
    assert!(only_en.is_empty(), "keys only in en-US: {only_en:?}");
    assert!(zh.len() > 10);
}

#[test]
fn each_locale_folder_has_the_same_files() {
    let files = |lang: &str| -> BTreeSet<&str> {
        FTL_FILES
            .iter()
            .filter(|(l, _, _)| *l == lang)
            .map(|(_, f, _)| *f)
            .collect()
    };
    assert_eq!(files("zh-CN"), files("en-US"));
}

#[test]
fn every_ui_string_literal_is_a_defined_key() {
    let loc = Localizer::embedded().unwrap();
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut files = Vec::new();
    slint_files(&ui, &mut files);
    assert!(files.len() >= 5, "found the Slint files");
    let mut problems = Vec::new();
    let mut keys_used = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, lit) in string_literals(&text) {
            // Import paths, the embedded font's family name and spacing are not words.
            let is_import =
                lit.ends_with(".slint") || lit.ends_with(".ttc") || lit.ends_with(".ttf");
            if is_import || lit == "WenQuanYi Micro Hei" || lit.trim().is_empty() {
                continue;
            }
            keys_used += 1;
            for lang in Language::ALL {
                if !loc.has(lang, &lit) {
                    problems.push(format!(
                        "{}:{line}: \"{lit}\" is not a key in locales/{}",
                        file.strip_prefix(&ui).unwrap().display(),
                        lang.tag()
                    ));
                }
            }
        }
    }
    assert!(keys_used > 10, "the UI uses translated keys");
    assert!(
        problems.is_empty(),
        "user-visible literals or missing keys:\n{}",
        problems.join("\n")
    );
}

#[test]
fn translations_differ_and_have_no_isolation_marks() {
    let loc = Localizer::embedded().unwrap();
    let zh = loc.tr(Language::ZhCn, "home-title");
    let en = loc.tr(Language::EnUs, "home-title");
    assert_ne!(zh, en);
    assert!(
        zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{zh}"
    );
    let mut args = fluent::FluentArgs::new();
    args.set("n", 3);
    for lang in Language::ALL {
        for key in loc.keys(lang) {
            let s = loc.tr_args(lang, key, &args);
            assert!(
                !s.contains('\u{2068}') && !s.contains('\u{2069}'),
                "{key}: {s:?}"
            );
        }
    }
}

#[test]
fn a_missing_key_shows_itself_and_bad_files_are_refused() {
    let loc = Localizer::embedded().unwrap();
    assert_eq!(loc.tr(Language::EnUs, "no-such-key"), "no-such-key");
    let err = Localizer::from_files([("en-US", "bad.ftl", "good = yes\n= broken\n")]).unwrap_err();
    assert!(err.to_string().contains("bad.ftl"), "{err}");
    let err = Localizer::from_files([("fr-FR", "x.ftl", "a = b\n")]).unwrap_err();
    assert!(err.to_string().contains("fr-FR"), "{err}");
}

#[test]
fn message_ids_skip_terms_comments_and_continuations() {
    let ids: Vec<_> =
        message_ids("# c\n-term = T\nkey-one = a\n  .attr = b\n    more\nkey_two = c\n").collect();
    assert_eq!(ids, ["key-one", "key_two"]);
}
