//! What leaves the kiosk when an exam is finished (issue 15), built from its
//! [`ExamRecord`]: the technique section as an HL7 ORU^R01 queued for the RIS (the
//! outbox sends it, across restarts), and the imaging-agent SR stored to the PACS.
//! Every piece can be produced again from the log with `cmr-kiosk report`.

use chrono::{FixedOffset, NaiveDateTime};

use super::hl7::RisReport;
use super::record::ExamRecord;
use super::sections::{ReportSite, sections};
use super::sr::{
    AgentAdministration, DoseChange, GadoliniumInjection, PatientSex, SrPatient,
    StressAdministration,
};
use crate::config::{Config, Language, RisConfig};
use crate::domain::exam::ExamEvent;
use crate::domain::screening::Sex;
use crate::domain::stress::{StressDose, StressDrug};
use crate::domain::time::Instant;
use crate::i18n::Localizer;
use crate::store::Store;

/// The local wall-clock time of exam time `at`.
fn local_at(record: &ExamRecord, at: Instant, offset: FixedOffset) -> NaiveDateTime {
    record.wall_at(at).with_timezone(&offset).naive_local()
}

/// The HL7 report of `record` for the RIS, worded in `lang`; `None` without an
/// accession number (the RIS files reports by order: an exam registered by hand has
/// none, and its report is printed or exported instead).
pub fn ris_report(
    loc: &Localizer,
    lang: Language,
    site: &ReportSite,
    record: &ExamRecord,
    config: &RisConfig,
    offset: FixedOffset,
) -> Option<RisReport> {
    let reg = record.registration.as_ref()?;
    let order = reg.order.as_ref()?;
    let today = record.opened.with_timezone(&offset).date_naive();
    let s = sections(loc, lang, site, record, today, offset);
    Some(RisReport {
        patient_id: reg.patient_id.clone(),
        patient_name: reg.name.clone(),
        sex: Some(reg.sex),
        birth_date: Some(reg.birth_date),
        accession: order.accession.clone(),
        study_instance_uid: (!order.study_uid.is_empty()).then(|| order.study_uid.clone()),
        exam_id: record.exam.0,
        exam_started: record.opened.with_timezone(&offset).naive_local(),
        training: record.training,
        correction: false,
        title: s.technique.heading.clone(),
        lines: s.technique.items.clone(),
        settings: super::hl7::OruSettings::from_config(config),
    })
}

/// The imaging-agent SR's content from `record`: each gadolinium injection (voided
/// ones with their reason) and each stress-drug run; `None` when the exam has no
/// study instance UID to join (no worklist order) and `study_uid` gives none.
pub fn agent_administration(
    record: &ExamRecord,
    site: &ReportSite,
    study_uid: Option<&str>,
    offset: FixedOffset,
) -> Option<AgentAdministration> {
    let exam = &record.replayed;
    let reg = record.registration.as_ref();
    let study = study_uid
        .map(str::to_owned)
        .or_else(|| {
            reg.and_then(|r| r.order.as_ref())
                .map(|o| o.study_uid.clone())
        })
        .filter(|u| !u.is_empty())?;
    let agents = &exam.settings().agents;
    let mut injections = Vec::new();
    if let Some(ledger) = exam.ledger() {
        let voided = ledger
            .voided()
            .iter()
            .map(|v| (&v.injection, Some(&v.reason)));
        let given = ledger.injections().iter().map(|i| (i, None));
        let mut all: Vec<_> = given.chain(voided).collect();
        all.sort_by_key(|(i, _)| i.at);
        for (i, void) in all {
            let info = agents.get(i.agent);
            injections.push(GadoliniumInjection {
                brand: info
                    .map(|a| {
                        a.brands
                            .split([',', '/'])
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_string()
                    })
                    .unwrap_or_default(),
                generic_name: info.map(|a| a.generic_name.clone()).unwrap_or_default(),
                concentration_mmol_ml: info.map_or(0.0, |a| a.mmol_per_ml),
                volume_ml: i.volume_ml,
                rate_ml_s: (i.rate_ml_s > 0.0).then_some(i.rate_ml_s),
                start: local_at(record, i.at, offset),
                purpose: super::key_for("", &i.purpose)
                    .trim_start_matches('-')
                    .replace('_', " "),
                voided: void.cloned(),
            });
        }
    }
    let mut stress = Vec::new();
    for run in exam.stress().runs() {
        match (run.drug, run.dose) {
            (StressDrug::Adenosine, StressDose::UgKgMin(rate)) => {
                let escalations = record
                    .events()
                    .filter(|(r, _)| {
                        r.at >= run.started_at && run.stopped_at.is_none_or(|s| r.at <= s)
                    })
                    .filter_map(|(r, e)| match e {
                        ExamEvent::StressEscalated { dose_ug_kg_min, .. } => Some(DoseChange {
                            at: local_at(record, r.at, offset),
                            rate_ug_kg_min: dose_ug_kg_min
                                .or(run.max_dose_ug_kg_min)
                                .unwrap_or(rate),
                        }),
                        _ => None,
                    })
                    .collect();
                stress.push(StressAdministration::Adenosine {
                    start: local_at(record, run.started_at, offset),
                    end: run.stopped_at.map(|s| local_at(record, s, offset)),
                    rate_ug_kg_min: rate,
                    escalations,
                });
            }
            (StressDrug::Regadenoson, StressDose::Mg(mg)) => {
                stress.push(StressAdministration::Regadenoson {
                    at: local_at(record, run.started_at, offset),
                    dose_mg: mg,
                });
            }
            _ => {}
        }
    }
    let patient = match reg {
        Some(r) => SrPatient {
            id: r.patient_id.clone(),
            name: r.name.clone(),
            sex: match r.sex {
                Sex::Male => PatientSex::Male,
                Sex::Female => PatientSex::Female,
                Sex::Other => PatientSex::Other,
            },
            birth_date: Some(r.birth_date),
        },
        None => SrPatient {
            id: format!("TRAINING-{}", &record.exam.to_string()[..8]),
            name: "TRAINING^EXAM".into(),
            sex: PatientSex::Other,
            birth_date: None,
        },
    };
    Some(AgentAdministration {
        patient,
        study_instance_uid: study,
        accession: reg
            .and_then(|r| r.order.as_ref())
            .map(|o| o.accession.clone()),
        exam_id: record.exam.to_string(),
        training: record.training,
        observer: exam
            .finished()
            .map(|f| f.by.clone())
            .unwrap_or_else(|| "cmr-kiosk".into()),
        content_datetime: local_at(record, record.end, offset),
        institution: (!site.institution.is_empty()).then(|| site.institution.clone()),
        device_serial: record.device.clone(),
        injections,
        stress,
    })
}

/// What finishing sent, in words for the console and the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// The RIS message: queued (`Some(true)`), already queued (`Some(false)`), or
    /// not sent (no RIS or no order: `None`).
    pub ris_queued: Option<bool>,
    /// The SR: stored to the PACS (`Ok`), refused (`Err(reason)`), or not sent.
    pub sr: Option<Result<String, String>>,
}

/// What a finished exam sends: the ORU into the RIS outbox (the outbox sender
/// delivers it; a quick local write, safe on the recorder's thread) and the SR to the
/// PACS ([`sr_to_pacs`]: network, so never on the recorder's thread). Failures are
/// returned, never panicked on; the caller logs them.
pub async fn at_finish(
    store: &Store,
    config: &Config,
    record: &ExamRecord,
    offset: FixedOffset,
) -> Delivered {
    Delivered {
        ris_queued: queue_for_ris(store, config, record, offset).await,
        sr: sr_to_pacs(config, record, offset).await,
    }
}

/// Queues the ORU of `record` in the RIS outbox when a RIS is configured and the exam
/// has an order: `Some(true)` queued, `Some(false)` already queued, `None` not sent.
pub async fn queue_for_ris(
    store: &Store,
    config: &Config,
    record: &ExamRecord,
    offset: FixedOffset,
) -> Option<bool> {
    if config.ris.address.is_empty() {
        return None;
    }
    let site = ReportSite {
        institution: config.institution.name.clone(),
    };
    // Worded before any await (the localizer stays on this side).
    let report = Localizer::embedded()
        .ok()
        .and_then(|loc| ris_report(&loc, config.ui.language, &site, record, &config.ris, offset))?;
    let now = chrono::Utc::now().with_timezone(&offset).naive_local();
    match super::ris::enqueue(store, &report, now).await {
        Ok(e) => Some(e.new),
        Err(e) => {
            tracing::error!("the RIS message could not be queued: {e}");
            None
        }
    }
}

/// Stores the SR of `record` to the configured PACS; `None` when no PACS is set or the
/// exam has no study to join.
pub async fn sr_to_pacs(
    config: &Config,
    record: &ExamRecord,
    offset: FixedOffset,
) -> Option<Result<String, String>> {
    let site = ReportSite {
        institution: config.institution.name.clone(),
    };
    match config.dicom.pacs.peer() {
        Ok(Some(peer)) => {
            let input = agent_administration(record, &site, None, offset)?;
            Some(send_sr(&config.dicom.node.ae_title, &peer, &input).await)
        }
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    }
}

/// Builds the SR and stores it to `peer`; its SOP instance UID when kept.
pub async fn send_sr(
    calling: &str,
    peer: &crate::dicom::node::Peer,
    input: &AgentAdministration,
) -> Result<String, String> {
    let object = super::sr::build(input).map_err(|e| e.to_string())?;
    let uid = super::sr::uids(input).map_err(|e| e.to_string())?.instance;
    crate::dicom::node::client::store(calling, peer, &object)
        .await
        .map_err(|e| e.to_string())?;
    Ok(uid)
}
