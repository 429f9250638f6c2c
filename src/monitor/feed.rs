//! The kiosk's live monitor feed: runs the configured link (or, with nothing
//! configured, the built-in simulator in-process) on a tokio runtime in its own
//! thread, and hands each [`LinkEvent`] to the UI thread.

use std::time::Duration;

use tokio::io::duplex;

use crate::config::{MonitorConfig, MonitorSource};
use crate::monitor::link::{self, LinkEvent, LinkSettings, SerialSettings};
use crate::monitor::profile::DeviceProfile;
use crate::monitor::sim::{self, Profile, SimConfig};

/// A running feed; dropping it stops the runtime thread.
pub struct MonitorFeed {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    drug: Option<sim::DrugCue>,
}

impl std::fmt::Debug for MonitorFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorFeed").finish_non_exhaustive()
    }
}

fn settings(cfg: &MonitorConfig) -> LinkSettings {
    match DeviceProfile::builtin(&cfg.device_profile) {
        Ok(p) if !cfg.device_profile.is_empty() => p.link_settings(),
        _ => LinkSettings::for_protocol(cfg.protocol),
    }
}

impl MonitorFeed {
    /// Starts the feed described by `cfg`; `deliver` is called (on the feed's thread)
    /// for every link event.
    pub fn start(
        cfg: MonitorConfig,
        deliver: impl Fn(LinkEvent) + Send + 'static,
    ) -> std::io::Result<MonitorFeed> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let drug = (cfg.source == MonitorSource::Simulated).then(sim::DrugCue::default);
        let drug_for_sim = drug.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("monitor-feed".into())
            .spawn(move || {
                rt.block_on(async move {
                    let settings = settings(&cfg);
                    let mut link = match cfg.source {
                        MonitorSource::Simulated => {
                            let (kiosk_end, monitor_end) = duplex(64 * 1024);
                            let profile = Profile::from_name(&cfg.simulator_profile)
                                .unwrap_or(Profile::Resting);
                            let protocol = cfg.protocol;
                            let drug = drug_for_sim.clone();
                            tokio::spawn(async move {
                                let mut sim_cfg = SimConfig::new(profile);
                                sim_cfg.drug = drug;
                                let result = match protocol {
                                    crate::monitor::Protocol::Hl7 => {
                                        sim::run_hl7_simulator(monitor_end, sim_cfg).await
                                    }
                                    crate::monitor::Protocol::Intellivue => {
                                        sim::run_intellivue_simulator(monitor_end, sim_cfg).await
                                    }
                                };
                                if let Err(e) = result {
                                    tracing::warn!("built-in monitor simulator stopped: {e}");
                                }
                            });
                            link::start_on_stream(kiosk_end, "built-in simulator", settings)
                        }
                        MonitorSource::Serial => {
                            let mut serial = SerialSettings::new(cfg.port.clone(), cfg.baud);
                            serial.parity = cfg.parity;
                            serial.flow_control = cfg.flow_control;
                            link::start_serial(serial, settings)
                        }
                        MonitorSource::Tcp => {
                            match tokio::net::TcpListener::bind(&cfg.tcp_listen).await {
                                Ok(listener) => link::start_tcp_listener(
                                    listener,
                                    settings,
                                    cfg.listener_limits(),
                                ),
                                Err(e) => {
                                    deliver(LinkEvent::Disconnected {
                                        peer: cfg.tcp_listen.clone(),
                                        reason: format!("cannot listen: {e}"),
                                    });
                                    let _ = stop_rx.await;
                                    return;
                                }
                            }
                        }
                    };
                    let mut stop_rx = stop_rx;
                    loop {
                        tokio::select! {
                            ev = link.recv() => match ev {
                                Some(ev) => deliver(ev),
                                None => tokio::time::sleep(Duration::from_millis(200)).await,
                            },
                            _ = &mut stop_rx => break,
                        }
                    }
                });
            })?;
        Ok(MonitorFeed {
            stop: Some(stop_tx),
            thread: Some(thread),
            drug,
        })
    }

    /// For the built-in simulator: tell it whether the stress drug acts now, so the
    /// simulated patient responds to the kiosk's own stress start and stop.
    pub fn set_drug_active(&self, active: bool) {
        if let Some(d) = &self.drug {
            d.set(active);
        }
    }

    /// The simulator's drug cue (`None` for a real monitor).
    pub fn drug_cue(&self) -> Option<sim::DrugCue> {
        self.drug.clone()
    }
}

impl Drop for MonitorFeed {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the status bar shows of the live feed: the latest HR and NIBP as text (empty
/// while stale or never received) and the link state. Pure: fed with link events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VitalsBoard {
    hr: Option<f64>,
    sys: Option<f64>,
    dia: Option<f64>,
    spo2: Option<f64>,
    /// When the shown NIBP was measured, on the kiosk's monotonic clock.
    nibp_since: Option<std::time::Instant>,
    /// The monitor's own time stamp of that measurement (a repeated reading with
    /// the same stamp is the same measurement and does not make it younger).
    nibp_observed: Option<chrono::NaiveDateTime>,
    /// "Monitor data lost" is raised.
    pub lost: bool,
    /// A session is up (real monitors).
    pub connected: bool,
}

impl VitalsBoard {
    /// Applies one link event.
    pub fn apply(&mut self, ev: &LinkEvent) {
        use crate::monitor::Measure;
        use crate::monitor::watchdog::WatchdogEvent;
        match ev {
            LinkEvent::Reading(r) => match r.reading.measure {
                Measure::Hr => self.hr = Some(r.reading.value),
                Measure::NibpSys => {
                    let repeated = r.reading.observed_at.is_some()
                        && r.reading.observed_at == self.nibp_observed;
                    if !repeated || self.nibp_since.is_none() {
                        self.nibp_since = Some(r.received_instant.into_std());
                    }
                    self.nibp_observed = r.reading.observed_at;
                    self.sys = Some(r.reading.value);
                }
                Measure::NibpDia => self.dia = Some(r.reading.value),
                Measure::Spo2 => self.spo2 = Some(r.reading.value),
                _ => {}
            },
            LinkEvent::Connected { .. } => self.connected = true,
            LinkEvent::Disconnected { .. } => self.connected = false,
            LinkEvent::Watchdog(WatchdogEvent::Stale { measure, .. }) => match measure {
                Measure::Hr => self.hr = None,
                Measure::NibpSys => self.sys = None,
                Measure::NibpDia => self.dia = None,
                Measure::Spo2 => self.spo2 = None,
                _ => {}
            },
            LinkEvent::Watchdog(WatchdogEvent::DataLost) => self.lost = true,
            LinkEvent::Watchdog(WatchdogEvent::DataRestored) => self.lost = false,
            _ => {}
        }
    }

    /// Heart rate as digits, or empty.
    pub fn hr_text(&self) -> String {
        self.hr.map(|v| format!("{v:.0}")).unwrap_or_default()
    }

    /// SpO2 (%) as digits, or empty.
    pub fn spo2_text(&self) -> String {
        self.spo2.map(|v| format!("{v:.0}")).unwrap_or_default()
    }

    /// Whole minutes since the shown NIBP was measured (NIBP is a spot measurement
    /// every 1–5 min, so its age is always shown).
    pub fn nibp_age_minutes(&self, now: std::time::Instant) -> Option<u64> {
        if self.bp_text().is_empty() {
            return None;
        }
        self.nibp_since
            .map(|t| now.saturating_duration_since(t).as_secs() / 60)
    }

    /// Systolic/diastolic as digits, or empty.
    pub fn bp_text(&self) -> String {
        match (self.sys, self.dia) {
            (Some(s), Some(d)) => format!("{s:.0}/{d:.0}"),
            _ => String::new(),
        }
    }
}

/// The exam event a link event becomes: readings feed the stress protocol's baseline
/// and criteria; "data lost" and "restored" feed its monitor-loss alarm.
pub fn exam_event(ev: &LinkEvent) -> Option<crate::domain::ExamEvent> {
    use crate::domain::ExamEvent;
    use crate::domain::stress::Vitals;
    use crate::monitor::Measure;
    use crate::monitor::watchdog::WatchdogEvent;
    match ev {
        LinkEvent::Reading(r) => {
            let v = Some(r.reading.value);
            let vitals = match r.reading.measure {
                Measure::Hr => Vitals {
                    hr: v,
                    ..Default::default()
                },
                Measure::NibpSys => Vitals {
                    sbp: v,
                    ..Default::default()
                },
                Measure::NibpDia => Vitals {
                    dbp: v,
                    ..Default::default()
                },
                Measure::NibpMean => Vitals {
                    map: v,
                    ..Default::default()
                },
                Measure::Spo2 => Vitals {
                    spo2: v,
                    ..Default::default()
                },
                Measure::PulseRate => return None,
            };
            Some(ExamEvent::VitalsReading { vitals })
        }
        LinkEvent::Watchdog(WatchdogEvent::DataLost) => Some(ExamEvent::MonitorDataLost),
        LinkEvent::Watchdog(WatchdogEvent::DataRestored) => Some(ExamEvent::MonitorDataRestored),
        _ => None,
    }
}
