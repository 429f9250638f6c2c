//! `cmr-kiosk dicom echo|worklist|listen`: the DICOM node for installers — verify a
//! peer, print today's worklist, run the image receiver alone.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::NaiveDate;

use crate::config::Config;
use crate::dicom::node::{self, Counters, NodeEvent, Peer, Receiver, ReceiverSettings};
use crate::dicom::watch::{FolderWatch, WatchEvent};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")
}

/// `dicom echo AE@HOST:PORT`: C-ECHO as the kiosk's AE title. Exit status 2 when
/// the peer does not answer "success".
pub fn echo(config: &Config, peer: &str) -> anyhow::Result<ExitCode> {
    let peer: Peer = peer.parse()?;
    let calling = config.dicom.node.ae_title.clone();
    match runtime()?.block_on(node::client::echo(&calling, &peer)) {
        Ok(rtt) => {
            println!(
                "{}@{}:{} answered C-ECHO in {:.1} ms (calling AE {calling})",
                peer.ae_title,
                peer.host,
                peer.port,
                rtt.as_secs_f64() * 1e3
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "cmr-kiosk: {}@{}:{}: {e}",
                peer.ae_title, peer.host, peer.port
            );
            Ok(ExitCode::from(2))
        }
    }
}

/// `dicom worklist [--date D] [--json] [--provider AE@HOST:PORT]`: the scheduled
/// procedures for the day, as a table or JSON. Exit status 2 when the provider
/// cannot be asked.
pub fn worklist(
    config: &Config,
    date: Option<&str>,
    json: bool,
    provider: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let w = &config.dicom.worklist;
    let configured = w
        .peer()
        .map_err(|e| anyhow::anyhow!("dicom.worklist.tls_ca_file: {e}"))?;
    let mut peer = match (provider, configured) {
        (Some(p), _) => {
            let mut peer = p.parse::<Peer>()?;
            // The configured CA applies to a provider named on the command line too.
            if !w.tls_ca_file.is_empty() {
                let ca = std::path::Path::new(&w.tls_ca_file);
                let tls = crate::audit::relay::ca_client_config(ca)
                    .map_err(|e| anyhow::anyhow!("dicom.worklist.tls_ca_file: {e}"))?;
                peer.tls = Some(Arc::new(tls));
            }
            peer
        }
        (None, Some(p)) => p,
        (None, None) => {
            bail!("no worklist provider: set dicom.worklist.provider or --provider")
        }
    };
    peer.timeout = std::time::Duration::from_secs_f64(w.timeout_s);
    let today = chrono::Local::now().date_naive();
    let date = match date {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(d, "%Y%m%d"))
            .with_context(|| format!("--date {d:?} is not YYYY-MM-DD"))?,
        None => today,
    };
    let query = node::WorklistQuery {
        date,
        station_ae: w.station_ae.clone(),
        modality: w.modality.clone(),
    };
    let calling = config.dicom.node.ae_title.clone();
    match runtime()?.block_on(node::client::worklist(&calling, &peer, &query)) {
        Ok(items) => {
            if json {
                let mut rules = w.procedure_rules.clone();
                rules.extend(node::worklist::builtin_procedure_rules());
                let out: Vec<serde_json::Value> = items
                    .iter()
                    .map(|i| {
                        let mut v = serde_json::to_value(i).unwrap_or_default();
                        v["display_name"] = serde_json::json!(i.display_name());
                        v["age"] = serde_json::json!(i.age_on(today));
                        v["suggested_exam"] =
                            serde_json::json!(node::worklist::suggested_exam(i, &rules));
                        v
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", node::worklist::render_table(&items, today));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("cmr-kiosk: worklist from {}: {e}", peer.ae_title);
            Ok(ExitCode::from(2))
        }
    }
}

/// `dicom listen [--listen ADDR] [--store DIR] [--seconds S]`: the receiver alone;
/// prints one JSON line per association event and per settled series.
pub fn listen(
    config: &Config,
    listen: Option<&str>,
    store: Option<PathBuf>,
    seconds: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let n = &config.dicom.node;
    let listen = listen.unwrap_or(&n.listen).to_string();
    if listen.is_empty() {
        bail!("no address to listen on: set dicom.node.listen or --listen");
    }
    let store = match store {
        Some(s) => s,
        None if !config.dicom.incoming.is_empty() => PathBuf::from(&config.dicom.incoming),
        None => bail!("no folder to store into: set dicom.incoming or --store"),
    };
    let rules = if config.dicom.rules.is_empty() {
        crate::dicom::Rules::builtin()
    } else {
        crate::dicom::Rules::builtin_with_site_file(std::path::Path::new(&config.dicom.rules))?
    };
    let poll = std::time::Duration::from_secs_f64(config.dicom.poll_interval_s);
    let settings = ReceiverSettings {
        ae_title: n.ae_title.clone(),
        callers: n.callers.clone(),
        store: store.clone(),
        keep_bytes: n.keep_mib * 1024 * 1024,
        idle: node::receiver::ASSOCIATION_IDLE,
        discard_after: n.discard_after(),
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let counters = Arc::new(Counters::default());
        let (tx, mut rx) = tokio::sync::mpsc::channel(node::receiver::EVENT_QUEUE);
        let receiver = Receiver::new(settings, counters.clone(), tx)
            .with_context(|| format!("the store folder {}", store.display()))?;
        eprintln!(
            "listening on {} as {} (store {})",
            listener.local_addr()?,
            n.ae_title,
            store.display()
        );
        tokio::spawn(receiver.serve(listener));
        let mut watch = FolderWatch::new(&store, rules);
        let mut tick = tokio::time::interval(poll);
        let deadline =
            seconds.map(|s| tokio::time::Instant::now() + std::time::Duration::from_secs_f64(s));
        loop {
            tokio::select! {
                Some(ev) = rx.recv() => println!("{}", event_json(&ev)),
                _ = tick.tick() => {
                    let (w, events) = tokio::task::spawn_blocking(move || {
                        let ev = watch.poll();
                        (watch, ev)
                    })
                    .await?;
                    watch = w;
                    for ev in events {
                        println!("{}", watch_json(&ev));
                    }
                }
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        let [
            associations,
            rejected,
            aborted,
            stored,
            refused,
            echoes,
            removed,
        ] = counters.snapshot();
        eprintln!(
            "associations {associations}, rejected {rejected}, aborted {aborted}, stored \
             {stored}, refused {refused}, echoes {echoes}, studies removed {removed}"
        );
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// One receiver event as a JSON line.
pub fn event_json(ev: &NodeEvent) -> serde_json::Value {
    use serde_json::json;
    match ev {
        NodeEvent::Accepted { peer, calling } => {
            json!({"event": "accepted", "peer": peer.to_string(), "calling": calling})
        }
        NodeEvent::Rejected { peer, reason } => {
            json!({"event": "rejected", "peer": peer.to_string(), "reason": reason})
        }
        NodeEvent::Aborted {
            peer,
            calling,
            reason,
        } => {
            json!({"event": "aborted", "peer": peer.to_string(), "calling": calling, "reason": reason})
        }
        NodeEvent::Stored {
            calling,
            file,
            sop_class,
            sop_instance,
            transfer_syntax,
            bytes,
        } => json!({"event": "stored", "calling": calling, "file": file, "sop_class": sop_class,
                    "sop_instance": sop_instance, "transfer_syntax": transfer_syntax,
                    "bytes": bytes}),
        NodeEvent::Refused {
            calling,
            sop_instance,
            status,
            reason,
        } => json!({"event": "refused", "calling": calling, "sop_instance": sop_instance,
                    "status": format!("{status:#06x}"), "reason": reason}),
        NodeEvent::Echo { calling } => json!({"event": "echo", "calling": calling}),
        NodeEvent::Removed { study, bytes } => {
            json!({"event": "removed", "study": study, "bytes": bytes})
        }
    }
}

fn watch_json(ev: &WatchEvent) -> serde_json::Value {
    use serde_json::json;
    match ev {
        WatchEvent::Series { report, .. } => json!({
            "event": "series",
            "series_uid": report.summary.series_uid,
            "number": report.summary.number,
            "description": report.summary.description,
            "files": report.summary.files,
            "classification": format!("{:?}", report.classification),
        }),
        WatchEvent::Skipped(f) => json!({"event": "skipped", "file": f.file, "detail": f.detail}),
        WatchEvent::FolderError(e) => json!({"event": "folder_error", "detail": e}),
    }
}
