//! Free space on the data folder's file system, and what it means.
//!
//! The levels are pure ([`DiskLevel::of`]); [`measure`] asks the file system
//! (`statvfs`). The engine samples it every [`DISK_CHECK_EVERY`] and raises a
//! technical alarm at [`DiskLevel::Critical`], while appends still succeed: the
//! log, the received images and the backups all write there.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

/// Below this much free space the console warns (a quiet notice).
pub const DISK_LOW_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Below this much free space the console raises a technical alarm: at the log's
/// rate (≈ 10 MB for a two-hour exam) there is still room for days of exams, but a
/// received study or a backup can take hundreds of megabytes.
pub const DISK_CRITICAL_BYTES: u64 = 512 * 1024 * 1024;

/// How often the engine samples the free space.
pub const DISK_CHECK_EVERY: Duration = Duration::from_secs(30);

/// Free and total bytes of one file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DiskSpace {
    /// Bytes an unprivileged writer may still use.
    pub free: u64,
    /// The file system's size.
    pub total: u64,
}

/// What the free space means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskLevel {
    /// Enough.
    Ok,
    /// Below [`DISK_LOW_BYTES`]: a notice on the console.
    Low,
    /// Below [`DISK_CRITICAL_BYTES`]: a technical alarm, before writes could fail.
    Critical,
}

impl DiskLevel {
    /// The level of `space`.
    pub fn of(space: DiskSpace) -> DiskLevel {
        if space.free < DISK_CRITICAL_BYTES {
            DiskLevel::Critical
        } else if space.free < DISK_LOW_BYTES {
            DiskLevel::Low
        } else {
            DiskLevel::Ok
        }
    }
}

/// A size for people: `812 MB`, `1.4 GB` (decimal units, as disks are sold).
pub fn format_bytes(bytes: u64) -> String {
    const MB: u64 = 1_000_000;
    const GB: u64 = 1_000_000_000;
    if bytes >= 10 * GB {
        format!("{} GB", bytes / GB)
    } else if bytes >= GB {
        // One decimal, rounded down so the figure never overstates the room left.
        format!("{}.{} GB", bytes / GB, (bytes % GB) / (GB / 10))
    } else {
        format!("{} MB", bytes / MB)
    }
}

/// Asks the file system holding `path` (or its nearest existing parent).
pub fn measure(path: &Path) -> std::io::Result<DiskSpace> {
    let mut at = path;
    while !at.exists() {
        at = at.parent().unwrap_or(Path::new("/"));
    }
    let s = nix::sys::statvfs::statvfs(at).map_err(std::io::Error::from)?;
    let frag = s.fragment_size();
    Ok(DiskSpace {
        free: s.blocks_available().saturating_mul(frag),
        total: s.blocks().saturating_mul(frag),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(free: u64) -> DiskLevel {
        DiskLevel::of(DiskSpace {
            free,
            total: u64::MAX,
        })
    }

    #[test]
    fn issue_16_levels_change_exactly_at_the_named_bounds() {
        assert_eq!(at(DISK_LOW_BYTES), DiskLevel::Ok);
        assert_eq!(at(DISK_LOW_BYTES - 1), DiskLevel::Low);
        assert_eq!(at(DISK_CRITICAL_BYTES), DiskLevel::Low);
        assert_eq!(at(DISK_CRITICAL_BYTES - 1), DiskLevel::Critical);
        assert_eq!(at(0), DiskLevel::Critical);
    }

    #[test]
    fn issue_16_sizes_are_worded_in_decimal_units() {
        assert_eq!(format_bytes(0), "0 MB");
        assert_eq!(format_bytes(DISK_CRITICAL_BYTES), "536 MB");
        assert_eq!(format_bytes(1_999_999_999), "1.9 GB");
        assert_eq!(format_bytes(DISK_LOW_BYTES), "2.1 GB");
        assert_eq!(format_bytes(79_400_000_000), "79 GB");
    }

    #[test]
    fn issue_16_the_data_folder_is_measured_through_a_missing_child() {
        let dir = tempfile::tempdir().unwrap();
        let space = measure(&dir.path().join("not/yet/made")).unwrap();
        assert!(space.total > 0 && space.free <= space.total);
    }

    proptest! {
        /// Less room never gives a calmer level.
        #[test]
        fn issue_16_level_never_calmer_with_less_room(a in any::<u64>(), b in any::<u64>()) {
            let (less, more) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(at(less) >= at(more));
        }

        /// The worded figure never overstates the room left, and understates it by
        /// less than its last digit.
        #[test]
        fn issue_16_worded_size_never_overstates(bytes in any::<u64>()) {
            let text = format_bytes(bytes);
            let (number, unit) = text.split_once(' ').unwrap();
            let scale = match unit { "MB" => 1e6, "GB" => 1e9, _ => unreachable!() };
            let shown = number.parse::<f64>().unwrap() * scale;
            let step = if unit == "MB" { 1e6 } else if bytes >= 10_000_000_000 { 1e9 } else { 1e8 };
            prop_assert!(shown <= bytes as f64 * (1.0 + 1e-12));
            prop_assert!((bytes as f64) - shown < step * (1.0 + 1e-9));
        }
    }
}
