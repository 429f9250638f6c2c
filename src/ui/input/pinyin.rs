//! Pinyin input (issue 18): the engine behind the on-screen keyboard's 中 mode.
//!
//! Pure and window-free: no Slint, no I/O. The dictionary is embedded
//! (`data/pinyin/`, made by `scripts/pinyin-data` from pypinyin's readings and jieba's
//! frequencies, both MIT; see `data/pinyin/README.md`) and indexed once, on first use
//! ([`PinyinDict::embedded`]).
//!
//! * [`split`] cuts toneless pinyin into syllables, every plausible way, the ways the
//!   dictionary has a word for first (`xian` → `xian`, `xi'an`).
//! * [`candidates`] ranks characters and words for what was typed, a page at a time:
//!   words for the whole input first (full pinyin, initials only as in `zw` → 张伟, or
//!   both mixed as in `zhangw`), then words for a beginning of it, the longest first;
//!   each [`Candidate`] says how much of the input it consumes. [`Mode::Name`] puts
//!   common surnames first and then characters common in given names.
//! * [`Composer`] is the state the keyboard drives: letters, apostrophe, backspace,
//!   pick (commits the characters and keeps the rest of the pinyin composing), paging,
//!   the composing text shown above the keys (`zhang'wei`) and full-width punctuation.
//!
//! Every input is bounded ([`MAX_INPUT_LETTERS`]); longer input is refused with a
//! reason ([`InputRefused`]), and an input nothing matches gives an empty page.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The dictionary: `word<TAB>syllables<TAB>frequency` lines (`scripts/pinyin-data`).
const DICT_TSV: &str = include_str!("../../../data/pinyin/dict.tsv");
/// Common surnames with their reading as a surname, most common first.
const SURNAMES_TSV: &str = include_str!("../../../data/pinyin/surnames.tsv");
/// Characters common in given names, most common first.
const GIVEN_NAMES_TXT: &str = include_str!("../../../data/pinyin/given-names.txt");
/// Common two-character given names with their readings, most common first.
const GIVEN_PAIRS_TSV: &str = include_str!("../../../data/pinyin/given-name-pairs.tsv");

/// Candidates on one page of the candidate bar.
pub const PAGE_SIZE: usize = 8;
/// Most letters of pinyin composed at once; longer input is refused, not processed.
pub const MAX_INPUT_LETTERS: usize = 32;
/// Most characters (letters and apostrophes) of pinyin composed at once.
pub const MAX_INPUT_CHARS: usize = 2 * MAX_INPUT_LETTERS;
/// Most candidates ranked for one input (all pages together).
pub const MAX_CANDIDATES: usize = 256;
/// Longest word looked up, in syllables.
pub const MAX_WORD_SYLLABLES: usize = 8;
/// Most segmentations [`split`] gives.
pub const MAX_SEGMENTATIONS: usize = 64;
/// Most names (surname and given name put together) among the candidates.
pub const MAX_NAME_CANDIDATES: usize = 12;
/// Longest given name put together from characters, in syllables.
pub const MAX_GIVEN_NAME_SYLLABLES: usize = 2;
/// Longest surname (compound surnames such as 欧阳 have two).
const MAX_SURNAME_SYLLABLES: usize = 2;
/// Characters tried for each syllable of a given name.
const GIVEN_OPTIONS: usize = 8;
/// Longest syllable, in letters (`zhuang`).
const MAX_SYLLABLE_LETTERS: usize = 6;
/// In text mode, where the best name guess goes among the whole-input words.
const NAME_SLOT_IN_TEXT: usize = 3;
/// In text mode, only surnames this common make a name guess.
const TEXT_NAME_SURNAME_RANKS: u16 = 50;
/// Score (natural log of frequency) added for each syllable of a word past the first:
/// a word that explains more of the input beats a character about as frequent.
const MULTI_SYLLABLE_BONUS: f64 = 1.5;
/// Score taken off for each syllable matched by its initials only.
const ABBREVIATION_PENALTY: f64 = 1.0;
/// Rank cost added to a name for each syllable matched by its initials only.
const ABBREVIATION_NAME_COST: u32 = 10;
/// A reading of a given-name character less frequent than its most frequent one
/// divided by this is not offered for names.
const RARE_READING_SHARE: u32 = 20;
/// A listed two-character given name costs its rank divided by this (the list's names
/// rank above characters put together one by one).
const GIVEN_PAIR_RANK_DIVISOR: u32 = 4;

/// Every toneless pinyin syllable the keyboard types, sorted (ü written `v`).
pub const SYLLABLES: [&str; 414] = [
    "a", "ai", "an", "ang", "ao", "ba", "bai", "ban", "bang", "bao", "bei", "ben", "beng", "bi",
    "bian", "biao", "bie", "bin", "bing", "bo", "bu", "ca", "cai", "can", "cang", "cao", "ce",
    "cen", "ceng", "cha", "chai", "chan", "chang", "chao", "che", "chen", "cheng", "chi", "chong",
    "chou", "chu", "chua", "chuai", "chuan", "chuang", "chui", "chun", "chuo", "ci", "cong", "cou",
    "cu", "cuan", "cui", "cun", "cuo", "da", "dai", "dan", "dang", "dao", "de", "dei", "den",
    "deng", "di", "dia", "dian", "diao", "die", "ding", "diu", "dong", "dou", "du", "duan", "dui",
    "dun", "duo", "e", "ei", "en", "eng", "er", "fa", "fan", "fang", "fei", "fen", "feng", "fiao",
    "fo", "fou", "fu", "ga", "gai", "gan", "gang", "gao", "ge", "gei", "gen", "geng", "gong",
    "gou", "gu", "gua", "guai", "guan", "guang", "gui", "gun", "guo", "ha", "hai", "han", "hang",
    "hao", "he", "hei", "hen", "heng", "hong", "hou", "hu", "hua", "huai", "huan", "huang", "hui",
    "hun", "huo", "ji", "jia", "jian", "jiang", "jiao", "jie", "jin", "jing", "jiong", "jiu", "ju",
    "juan", "jue", "jun", "ka", "kai", "kan", "kang", "kao", "ke", "kei", "ken", "keng", "kong",
    "kou", "ku", "kua", "kuai", "kuan", "kuang", "kui", "kun", "kuo", "la", "lai", "lan", "lang",
    "lao", "le", "lei", "len", "leng", "li", "lia", "lian", "liang", "liao", "lie", "lin", "ling",
    "liu", "lo", "long", "lou", "lu", "luan", "lun", "luo", "lv", "lve", "ma", "mai", "man",
    "mang", "mao", "me", "mei", "men", "meng", "mi", "mian", "miao", "mie", "min", "ming", "miu",
    "mo", "mou", "mu", "na", "nai", "nan", "nang", "nao", "ne", "nei", "nen", "neng", "ni", "nian",
    "niang", "niao", "nie", "nin", "ning", "niu", "nong", "nou", "nu", "nuan", "nun", "nuo", "nv",
    "nve", "o", "ou", "pa", "pai", "pan", "pang", "pao", "pei", "pen", "peng", "pi", "pian",
    "piao", "pie", "pin", "ping", "po", "pou", "pu", "qi", "qia", "qian", "qiang", "qiao", "qie",
    "qin", "qing", "qiong", "qiu", "qu", "quan", "que", "qun", "ran", "rang", "rao", "re", "ren",
    "reng", "ri", "rong", "rou", "ru", "rua", "ruan", "rui", "run", "ruo", "sa", "sai", "san",
    "sang", "sao", "se", "sen", "seng", "sha", "shai", "shan", "shang", "shao", "she", "shei",
    "shen", "sheng", "shi", "shou", "shu", "shua", "shuai", "shuan", "shuang", "shui", "shun",
    "shuo", "si", "song", "sou", "su", "suan", "sui", "sun", "suo", "ta", "tai", "tan", "tang",
    "tao", "te", "tei", "teng", "ti", "tian", "tiao", "tie", "ting", "tong", "tou", "tu", "tuan",
    "tui", "tun", "tuo", "wa", "wai", "wan", "wang", "wei", "wen", "weng", "wo", "wu", "xi", "xia",
    "xian", "xiang", "xiao", "xie", "xin", "xing", "xiong", "xiu", "xu", "xuan", "xue", "xun",
    "ya", "yan", "yang", "yao", "ye", "yi", "yin", "ying", "yo", "yong", "you", "yu", "yuan",
    "yue", "yun", "za", "zai", "zan", "zang", "zao", "ze", "zei", "zen", "zeng", "zha", "zhai",
    "zhan", "zhang", "zhao", "zhe", "zhei", "zhen", "zheng", "zhi", "zhong", "zhou", "zhu", "zhua",
    "zhuai", "zhuan", "zhuang", "zhui", "zhun", "zhuo", "zi", "zong", "zou", "zu", "zuan", "zui",
    "zun", "zuo",
];

/// Other spellings typed for a syllable of [`SYLLABLES`].
const ALIASES: [(&str, &str); 2] = [("lue", "lve"), ("nue", "nve")];

/// Initials typed alone as an abbreviation of a syllable (`zw` for zhang wei).
const INITIALS: [&str; 23] = [
    "b", "c", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "q", "r", "s", "sh", "t",
    "w", "x", "y", "z", "zh",
];

/// Full-width punctuation for Chinese text: the key typed and what goes into the field
/// (the double quote alternates “ and ”: [`Composer::punctuation`]).
pub const FULL_WIDTH_PUNCTUATION: [(char, char); 9] = [
    (',', '，'),
    ('.', '。'),
    ('?', '？'),
    ('!', '！'),
    (':', '：'),
    (';', '；'),
    ('\\', '、'),
    ('(', '（'),
    (')', '）'),
];

/// The full-width form of a punctuation key in Chinese text (`,` → `，`), or `None`
/// for a key that has none. The double quote needs state: [`Composer::punctuation`].
pub fn full_width(c: char) -> Option<char> {
    FULL_WIDTH_PUNCTUATION
        .iter()
        .find(|(ascii, _)| *ascii == c)
        .map(|(_, wide)| *wide)
}

/// The syllable's index in [`SYLLABLES`] (an alias counts as its syllable).
fn syllable_id(s: &str) -> Option<u16> {
    let s = ALIASES
        .iter()
        .find(|(alias, _)| *alias == s)
        .map_or(s, |(_, canonical)| *canonical);
    SYLLABLES
        .binary_search(&s)
        .ok()
        .and_then(|i| u16::try_from(i).ok())
}

/// Whether `s` is a toneless pinyin syllable (`zhang`, `lv`; `lue` as `lve`).
pub fn is_syllable(s: &str) -> bool {
    syllable_id(s).is_some()
}

/// The syllables starting with `prefix`, as a range of indices into [`SYLLABLES`].
fn prefix_range(prefix: &str) -> (u16, u16) {
    let lo = SYLLABLES.partition_point(|s| *s < prefix);
    let hi = lo
        + SYLLABLES[lo..]
            .iter()
            .take_while(|s| s.starts_with(prefix))
            .count();
    let lo16 = u16::try_from(lo).unwrap_or(u16::MAX);
    let hi16 = u16::try_from(hi).unwrap_or(u16::MAX);
    (lo16, hi16)
}

/// What the engine ranks for: ordinary text, or a person's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Ordinary text: words and characters by frequency.
    #[default]
    Text,
    /// A name field from its start: common surnames first for the first character,
    /// then characters common in given names.
    Name,
    /// The rest of a name after its surname: characters common in given names first.
    GivenName,
}

/// Why an input was not looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputRefused {
    /// More than [`MAX_INPUT_LETTERS`] letters (or [`MAX_INPUT_CHARS`] characters).
    #[error("pinyin longer than {MAX_INPUT_LETTERS} letters")]
    TooLong,
    /// A character that is neither a letter a–z nor an apostrophe.
    #[error("{0:?} is not a pinyin letter or an apostrophe")]
    NotPinyin(char),
}

/// Where a candidate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// A word or character of the dictionary.
    Word,
    /// Dictionary words put together for the whole input, the most probable way.
    Sentence,
    /// A name: a common surname, given-name characters, or both.
    Name,
}

/// One entry of the candidate bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The characters that go into the field.
    pub text: String,
    /// How many bytes of the input it consumes (apostrophes right after included); the
    /// rest stays composing when it is picked. Never more than the input's length.
    pub consumed: usize,
    /// Where it comes from.
    pub kind: CandidateKind,
}

/// One page of candidates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CandidatePage {
    /// At most [`PAGE_SIZE`] candidates, best first.
    pub candidates: Vec<Candidate>,
    /// The page's number, from 0.
    pub page: usize,
    /// Whether a next page has candidates.
    pub has_more: bool,
    /// Why the input was not looked up (then the page is empty).
    pub refused: Option<InputRefused>,
}

/// What the dictionary holds, for tests and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DictStats {
    /// Words and characters (one per reading).
    pub entries: usize,
    /// Lines of the data files that could not be read (0 for the embedded data).
    pub skipped_lines: usize,
    /// Surnames, compound ones included.
    pub surnames: usize,
    /// Characters of the given-name list found in the dictionary.
    pub given_name_chars: usize,
    /// Two-character given names listed.
    pub given_name_pairs: usize,
}

/// The text the dictionary is indexed from (see `data/pinyin/README.md`).
#[derive(Debug, Clone, Copy)]
pub struct DictData {
    /// Lines `word<TAB>syllables<TAB>frequency`.
    pub words: &'static str,
    /// Lines `surname<TAB>syllables`, most common first.
    pub surnames: &'static str,
    /// Characters common in given names, separated by white space, most common first.
    pub given_chars: &'static str,
    /// Lines `given name<TAB>syllables` (two characters), most common first.
    pub given_pairs: &'static str,
}

impl DictData {
    /// The data embedded in the crate (`data/pinyin/`).
    pub const EMBEDDED: DictData = DictData {
        words: DICT_TSV,
        surnames: SURNAMES_TSV,
        given_chars: GIVEN_NAMES_TXT,
        given_pairs: GIVEN_PAIRS_TSV,
    };
}

/// One word or character with one reading.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Byte offset of the text in the dictionary's data.
    text_at: u32,
    /// Offset of its syllables in [`PinyinDict::syllables`].
    syl_at: u32,
    /// Frequency (jieba's count, or derived from it).
    freq: u32,
    /// Length of the text in bytes.
    text_len: u8,
    /// Number of syllables.
    syl_len: u8,
}

/// A surname or a given name with its reading and rank (0 = most common).
#[derive(Debug, Clone)]
struct Named {
    text: &'static str,
    syllables: Vec<u16>,
    rank: u16,
}

/// The pinyin dictionary, indexed for lookup.
///
/// Entries are sorted by their syllables (then by frequency, highest first), so the
/// entries whose syllables start with a given sequence form one range: a syllable
/// trie without nodes, walked by binary search.
pub struct PinyinDict {
    data: &'static str,
    entries: Vec<Entry>,
    syllables: Vec<u16>,
    surnames: Vec<Named>,
    /// Common two-character given names.
    given_pairs: Vec<Named>,
    /// For each syllable, the given-name characters read so: (rank, character).
    given: Vec<Vec<(u16, &'static str)>>,
    given_chars: usize,
    skipped: usize,
    /// Natural log of all frequencies together (word probabilities for sentences).
    ln_total: f64,
}

impl std::fmt::Debug for PinyinDict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinyinDict")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The embedded dictionary, indexed on first use.
pub fn embedded() -> &'static PinyinDict {
    static DICT: OnceLock<PinyinDict> = OnceLock::new();
    DICT.get_or_init(|| PinyinDict::parse(DictData::EMBEDDED))
}

/// [`PinyinDict::split`] on the embedded dictionary.
pub fn split(input: &str) -> Vec<Vec<&'static str>> {
    embedded().split(input)
}

/// [`PinyinDict::candidates`] on the embedded dictionary.
pub fn candidates(input: &str, mode: Mode, page: usize) -> CandidatePage {
    embedded().candidates(input, mode, page)
}

/// Lowercases the input and checks it: letters and apostrophes only, bounded.
fn normalize(input: &str) -> Result<String, InputRefused> {
    let mut out = String::with_capacity(input.len().min(MAX_INPUT_CHARS));
    let mut letters = 0usize;
    for c in input.chars() {
        if out.len() >= MAX_INPUT_CHARS {
            return Err(InputRefused::TooLong);
        }
        match c {
            'a'..='z' | 'A'..='Z' => {
                letters += 1;
                if letters > MAX_INPUT_LETTERS {
                    return Err(InputRefused::TooLong);
                }
                out.push(c.to_ascii_lowercase());
            }
            '\'' => out.push(c),
            other => return Err(InputRefused::NotPinyin(other)),
        }
    }
    Ok(out)
}

/// The syllables one token of input stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SylSet {
    /// A whole syllable.
    Full(u16),
    /// An initial or the beginning of a syllable: every syllable in `lo..hi`.
    Partial(u16, u16),
}

impl SylSet {
    fn is_partial(self) -> bool {
        matches!(self, SylSet::Partial(..))
    }

    fn range(self) -> (u16, u16) {
        match self {
            SylSet::Full(s) => (s, s.saturating_add(1)),
            SylSet::Partial(lo, hi) => (lo, hi),
        }
    }

    fn contains(self, s: u16) -> bool {
        let (lo, hi) = self.range();
        lo <= s && s < hi
    }
}

/// One token: input bytes `at..end` read as `set`; the next token starts at `to`
/// (apostrophes after `end` skipped).
#[derive(Debug, Clone, Copy)]
struct Edge {
    at: usize,
    end: usize,
    to: usize,
    set: SylSet,
}

/// Every way to cut the input into tokens, as a graph over byte positions.
#[derive(Debug)]
struct Lattice {
    len: usize,
    start: usize,
    edges: Vec<Vec<Edge>>,
    /// The end is reachable from here.
    reach: Vec<bool>,
    /// The end is reachable from here by whole syllables only.
    full_reach: Vec<bool>,
    /// The end is reachable from here by whole syllables, the last one possibly partial.
    sentence_reach: Vec<bool>,
    /// Every way through the input reads only initials (`zw`, `wxm`).
    abbreviation_only: bool,
}

impl Lattice {
    fn new(input: &str) -> Lattice {
        let bytes = input.as_bytes();
        let len = bytes.len();
        let skip = |mut j: usize| {
            while j < len && bytes[j] == b'\'' {
                j += 1;
            }
            j
        };
        let start = skip(0);
        let mut edges: Vec<Vec<Edge>> = vec![Vec::new(); len + 1];
        for at in 0..len {
            if bytes[at] == b'\'' {
                continue;
            }
            let run_end = bytes[at..]
                .iter()
                .position(|&b| b == b'\'')
                .map_or(len, |k| at + k);
            for end in at + 1..=run_end.min(at + MAX_SYLLABLE_LETTERS) {
                let Some(token) = input.get(at..end) else {
                    continue;
                };
                // An abbreviation is followed by a consonant, a break or the end
                // (`zh` in `zhang` is not one: `zh'ang` needs the apostrophe).
                let then_consonant = bytes
                    .get(end)
                    .is_none_or(|b| *b == b'\'' || !b"aeiouv".contains(b));
                let set = if let Some(id) = syllable_id(token) {
                    SylSet::Full(id)
                } else {
                    let (lo, hi) = prefix_range(token);
                    if lo < hi && (end == len || (INITIALS.contains(&token) && then_consonant)) {
                        SylSet::Partial(lo, hi)
                    } else {
                        continue;
                    }
                };
                edges[at].push(Edge {
                    at,
                    end,
                    to: skip(end),
                    set,
                });
            }
        }
        let mut reach = vec![false; len + 1];
        let mut full_reach = vec![false; len + 1];
        let mut sentence_reach = vec![false; len + 1];
        reach[len] = true;
        full_reach[len] = true;
        sentence_reach[len] = true;
        for at in (0..len).rev() {
            for e in &edges[at] {
                reach[at] |= reach[e.to];
                if e.set.is_partial() {
                    sentence_reach[at] |= e.to == len;
                } else {
                    full_reach[at] |= full_reach[e.to];
                    sentence_reach[at] |= sentence_reach[e.to];
                }
            }
        }
        let mut from_start = vec![false; len + 1];
        from_start[start] = true;
        let mut abbreviation_only = true;
        for at in start..len {
            if !from_start[at] {
                continue;
            }
            for e in edges[at].iter().filter(|e| reach[e.to]) {
                from_start[e.to] = true;
                abbreviation_only &= e.set.is_partial();
            }
        }
        Lattice {
            len,
            start,
            edges,
            reach,
            full_reach,
            sentence_reach,
            abbreviation_only,
        }
    }

    /// Whether the input has something to look up.
    fn is_live(&self) -> bool {
        self.start < self.len && self.reach[self.start]
    }

    /// Token paths from the start of at most `max` tokens, each ending where the end
    /// is still reachable; `whole` keeps those reaching the end, otherwise those that
    /// stop short of it.
    fn short_paths(&self, max: usize, whole: bool) -> Vec<Vec<Edge>> {
        let mut out = Vec::new();
        let mut path = Vec::with_capacity(max);
        self.short_paths_from(self.start, max, whole, &mut path, &mut out);
        out
    }

    fn short_paths_from(
        &self,
        at: usize,
        max: usize,
        whole: bool,
        path: &mut Vec<Edge>,
        out: &mut Vec<Vec<Edge>>,
    ) {
        if at == self.len {
            if whole {
                out.push(path.clone());
            }
            return;
        }
        if !whole && !path.is_empty() {
            out.push(path.clone());
        }
        if path.len() >= max {
            return;
        }
        for e in self.edges[at].iter().filter(|e| self.reach[e.to]) {
            path.push(*e);
            self.short_paths_from(e.to, max, whole, path, out);
            path.pop();
        }
    }
}

/// How a walk through the dictionary follows the lattice.
#[derive(Debug, Clone, Copy)]
struct Walk {
    /// Whole syllables only, except a partial last token (sentences).
    sentence: bool,
    /// Only the most frequent entry of each syllable sequence.
    best_only: bool,
}

/// A dictionary entry matched from some position.
#[derive(Debug, Clone, Copy)]
struct Match {
    entry: usize,
    /// Where the input continues after it.
    end: usize,
    syllables: usize,
    partials: usize,
}

/// A name put together: a surname, given-name characters, or both.
#[derive(Debug, Clone)]
struct NameGuess {
    text: String,
    cost: u32,
    consumed: usize,
    surname_rank: Option<u16>,
    /// Syllables of the surname (0: none).
    surname_len: usize,
    /// Every given-name character is from the given-name list.
    listed: bool,
    given_len: usize,
}

/// The ranked list being built: candidates in order, each (text, consumed) once.
#[derive(Debug, Default)]
struct Ranked {
    list: Vec<Candidate>,
    seen: HashSet<(String, usize)>,
}

impl Ranked {
    fn push(&mut self, text: &str, consumed: usize, kind: CandidateKind) {
        if self.list.len() >= MAX_CANDIDATES || text.is_empty() {
            return;
        }
        if self.seen.insert((text.to_string(), consumed)) {
            self.list.push(Candidate {
                text: text.to_string(),
                consumed,
                kind,
            });
        }
    }
}

impl PinyinDict {
    /// The embedded dictionary, indexed on first use ([`PinyinDict::parse`]).
    pub fn embedded() -> &'static PinyinDict {
        embedded()
    }

    /// Indexes a dictionary from its text ([`DictData`]; `#` starts a comment line).
    /// A line that cannot be read (a syllable outside [`SYLLABLES`], a count that does
    /// not match the characters, a bad frequency) is skipped and counted
    /// ([`DictStats::skipped_lines`]). A given-name character is offered for its
    /// common readings only. Takes about 0.2 s in a debug build (the benchmark gives
    /// the release figure): [`PinyinDict::embedded`] can be called early on another
    /// thread to have it ready before the keyboard opens.
    pub fn parse(data: DictData) -> PinyinDict {
        let DictData {
            words: dict,
            surnames,
            given_chars: given_names,
            given_pairs,
        } = data;
        let mut given_rank: HashMap<&'static str, u16> = HashMap::new();
        for c in given_names
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(str::split_whitespace)
        {
            let next = u16::try_from(given_rank.len()).unwrap_or(u16::MAX);
            given_rank.entry(c).or_insert(next);
        }
        let mut entries = Vec::with_capacity(dict.len() / 20);
        let mut syllables: Vec<u16> = Vec::with_capacity(dict.len() / 8);
        let mut given_readings: Vec<(u16, &'static str, u16, u32)> = Vec::new();
        let mut skipped = 0usize;
        let mut total = 0f64;
        let mut at = 0usize;
        for raw in dict.split_inclusive('\n') {
            let line_at = at;
            at += raw.len();
            let line = raw.trim_end_matches(['\n', '\r']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((word, ids, freq)) = parse_line(line) else {
                skipped += 1;
                continue;
            };
            let (Ok(text_at), Ok(syl_at), Ok(text_len), Ok(syl_len)) = (
                u32::try_from(line_at),
                u32::try_from(syllables.len()),
                u8::try_from(word.len()),
                u8::try_from(ids.len()),
            ) else {
                skipped += 1;
                continue;
            };
            if let ([s], Some(rank)) = (ids.as_slice(), given_rank.get(word)) {
                given_readings.push((*rank, word, *s, freq));
            }
            syllables.extend_from_slice(&ids);
            total += f64::from(freq);
            entries.push(Entry {
                text_at,
                syl_at,
                freq,
                text_len,
                syl_len,
            });
        }
        let syls = |e: &Entry| {
            let at = e.syl_at as usize;
            syllables
                .get(at..at + usize::from(e.syl_len))
                .unwrap_or(&[])
        };
        entries.sort_by(|a, b| {
            syls(a)
                .cmp(syls(b))
                .then(b.freq.cmp(&a.freq))
                .then(a.text_at.cmp(&b.text_at))
        });
        // A given-name character is offered for its common readings only (立 has a
        // rare reading wei).
        let mut given: Vec<Vec<(u16, &'static str)>> = vec![Vec::new(); SYLLABLES.len()];
        for &(rank, c, s, freq) in &given_readings {
            let top = given_readings
                .iter()
                .filter(|r| r.1 == c)
                .map(|r| r.3)
                .max()
                .unwrap_or(0);
            let common = u64::from(freq) * u64::from(RARE_READING_SHARE) >= u64::from(top);
            if let (true, Some(list)) = (common, given.get_mut(usize::from(s))) {
                list.push((rank, c));
            }
        }
        for list in &mut given {
            list.sort_unstable();
            list.dedup_by(|a, b| a.1 == b.1);
        }
        let given_chars = given
            .iter()
            .flatten()
            .map(|(_, c)| *c)
            .collect::<HashSet<_>>()
            .len();
        let (surnames, bad) = parse_named(surnames, MAX_SURNAME_SYLLABLES);
        skipped += bad;
        let (mut given_pairs, bad) = parse_named(given_pairs, MAX_GIVEN_NAME_SYLLABLES);
        skipped += bad;
        given_pairs.retain(|n| n.syllables.len() == MAX_GIVEN_NAME_SYLLABLES);
        PinyinDict {
            data: dict,
            entries,
            syllables,
            surnames,
            given_pairs,
            given,
            given_chars,
            skipped,
            ln_total: total.max(1.0).ln(),
        }
    }

    /// What the dictionary holds.
    pub fn stats(&self) -> DictStats {
        DictStats {
            entries: self.entries.len(),
            skipped_lines: self.skipped,
            surnames: self.surnames.len(),
            given_name_chars: self.given_chars,
            given_name_pairs: self.given_pairs.len(),
        }
    }

    fn syls(&self, e: &Entry) -> &[u16] {
        let at = e.syl_at as usize;
        self.syllables
            .get(at..at + usize::from(e.syl_len))
            .unwrap_or(&[])
    }

    fn text(&self, e: &Entry) -> &'static str {
        let at = e.text_at as usize;
        let data: &'static str = self.data;
        data.get(at..at + usize::from(e.text_len)).unwrap_or("")
    }

    /// The syllable at `depth` of the entry, `None` past its end (sorts first).
    fn key(&self, e: &Entry, depth: usize) -> Option<u16> {
        self.syls(e).get(depth).copied()
    }

    /// Within `lo..hi` (entries sharing `depth` syllables), those whose next syllable
    /// is in `a..b`.
    fn children(&self, lo: usize, hi: usize, depth: usize, a: u16, b: u16) -> (usize, usize) {
        let slice = self.entries.get(lo..hi).unwrap_or(&[]);
        let from = lo + slice.partition_point(|e| self.key(e, depth) < Some(a));
        let to = lo + slice.partition_point(|e| self.key(e, depth) < Some(b));
        (from, to)
    }

    /// Within `lo..hi`, the end of the entries that have exactly `depth` syllables.
    fn exact_end(&self, lo: usize, hi: usize, depth: usize) -> usize {
        let slice = self.entries.get(lo..hi).unwrap_or(&[]);
        lo + slice.partition_point(|e| usize::from(e.syl_len) <= depth)
    }

    /// The most frequent entry read exactly as `ids`, if any.
    fn best_word(&self, ids: &[u16]) -> Option<&Entry> {
        let (mut lo, mut hi) = (0, self.entries.len());
        for (depth, s) in ids.iter().enumerate() {
            (lo, hi) = self.children(lo, hi, depth, *s, s.saturating_add(1));
        }
        let exact = self.exact_end(lo, hi, ids.len());
        (lo < exact).then(|| &self.entries[lo])
    }

    /// Every entry matched by a token path from `at`, into `out`.
    fn walk(&self, lat: &Lattice, at: usize, walk: Walk, out: &mut Vec<Match>) {
        self.walk_node(lat, at, (0, self.entries.len()), 0, 0, walk, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_node(
        &self,
        lat: &Lattice,
        at: usize,
        (lo, hi): (usize, usize),
        depth: usize,
        partials: usize,
        walk: Walk,
        out: &mut Vec<Match>,
    ) {
        if depth > 0 {
            let exact = self.exact_end(lo, hi, depth);
            let exact = if walk.best_only {
                exact.min(lo + 1)
            } else {
                exact
            };
            out.extend((lo..exact).map(|entry| Match {
                entry,
                end: at,
                syllables: depth,
                partials,
            }));
        }
        if depth >= MAX_WORD_SYLLABLES || at >= lat.len {
            return;
        }
        for e in &lat.edges[at] {
            let usable = if walk.sentence {
                if e.set.is_partial() {
                    e.to == lat.len
                } else {
                    lat.sentence_reach[e.to]
                }
            } else {
                lat.reach[e.to]
            };
            if !usable {
                continue;
            }
            let (a, b) = e.set.range();
            let (mut from, to) = self.children(lo, hi, depth, a, b);
            while from < to {
                let Some(s) = self.key(&self.entries[from], depth) else {
                    break;
                };
                let (child_lo, child_hi) = self.children(from, to, depth, s, s.saturating_add(1));
                if child_hi <= child_lo {
                    break;
                }
                let partial = usize::from(e.set.is_partial());
                self.walk_node(
                    lat,
                    e.to,
                    (child_lo, child_hi),
                    depth + 1,
                    partials + partial,
                    walk,
                    out,
                );
                from = child_hi;
            }
        }
    }

    /// A word's score: log frequency, more for more syllables, less for abbreviations.
    fn score(&self, m: &Match) -> f64 {
        let freq = f64::from(self.entries[m.entry].freq);
        (freq + 1.0).ln() + MULTI_SYLLABLE_BONUS * (m.syllables.saturating_sub(1) as f64)
            - ABBREVIATION_PENALTY * m.partials as f64
    }

    /// Syllable segmentations of `input` into whole syllables (an apostrophe forces a
    /// split), at most [`MAX_SEGMENTATIONS`]: those the dictionary has a word for
    /// first, then fewer syllables first, then by the word's frequency. `xian` gives
    /// `[xian]` and `[xi, an]`; `zhangwei` gives `[zhang, wei]`. Empty for input that
    /// is refused or cannot be cut into syllables.
    pub fn split(&self, input: &str) -> Vec<Vec<&'static str>> {
        let Ok(input) = normalize(input) else {
            return Vec::new();
        };
        let lat = Lattice::new(&input);
        self.segmentations(&lat)
            .into_iter()
            .map(|path| {
                path.iter()
                    .filter_map(|e| match e.set {
                        SylSet::Full(s) => SYLLABLES.get(usize::from(s)).copied(),
                        SylSet::Partial(..) => None,
                    })
                    .collect()
            })
            .collect()
    }

    /// Whole-syllable paths through the lattice, ranked as [`PinyinDict::split`] says.
    fn segmentations(&self, lat: &Lattice) -> Vec<Vec<Edge>> {
        if lat.start >= lat.len || !lat.full_reach[lat.start] {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut path = Vec::new();
        self.segment_from(lat, lat.start, &mut path, &mut out);
        let mut ranked: Vec<(bool, usize, Reverse<u32>, Vec<Edge>)> = out
            .into_iter()
            .map(|path| {
                let ids: Vec<u16> = path
                    .iter()
                    .filter_map(|e| match e.set {
                        SylSet::Full(s) => Some(s),
                        SylSet::Partial(..) => None,
                    })
                    .collect();
                let best = self.best_word(&ids).map(|e| e.freq);
                (best.is_none(), path.len(), Reverse(best.unwrap_or(0)), path)
            })
            .collect();
        ranked.sort_by_key(|r| (r.0, r.1, r.2));
        ranked.into_iter().map(|(.., path)| path).collect()
    }

    fn segment_from(
        &self,
        lat: &Lattice,
        at: usize,
        path: &mut Vec<Edge>,
        out: &mut Vec<Vec<Edge>>,
    ) {
        if out.len() >= MAX_SEGMENTATIONS {
            return;
        }
        if at == lat.len {
            out.push(path.clone());
            return;
        }
        // Longer syllables first: with the cap, fewer syllables are found first.
        for e in lat.edges[at].iter().rev() {
            if e.set.is_partial() || !lat.full_reach[e.to] {
                continue;
            }
            path.push(*e);
            self.segment_from(lat, e.to, path, out);
            path.pop();
        }
    }

    /// The composing text shown above the keys: the input cut into syllables with
    /// apostrophes (`zhangwei` → `zhang'wei`, `zhangw` → `zhang'w`), as typed when it
    /// cannot be cut.
    pub fn composing_text(&self, input: &str) -> String {
        let Ok(norm) = normalize(input) else {
            return input.to_string();
        };
        let lat = Lattice::new(&norm);
        let path = match self.segmentations(&lat).into_iter().next() {
            Some(path) => path,
            None => fewest_abbreviations(&lat),
        };
        if path.is_empty() {
            return norm;
        }
        path.iter()
            .filter_map(|e| norm.get(e.at..e.end))
            .collect::<Vec<_>>()
            .join("'")
    }

    /// Every candidate for `input` in `mode`, best first, at most [`MAX_CANDIDATES`].
    ///
    /// Text: words for the whole input (whole syllables, initials, or both mixed) by
    /// score, the most probable sentence of words when it takes more than one, one
    /// name guess (a common surname and given-name characters) among the first
    /// [`NAME_SLOT_IN_TEXT`] + 1; then words for a beginning of the input, those after
    /// which the rest is whole syllables first, then the longest, then by score.
    /// Name: surnames and names put together for the whole input first, then surnames
    /// for a beginning of it, then as in text. An input read only as initials (`qqqq`)
    /// gives whole-input matches only.
    pub fn ranked(&self, input: &str, mode: Mode) -> Result<Vec<Candidate>, InputRefused> {
        let input = normalize(input)?;
        let lat = Lattice::new(&input);
        if !lat.is_live() {
            return Ok(Vec::new());
        }
        let mut matches = Vec::new();
        self.walk(
            &lat,
            lat.start,
            Walk {
                sentence: false,
                best_only: false,
            },
            &mut matches,
        );
        let mut whole: Vec<(f64, &Match)> = matches
            .iter()
            .filter(|m| m.end == lat.len)
            .map(|m| (self.score(m), m))
            .collect();
        whole.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.entry.cmp(&b.1.entry)));
        // Words for a beginning of the input, read as whole syllables: those after
        // which the rest is whole syllables too first, then the longest.
        let mut prefixes: Vec<(bool, usize, f64, &Match)> = if lat.abbreviation_only {
            Vec::new()
        } else {
            matches
                .iter()
                .filter(|m| m.end < lat.len && m.partials == 0)
                .map(|m| (lat.full_reach[m.end], m.end, self.score(m), m))
                .collect()
        };
        prefixes.sort_by(|a, b| {
            (b.0, b.1)
                .cmp(&(a.0, a.1))
                .then(b.2.total_cmp(&a.2))
                .then(a.3.entry.cmp(&b.3.entry))
        });
        let sentence = if lat.abbreviation_only {
            None
        } else {
            self.sentence(&lat)
        };
        let names = match mode {
            Mode::Text | Mode::Name => self.names(&lat, true),
            Mode::GivenName => self.names(&lat, false),
        };

        let mut out = Ranked::default();
        match mode {
            Mode::Text => {
                let guess = names.iter().find(|n| {
                    n.consumed == lat.len
                        && n.given_len > 0
                        && n.listed
                        && (n.surname_len > 1
                            || n.surname_rank.is_some_and(|r| r < TEXT_NAME_SURNAME_RANKS))
                });
                let mut first: Vec<(String, CandidateKind)> = whole
                    .iter()
                    .map(|(_, m)| {
                        (
                            self.text(&self.entries[m.entry]).to_string(),
                            CandidateKind::Word,
                        )
                    })
                    .collect();
                if let Some(s) = sentence {
                    first.push((s, CandidateKind::Sentence));
                }
                if let Some(n) = guess {
                    let slot = NAME_SLOT_IN_TEXT.min(first.len());
                    first.insert(slot, (n.text.clone(), CandidateKind::Name));
                }
                for (text, kind) in &first {
                    out.push(text, lat.len, *kind);
                }
            }
            Mode::Name | Mode::GivenName => {
                // A surname the whole input spells first (`ouyang` → 欧阳), then names.
                for n in names
                    .iter()
                    .filter(|n| n.consumed == lat.len && n.given_len == 0)
                {
                    out.push(&n.text, n.consumed, CandidateKind::Name);
                }
                for n in names.iter().filter(|n| n.consumed == lat.len) {
                    out.push(&n.text, n.consumed, CandidateKind::Name);
                }
                for n in names.iter().filter(|n| n.consumed < lat.len) {
                    out.push(&n.text, n.consumed, CandidateKind::Name);
                }
                for (_, m) in &whole {
                    out.push(
                        self.text(&self.entries[m.entry]),
                        lat.len,
                        CandidateKind::Word,
                    );
                }
                if let Some(s) = sentence {
                    out.push(&s, lat.len, CandidateKind::Sentence);
                }
            }
        }
        for (.., m) in &prefixes {
            out.push(
                self.text(&self.entries[m.entry]),
                m.end,
                CandidateKind::Word,
            );
        }
        Ok(out.list)
    }

    /// One page of [`PinyinDict::ranked`]; refused input gives an empty page that says
    /// why.
    pub fn candidates(&self, input: &str, mode: Mode, page: usize) -> CandidatePage {
        match self.ranked(input, mode) {
            Ok(all) => {
                let from = page.saturating_mul(PAGE_SIZE);
                CandidatePage {
                    candidates: all.iter().skip(from).take(PAGE_SIZE).cloned().collect(),
                    page,
                    has_more: all.len() > from.saturating_add(PAGE_SIZE),
                    refused: None,
                }
            }
            Err(refused) => CandidatePage {
                candidates: Vec::new(),
                page,
                has_more: false,
                refused: Some(refused),
            },
        }
    }

    /// The most probable words for the whole input (unigram probabilities), when it
    /// takes more than one word.
    fn sentence(&self, lat: &Lattice) -> Option<String> {
        if !lat.sentence_reach[lat.start] {
            return None;
        }
        let mut best: Vec<Option<(f64, usize, usize)>> = vec![None; lat.len + 1];
        let mut matches = Vec::new();
        for at in lat.start..lat.len {
            let here = if at == lat.start {
                0.0
            } else {
                match best[at] {
                    Some((score, ..)) => score,
                    None => continue,
                }
            };
            matches.clear();
            self.walk(
                lat,
                at,
                Walk {
                    sentence: true,
                    best_only: true,
                },
                &mut matches,
            );
            for m in &matches {
                let freq = f64::from(self.entries[m.entry].freq);
                let score = here + (freq + 1.0).ln() - self.ln_total;
                if best[m.end].is_none_or(|(s, ..)| score > s) {
                    best[m.end] = Some((score, at, m.entry));
                }
            }
        }
        let mut words = Vec::new();
        let mut at = lat.len;
        while at > lat.start {
            let (_, from, entry) = best[at]?;
            words.push(self.text(&self.entries[entry]));
            at = from;
        }
        (words.len() > 1).then(|| words.iter().rev().copied().collect())
    }

    /// Given-name characters for one token: the given-name list's first, then the
    /// dictionary's most frequent; with their rank cost and whether listed.
    fn given_options(&self, e: &Edge) -> Vec<(&'static str, u32, bool)> {
        let (a, b) = e.set.range();
        let extra = if e.set.is_partial() {
            ABBREVIATION_NAME_COST
        } else {
            0
        };
        let mut listed: Vec<(u16, &'static str)> = (a..b)
            .filter_map(|s| self.given.get(usize::from(s)))
            .flatten()
            .copied()
            .collect();
        listed.sort_unstable();
        let mut out: Vec<(&'static str, u32, bool)> = Vec::with_capacity(GIVEN_OPTIONS);
        for (rank, c) in listed {
            if out.len() >= GIVEN_OPTIONS {
                break;
            }
            if !out.iter().any(|o| o.0 == c) {
                out.push((c, u32::from(rank) + extra, true));
            }
        }
        if out.len() < GIVEN_OPTIONS {
            let mut common: Vec<&Entry> = Vec::new();
            for s in a..b {
                let (lo, hi) = self.children(0, self.entries.len(), 0, s, s.saturating_add(1));
                let exact = self.exact_end(lo, hi, 1).min(lo + GIVEN_OPTIONS);
                common.extend(self.entries.get(lo..exact).unwrap_or(&[]));
            }
            common.sort_by_key(|e| Reverse(e.freq));
            let base = u32::try_from(self.given_chars).unwrap_or(u32::MAX / 2);
            for (i, entry) in common.into_iter().enumerate() {
                if out.len() >= GIVEN_OPTIONS {
                    break;
                }
                let c = self.text(entry);
                if !out.iter().any(|o| o.0 == c) {
                    let i = u32::try_from(i).unwrap_or(u32::MAX / 4);
                    out.push((c, base + i + extra, false));
                }
            }
        }
        out
    }

    /// Names for the input, cheapest first: at most [`MAX_NAME_CANDIDATES`] for the
    /// whole input (read with as few abbreviations as it can be), then surnames for a
    /// beginning of it after which the rest is whole syllables. With a surname
    /// (`with_surname`), or given-name characters only.
    fn names(&self, lat: &Lattice, with_surname: bool) -> Vec<NameGuess> {
        let max_tokens = if with_surname {
            MAX_SURNAME_SYLLABLES + MAX_GIVEN_NAME_SYLLABLES
        } else {
            MAX_GIVEN_NAME_SYLLABLES
        };
        let paths = lat.short_paths(max_tokens, true);
        let fewest = paths.iter().map(|p| partial_count(p)).min();
        let mut options = HashMap::new();
        let mut whole = Vec::new();
        for path in paths.iter().filter(|p| Some(partial_count(p)) == fewest) {
            if !with_surname {
                self.given_combinations(path, None, &mut options, &mut whole);
                continue;
            }
            for s in 1..=MAX_SURNAME_SYLLABLES.min(path.len()) {
                let (head, given) = path.split_at(s);
                if given.len() > MAX_GIVEN_NAME_SYLLABLES {
                    continue;
                }
                for surname in self.matching_surnames(head) {
                    self.given_combinations(given, Some((surname, head)), &mut options, &mut whole);
                }
            }
        }
        whole.sort_by(|a, b| a.cost.cmp(&b.cost).then_with(|| a.text.cmp(&b.text)));
        let mut seen = HashSet::new();
        whole.retain(|n| seen.insert(n.text.clone()));
        whole.truncate(MAX_NAME_CANDIDATES);
        if with_surname && !lat.abbreviation_only {
            let mut short = Vec::new();
            for path in lat.short_paths(MAX_SURNAME_SYLLABLES, false) {
                let consumed = path.last().map_or(0, |e| e.to);
                if partial_count(&path) > 0 || !lat.full_reach[consumed] {
                    continue;
                }
                for surname in self.matching_surnames(&path) {
                    short.push(NameGuess {
                        text: surname.text.to_string(),
                        cost: u32::from(surname.rank),
                        consumed,
                        surname_rank: Some(surname.rank),
                        surname_len: surname.syllables.len(),
                        listed: true,
                        given_len: 0,
                    });
                }
            }
            short.sort_by(|a, b| {
                (Reverse(a.consumed), a.cost, &a.text).cmp(&(Reverse(b.consumed), b.cost, &b.text))
            });
            whole.extend(short);
        }
        whole
    }

    fn matching_surnames<'a>(&'a self, head: &'a [Edge]) -> impl Iterator<Item = &'a Named> + 'a {
        self.surnames.iter().filter(move |s| {
            s.syllables.len() == head.len()
                && s.syllables
                    .iter()
                    .zip(head)
                    .all(|(id, e)| e.set.contains(*id))
        })
    }

    /// Names of `surname` (if any) and given-name characters for `given`, into `out`
    /// (`options` keeps each token's characters once worked out).
    fn given_combinations(
        &self,
        given: &[Edge],
        surname: Option<(&Named, &[Edge])>,
        options: &mut GivenOptions,
        out: &mut Vec<NameGuess>,
    ) {
        let (prefix, base, rank, surname_len) = match surname {
            Some((s, head)) => (
                s.text,
                u32::from(s.rank) + abbreviation_cost(head),
                Some(s.rank),
                s.syllables.len(),
            ),
            None => ("", 0, None, 0),
        };
        let mut opts = |e: &Edge| {
            options
                .entry((e.at, e.end))
                .or_insert_with(|| self.given_options(e))
                .clone()
        };
        match given {
            [] => out.push(NameGuess {
                text: prefix.to_string(),
                cost: base,
                consumed: surname.and_then(|(_, h)| h.last()).map_or(0, |e| e.to),
                surname_rank: rank,
                surname_len,
                listed: true,
                given_len: 0,
            }),
            [one] => {
                for (c, cost, listed) in opts(one) {
                    out.push(NameGuess {
                        text: format!("{prefix}{c}"),
                        cost: base + cost,
                        consumed: one.to,
                        surname_rank: rank,
                        surname_len,
                        listed,
                        given_len: 1,
                    });
                }
            }
            [first, second] => {
                // Listed given names first (小明, 娜娜), then characters put together.
                let pairs = [*first, *second];
                for pair in self.given_pairs.iter().filter(|n| {
                    n.syllables.len() == 2
                        && n.syllables
                            .iter()
                            .zip(&pairs)
                            .all(|(id, e)| e.set.contains(*id))
                }) {
                    out.push(NameGuess {
                        text: format!("{prefix}{}", pair.text),
                        cost: base
                            + u32::from(pair.rank) / GIVEN_PAIR_RANK_DIVISOR
                            + abbreviation_cost(&pairs),
                        consumed: second.to,
                        surname_rank: rank,
                        surname_len,
                        listed: true,
                        given_len: 2,
                    });
                }
                let seconds = opts(second);
                for (c1, cost1, listed1) in opts(first) {
                    for (c2, cost2, listed2) in &seconds {
                        out.push(NameGuess {
                            text: format!("{prefix}{c1}{c2}"),
                            cost: base + cost1 + cost2,
                            consumed: second.to,
                            surname_rank: rank,
                            surname_len,
                            listed: listed1 && *listed2,
                            given_len: 2,
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

/// Given-name characters worked out per token (byte range): character, cost, listed.
type GivenOptions = HashMap<(usize, usize), Vec<(&'static str, u32, bool)>>;

/// How many tokens of a path are abbreviations.
fn partial_count(path: &[Edge]) -> usize {
    path.iter().filter(|e| e.set.is_partial()).count()
}

/// The rank cost of the abbreviated tokens of a path.
fn abbreviation_cost(path: &[Edge]) -> u32 {
    u32::try_from(partial_count(path)).unwrap_or(u32::MAX / 8) * ABBREVIATION_NAME_COST
}

/// The path to the end with the fewest abbreviated tokens, then the fewest tokens
/// (empty when the end cannot be reached).
fn fewest_abbreviations(lat: &Lattice) -> Vec<Edge> {
    if !lat.is_live() {
        return Vec::new();
    }
    // (abbreviated tokens, tokens) to each position, and the token that got there.
    type Best = Option<((usize, usize), Option<Edge>)>;
    let mut best: Vec<Best> = vec![None; lat.len + 1];
    best[lat.start] = Some(((0, 0), None));
    for at in lat.start..lat.len {
        let Some(((partials, tokens), _)) = best[at] else {
            continue;
        };
        for e in lat.edges[at].iter().filter(|e| lat.reach[e.to]) {
            let cost = (partials + usize::from(e.set.is_partial()), tokens + 1);
            if best[e.to].is_none_or(|(c, _)| cost < c) {
                best[e.to] = Some((cost, Some(*e)));
            }
        }
    }
    let mut path = Vec::new();
    let mut at = lat.len;
    while at > lat.start {
        let Some((_, Some(e))) = best[at] else {
            return Vec::new();
        };
        path.push(e);
        at = e.at;
    }
    path.reverse();
    path
}

/// Lines `text<TAB>syllables` (at most `max` syllables, one per character), ranked
/// in order, each text once; and how many lines could not be read.
fn parse_named(lines: &'static str, max: usize) -> (Vec<Named>, usize) {
    let mut out: Vec<Named> = Vec::new();
    let mut skipped = 0;
    for line in lines.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once('\t').and_then(|(text, reading)| {
            let ids = reading
                .split(' ')
                .map(syllable_id)
                .collect::<Option<Vec<u16>>>()?;
            let fits = !ids.is_empty() && ids.len() <= max && ids.len() == text.chars().count();
            fits.then_some((text, ids))
        });
        match parsed {
            Some((text, syllables)) if !out.iter().any(|s| s.text == text) => {
                let rank = u16::try_from(out.len()).unwrap_or(u16::MAX);
                out.push(Named {
                    text,
                    syllables,
                    rank,
                });
            }
            Some(_) => {}
            None => skipped += 1,
        }
    }
    (out, skipped)
}

/// One line of the dictionary: the word, its syllables and its frequency.
fn parse_line(line: &str) -> Option<(&str, Vec<u16>, u32)> {
    let mut fields = line.split('\t');
    let word = fields.next()?;
    let reading = fields.next()?;
    let freq = fields.next()?.trim().parse::<u32>().ok()?;
    if word.is_empty() || fields.next().is_some() {
        return None;
    }
    let ids = reading
        .split(' ')
        .map(syllable_id)
        .collect::<Option<Vec<u16>>>()?;
    let fits =
        !ids.is_empty() && ids.len() <= MAX_WORD_SYLLABLES && ids.len() == word.chars().count();
    fits.then_some((word, ids, freq))
}

/// The pinyin being composed, as the on-screen keyboard drives it.
///
/// Letters and apostrophes build the input ([`Composer::push`]); the candidate bar
/// shows [`Composer::candidates`]; picking one ([`Composer::pick`]) gives the
/// characters to put into the field and keeps the unconsumed rest composing. In
/// [`Mode::Name`] the candidates after the first pick rank given-name characters
/// (the surname is chosen). [`Composer::reset`] starts over (a new field, or the
/// field emptied).
#[derive(Debug, Clone)]
pub struct Composer {
    dict: &'static PinyinDict,
    mode: Mode,
    input: String,
    page: usize,
    picked: bool,
    quote_open: bool,
}

impl Composer {
    /// A composer for a field of `mode`, on the embedded dictionary.
    pub fn new(mode: Mode) -> Composer {
        Composer::with_dict(embedded(), mode)
    }

    /// A composer on another dictionary.
    pub fn with_dict(dict: &'static PinyinDict, mode: Mode) -> Composer {
        Composer {
            dict,
            mode,
            input: String::new(),
            page: 0,
            picked: false,
            quote_open: false,
        }
    }

    /// The mode candidates are ranked for now: [`Mode::GivenName`] once a name
    /// field's surname has been picked.
    pub fn mode(&self) -> Mode {
        if self.mode == Mode::Name && self.picked {
            Mode::GivenName
        } else {
            self.mode
        }
    }

    /// The pinyin composing, as typed (lowercase letters and apostrophes).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Whether nothing is composing (backspace and space then act on the field).
    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// A letter (either case) or an apostrophe (a syllable break). An apostrophe with
    /// nothing before it, or right after another, is ignored. Refused past
    /// [`MAX_INPUT_LETTERS`] letters, and for any other character.
    pub fn push(&mut self, c: char) -> Result<(), InputRefused> {
        match c {
            'a'..='z' | 'A'..='Z' => {
                let letters = self.input.bytes().filter(u8::is_ascii_alphabetic).count();
                if letters >= MAX_INPUT_LETTERS {
                    return Err(InputRefused::TooLong);
                }
                self.input.push(c.to_ascii_lowercase());
            }
            '\'' => {
                if self.input.is_empty() || self.input.ends_with('\'') {
                    return Ok(());
                }
                if self.input.len() >= MAX_INPUT_CHARS {
                    return Err(InputRefused::TooLong);
                }
                self.input.push('\'');
            }
            other => return Err(InputRefused::NotPinyin(other)),
        }
        self.page = 0;
        Ok(())
    }

    /// Removes the last letter or apostrophe; `false` when nothing was composing.
    pub fn backspace(&mut self) -> bool {
        let removed = self.input.pop().is_some();
        if removed {
            self.page = 0;
        }
        removed
    }

    /// Drops what is composing (the surname picked, if any, stays picked).
    pub fn clear(&mut self) {
        self.input.clear();
        self.page = 0;
    }

    /// Starts over: nothing composing, no surname picked, no quote open.
    pub fn reset(&mut self) {
        self.clear();
        self.picked = false;
        self.quote_open = false;
    }

    /// The composing text shown above the keys (`zhang'wei`).
    pub fn composing_text(&self) -> String {
        self.dict.composing_text(&self.input)
    }

    /// The current page of candidates (empty when nothing is composing).
    pub fn candidates(&self) -> CandidatePage {
        self.dict.candidates(&self.input, self.mode(), self.page)
    }

    /// The next page; `false` (and no change) on the last one.
    pub fn next_page(&mut self) -> bool {
        if self.candidates().has_more {
            self.page += 1;
            true
        } else {
            false
        }
    }

    /// The previous page; `false` on the first one.
    pub fn prev_page(&mut self) -> bool {
        if self.page > 0 {
            self.page -= 1;
            true
        } else {
            false
        }
    }

    /// Picks candidate `index` of the current page: returns its characters (to put
    /// into the field) and keeps the pinyin it did not consume composing, from the
    /// first page. `None` (and no change) when there is no such candidate.
    pub fn pick(&mut self, index: usize) -> Option<String> {
        let page = self.candidates();
        let chosen = page.candidates.get(index)?;
        let rest = self
            .input
            .get(chosen.consumed..)
            .unwrap_or("")
            .trim_start_matches('\'')
            .to_string();
        self.input = rest;
        self.page = 0;
        self.picked = true;
        Some(chosen.text.clone())
    }

    /// Takes the composing letters as typed, apostrophes dropped (the keyboard's enter
    /// key in pinyin mode: Latin letters into the field), leaving nothing composing.
    pub fn commit_letters(&mut self) -> String {
        let letters: String = self.input.chars().filter(|c| *c != '\'').collect();
        self.clear();
        letters
    }

    /// The full-width form of a punctuation key for Chinese text ([`full_width`]);
    /// the double quote alternates “ and ”. `None` for a key without one.
    pub fn punctuation(&mut self, c: char) -> Option<char> {
        if c == '"' {
            self.quote_open = !self.quote_open;
            return Some(if self.quote_open { '“' } else { '”' });
        }
        full_width(c)
    }
}
