//! The service manager's keep-alive (issue 16): systemd's notification protocol
//! (`sd_notify`: one datagram of `KEY=VALUE` lines to `$NOTIFY_SOCKET`).
//!
//! The exam engine sends it, not a screen timer: `READY=1` once its loop runs,
//! then `WATCHDOG=1` from its own wakes at half of `$WATCHDOG_USEC`. An engine
//! that hangs stops the keep-alive and systemd restarts the kiosk
//! (`WatchdogSec=`, `Restart=always`), which resumes the running exam from the log.
//!
//! The protocol is a single datagram on a Unix socket; it is written here rather
//! than through a library so that the socket can be given explicitly (tests bind
//! their own) instead of only through the process environment.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The longest notification sent (systemd reads far larger; ours are one line).
pub const MAX_NOTIFY_BYTES: usize = 512;

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// A socket file.
    Path(PathBuf),
    /// A Linux abstract socket (`@name` in `$NOTIFY_SOCKET`).
    Abstract(Vec<u8>),
}

impl NotifyTarget {
    /// Reads a `$NOTIFY_SOCKET` value.
    pub fn parse(value: &str) -> Option<NotifyTarget> {
        if let Some(name) = value.strip_prefix('@') {
            Some(NotifyTarget::Abstract(name.as_bytes().to_vec()))
        } else if value.starts_with('/') {
            Some(NotifyTarget::Path(PathBuf::from(value)))
        } else {
            None
        }
    }
}

/// The engine's keep-alive: where to send, how often.
#[derive(Debug)]
pub struct Watchdog {
    target: NotifyTarget,
    socket: Option<UnixDatagram>,
    every: Option<Duration>,
    last: Option<Instant>,
    ready_sent: bool,
    failures: u64,
}

impl Watchdog {
    /// A keep-alive to `target` every `every` (`None`: only `READY=1`, when the unit
    /// has no watchdog).
    pub fn new(target: NotifyTarget, every: Option<Duration>) -> Watchdog {
        Watchdog {
            target,
            socket: None,
            every,
            last: None,
            ready_sent: false,
            failures: 0,
        }
    }

    /// From the environment systemd gives a `Type=notify` service: `$NOTIFY_SOCKET`,
    /// and `$WATCHDOG_USEC` (halved, as systemd advises) unless `$WATCHDOG_PID`
    /// names another process. `None` when not run by systemd.
    pub fn from_env() -> Option<Watchdog> {
        let target = NotifyTarget::parse(&std::env::var("NOTIFY_SOCKET").ok()?)?;
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .is_none_or(|pid| pid == std::process::id());
        let every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|&u| u > 0 && for_us)
            .map(|u| Duration::from_micros(u / 2));
        Some(Watchdog::new(target, every))
    }

    /// The keep-alive interval, when there is one.
    pub fn every(&self) -> Option<Duration> {
        self.every
    }

    /// Notifications that could not be sent.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    fn send(&mut self, text: &str) -> bool {
        debug_assert!(text.len() <= MAX_NOTIFY_BYTES);
        if self.socket.is_none() {
            self.socket = UnixDatagram::unbound().ok();
        }
        let Some(socket) = &self.socket else {
            self.failures += 1;
            return false;
        };
        let sent = match &self.target {
            NotifyTarget::Path(p) => socket.send_to(text.as_bytes(), p),
            NotifyTarget::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt as _;
                std::os::unix::net::SocketAddr::from_abstract_name(name)
                    .and_then(|addr| socket.send_to_addr(text.as_bytes(), &addr))
            }
        };
        if let Err(e) = sent {
            self.failures += 1;
            if self.failures == 1 || self.failures.is_multiple_of(100) {
                tracing::warn!("service manager notification not sent: {e}");
            }
            return false;
        }
        true
    }

    /// Called by the engine after every wake: `READY=1` the first time, then
    /// `WATCHDOG=1` whenever the interval has passed since the last one.
    pub fn tick(&mut self, now: Instant) {
        if !self.ready_sent {
            self.ready_sent = self.send("READY=1\nSTATUS=exam engine running\n");
            if self.ready_sent {
                self.last = Some(now);
                if self.every.is_some() {
                    self.send("WATCHDOG=1\n");
                }
            }
            return;
        }
        let Some(every) = self.every else { return };
        if self.last.is_none_or(|l| now.duration_since(l) >= every) && self.send("WATCHDOG=1\n") {
            self.last = Some(now);
        }
    }

    /// Tells the service manager the kiosk is stopping on purpose.
    pub fn stopping(&mut self) {
        if self.ready_sent {
            self.send("STOPPING=1\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_notify_socket_values() {
        assert_eq!(
            NotifyTarget::parse("/run/systemd/notify"),
            Some(NotifyTarget::Path("/run/systemd/notify".into()))
        );
        assert_eq!(
            NotifyTarget::parse("@sd-notify"),
            Some(NotifyTarget::Abstract(b"sd-notify".to_vec()))
        );
        assert_eq!(NotifyTarget::parse("relative/path"), None);
        assert_eq!(NotifyTarget::parse(""), None);
    }

    #[test]
    fn issue_16_keep_alive_only_when_due() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_nonblocking(true).unwrap();
        let mut w = Watchdog::new(
            NotifyTarget::Path(path.clone()),
            Some(Duration::from_secs(10)),
        );
        let t0 = Instant::now();
        let mut got = Vec::new();
        let drain = |got: &mut Vec<String>| {
            let mut buf = [0u8; MAX_NOTIFY_BYTES];
            while let Ok(n) = rx.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        };
        w.tick(t0);
        w.tick(t0 + Duration::from_secs(1));
        w.tick(t0 + Duration::from_secs(9));
        drain(&mut got);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("READY=1\n"));
        assert_eq!(got[1], "WATCHDOG=1\n");
        w.tick(t0 + Duration::from_secs(10));
        w.stopping();
        drain(&mut got);
        assert_eq!(&got[2..], ["WATCHDOG=1\n", "STOPPING=1\n"]);
        assert_eq!(w.failures(), 0);
    }

    #[test]
    fn issue_16_a_missing_socket_is_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Watchdog::new(NotifyTarget::Path(dir.path().join("none")), None);
        w.tick(Instant::now());
        w.tick(Instant::now());
        assert_eq!(w.failures(), 2);
    }
}
