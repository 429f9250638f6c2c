//! The safety facts staff record on the review tab (2.1.2, 2.3.1, 3.2.3), each by a
//! deliberate choice (issue 17).
//!
//! A fact starts *unanswered*, never "no": the nurse touches Yes or No (a grade, or
//! "none" / hours ago) for each. The form keeps what was chosen ([`FactForm`]); the
//! domain's [`ScreeningAnswers`] stay as the rules read them, and [`FactForm::apply`]
//! lays the choices over them. Sign-off is refused while [`FactForm::unanswered`]
//! names any fact. Pregnancy is not asked when the registered sex is male.

use std::collections::HashMap;

use crate::domain::screening::{Claustrophobia, ScreeningAnswers, Sex};

/// The facts the nurse records on the review tab, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fact {
    /// eGFR (2.3.1).
    Egfr,
    /// The date of the eGFR.
    EgfrDate,
    /// First-trimester pregnancy (2.1.2).
    Pregnancy,
    /// Claustrophobia grade (2.1.2).
    Claustrophobia,
    /// Haemodynamic instability (2.1.2).
    Unstable,
    /// Contrast allergy (2.3.1).
    ContrastAllergy,
    /// Asthma (3.2.3).
    Asthma,
    /// AV block (3.2.3).
    AvBlock,
    /// Hours since caffeine (3.2.3).
    Caffeine,
    /// Hours since dipyridamole (3.2.3).
    Dipyridamole,
    /// On dialysis (the reduced gadolinium maximum, no ACR group I agent).
    Dialysis,
    /// Acute kidney injury (the reduced gadolinium maximum, no ACR group I agent).
    AcuteKidneyInjury,
}

impl Fact {
    /// Every fact, in order.
    pub const ALL: [Fact; 12] = [
        Fact::Egfr,
        Fact::EgfrDate,
        Fact::Dialysis,
        Fact::AcuteKidneyInjury,
        Fact::Pregnancy,
        Fact::Claustrophobia,
        Fact::Unstable,
        Fact::ContrastAllergy,
        Fact::Asthma,
        Fact::AvBlock,
        Fact::Caffeine,
        Fact::Dipyridamole,
    ];

    /// Fluent key of the fact's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Fact::Egfr => "fact-egfr",
            Fact::EgfrDate => "fact-egfr-date",
            Fact::Pregnancy => "fact-pregnancy",
            Fact::Claustrophobia => "fact-claustrophobia",
            Fact::Unstable => "fact-unstable",
            Fact::ContrastAllergy => "fact-contrast-allergy",
            Fact::Asthma => "fact-asthma",
            Fact::AvBlock => "fact-av-block",
            Fact::Caffeine => "fact-caffeine",
            Fact::Dipyridamole => "fact-dipyridamole",
            Fact::Dialysis => "fact-dialysis",
            Fact::AcuteKidneyInjury => "fact-aki",
        }
    }
}

/// How a fact is answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FactValue {
    /// Yes or no.
    YesNo(bool),
    /// A claustrophobia grade.
    Grade(Claustrophobia),
    /// Hours since the last dose (`None`: none taken).
    Hours(Option<f64>),
}

/// How a fact is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKind {
    /// A number typed on the keypad (eGFR and its date): not a choice.
    Number,
    /// Yes / No.
    YesNo,
    /// None / Mild / Severe.
    Grade,
    /// None / hours ago (typed on the keypad).
    Hours,
}

impl Fact {
    /// How the fact is asked.
    pub fn kind(self) -> FactKind {
        match self {
            Fact::Egfr | Fact::EgfrDate => FactKind::Number,
            Fact::Claustrophobia => FactKind::Grade,
            Fact::Caffeine | Fact::Dipyridamole => FactKind::Hours,
            Fact::Pregnancy
            | Fact::Unstable
            | Fact::ContrastAllergy
            | Fact::Asthma
            | Fact::AvBlock
            | Fact::Dialysis
            | Fact::AcuteKidneyInjury => FactKind::YesNo,
        }
    }

    /// Whether the fact is asked of a patient of this sex: first-trimester pregnancy
    /// is not asked when the registered sex is male.
    pub fn asked_of(self, sex: Option<Sex>) -> bool {
        !(self == Fact::Pregnancy && sex == Some(Sex::Male))
    }

    /// Whether the fact needs a deliberate choice by staff (every fact but the
    /// eGFR and its date, which are numbers whose absence is a rule of its own).
    pub fn needs_choice(self) -> bool {
        self.kind() != FactKind::Number
    }
}

/// The staff's deliberate choices, fact by fact; a fact not in it is unanswered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactForm {
    values: HashMap<Fact, FactValue>,
}

impl FactForm {
    /// The choice recorded for `fact`, if any.
    pub fn get(&self, fact: Fact) -> Option<FactValue> {
        self.values.get(&fact).copied()
    }

    /// Records a choice (a value of the wrong kind for the fact is ignored).
    pub fn set(&mut self, fact: Fact, value: FactValue) {
        let fits = matches!(
            (fact.kind(), value),
            (FactKind::YesNo, FactValue::YesNo(_))
                | (FactKind::Grade, FactValue::Grade(_))
                | (FactKind::Hours, FactValue::Hours(_))
        );
        if fits {
            self.values.insert(fact, value);
        }
    }

    /// Every fact in a form where all are answered as in `answers` (demonstrations;
    /// an exam resumed after a restart is answered again by hand).
    pub fn answered_as(answers: &ScreeningAnswers) -> FactForm {
        let mut form = FactForm::default();
        for fact in Fact::ALL {
            let value = match fact {
                Fact::Egfr | Fact::EgfrDate => continue,
                Fact::Pregnancy => FactValue::YesNo(answers.pregnancy_first_trimester),
                Fact::Claustrophobia => FactValue::Grade(answers.claustrophobia),
                Fact::Unstable => FactValue::YesNo(answers.haemodynamically_unstable),
                Fact::ContrastAllergy => FactValue::YesNo(answers.contrast_allergy),
                Fact::Asthma => FactValue::YesNo(answers.asthma),
                Fact::AvBlock => FactValue::YesNo(answers.av_block),
                Fact::Caffeine => FactValue::Hours(answers.caffeine_hours_ago),
                Fact::Dipyridamole => FactValue::Hours(answers.dipyridamole_hours_ago),
                Fact::Dialysis => FactValue::YesNo(answers.dialysis),
                Fact::AcuteKidneyInjury => FactValue::YesNo(answers.acute_kidney_injury),
            };
            form.set(fact, value);
        }
        form
    }

    /// The facts asked of a patient of this sex that have no choice yet, in order.
    pub fn unanswered(&self, sex: Option<Sex>) -> Vec<Fact> {
        Fact::ALL
            .into_iter()
            .filter(|f| f.needs_choice() && f.asked_of(sex) && self.get(*f).is_none())
            .collect()
    }

    /// The answers the rules read: each choice laid over `base` (the answers
    /// recorded so far, e.g. the patient's own, read conservatively); a fact not
    /// asked of this patient is no; an unanswered fact keeps `base`'s value.
    pub fn apply(&self, base: &ScreeningAnswers, sex: Option<Sex>) -> ScreeningAnswers {
        let mut a = base.clone();
        if !Fact::Pregnancy.asked_of(sex) {
            a.pregnancy_first_trimester = false;
        }
        for (&fact, &value) in &self.values {
            match (fact, value) {
                (Fact::Pregnancy, FactValue::YesNo(b)) if fact.asked_of(sex) => {
                    a.pregnancy_first_trimester = b
                }
                (Fact::Unstable, FactValue::YesNo(b)) => a.haemodynamically_unstable = b,
                (Fact::ContrastAllergy, FactValue::YesNo(b)) => a.contrast_allergy = b,
                (Fact::Asthma, FactValue::YesNo(b)) => a.asthma = b,
                (Fact::AvBlock, FactValue::YesNo(b)) => a.av_block = b,
                (Fact::Dialysis, FactValue::YesNo(b)) => a.dialysis = b,
                (Fact::AcuteKidneyInjury, FactValue::YesNo(b)) => a.acute_kidney_injury = b,
                (Fact::Claustrophobia, FactValue::Grade(g)) => a.claustrophobia = g,
                (Fact::Caffeine, FactValue::Hours(h)) => a.caffeine_hours_ago = h,
                (Fact::Dipyridamole, FactValue::Hours(h)) => a.dipyridamole_hours_ago = h,
                _ => {}
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_fact_starts_unanswered_and_pregnancy_is_not_asked_of_a_man() {
        let form = FactForm::default();
        let women = form.unanswered(Some(Sex::Female));
        assert_eq!(women.len(), 10);
        assert!(women.contains(&Fact::Pregnancy));
        let men = form.unanswered(Some(Sex::Male));
        assert_eq!(men.len(), 9);
        assert!(!men.contains(&Fact::Pregnancy));
    }

    #[test]
    fn choices_are_laid_over_the_recorded_answers() {
        let base = ScreeningAnswers {
            pregnancy_first_trimester: true,
            asthma: true,
            ..Default::default()
        };
        let mut form = FactForm::default();
        form.set(Fact::Asthma, FactValue::YesNo(false));
        form.set(Fact::Caffeine, FactValue::Hours(Some(3.0)));
        form.set(Fact::Asthma, FactValue::Grade(Claustrophobia::Severe)); // wrong kind
        let a = form.apply(&base, Some(Sex::Female));
        assert!(!a.asthma);
        assert!(
            a.pregnancy_first_trimester,
            "unanswered keeps the recorded yes"
        );
        assert_eq!(a.caffeine_hours_ago, Some(3.0));
        assert!(!form.apply(&base, Some(Sex::Male)).pregnancy_first_trimester);
        let all = FactForm::answered_as(&a);
        assert!(all.unanswered(Some(Sex::Female)).is_empty());
        assert_eq!(
            all.apply(&ScreeningAnswers::default(), Some(Sex::Female)),
            a
        );
    }
}
