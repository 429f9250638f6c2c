//! Where the wall clock comes from. The log and the reports carry wall-clock
//! labels (durations never depend on it), so the service screen says whether the
//! clock is synchronised by NTP. Asked of systemd's `timedatectl`, bounded by
//! [`CLOCK_QUERY_TIMEOUT`]; anything else is "unknown" with the reason.

use std::time::Duration;

use serde::Serialize;

/// How long `timedatectl` may take to answer.
pub const CLOCK_QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// The largest answer read from `timedatectl`.
pub const MAX_CLOCK_ANSWER_BYTES: usize = 4096;

/// The wall clock's synchronisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClockSync {
    /// NTP is on and the clock is synchronised.
    Synchronized,
    /// NTP is on, the clock not (yet) synchronised.
    NotSynchronized,
    /// No network time service is enabled: the clock runs free.
    NtpOff,
    /// Not known (no systemd, no answer).
    Unknown {
        /// Why.
        reason: String,
    },
}

/// Reads `timedatectl show --property=NTP --property=NTPSynchronized` output.
pub fn parse_timedatectl(text: &str) -> ClockSync {
    let mut ntp = None;
    let mut synced = None;
    for line in text.lines() {
        match line.trim().split_once('=') {
            Some(("NTP", v)) => ntp = Some(v == "yes"),
            Some(("NTPSynchronized", v)) => synced = Some(v == "yes"),
            _ => {}
        }
    }
    match (ntp, synced) {
        (_, Some(true)) => ClockSync::Synchronized,
        (Some(false), _) => ClockSync::NtpOff,
        (Some(true), Some(false)) => ClockSync::NotSynchronized,
        _ => ClockSync::Unknown {
            reason: "timedatectl gave no NTP state".into(),
        },
    }
}

/// Asks `timedatectl` (never longer than [`CLOCK_QUERY_TIMEOUT`]).
pub async fn query() -> ClockSync {
    let run = tokio::process::Command::new("timedatectl")
        .args(["show", "--property=NTP", "--property=NTPSynchronized"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(CLOCK_QUERY_TIMEOUT, run).await {
        Err(_) => ClockSync::Unknown {
            reason: format!("timedatectl did not answer within {CLOCK_QUERY_TIMEOUT:?}"),
        },
        Ok(Err(e)) => ClockSync::Unknown {
            reason: format!("timedatectl: {e}"),
        },
        Ok(Ok(out)) if !out.status.success() => ClockSync::Unknown {
            reason: format!(
                "timedatectl: {}",
                String::from_utf8_lossy(
                    &out.stderr[..out.stderr.len().min(MAX_CLOCK_ANSWER_BYTES)]
                )
                .trim()
            ),
        },
        Ok(Ok(out)) => parse_timedatectl(&String::from_utf8_lossy(
            &out.stdout[..out.stdout.len().min(MAX_CLOCK_ANSWER_BYTES)],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_clock_source_from_timedatectl() {
        assert_eq!(
            parse_timedatectl("NTP=yes\nNTPSynchronized=yes\n"),
            ClockSync::Synchronized
        );
        assert_eq!(
            parse_timedatectl("NTP=yes\nNTPSynchronized=no\n"),
            ClockSync::NotSynchronized
        );
        assert_eq!(
            parse_timedatectl("NTP=no\nNTPSynchronized=no\n"),
            ClockSync::NtpOff
        );
        // Synchronised by another service (chrony) while timesyncd is off.
        assert_eq!(
            parse_timedatectl("NTP=no\nNTPSynchronized=yes\n"),
            ClockSync::Synchronized
        );
        for junk in ["", "garbage", "NTP", "=yes\n", "NTPSynchronized=maybe"] {
            assert!(
                matches!(parse_timedatectl(junk), ClockSync::Unknown { .. }),
                "{junk:?}"
            );
        }
    }
}
