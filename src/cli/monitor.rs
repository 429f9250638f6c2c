//! `cmr-kiosk monitor listen|simulate`: installer diagnostics for the monitor link.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::monitor::Protocol;
use crate::monitor::link::{self, LinkEvent, LinkSettings, SerialSettings};
use crate::monitor::sim::{self, Fault, Profile, ScheduledFault, SimConfig};

/// Monitor subcommands.
#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Read a monitor and print one JSON object per reading; on exit, print the counts
    /// of good and bad frames by reason (to stderr).
    Listen(ListenArgs),
    /// Behave as a monitor on the wire (HL7 sender or IntelliVue MIB port).
    Simulate(SimulateArgs),
}

/// Where `listen` reads.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Serial device path (e.g. /dev/serial/by-id/…).
    #[arg(long, conflicts_with = "tcp", required_unless_present = "tcp")]
    port: Option<PathBuf>,
    /// Serial speed.
    #[arg(long, default_value_t = 115_200, value_parser = parse_baud)]
    baud: u32,
    /// Listen for HL7 over TCP on this address (the monitor or gateway connects).
    #[arg(long, value_name = "ADDR")]
    tcp: Option<String>,
    /// hl7 or intellivue.
    #[arg(long)]
    protocol: String,
    /// Stop after this many seconds (default: until interrupted; at most a week).
    #[arg(long, value_parser = parse_seconds)]
    seconds: Option<f64>,
}

/// How `simulate` reaches the kiosk.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// hl7 or intellivue.
    #[arg(long)]
    protocol: String,
    /// Create a pseudo-terminal pair and print the device path the kiosk should open.
    #[arg(long, conflicts_with_all = ["port", "connect"])]
    pty: bool,
    /// Write to this serial device.
    #[arg(long, conflicts_with = "connect")]
    port: Option<PathBuf>,
    /// Serial speed for --port.
    #[arg(long, default_value_t = 115_200, value_parser = parse_baud)]
    baud: u32,
    /// Connect to the kiosk's HL7 TCP listener at this address.
    #[arg(long, value_name = "ADDR")]
    connect: Option<String>,
    /// resting, responder, non-responder or hypotensive.
    #[arg(long, default_value = "resting")]
    profile: String,
    /// Run profile time this many times faster than real time (0.01–1000).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    time_scale: f64,
    /// Inject a fault at a message index: garbage@N, bad-checksum@N, truncated@N,
    /// silence@N (5 s of silence). Repeatable.
    #[arg(long = "fault", value_name = "KIND@N")]
    faults: Vec<String>,
    /// Stop after this many messages.
    #[arg(long)]
    messages: Option<u64>,
}

/// The longest `monitor listen --seconds`: a week.
pub const MAX_LISTEN_SECONDS: f64 = 7.0 * 86_400.0;

/// The slowest and fastest `monitor simulate --time-scale`.
pub const TIME_SCALE_RANGE: (f64, f64) = (0.01, 1000.0);

/// A finite number within `min..=max` (the bounds in the message).
fn bounded_f64(text: &str, min: f64, max: f64) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !v.is_finite() || v < min || v > max {
        return Err(format!("{text} is outside {min}–{max}"));
    }
    Ok(v)
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    let v = bounded_f64(text, 0.0, MAX_LISTEN_SECONDS)?;
    if v == 0.0 {
        return Err("0 seconds: nothing to listen for".into());
    }
    Ok(v)
}

fn parse_time_scale(text: &str) -> Result<f64, String> {
    bounded_f64(text, TIME_SCALE_RANGE.0, TIME_SCALE_RANGE.1)
}

fn parse_baud(text: &str) -> Result<u32, String> {
    let v: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a baud rate"))?;
    if !crate::config::BAUD_RATES.contains(&v) {
        return Err(format!("{v} is not one of {:?}", crate::config::BAUD_RATES));
    }
    Ok(v)
}

fn protocol(name: &str) -> anyhow::Result<Protocol> {
    Protocol::from_name(name)
        .with_context(|| format!("unknown protocol `{name}`; use hl7 or intellivue"))
}

fn parse_fault(spec: &str) -> anyhow::Result<ScheduledFault> {
    let (kind, at) = spec
        .split_once('@')
        .with_context(|| format!("fault `{spec}`: expected KIND@N, e.g. garbage@5"))?;
    let at: u64 = at
        .parse()
        .with_context(|| format!("fault `{spec}`: `{at}` is not a message index"))?;
    let fault = match kind {
        "garbage" => Fault::Garbage(64),
        "bad-checksum" => Fault::BadChecksum,
        "truncated" => Fault::Truncated,
        "silence" => Fault::Silence(Duration::from_secs(5)),
        other => bail!(
            "fault `{spec}`: unknown kind `{other}` (garbage, bad-checksum, truncated, silence)"
        ),
    };
    Ok(ScheduledFault { at, fault })
}

/// Runs a monitor subcommand on its own tokio runtime.
pub fn run(cmd: MonitorCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    rt.block_on(async move {
        match cmd {
            MonitorCommand::Listen(args) => listen(args).await,
            MonitorCommand::Simulate(args) => simulate(args).await,
        }
    })
}

async fn listen(args: ListenArgs) -> anyhow::Result<ExitCode> {
    let proto = protocol(&args.protocol)?;
    let settings = LinkSettings::for_protocol(proto);
    let mut link = if let Some(addr) = &args.tcp {
        if proto != Protocol::Hl7 {
            bail!("only hl7 is spoken over TCP");
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        eprintln!("listening for HL7 on {}", listener.local_addr()?);
        link::start_tcp_listener(listener, settings, link::ListenerLimits::default())
    } else {
        let port = args.port.as_ref().expect("clap requires --port or --tcp");
        link::start_serial(
            SerialSettings::new(port.display().to_string(), args.baud),
            settings,
        )
    };
    let deadline = args
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    loop {
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, link.recv()).await.ok().flatten(),
                None => tokio::select! {
                    ev = link.recv() => ev,
                    _ = tokio::signal::ctrl_c() => None,
                },
            }
        };
        let Some(event) = next.await else { break };
        match event {
            LinkEvent::Reading(r) => {
                let line = json!({
                    "measure": r.reading.measure.name(),
                    "value": r.reading.value,
                    "unit": r.reading.unit.to_string(),
                    "observed_at": r.reading.observed_at.map(|t| t.to_string()),
                    "received_at": r.received_at.to_rfc3339(),
                });
                println!("{line}");
            }
            other => eprintln!("{other:?}"),
        }
    }
    let counts = link.counters();
    eprintln!(
        "{}",
        json!({"good_frames": counts.good, "bad_frames": counts.bad, "bad_total": counts.bad_total()})
    );
    Ok(ExitCode::SUCCESS)
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let proto = protocol(&args.protocol)?;
    let profile = Profile::from_name(&args.profile).with_context(|| {
        let names: Vec<_> = Profile::ALL.iter().map(|p| p.name()).collect();
        format!(
            "unknown profile `{}`; profiles: {}",
            args.profile,
            names.join(", ")
        )
    })?;
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        bail!("--time-scale must be a positive number");
    }
    let mut cfg = SimConfig::new(profile);
    cfg.time_scale = args.time_scale;
    cfg.max_messages = args.messages;
    cfg.faults = args
        .faults
        .iter()
        .map(|f| parse_fault(f))
        .collect::<anyhow::Result<_>>()?;

    let stats = if args.pty {
        let (ours, theirs) =
            tokio_serial::SerialStream::pair().context("cannot create a pseudo-terminal pair")?;
        let name = tokio_serial::SerialPort::name(&theirs).unwrap_or_default();
        println!("{name}");
        eprintln!(
            "simulated {} monitor on {name} (profile {})",
            args.protocol,
            profile.name()
        );
        let stats = run_sim(proto, ours, cfg).await?;
        drop(theirs);
        stats
    } else if let Some(port) = &args.port {
        let stream = link::open_serial(&SerialSettings::new(port.display().to_string(), args.baud))
            .with_context(|| format!("cannot open {}", port.display()))?;
        run_sim(proto, stream, cfg).await?
    } else if let Some(addr) = &args.connect {
        if proto != Protocol::Hl7 {
            bail!("only hl7 is spoken over TCP");
        }
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        run_sim(proto, stream, cfg).await?
    } else {
        bail!("say where to send: --pty, --port PATH or --connect ADDR");
    };
    eprintln!("{stats:?}");
    Ok(ExitCode::SUCCESS)
}

async fn run_sim<S>(proto: Protocol, io: S, cfg: SimConfig) -> anyhow::Result<sim::SimStats>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    Ok(match proto {
        Protocol::Hl7 => sim::run_hl7_simulator(io, cfg).await?,
        Protocol::Intellivue => sim::run_intellivue_simulator(io, cfg).await?,
    })
}
