//! The `cmr-kiosk` program: with no subcommand it opens the kiosk window.

use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use cmr_kiosk::cli;
use cmr_kiosk::config::{Config, Language, ThemeName};
use cmr_kiosk::gallery::screens::{SCREENS, screen_from_name};
use cmr_kiosk::gallery::screenshot::Renderer;
use cmr_kiosk::i18n::Localizer;
use cmr_kiosk::ui::shell::Shell;

/// The touchscreen kiosk of a cardiac MR exam room.
#[derive(Debug, Parser)]
#[command(name = "cmr-kiosk", version, about)]
struct Cli {
    /// Configuration file (default: $CMR_KIOSK_CONFIG, else /etc/cmr-kiosk/kiosk.toml,
    /// else built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render screens to PNG with the software renderer (no display needed).
    Screenshot(ScreenshotArgs),
    /// Run a scripted exam (JSON scenario) through the clinical core on a simulated
    /// clock and print the kiosk's decisions as JSON lines. Exit status 2 on a
    /// malformed scenario.
    Simulate {
        /// The scenario file (see the scenario format in the README).
        file: PathBuf,
        /// Also write the run into the exam log as a training exam (marked in every
        /// output, never a patient's); prints its exam ID.
        #[arg(long)]
        record: bool,
    },
    /// An exam's report from the log: its sections (5.2) as text or JSON; or
    /// `--list` the exams of a day. Exit status 1 when the exam's log does not verify.
    Report(cmr_kiosk::cli::report::ReportArgs),
    /// Read acquired DICOM series (headers only): study, series summaries,
    /// classification and compliance findings. Exit status 2 when files were skipped.
    #[command(subcommand)]
    Dicom(DicomCommand),
    /// The exam log: verify its hash chain.
    #[command(subcommand)]
    Log(cli::store::LogCommand),
    /// Staff accounts.
    #[command(subcommand)]
    User(cli::store::UserCommand),
    /// Bring the database's schema up to this program's: a database an older
    /// cmr-kiosk wrote is backed up first, then migrated (the kiosk does the same at
    /// start; the package runs this on upgrade). Exit status 2 when a newer cmr-kiosk
    /// wrote it: it is refused, never opened.
    Migrate,
    /// The kiosk's health for IT: version, database and schema, disk space, the
    /// newest backup, the wall clock's source (read only).
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Online backups of the SQLite database.
    #[command(subcommand)]
    Backup(cli::maintenance::BackupCommand),
    /// Relay the exam log to the central PostgreSQL database.
    Sync {
        /// Send what is pending once and exit (the kiosk itself relays in the background).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Patient-monitor diagnostics for installers.
    #[command(subcommand)]
    Monitor(cli::monitor::MonitorCommand),
    /// Sound an alarm priority's IEC 60601-1-8 pattern for installers: write it to a
    /// WAV file (--out) or play it on the kiosk's audio output to test the speaker.
    /// Exit status 2 when the audio output is unavailable (the reason is printed).
    AlarmSound(cli::alarm_sound::AlarmSoundArgs),
}

#[derive(Debug, Subcommand)]
enum DicomCommand {
    /// Scan a folder of DICOM files.
    Scan {
        /// The folder (searched recursively).
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Extra classification rules of the site (TOML), tried before the shipped ones.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
    },
    /// Write one synthetic, standard-compliant series (headers and blank pixels) into a
    /// folder, as a scanner would: for acceptance runs and demonstrations of the
    /// incoming-folder watch without a scanner. Never patient data.
    Synth {
        /// The protocol step, e.g. `stress_perfusion`, `rest_perfusion`, `lge`, `cine_sax`.
        #[arg(long)]
        step: String,
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Vendor naming: siemens, ge, philips or united_imaging.
        #[arg(long, default_value = "siemens")]
        vendor: String,
        /// Series number (distinct series in one study need distinct numbers).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=99_999))]
        number: i32,
    },
    /// Verify a DICOM peer (C-ECHO as the kiosk's AE title, dicom.node.ae_title).
    /// Exit status 2 when it does not answer "success".
    Echo {
        /// The peer: AE@HOST:PORT.
        peer: String,
    },
    /// Print the modality worklist for a day from dicom.worklist.provider (a table,
    /// or JSON with the suggested exam type). Exit status 2 when it cannot be asked.
    Worklist {
        /// The scheduled date, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Ask this provider (AE@HOST:PORT) instead of the configured one.
        #[arg(long)]
        provider: Option<String>,
    },
    /// Run the image receiver alone (C-STORE and C-ECHO SCP), storing into
    /// dicom.incoming; print one JSON line per association event and per series
    /// as it settles.
    Listen {
        /// Address to listen on (default: dicom.node.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Folder to store into (default: dicom.incoming).
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
        /// Stop after this many seconds (default: until interrupted).
        #[arg(long)]
        seconds: Option<f64>,
    },
}

#[derive(Debug, Args)]
struct ScreenshotArgs {
    /// Screen or key state to render (home, nurse-review, lock, … : every name in docs/screenshots/).
    #[arg(long, default_value = "home", conflicts_with = "all")]
    screen: String,
    /// Language: zh-CN or en-US.
    #[arg(long, default_value = "zh-CN", conflicts_with = "all")]
    lang: String,
    /// Theme: day or night.
    #[arg(long, default_value = "day", conflicts_with = "all")]
    theme: String,
    /// Output PNG file.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    out: Option<PathBuf>,
    /// Render every screen × language × theme into this folder.
    #[arg(long, value_name = "DIR")]
    all: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cmr-kiosk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to the journal when systemd connected this process's output to it
/// (`$JOURNAL_STREAM`: the packaged kiosk service), with their levels and fields;
/// otherwise to standard error.
fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journal) = tracing_journald::layer()
    {
        tracing_subscriber::registry()
            .with(filter())
            .with(journal.with_syslog_identifier("cmr-kiosk".into()))
            .init();
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        None => run_kiosk(config),
        Some(Command::Screenshot(args)) => screenshot(config, args),
        Some(Command::Simulate { file, record }) => simulate(&config, &file, record),
        Some(Command::Report(args)) => cmr_kiosk::cli::report::report(&config, args),
        Some(Command::Monitor(cmd)) => cli::monitor::run(cmd),
        Some(Command::AlarmSound(args)) => cli::alarm_sound::run(args),
        Some(Command::Log(cmd)) => cli::store::log(&config, cmd),
        Some(Command::User(cmd)) => cli::store::user(&config, cmd),
        Some(Command::Sync { .. }) => cli::store::sync_once(&config),
        Some(Command::Migrate) => cli::maintenance::migrate(&config),
        Some(Command::Status { json }) => cli::maintenance::status(&config, json),
        Some(Command::Backup(cmd)) => cli::maintenance::backup(&config, cmd),
        Some(Command::Dicom(DicomCommand::Scan { dir, json, rules })) => {
            dicom_scan(&dir, json, rules.as_deref())
        }
        Some(Command::Dicom(DicomCommand::Synth {
            step,
            out,
            vendor,
            number,
        })) => dicom_synth(&step, &out, &vendor, number),
        Some(Command::Dicom(DicomCommand::Echo { peer })) => cli::dicom::echo(&config, &peer),
        Some(Command::Dicom(DicomCommand::Worklist {
            date,
            json,
            provider,
        })) => cli::dicom::worklist(&config, date.as_deref(), json, provider.as_deref()),
        Some(Command::Dicom(DicomCommand::Listen {
            listen,
            store,
            seconds,
        })) => cli::dicom::listen(&config, listen.as_deref(), store, seconds),
    }
}

fn dicom_synth(
    step: &str,
    out: &std::path::Path,
    vendor: &str,
    number: i32,
) -> anyhow::Result<ExitCode> {
    use cmr_kiosk::dicom::synth::{SynthStudy, VendorStyle, standard_series, write_series};
    use cmr_kiosk::domain::protocol::ProtocolStep;
    let step: ProtocolStep = serde_json::from_value(serde_json::json!(step)).map_err(|_| {
        anyhow::anyhow!(
            "--step {step:?} is not a protocol step (e.g. stress_perfusion, rest_perfusion, lge)"
        )
    })?;
    let vendor = match vendor {
        "siemens" => VendorStyle::Siemens,
        "ge" => VendorStyle::Ge,
        "philips" => VendorStyle::Philips,
        "united_imaging" => VendorStyle::UnitedImaging,
        other => anyhow::bail!("--vendor {other:?}: siemens, ge, philips or united_imaging"),
    };
    std::fs::create_dir_all(out)?;
    let root = format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
    let mut study = SynthStudy::new(vendor, &root);
    study.start = chrono::Local::now().naive_local();
    let mut series = standard_series(vendor, step, &root);
    series.number = number;
    series.uid = format!("{root}.{number}");
    series.start_min = 0;
    let files = write_series(out, &study, &series, false)?;
    println!(
        "{} files of series {number} ({}) in {}",
        files.len(),
        series.description,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn dicom_scan(
    dir: &std::path::Path,
    json: bool,
    rules: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use cmr_kiosk::dicom::{Rules, render_table, scan_dir};
    let rules = match rules {
        Some(p) => Rules::builtin_with_site_file(p)?,
        None => Rules::builtin(),
    };
    let report = scan_dir(dir, &rules)?;
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", render_table(&report));
    }
    Ok(ExitCode::from(
        u8::try_from(report.exit_code()).unwrap_or(2),
    ))
}

fn simulate(config: &Config, file: &std::path::Path, record: bool) -> anyhow::Result<ExitCode> {
    use cmr_kiosk::cli::simulate::MAX_SCENARIO_BYTES;
    // Never more than the bound is read, whatever the file claims to be.
    let mut bytes = Vec::new();
    let read = std::fs::File::open(file).and_then(|f| {
        use std::io::Read as _;
        f.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes)
    });
    if let Err(e) = read {
        eprintln!("cmr-kiosk simulate: {}: {e}", file.display());
        return Ok(ExitCode::from(2));
    }
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        eprintln!(
            "cmr-kiosk simulate: {}: larger than {MAX_SCENARIO_BYTES} bytes; refused",
            file.display()
        );
        return Ok(ExitCode::from(2));
    }
    let text = match String::from_utf8(bytes).map_err(|e| e.to_string()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cmr-kiosk simulate: {}: {e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    match cmr_kiosk::cli::simulate::simulate_scenario(&text) {
        Ok(run) if record => cmr_kiosk::cli::report::record_training(config, &run, file),
        Ok(run) => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            for line in run.lines {
                writeln!(out, "{line}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("cmr-kiosk simulate: {}: {e}", file.display());
            Ok(ExitCode::from(2))
        }
    }
}

fn run_kiosk(config: Config) -> anyhow::Result<ExitCode> {
    // One kiosk per database: a second one (or a restore) is refused while this one
    // holds the lock; released at exit.
    let _lock = if config.database.effective_url().starts_with("sqlite:") {
        Some(
            cmr_kiosk::store::backup::InstanceLock::try_acquire(&config.database.state_dir())
                .context("another cmr-kiosk is running on this database")?,
        )
    } else {
        None
    };
    // The renderer: `SLINT_BACKEND` set by hand wins; else the configured choice.
    if std::env::var_os("SLINT_BACKEND").is_none() {
        let gpu = cmr_kiosk::config::gpu_render_node_present();
        let renderer = config.ui.renderer.renderer_name(gpu);
        tracing::info!(renderer, gpu, "window renderer");
        slint::BackendSelector::new()
            .backend_name("winit".into())
            .renderer_name(renderer.into())
            .select()
            .with_context(|| format!("the {renderer} renderer could not start"))?;
    }
    let localizer = Rc::new(Localizer::embedded()?);
    let shell = Shell::new(config, localizer).context(
        "could not open the kiosk window — is a display available (DISPLAY or WAYLAND_DISPLAY)? \
         `cmr-kiosk screenshot` renders screens without one",
    )?;
    shell
        .run()
        .context("the kiosk window's event loop failed")?;
    Ok(ExitCode::SUCCESS)
}

fn screenshot(config: Config, args: ScreenshotArgs) -> anyhow::Result<ExitCode> {
    let renderer = Renderer::new(config)?;
    if let Some(dir) = args.all {
        let files = renderer.render_all(&dir)?;
        println!("{} screenshots written to {}", files.len(), dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(state) = args.screen.strip_prefix("technologist-") {
        let lang = Language::from_tag(&args.lang)
            .with_context(|| format!("unknown language `{}`", args.lang))?;
        let theme = ThemeName::from_name(&args.theme)
            .with_context(|| format!("unknown theme `{}`", args.theme))?;
        let out = args.out.expect("clap requires --out without --all");
        let frame = renderer
            .render_console(state, lang, theme)
            .with_context(|| {
                format!(
                    "unknown console state `{state}`; states: {}",
                    cmr_kiosk::gallery::console::PREVIEWS.join(", ")
                )
            })?;
        frame.write_png(&out)?;
        println!("{}", out.display());
        return Ok(ExitCode::SUCCESS);
    }
    screen_from_name(&args.screen).with_context(|| {
        let names: Vec<_> = SCREENS.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown screen `{}`; screens: {}",
            args.screen,
            names.join(", ")
        )
    })?;
    let lang = Language::from_tag(&args.lang)
        .with_context(|| format!("unknown language `{}`; use zh-CN or en-US", args.lang))?;
    let theme = ThemeName::from_name(&args.theme)
        .with_context(|| format!("unknown theme `{}`; use day or night", args.theme))?;
    let out = args.out.expect("clap requires --out without --all");
    renderer
        .render_named(&args.screen, lang, theme)
        .context("the screen is in SCREENS")?
        .write_png(&out)?;
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}
