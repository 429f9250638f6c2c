//! A PostgreSQL server of the test's own, with TLS from a certificate authority the
//! test makes itself: nothing is taken from the machine (no host name, no snakeoil
//! certificate, no system trust store, no running cluster).
//!
//! The server runs from Debian's `postgresql` package binaries (installed by
//! `scripts/setup --test`) in a temporary data directory, listens on 127.0.0.1 on a
//! free port, and is stopped when the [`TlsPostgres`] is dropped. As root the server
//! runs as the `postgres` user (PostgreSQL refuses to run as root).
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// How long the test waits for its server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The superuser's password (this server exists only for the test's lifetime).
pub const PASSWORD: &str = "cmr-tls-test-only";

/// A certificate authority made for one test run.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A server certificate and its key, PEM.
pub struct ServerCert {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key, PEM.
    pub key_pem: String,
}

impl TestCa {
    /// A fresh CA ("cmr-kiosk test CA").
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "cmr-kiosk test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for exactly these DNS names and IP addresses.
    pub fn server_cert(&self, dns: &[&str], ips: &[std::net::IpAddr]) -> ServerCert {
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, dns.first().copied().unwrap_or("server"));
        for name in dns {
            params
                .subject_alt_names
                .push(SanType::DnsName((*name).try_into().expect("DNS name")));
        }
        for ip in ips {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        let cert = params.signed_by(&key, &self.issuer).expect("server cert");
        ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Debian's PostgreSQL binaries: the newest `/usr/lib/postgresql/N/bin`.
pub fn postgres_bindir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A running PostgreSQL server with TLS, owned by one test.
pub struct TlsPostgres {
    child: Child,
    _dir: tempfile::TempDir,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The CA that signed the server's certificate, as a PEM file the client trusts.
    pub ca_file: PathBuf,
}

fn is_root() -> bool {
    // The owner of /proc/self is the effective user id.
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A command run as the server's user (`postgres` when we are root).
fn as_server_user(run_as: &Option<String>, program: &Path) -> Command {
    match run_as {
        Some(user) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--init-groups",
                "--",
            ]);
            c.arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Writes `cert` as the server's certificate and key (owner-only, owned by the
/// server's user).
fn install_cert(run_as: &Option<String>, data: &Path, cert: &ServerCert) {
    use std::os::unix::fs::PermissionsExt;
    for (name, pem) in [
        ("server.crt", &cert.cert_pem),
        ("server.key", &cert.key_pem),
    ] {
        let path = data.join(name);
        std::fs::write(&path, pem).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Some(user) = run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:{user}"))
                .arg(&path)
                .status()
                .expect("chown");
            assert!(status.success(), "chown {name}");
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl TlsPostgres {
    /// Starts a server presenting `cert` (signed by `ca`), or `None` (with a notice)
    /// when Debian's PostgreSQL is not installed and we are not in CI.
    pub fn start(ca: &TestCa, cert: &ServerCert) -> Option<TlsPostgres> {
        let Some(bin) = postgres_bindir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have PostgreSQL installed (scripts/setup --test)"
            );
            eprintln!("NOTICE: PostgreSQL not installed: TLS server test skipped");
            return None;
        };
        let run_as = is_root().then(|| "postgres".to_string());
        // As root, under /tmp: the server's user must be able to reach the folder,
        // which a $TMPDIR inside root's home would not allow.
        let mut builder = tempfile::Builder::new();
        builder.prefix("cmr-pg-tls");
        let dir = if run_as.is_some() {
            builder.tempdir_in("/tmp")
        } else {
            builder.tempdir()
        }
        .expect("temp dir");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.cert_pem).unwrap();
        if let Some(user) = &run_as {
            // The server's user must reach its files; the test (root) reads everything.
            let status = Command::new("chown")
                .args([
                    "-R",
                    &format!("{user}:{user}"),
                    &dir.path().to_string_lossy(),
                ])
                .status()
                .expect("chown");
            assert!(status.success(), "chown to {user}");
        }
        let out = as_server_user(&run_as, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "cmr",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        install_cert(&run_as, &data, cert);
        let port = free_port();
        let child = as_server_user(&run_as, &bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("port={port}")])
            .args(["-c", &format!("unix_socket_directories={}", data.display())])
            .args(["-c", "ssl=on", "-c", "ssl_cert_file=server.crt"])
            .args(["-c", "ssl_key_file=server.key", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let mut server = TlsPostgres {
            child,
            _dir: dir,
            port,
            ca_file,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the test PostgreSQL server exited: {status}");
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        // The port accepts before the server takes sessions ("starting up"): wait for
        // pg_isready too, which a loaded machine (parallel tests) makes visible.
        let port_arg = port.to_string();
        while !Command::new(bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port_arg])
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(Instant::now() < deadline, "PostgreSQL did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// `postgres://cmr:…@HOST:PORT/postgres` plus `params`.
    pub fn url(&self, host: &str, params: &str) -> String {
        let sep = if params.is_empty() { "" } else { "?" };
        format!(
            "postgres://cmr:{PASSWORD}@{host}:{}/postgres{sep}{params}",
            self.port
        )
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        // Fast shutdown (SIGINT), then wait so the data directory can be removed.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
