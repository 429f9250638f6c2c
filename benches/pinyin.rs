//! Pinyin input benchmarks (`harness = false`; issue 18): what the on-screen
//! keyboard's 中 mode costs.
//!
//! * **Resident memory of the dictionary**: VmRSS before and after the embedded
//!   dictionary is indexed (its data pages and the index), against the 20 MiB budget.
//! * **Candidate lookup latency**: one page of candidates after each keystroke of
//!   realistic inputs (names, words, phrases, initials, mixed), in text and name mode,
//!   median and p99 against the 5 ms target.
//!
//! Run: `cargo bench --bench pinyin` (release profile). Lines starting with `@bench`
//! are the table `scripts/bench` prints: measure, figure, baseline, ratio.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cmr_kiosk::ui::input::pinyin::{Mode, PinyinDict};

/// Lookup latency target (issue 18).
const TARGET_MS: f64 = 5.0;
/// Resident memory budget of the dictionary (issue 18).
const BUDGET_MIB: f64 = 20.0;
/// Times every keystroke of every input is looked up.
const ROUNDS: usize = 20;

/// What people type at the kiosk: names, clinical words, phrases, abbreviations.
const INPUTS: [&str; 24] = [
    "zhangwei",
    "wangxiaoming",
    "lina",
    "ouyangnana",
    "liuyang",
    "chenjing",
    "zhw",
    "wxm",
    "zhangw",
    "xinzang",
    "xiongmen",
    "huxikunnan",
    "guominshi",
    "qibojiqi",
    "shenzangbuquan",
    "huanzhebuyuanyijixujiancha",
    "woxiangqubeijing",
    "xian",
    "xi'an",
    "shi",
    "yisheng",
    "hushi",
    "zaoyingji",
    "tangniaobing",
];

fn resident_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let before = resident_kib();
    let t = Instant::now();
    let dict = PinyinDict::embedded();
    let load = t.elapsed();
    let after = resident_kib();
    let stats = dict.stats();
    println!(
        "pinyin dictionary: {} entries, {} surnames, indexed in {:.1} ms",
        stats.entries,
        stats.surnames,
        ms(load)
    );

    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        for input in INPUTS {
            for end in 1..=input.len() {
                let typed = &input[..end];
                for mode in [Mode::Text, Mode::Name] {
                    let t = Instant::now();
                    let page = dict.candidates(black_box(typed), mode, 0);
                    times.push(t.elapsed());
                    black_box(page);
                }
            }
        }
    }
    times.sort_unstable();
    let p50 = ms(percentile(&times, 0.5));
    let p99 = ms(percentile(&times, 0.99));
    let max = ms(times[times.len() - 1]);
    println!(
        "candidate lookup, {} lookups (each keystroke of {} inputs, text and name mode): median {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms",
        times.len(),
        INPUTS.len()
    );
    println!(
        "@bench\tpinyin: candidate lookup p99 (each keystroke)\t{p99:.3} ms\ttarget {TARGET_MS:.0} ms\t{:.3}×",
        p99 / TARGET_MS
    );
    println!(
        "@bench\tpinyin: candidate lookup median\t{p50:.3} ms\ttarget {TARGET_MS:.0} ms\t{:.3}×",
        p50 / TARGET_MS
    );
    match (before, after) {
        (Some(b), Some(a)) => {
            let mib = a.saturating_sub(b) as f64 / 1024.0;
            println!(
                "resident memory (VmRSS): {:.1} MiB before the dictionary, {:.1} MiB after",
                b as f64 / 1024.0,
                a as f64 / 1024.0
            );
            println!(
                "@bench\tpinyin: dictionary resident memory\t{mib:.1} MiB\tbudget {BUDGET_MIB:.0} MiB\t{:.2}×",
                mib / BUDGET_MIB
            );
        }
        _ => println!(
            "@bench\tpinyin: dictionary resident memory\tno /proc\tbudget {BUDGET_MIB:.0} MiB\t–"
        ),
    }
}
