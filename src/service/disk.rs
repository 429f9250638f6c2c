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
