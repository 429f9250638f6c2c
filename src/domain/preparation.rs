//! Patient preparation the nurse confirms before sign-off (2.2.1, 2.2.2), and the
//! review of the patient's own answers. Pure data: the exam keeps which items were
//! confirmed and refuses sign-off while any is open.

use serde::{Deserialize, Serialize};

/// One item the nurse confirms before handing the exam to the technologist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrepItem {
    /// The patient's self-report was reviewed and confirmed item by item.
    AnswersReviewed,
    /// Skin cleaned where the electrodes go (2.2.2).
    SkinCleaned,
    /// Electrodes with conductive gel (2.2.2).
    ElectrodeGel,
    /// Electrodes placed off the ribs and breast tissue (2.2.2).
    AvoidRibsBreast,
    /// Electrodes no more than 15 cm apart (2.2.2).
    ElectrodesWithin15cm,
    /// Earplugs or headphones in place (2.2.1).
    Earplugs,
    /// Supine, head first, coil centred on the heart, call bell in hand (2.2.1).
    Positioning,
}

impl PrepItem {
    /// Every item, in the order the checklist shows them.
    pub const ALL: [PrepItem; 7] = [
        PrepItem::AnswersReviewed,
        PrepItem::SkinCleaned,
        PrepItem::ElectrodeGel,
        PrepItem::AvoidRibsBreast,
        PrepItem::ElectrodesWithin15cm,
        PrepItem::Earplugs,
        PrepItem::Positioning,
    ];

    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PrepItem::AnswersReviewed => "answers_reviewed",
            PrepItem::SkinCleaned => "skin_cleaned",
            PrepItem::ElectrodeGel => "electrode_gel",
            PrepItem::AvoidRibsBreast => "avoid_ribs_breast",
            PrepItem::ElectrodesWithin15cm => "electrodes_within_15cm",
            PrepItem::Earplugs => "earplugs",
            PrepItem::Positioning => "positioning",
        }
    }

    /// The standard's clause the item comes from.
    pub fn clause(self) -> &'static str {
        match self {
            PrepItem::AnswersReviewed => "2.1.2",
            PrepItem::SkinCleaned
            | PrepItem::ElectrodeGel
            | PrepItem::AvoidRibsBreast
            | PrepItem::ElectrodesWithin15cm => "2.2.2",
            PrepItem::Earplugs | PrepItem::Positioning => "2.2.1",
        }
    }
}

/// A patient's own answer on the kiosk's self-report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfAnswer {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Not sure (read as yes by the rules, flagged for the nurse).
    NotSure,
}

/// One question of the patient's self-report as answered, kept for the nurse's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfReportItem {
    /// The question's stable name (e.g. `implants`).
    pub question: String,
    /// The patient's answer.
    pub answer: SelfAnswer,
    /// Whether the nurse must look at it: the patient was not sure, or staff must add
    /// a detail only they can give (device label, hours since caffeine …).
    pub needs_review: bool,
}
