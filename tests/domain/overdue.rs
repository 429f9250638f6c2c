//! Clause 3.2.3 (practice): an adenosine infusion still running past its longest time
//! raises a medium-priority alarm (not only a notice), once; stopping it clears it.

use cmr_kiosk::domain::exam::{Exam, ExamEvent, ProtocolSettings};
use cmr_kiosk::domain::output::{AlarmCode, AlarmPriority, Decision};
use cmr_kiosk::domain::screening::{Patient, Sex};
use cmr_kiosk::domain::stress::{StressDrug, Vitals};
use cmr_kiosk::domain::time::Instant;

fn overdue_alarms(e: &mut Exam) -> Vec<AlarmPriority> {
    e.drain()
        .into_iter()
        .filter_map(|o| match o.decision {
            Decision::Alarm {
                code: AlarmCode::InfusionOverdue,
                priority,
            } => Some(priority),
            _ => None,
        })
        .collect()
}

#[test]
fn clause_3_2_3_an_overdue_infusion_is_an_alarm_until_stopped() {
    let mut e = Exam::new(ProtocolSettings::default());
    let patient = Patient {
        weight_kg: 70.0,
        height_cm: None,
        sex: Sex::Male,
        age_years: 60,
        egfr: Some(90.0),
        egfr_date: None,
    };
    e.handle(ExamEvent::PatientRegistered { patient }, Instant::ZERO)
        .unwrap();
    e.handle(
        ExamEvent::VitalsReading {
            vitals: Vitals {
                hr: Some(66.0),
                sbp: Some(128.0),
                ..Default::default()
            },
        },
        Instant::ZERO,
    )
    .unwrap();
    e.handle(
        ExamEvent::StressStarted {
            drug: StressDrug::Adenosine,
            dose: None,
            authority: Default::default(),
        },
        Instant::from_secs(10),
    )
    .unwrap();
    e.drain();
    // Four minutes is the imaging limit, not yet overdue.
    e.handle_timeout(Instant::from_secs(10 + 240));
    assert!(overdue_alarms(&mut e).is_empty());
    assert!(!e.stress().alarm_active(AlarmCode::InfusionOverdue));
    // Ten minutes on: overdue, one medium alarm, latched.
    e.handle_timeout(Instant::from_secs(10 + 600));
    assert_eq!(overdue_alarms(&mut e), vec![AlarmPriority::Medium]);
    assert!(e.stress().alarm_active(AlarmCode::InfusionOverdue));
    e.handle_timeout(Instant::from_secs(10 + 700));
    assert!(overdue_alarms(&mut e).is_empty(), "raised once");
    e.handle(ExamEvent::StressStopped, Instant::from_secs(10 + 710))
        .unwrap();
    assert!(!e.stress().alarm_active(AlarmCode::InfusionOverdue));
}
