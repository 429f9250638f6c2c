//! Issue 18: the pinyin input engine and its embedded dictionary (pure; the
//! keyboard's 中 mode drives it).

use cmr_kiosk::ui::input::pinyin::{
    self, Candidate, CandidateKind, Composer, InputRefused, MAX_CANDIDATES, MAX_INPUT_LETTERS,
    Mode, PAGE_SIZE, PinyinDict, SYLLABLES,
};
use proptest::prelude::*;

/// The texts of one page.
fn page(input: &str, mode: Mode, n: usize) -> Vec<String> {
    pinyin::candidates(input, mode, n)
        .candidates
        .into_iter()
        .map(|c| c.text)
        .collect()
}

/// The candidate with this text on the first `pages` pages, if any.
fn find(input: &str, mode: Mode, text: &str, pages: usize) -> Option<(usize, Candidate)> {
    (0..pages).find_map(|p| {
        pinyin::candidates(input, mode, p)
            .candidates
            .into_iter()
            .enumerate()
            .find(|(_, c)| c.text == text)
            .map(|(i, c)| (p * PAGE_SIZE + i, c))
    })
}

/// Pages forward (at most four pages) to the candidate `text` and picks it.
fn pick_text(c: &mut Composer, text: &str) -> Option<String> {
    for _ in 0..4 {
        if let Some(i) = c
            .candidates()
            .candidates
            .iter()
            .position(|x| x.text == text)
        {
            return c.pick(i);
        }
        if !c.next_page() {
            break;
        }
    }
    None
}

#[test]
fn issue_18_embedded_dictionary_loads_whole() {
    let stats = PinyinDict::embedded().stats();
    assert_eq!(stats.skipped_lines, 0, "{stats:?}");
    assert!(stats.entries > 100_000, "{stats:?}");
    assert!(stats.surnames >= 200, "{stats:?}");
    // Every character of the given-name list has a reading in the dictionary.
    assert!(stats.given_name_chars >= 240, "{stats:?}");
    assert!(
        SYLLABLES.windows(2).all(|w| w[0] < w[1]),
        "syllable table sorted"
    );
}

#[test]
fn issue_18_syllables_split_every_plausible_way() {
    assert_eq!(pinyin::split("zhangwei"), vec![vec!["zhang", "wei"]]);
    let xian = pinyin::split("xian");
    assert_eq!(xian.first(), Some(&vec!["xian"]), "{xian:?}");
    assert!(xian.contains(&vec!["xi", "an"]), "{xian:?}");
    // An apostrophe forces the split.
    assert_eq!(pinyin::split("xi'an"), vec![vec!["xi", "an"]]);
    // Both readings are words; the more frequent one (方案) first.
    let fangan = pinyin::split("fangan");
    assert_eq!(fangan.first(), Some(&vec!["fang", "an"]), "{fangan:?}");
    assert!(fangan.contains(&vec!["fan", "gan"]), "{fangan:?}");
    assert_eq!(pinyin::split("lve").first(), Some(&vec!["lve"]));
    assert_eq!(
        pinyin::split("lue").first(),
        Some(&vec!["lve"]),
        "lue is typed for lve"
    );
    for nothing in ["", "'", "vvv", "zhangw", "q"] {
        assert!(pinyin::split(nothing).is_empty(), "{nothing:?}");
    }
    assert!(
        pinyin::split(&"a".repeat(100)).is_empty(),
        "refused, not cut"
    );
}

#[test]
fn issue_18_ambiguous_xian_offers_both_readings_on_the_first_page() {
    let first = page("xian", Mode::Text, 0);
    assert!(first.iter().any(|t| t == "先"), "{first:?}");
    assert!(first.iter().any(|t| t == "西安"), "{first:?}");
    // xi'an is 西安 only among the whole-input words.
    let forced = page("xi'an", Mode::Text, 0);
    assert_eq!(
        forced.first().map(String::as_str),
        Some("西安"),
        "{forced:?}"
    );
}

#[test]
fn issue_18_common_names_are_on_the_first_page() {
    for (input, name) in [
        ("zhangwei", "张伟"),
        ("wangxiaoming", "王小明"),
        ("lina", "李娜"),
        ("ouyangnana", "欧阳娜娜"),
        ("zhang'wei", "张伟"),
    ] {
        for mode in [Mode::Text, Mode::Name] {
            let first = page(input, mode, 0);
            assert!(
                first.iter().any(|t| t == name),
                "{input} {mode:?}: {first:?}"
            );
        }
        // A name field offers the name first.
        assert_eq!(
            page(input, Mode::Name, 0).first().map(String::as_str),
            Some(name),
            "{input}"
        );
    }
}

#[test]
fn issue_18_name_mode_ranks_surnames_first() {
    assert_eq!(
        page("zhang", Mode::Name, 0).first().map(String::as_str),
        Some("张")
    );
    assert_eq!(
        page("wang", Mode::Name, 0).first().map(String::as_str),
        Some("王")
    );
    assert_eq!(
        page("ouyang", Mode::Name, 0).first().map(String::as_str),
        Some("欧阳")
    );
    // 曾 as a surname is read zeng; 单 shan.
    assert_eq!(
        page("zeng", Mode::Name, 0).first().map(String::as_str),
        Some("曾")
    );
    assert_eq!(
        page("shan", Mode::Name, 0).first().map(String::as_str),
        Some("单")
    );
    // After the surname, given-name characters: 伟 before 为.
    let given = page("wei", Mode::GivenName, 0);
    let at = |c: &str| given.iter().position(|t| t == c);
    assert!(
        at("伟").is_some() && (at("为").is_none() || at("伟") < at("为")),
        "{given:?}"
    );
    // The surname alone, for a name typed in two steps, consumes its syllable.
    let (_, zhang) = find("zhangwei", Mode::Name, "张", 4).expect("张 for zhangwei");
    assert_eq!(zhang.consumed, "zhang".len());
}

#[test]
fn issue_18_initials_find_names_and_words() {
    let (at, zw) = find("zw", Mode::Text, "张伟", 2).expect("zw → 张伟 in two pages");
    assert_eq!(zw.consumed, 2);
    assert!(at < 2 * PAGE_SIZE);
    assert!(
        find("zw", Mode::Name, "张伟", 1).is_some(),
        "{:?}",
        page("zw", Mode::Name, 0)
    );
    assert!(
        find("wxm", Mode::Name, "王小明", 1).is_some(),
        "{:?}",
        page("wxm", Mode::Name, 0)
    );
    // Mixed: whole syllable then an initial.
    assert!(
        find("zhangw", Mode::Name, "张伟", 1).is_some(),
        "{:?}",
        page("zhangw", Mode::Name, 0)
    );
    assert!(
        find("zhangw", Mode::Text, "张伟", 1).is_some(),
        "{:?}",
        page("zhangw", Mode::Text, 0)
    );
    // Words by initials: 北京 for bj.
    assert!(
        find("bj", Mode::Text, "北京", 1).is_some(),
        "{:?}",
        page("bj", Mode::Text, 0)
    );
}

#[test]
fn issue_18_words_and_prefixes_say_what_they_consume() {
    let input = "huanzhezaoyingji";
    let first = pinyin::candidates(input, Mode::Text, 0);
    let top = first.candidates.first().expect("a candidate");
    assert_eq!(top.text, "患者造影剂");
    assert_eq!(top.kind, CandidateKind::Sentence);
    assert_eq!(top.consumed, input.len());
    // Then words for a beginning, the longest first: 患者 consumes "huanzhe".
    let (_, patient) = find(input, Mode::Text, "患者", 8).expect("患者 as a prefix");
    assert_eq!(patient.consumed, "huanzhe".len());
    // Words for a beginning: those after which the rest is whole syllables first, the
    // longest of them first.
    let all = pinyin::embedded()
        .ranked(input, Mode::Text)
        .expect("looked up");
    let prefixes: Vec<(bool, usize)> = all
        .iter()
        .filter(|c| c.consumed < input.len())
        .map(|c| (!pinyin::split(&input[c.consumed..]).is_empty(), c.consumed))
        .collect();
    assert!(prefixes.windows(2).all(|w| w[0] >= w[1]), "{prefixes:?}");
    assert!(all.len() <= MAX_CANDIDATES);
}

#[test]
fn issue_18_pages_differ_and_end() {
    let p0 = pinyin::candidates("shi", Mode::Text, 0);
    let p1 = pinyin::candidates("shi", Mode::Text, 1);
    assert_eq!(p0.candidates.len(), PAGE_SIZE);
    assert!(p0.has_more);
    assert_ne!(p0.candidates, p1.candidates);
    assert!(p0.candidates.iter().all(|c| !p1.candidates.contains(c)));
    assert_eq!(p0.candidates.first().map(|c| c.text.as_str()), Some("是"));
    let all = pinyin::embedded()
        .ranked("shi", Mode::Text)
        .expect("looked up");
    let last = (all.len() - 1) / PAGE_SIZE;
    let end = pinyin::candidates("shi", Mode::Text, last);
    assert!(!end.candidates.is_empty());
    assert!(!end.has_more);
    let past = pinyin::candidates("shi", Mode::Text, last + 1);
    assert!(past.candidates.is_empty() && !past.has_more);
    assert!(
        pinyin::candidates("shi", Mode::Text, usize::MAX)
            .candidates
            .is_empty()
    );
}

#[test]
fn issue_18_unknown_strings_give_no_candidates() {
    for input in ["qqqq", "vvv", "", "'", "''", "i", "ui"] {
        for mode in [Mode::Text, Mode::Name, Mode::GivenName] {
            let p = pinyin::candidates(input, mode, 0);
            assert!(p.candidates.is_empty(), "{input:?} {mode:?}: {p:?}");
            assert!(!p.has_more);
            assert_eq!(p.refused, None);
        }
    }
    let long = "a".repeat(100);
    let p = pinyin::candidates(&long, Mode::Text, 0);
    assert!(p.candidates.is_empty());
    assert_eq!(p.refused, Some(InputRefused::TooLong));
    let at_bound = "ba".repeat(MAX_INPUT_LETTERS / 2);
    assert_eq!(pinyin::candidates(&at_bound, Mode::Text, 0).refused, None);
    let p = pinyin::candidates("ni hao", Mode::Text, 0);
    assert_eq!(p.refused, Some(InputRefused::NotPinyin(' ')));
    assert!(p.candidates.is_empty());
    // Upper case is read as lower case.
    assert_eq!(page("NIHAO", Mode::Text, 0), page("nihao", Mode::Text, 0));
}

#[test]
fn issue_18_composer_picks_leave_the_rest_composing() {
    let mut c = Composer::new(Mode::Name);
    for k in "zhangwei".chars() {
        c.push(k).expect("a letter");
    }
    assert_eq!(c.composing_text(), "zhang'wei");
    let first = c.candidates();
    assert_eq!(
        first.candidates.first().map(|c| c.text.as_str()),
        Some("张伟")
    );
    // Pick the surname alone: "wei" stays composing, ranked as a given name.
    assert_eq!(pick_text(&mut c, "张").as_deref(), Some("张"));
    assert_eq!(c.input(), "wei");
    assert_eq!(c.mode(), Mode::GivenName);
    assert_eq!(c.candidates().page, 0);
    assert_eq!(c.pick(0).as_deref(), Some("伟"));
    assert!(c.is_empty());
    assert!(c.pick(0).is_none(), "nothing to pick");

    // A word for the first syllables, then the rest.
    let mut c = Composer::new(Mode::Text);
    for k in "woxiang".chars() {
        c.push(k).expect("a letter");
    }
    assert_eq!(pick_text(&mut c, "我").as_deref(), Some("我"));
    assert_eq!(c.input(), "xiang");
    assert_eq!(c.composing_text(), "xiang");
    assert_eq!(pick_text(&mut c, "想").as_deref(), Some("想"));

    // Apostrophes, backspace, refusals, letters committed as typed.
    let mut c = Composer::new(Mode::Text);
    assert_eq!(c.push('\''), Ok(()));
    assert!(c.is_empty(), "a leading apostrophe is ignored");
    for k in "xi''an".chars() {
        c.push(k).expect("taken");
    }
    assert_eq!(c.input(), "xi'an");
    assert_eq!(c.composing_text(), "xi'an");
    assert!(c.backspace());
    assert_eq!(c.input(), "xi'a");
    assert_eq!(c.push('1'), Err(InputRefused::NotPinyin('1')));
    assert_eq!(c.commit_letters(), "xia");
    assert!(!c.backspace());
    for _ in 0..MAX_INPUT_LETTERS {
        c.push('a').expect("within the bound");
    }
    assert_eq!(c.push('a'), Err(InputRefused::TooLong));
    c.clear();
    assert!(c.is_empty());
    assert_eq!(c.composing_text(), "");

    // Paging through the composer.
    let mut c = Composer::new(Mode::Text);
    c.push('y').expect("a letter");
    c.push('i').expect("a letter");
    let p0 = c.candidates();
    assert!(!c.prev_page());
    assert!(c.next_page());
    assert_ne!(c.candidates().candidates, p0.candidates);
    assert!(c.prev_page());
    assert_eq!(c.candidates(), p0);
}

#[test]
fn issue_18_full_width_punctuation_for_chinese_text() {
    let mut c = Composer::new(Mode::Text);
    let typed: String = ",.?!:;\\()\"\""
        .chars()
        .filter_map(|k| c.punctuation(k))
        .collect();
    assert_eq!(typed, "，。？！：；、（）“”");
    assert_eq!(pinyin::full_width('a'), None);
    assert_eq!(c.punctuation('#'), None);
}

/// Long, repetitive and ambiguous inputs are looked up (or refused with a reason)
/// in both modes, every candidate within the input. How long a lookup takes is the
/// benchmark's to measure (`benches/pinyin.rs`), not a test's.
#[test]
fn issue_18_long_and_repetitive_inputs_are_looked_up_or_refused() {
    let dict = PinyinDict::embedded();
    let inputs = [
        "zhangwei",
        "wangxiaoming",
        "xian",
        "zw",
        "wxm",
        "zhangw",
        "shi",
        "y",
        "z",
        "woxiangqubeijing",
        "huanzhexingmingshouji",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "xianxianxianxianxianxianxianxian",
        "nanananananananananananananana",
    ];
    for input in inputs {
        for mode in [Mode::Text, Mode::Name] {
            let page = dict.candidates(input, mode, 0);
            assert!(page.candidates.len() <= pinyin::PAGE_SIZE);
            for c in &page.candidates {
                assert!(c.consumed <= input.len(), "{input}: {c:?}");
                assert!(!c.text.is_empty());
            }
            if page.refused.is_some() {
                assert!(page.candidates.is_empty());
            }
        }
    }
    assert!(
        !dict
            .candidates("woxiangqubeijing", Mode::Text, 0)
            .candidates
            .is_empty()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn issue_18_any_input_is_looked_up_without_panic(
        input in "[a-z']{0,40}",
        mode in prop_oneof![Just(Mode::Text), Just(Mode::Name), Just(Mode::GivenName)],
        page in 0usize..4,
    ) {
        let p = pinyin::candidates(&input, mode, page);
        prop_assert!(p.candidates.len() <= PAGE_SIZE);
        for c in &p.candidates {
            prop_assert!(c.consumed > 0 && c.consumed <= input.len(), "{c:?} for {input:?}");
            prop_assert!(!c.text.is_empty());
        }
        let letters = input.bytes().filter(u8::is_ascii_lowercase).count();
        prop_assert_eq!(p.refused.is_some(), letters > MAX_INPUT_LETTERS);
        for seg in pinyin::split(&input) {
            prop_assert_eq!(seg.concat().len(), input.replace('\'', "").len());
        }
        let _ = pinyin::embedded().composing_text(&input);
    }

    #[test]
    fn issue_18_composer_never_consumes_past_its_input(
        keys in proptest::collection::vec(prop_oneof![
            8 => proptest::char::range('a', 'z').prop_map(Some),
            1 => Just(Some('\'')),
            1 => Just(None),
        ], 0..24),
        picks in proptest::collection::vec(0usize..PAGE_SIZE, 0..4),
    ) {
        let mut c = Composer::new(Mode::Name);
        for k in keys {
            match k {
                Some(k) => { let _ = c.push(k); }
                None => { c.backspace(); }
            }
        }
        for i in picks {
            let before = c.input().len();
            if c.pick(i).is_some() {
                prop_assert!(c.input().len() < before);
            }
        }
    }
}
