//! A modality worklist provider for tests: dcmtk's `wlmscpfs` serving worklist
//! files made with `dump2dcm` (installed by `scripts/setup --test`).
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One scheduled patient.
pub struct Scheduled<'a> {
    /// `GB18030` or `ISO_IR 192`.
    pub charset: &'a str,
    /// The name with `^` between family and given name.
    pub name: &'a str,
    /// Patient ID.
    pub id: String,
    /// `M` or `F`.
    pub sex: &'a str,
    /// Accession number.
    pub accession: String,
    /// Requested procedure.
    pub procedure: &'a str,
    /// Scheduled date `YYYYMMDD` and time `HHMMSS`.
    pub date: String,
    /// Scheduled time.
    pub time: String,
    /// Study Instance UID.
    pub study_uid: String,
}

fn encode(charset: &str, text: &str) -> Vec<u8> {
    if charset == "GB18030" {
        encoding_rs::GB18030.encode(text).0.into_owned()
    } else {
        text.as_bytes().to_vec()
    }
}

/// The dump (dump2dcm's input) of one worklist item for station `MR_SCANNER`.
pub fn dump(s: &Scheduled) -> Vec<u8> {
    let mut d = Vec::new();
    let mut line = |text: &str| d.extend_from_slice(text.as_bytes());
    line(&format!("(0008,0005) CS [{}]\n", s.charset));
    line(&format!("(0008,0050) SH [{}]\n", s.accession));
    let mut d2 = std::mem::take(&mut d);
    d2.extend_from_slice(b"(0010,0010) PN [");
    d2.extend(encode(s.charset, s.name));
    d2.extend_from_slice(b"]\n");
    let mut line = |text: &str| d2.extend_from_slice(text.as_bytes());
    line(&format!("(0010,0020) LO [{}]\n", s.id));
    line("(0010,0030) DA [19800615]\n");
    line(&format!("(0010,0040) CS [{}]\n", s.sex));
    line("(0010,1020) DS [1.72]\n");
    line("(0010,1030) DS [68.5]\n");
    line(&format!("(0020,000d) UI [{}]\n", s.study_uid));
    let mut d3 = std::mem::take(&mut d2);
    d3.extend_from_slice(b"(0032,1060) LO [");
    d3.extend(encode(s.charset, s.procedure));
    d3.extend_from_slice(b"]\n");
    let mut line = |text: &str| d3.extend_from_slice(text.as_bytes());
    line(&format!("(0040,1001) SH [RP{}]\n", s.id));
    line("(0040,0100) SQ (Sequence with undefined length)\n");
    line("(fffe,e000) na (Item with undefined length)\n");
    line("  (0008,0060) CS [MR]\n");
    line("  (0040,0001) AE [MR_SCANNER]\n");
    line(&format!("  (0040,0002) DA [{}]\n", s.date));
    line(&format!("  (0040,0003) TM [{}]\n", s.time));
    line("  (0040,0007) LO [CMR]\n");
    line(&format!("  (0040,0009) SH [SPS{}]\n", s.id));
    line("(fffe,e00d) na (ItemDelimitationItem)\n");
    line("(fffe,e0dd) na (SequenceDelimitationItem)\n");
    d3
}

/// A dcmtk tool, or a clear failure naming the package.
pub fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{name} is missing: the dcmtk package is installed by scripts/setup --test"
    );
    let mut c = Command::new(name);
    c.stdin(Stdio::null());
    c
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port`.
pub fn wait_listening(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on {port}");
}

/// A running `wlmscpfs` (AE title `RIS_MWL`), stopped when dropped.
pub struct Wlm {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Wlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `items` as AE title `RIS_MWL`.
pub fn serve(items: &[Scheduled]) -> Wlm {
    let dir = tempfile::tempdir().unwrap();
    let ae_dir = dir.path().join("RIS_MWL");
    std::fs::create_dir_all(&ae_dir).unwrap();
    std::fs::write(ae_dir.join("lockfile"), b"").unwrap();
    for (i, s) in items.iter().enumerate() {
        let dump_file = ae_dir.join(format!("item{i}.dump"));
        std::fs::write(&dump_file, dump(s)).unwrap();
        let out = tool("dump2dcm")
            .arg(&dump_file)
            .arg(ae_dir.join(format!("item{i}.wl")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dump2dcm: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let port = free_port();
    let child = tool("wlmscpfs")
        .arg("-dfp")
        .arg(dir.path())
        .args(["-csk", "--single-process"])
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port);
    Wlm {
        child,
        port,
        _dir: dir,
    }
}
