//! Alarms and reminders kept apart with IEC 60601-1-8 priorities (usability reference):
//! markers, flash rates and sound bursts per priority, no repeated alert, timed audio
//! pause that a higher-priority alarm breaks through; driven by real exam decisions.

use cmr_kiosk::domain::output::{AlarmCode, AlarmPriority, Decision, Output};
use cmr_kiosk::domain::time::{Duration, Instant};
use cmr_kiosk::engine::alarm_board::{AlarmBoard, Prompt, presentation};
use rstest::rstest;

fn alarm(at: u64, code: AlarmCode, priority: AlarmPriority) -> Output {
    Output {
        at: Instant::from_secs(at),
        decision: Decision::Alarm { code, priority },
    }
}

#[rstest]
#[case::high_red_fast_10_pulses(AlarmPriority::High, "***", 1.4, 2.8, 10)]
#[case::medium_yellow_slow_3_pulses(AlarmPriority::Medium, "**", 0.4, 0.8, 3)]
#[case::low_steady_1_pulse(AlarmPriority::Low, "*", 0.0, 0.0, 1)]
fn iec_60601_1_8_presentation(
    #[case] p: AlarmPriority,
    #[case] marker: &str,
    #[case] lo: f64,
    #[case] hi: f64,
    #[case] pulses: u8,
) {
    let pres = presentation(p);
    assert_eq!(pres.marker, marker);
    assert!(
        pres.flash_hz >= lo && pres.flash_hz <= hi,
        "{}",
        pres.flash_hz
    );
    assert!(pres.flash_hz <= 3.0, "nothing flashes faster than 3 Hz");
    assert_eq!(pres.pulses, pulses);
}

#[test]
fn alarms_are_ordered_by_priority_and_never_raised_twice() {
    let mut b = AlarmBoard::default();
    assert!(b.on_output(&alarm(10, AlarmCode::Spo2Low, AlarmPriority::Medium)));
    assert!(b.on_output(&alarm(20, AlarmCode::SbpLow, AlarmPriority::High)));
    assert!(
        !b.on_output(&alarm(25, AlarmCode::SbpLow, AlarmPriority::High)),
        "same alert not twice"
    );
    let codes: Vec<_> = b.alarms().iter().map(|a| a.code).collect();
    assert_eq!(codes, [AlarmCode::SbpLow, AlarmCode::Spo2Low]);
    assert!(b.acknowledge(AlarmCode::SbpLow));
    assert!(!b.acknowledge(AlarmCode::SbpLow));
    assert_eq!(b.alarms().len(), 1);
}

#[test]
fn reminders_are_quiet_prompts_shown_once() {
    let mut b = AlarmBoard::default();
    let due = |at, decision| Output {
        at: Instant::from_secs(at),
        decision,
    };
    assert!(b.on_output(&due(150, Decision::RestPerfusionReady)));
    assert!(
        !b.on_output(&due(151, Decision::RestPerfusionReady)),
        "one prompt per step"
    );
    assert!(b.on_output(&due(900, Decision::LgeWindowOpen)));
    assert_eq!(
        b.prompts().collect::<Vec<_>>(),
        [Prompt::RestPerfusionReady, Prompt::LgeWindowOpen]
    );
    assert!(
        b.sounding(Instant::from_secs(900)).is_none(),
        "reminders never sound"
    );
    assert!(b.dismiss(Prompt::RestPerfusionReady));
    assert_eq!(b.prompts().count(), 1);
}

#[test]
fn audio_pause_is_timed_and_a_higher_priority_alarm_breaks_through() {
    let mut b = AlarmBoard::new(Duration::from_secs(120));
    b.on_output(&alarm(100, AlarmCode::Spo2Low, AlarmPriority::Medium));
    assert_eq!(
        b.sounding(Instant::from_secs(100)).unwrap().code,
        AlarmCode::Spo2Low
    );
    b.pause_audio(Instant::from_secs(110));
    assert!(b.sounding(Instant::from_secs(111)).is_none(), "paused");
    assert_eq!(
        b.audio_paused_until(Instant::from_secs(111)),
        Some(Instant::from_secs(230))
    );
    // A new high-priority alarm sounds even while paused.
    b.on_output(&alarm(150, AlarmCode::MonitorLost, AlarmPriority::High));
    assert_eq!(
        b.sounding(Instant::from_secs(151)).unwrap().code,
        AlarmCode::MonitorLost
    );
    b.acknowledge(AlarmCode::MonitorLost);
    assert!(
        b.sounding(Instant::from_secs(200)).is_none(),
        "still paused for the medium alarm"
    );
    // The pause ends on its own after 120 s.
    assert_eq!(
        b.sounding(Instant::from_secs(230)).unwrap().code,
        AlarmCode::Spo2Low
    );
    assert_eq!(b.audio_paused_until(Instant::from_secs(230)), None);
}

#[test]
fn clause_3_2_3_a_hypotensive_stress_exam_raises_a_high_alarm_on_the_board() {
    // The worked console state: adenosine running from 120 s, then SBP 84 at 195 s.
    let (mut exam, now) = cmr_kiosk::gallery::console::preview_exam("alarm").unwrap();
    exam.handle_timeout(now);
    let mut b = AlarmBoard::default();
    while let Some(o) = exam.poll() {
        b.on_output(&o);
    }
    let top = b.alarms().first().expect("an alarm is on the board");
    assert_eq!(
        (top.code, top.priority),
        (AlarmCode::SbpLow, AlarmPriority::High)
    );
    assert_eq!(
        top.raised_at,
        Instant::from_secs(195),
        "raised when the low reading came"
    );
    assert_eq!(presentation(top.priority).marker, "***");
    assert_eq!(b.sounding(now).map(|a| a.code), Some(AlarmCode::SbpLow));
}

/// An LGE series outside its window (3.1.4) is a warning the console keeps on its
/// board until dismissed, whatever page is shown, and a line in the console's log —
/// not only a notice on the contrast page (found by scripts/xvfb-exam, issue 17).
#[test]
fn clause_3_1_4_an_lge_series_outside_its_window_stays_on_the_board_and_in_the_log() {
    use cmr_kiosk::domain::output::WarningCode;
    let mut b = AlarmBoard::default();
    let warn = |at, code| Output {
        at: Instant::from_secs(at),
        decision: Decision::Warning { code },
    };
    assert!(b.on_output(&warn(600, WarningCode::LgeBeforeWindow)));
    assert!(
        !b.on_output(&warn(610, WarningCode::LgeBeforeWindow)),
        "once"
    );
    assert!(b.on_output(&warn(2400, WarningCode::LgeAfterWindow)));
    let shown: Vec<Prompt> = b.prompts().collect();
    assert_eq!(shown, [Prompt::LgeBeforeWindow, Prompt::LgeAfterWindow]);
    // Worded in both languages (the console shows `prompt-<code>`).
    let loc = cmr_kiosk::i18n::Localizer::embedded().unwrap();
    for lang in cmr_kiosk::config::Language::ALL {
        for p in shown.iter() {
            let key = format!("prompt-{}", p.code());
            assert_ne!(loc.tr(lang, &key), key, "{key} in {lang:?}");
        }
    }
    // And in the console's log, worded.
    let journal = vec![cmr_kiosk::engine::session::JournalRow::Decision {
        at: Instant::from_secs(600),
        handled: Instant::from_secs(600),
        output: warn(600, WarningCode::LgeBeforeWindow),
    }];
    let lines =
        cmr_kiosk::ui::console::log::log_lines(&loc, cmr_kiosk::config::Language::ZhCn, &journal);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].text.contains("延迟增强早于时间窗"),
        "{}",
        lines[0].text
    );
}
