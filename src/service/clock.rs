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
    query_with(
        "timedatectl",
        &["show", "--property=NTP", "--property=NTPSynchronized"],
    )
    .await
}

/// Runs `program` with `args` as [`query`] runs `timedatectl`: at most
/// [`CLOCK_QUERY_TIMEOUT`], at most [`MAX_CLOCK_ANSWER_BYTES`] of its answer read.
pub async fn query_with(program: &str, args: &[&str]) -> ClockSync {
    let run = tokio::process::Command::new(program)
        .args(args)
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

    #[tokio::test]
    async fn issue_16_a_clock_query_is_bounded_in_time_and_bytes() {
        // A program that never answers: given up after the bound.
        let started = std::time::Instant::now();
        let silent = query_with("sleep", &["30"]).await;
        assert!(
            matches!(&silent, ClockSync::Unknown { reason } if reason.contains("did not answer")),
            "{silent:?}"
        );
        assert!(started.elapsed() < CLOCK_QUERY_TIMEOUT + Duration::from_secs(2));
        // An answer past the byte bound: what lies beyond it is not read.
        let script = format!(
            "head -c {} /dev/zero | tr '\\0' x; echo; echo NTPSynchronized=yes",
            MAX_CLOCK_ANSWER_BYTES
        );
        let long = query_with("sh", &["-c", &script]).await;
        assert!(matches!(long, ClockSync::Unknown { .. }), "{long:?}");
        // The same answer within the bound is read.
        let short = query_with("sh", &["-c", "echo NTP=yes; echo NTPSynchronized=yes"]).await;
        assert_eq!(short, ClockSync::Synchronized);
        // No such program: unknown, with the reason.
        assert!(matches!(
            query_with("/nonexistent/timedatectl", &[]).await,
            ClockSync::Unknown { .. }
        ));
    }

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
