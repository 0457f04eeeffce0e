//! The instance's lease-holder name, kept per slot of the data directory.
//!
//! Each running `wxopen serve` holds an exclusive lock on one slot file,
//! `<data_dir>/instance-<n>.lock` (the lowest free `n`), for as long as it runs; the file holds
//! a random name made the first time the slot was used (the lease-holder name is that name and
//! the host's name). The kernel drops the lock when the
//! process dies, however it dies, so a restarted instance takes the same slot and the same
//! name, and with it back at once the refresh leases its predecessor held when it was killed
//! (instead of waiting out their TTL like for a live instance's). Two instances on one data
//! directory always hold different slots, so their names differ.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Slots tried before giving up (more instances than this on one data directory get a random
/// name, as a library client does).
pub(crate) const MAX_SLOTS: usize = 64;

/// A held slot: the name and the locked file (unlocked when dropped or at exit).
#[derive(Debug)]
pub(crate) struct Instance {
    /// The lease-holder name of this instance.
    pub name: String,
    /// The slot number.
    pub slot: usize,
    _lock: File,
}

/// Takes the lowest free slot in `dir` (which must exist).
pub(crate) fn claim(dir: &Path) -> Result<Instance, String> {
    for slot in 0..MAX_SLOTS {
        let path = dir.join(format!("instance-{slot}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => continue,
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
        let name = match read_name(&mut file) {
            Some(n) => n,
            None => {
                let n = format!("wxopen-{:016x}-{slot}", rand::random::<u64>());
                write_name(&mut file, &n)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                n
            }
        };
        // The host's name is part of it, so a data directory copied to another host (an
        // image, a restored backup) sharing a Redis store never yields the same name twice.
        let name = match host_name() {
            Some(h) => format!("{name}:{h}"),
            None => name,
        };
        return Ok(Instance {
            name,
            slot,
            _lock: file,
        });
    }
    Err(format!(
        "all {MAX_SLOTS} instance slots of {} are held by running instances",
        dir.display()
    ))
}

/// The kernel's host name, reduced to what a lease-holder name may hold (at most 63 bytes).
fn host_name() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())?;
    let h: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(63)
        .collect();
    (!h.is_empty()).then_some(h)
}

fn read_name(file: &mut File) -> Option<String> {
    let mut buf = Vec::with_capacity(64);
    file.take(256).read_to_end(&mut buf).ok()?;
    let name = std::str::from_utf8(&buf).ok()?.trim();
    let valid = name.starts_with("wxopen-")
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then(|| name.to_owned())
}

fn write_name(file: &mut File, name: &str) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(name.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_gets_the_same_name_and_live_instances_different_ones() {
        let dir = tempfile::tempdir().unwrap();
        let a = claim(dir.path()).unwrap();
        let b = claim(dir.path()).unwrap();
        assert_eq!((a.slot, b.slot), (0, 1));
        assert_ne!(a.name, b.name);
        // A valid lease-holder name for the client.
        assert!(
            a.name.len() <= wxopen_client::MAX_LEASE_HOLDER_LEN,
            "{}",
            a.name
        );
        assert!(
            a.name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(&c)),
            "{}",
            a.name
        );
        let (a_name, b_name) = (a.name.clone(), b.name.clone());
        drop(a);
        // "a" restarted: slot 0 is free again and keeps its name.
        let a2 = claim(dir.path()).unwrap();
        assert_eq!((a2.slot, a2.name.as_str()), (0, a_name.as_str()));
        drop(b);
        let b2 = claim(dir.path()).unwrap();
        assert_eq!(b2.name, b_name);
        // Another data directory: other names.
        let other = tempfile::tempdir().unwrap();
        assert_ne!(claim(other.path()).unwrap().name, a_name);
    }

    #[test]
    fn a_damaged_slot_file_gets_a_fresh_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("instance-0.lock"), b"\xff\xfe not a name").unwrap();
        let a = claim(dir.path()).unwrap();
        let stored = a.name.split(':').next().unwrap();
        assert!(
            stored.starts_with("wxopen-") && stored.ends_with("-0"),
            "{}",
            a.name
        );
        let on_disk = std::fs::read_to_string(dir.path().join("instance-0.lock")).unwrap();
        assert_eq!(on_disk.trim(), stored);
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = claim(&dir.path().join("absent")).unwrap_err();
        assert!(e.contains("cannot open"), "{e}");
    }
}
