//! "Print" on the console (issue 15): the PDF exam sheet handed to the configured
//! printer command (the PDF on its standard input, e.g. CUPS's `lp`) or written into
//! the configured folder (a share the ward's printer or the QC team reads). The
//! command runs without a shell, with a deadline; a file appears whole (written
//! beside, synced, renamed).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How long a printer command may take to accept the PDF.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest file name stem written into the print folder (characters).
pub const MAX_NAME_CHARS: usize = 80;

/// Where "Print" sends the sheet (`[report]` in `kiosk.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrintConfig {
    /// A printer command and its arguments, split on whitespace, run without a shell,
    /// the PDF on its standard input (e.g. `lp -d cardiac-mr`). Empty: none.
    pub print_command: String,
    /// A folder the PDF is written into. Empty: none. With both set, both are done.
    pub print_folder: String,
}

impl PrintConfig {
    /// Whether anything is configured.
    pub fn is_set(&self) -> bool {
        !self.print_command.trim().is_empty() || !self.print_folder.trim().is_empty()
    }
}

/// What printing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printed {
    /// The printer command took it.
    Command(String),
    /// Written into the folder.
    Saved(PathBuf),
    /// Both.
    Both(String, PathBuf),
}

/// Why printing failed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// Nothing is configured.
    #[error("no printer command or print folder is configured")]
    NotConfigured,
    /// The command could not be started or failed.
    #[error("printer command `{command}`: {reason}")]
    Command {
        /// The command.
        command: String,
        /// What happened.
        reason: String,
    },
    /// The folder could not be written.
    #[error("print folder {}: {source}", .folder.display())]
    Folder {
        /// The folder.
        folder: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A file name stem from `parts`: letters, digits (any script), `-` and `_` kept,
/// anything else `_`, at most [`MAX_NAME_CHARS`].
pub fn file_stem(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("_");
    joined
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME_CHARS)
        .collect()
}

/// Prints `pdf` (named `stem` in the folder) as `config` says.
pub fn print(pdf: &[u8], stem: &str, config: &PrintConfig) -> Result<Printed, PrintError> {
    print_within(pdf, stem, config, PRINT_TIMEOUT)
}

/// [`print`] with the printer command given `timeout` instead of [`PRINT_TIMEOUT`].
pub fn print_within(
    pdf: &[u8],
    stem: &str,
    config: &PrintConfig,
    timeout: Duration,
) -> Result<Printed, PrintError> {
    if !config.is_set() {
        return Err(PrintError::NotConfigured);
    }
    let mut command_done = None;
    if !config.print_command.trim().is_empty() {
        run_command(&config.print_command, pdf, timeout)?;
        command_done = Some(config.print_command.trim().to_string());
    }
    let mut saved = None;
    if !config.print_folder.trim().is_empty() {
        saved = Some(save(Path::new(config.print_folder.trim()), stem, pdf)?);
    }
    Ok(match (command_done, saved) {
        (Some(c), Some(p)) => Printed::Both(c, p),
        (Some(c), None) => Printed::Command(c),
        (None, Some(p)) => Printed::Saved(p),
        (None, None) => return Err(PrintError::NotConfigured),
    })
}

fn run_command(command: &str, pdf: &[u8], timeout: Duration) -> Result<(), PrintError> {
    let fail = |reason: String| PrintError::Command {
        command: command.trim().to_string(),
        reason,
    };
    let mut argv = command.split_whitespace();
    let program = argv.next().ok_or_else(|| fail("empty".into()))?;
    let mut child = Command::new(program)
        .args(argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // Written by its own thread: a command that never reads (a hung spooler) must
        // not hold this one past the deadline; one that exits without reading is
        // judged by its exit status below.
        let pdf = pdf.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&pdf);
        });
    }
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().map_err(|e| fail(e.to_string()))? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read as _;
                    let _ = e.by_ref().take(4096).read_to_string(&mut err);
                }
                return Err(fail(format!("{status}: {}", err.trim())));
            }
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("no answer within {} ms", timeout.as_millis())));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn save(folder: &Path, stem: &str, pdf: &[u8]) -> Result<PathBuf, PrintError> {
    let err = |source: std::io::Error| PrintError::Folder {
        folder: folder.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(folder).map_err(err)?;
    let path = folder.join(format!("{stem}.pdf"));
    let tmp = folder.join(format!(".{stem}.pdf.part"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(pdf).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, &path).map_err(err)?;
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(path)
}
