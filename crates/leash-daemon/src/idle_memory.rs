//! Giving memory back when the daemon is idle.
//!
//! Where an idle daemon's resident set goes (measured with
//! `/proc/<pid>/smaps`, see the perf note of issue 14): most of it is not heap
//! but pages of leash's own executable — code and read-only data the start-up
//! path touched, mapped in 64 KiB "fault-around" blocks, several MiB that an
//! idle daemon will not touch again until the next job. The heap holds what
//! start-up freed but the allocator kept.
//!
//! So, once start-up is done and whenever the worker has had nothing to do for
//! a while after a job, the daemon:
//! - asks the allocator to return freed memory (`malloc_trim`, glibc);
//! - advises the kernel to page out its executable's *read-only* file-backed
//!   mappings (`MADV_PAGEOUT`). Those pages are clean copies of the binary:
//!   nothing is lost, the next job faults back what it uses (from the page
//!   cache, or from flash if the system reclaimed them meanwhile — which is
//!   the point on a phone). Writable mappings are never touched.
//!
//! All of it is advice: an error changes nothing and is only logged.

/// Returns freed heap to the system and pages out the executable's read-only
/// mappings. Returns how many bytes of mappings were advised (for the log).
pub fn release_idle_memory() -> u64 {
    trim_heap();
    let advised = page_out_executable();
    tracing::debug!(advised_bytes = advised, "idle: memory given back");
    advised
}

// The crate denies unsafe code; these two libc calls have no safe wrapper
// (nix's `madvise` is itself `unsafe`), so each is allowed here alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim_heap() {
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

/// One mapping of `/proc/self/maps` that may be paged out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
}

/// The read-only, private, file-backed mappings of `exe` in a
/// `/proc/self/maps` text: `r-xp` (code) and `r--p` (read-only data).
fn readonly_mappings_of(maps: &str, exe: &std::path::Path) -> Vec<Mapping> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3)?;
            if std::path::Path::new(path) != exe || !matches!(perms, "r-xp" | "r--p") {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some(Mapping {
                start: usize::from_str_radix(start, 16).ok()?,
                end: usize::from_str_radix(end, 16).ok()?,
            })
        })
        .filter(|m| m.end > m.start)
        .collect()
}

#[allow(unsafe_code)]
fn page_out_executable() -> u64 {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return 0;
    };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return 0;
    };
    let mut advised = 0u64;
    for mapping in readonly_mappings_of(&maps, &exe) {
        let len = mapping.end - mapping.start;
        // SAFETY: the range is a whole mapping of this process, read from
        // /proc/self/maps; MADV_PAGEOUT never changes its contents (clean
        // file pages are re-read on the next access), and read-only mappings
        // hold no data that exists only in memory.
        let done =
            unsafe { libc::madvise(mapping.start as *mut libc::c_void, len, libc::MADV_PAGEOUT) };
        if done == 0 {
            advised += len as u64;
        } else {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "madvise(MADV_PAGEOUT) refused (kernel older than 5.4?)"
            );
            break;
        }
    }
    advised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_executables_read_only_mappings_are_chosen() {
        let maps = "\
55d0000-55d1000 r--p 00000000 fe:00 42 /usr/bin/leash
55d1000-55d9000 r-xp 00001000 fe:00 42 /usr/bin/leash
55d9000-55da000 rw-p 00009000 fe:00 42 /usr/bin/leash
7f00000-7f10000 r-xp 00000000 fe:00 7 /usr/lib/libc.so.6
7f20000-7f30000 rw-p 00000000 00:00 0
7fff000-7fff100 r--p 00000000 fe:00 42 /usr/bin/leash-other
";
        let chosen = readonly_mappings_of(maps, std::path::Path::new("/usr/bin/leash"));
        assert_eq!(
            chosen,
            vec![
                Mapping {
                    start: 0x55d_0000,
                    end: 0x55d_1000
                },
                Mapping {
                    start: 0x55d_1000,
                    end: 0x55d_9000
                },
            ]
        );
    }

    /// Real madvise on this very test binary: the process keeps running
    /// (the code it is executing was among the pages advised out).
    #[test]
    fn releasing_keeps_the_process_working() {
        let advised = release_idle_memory();
        let again = release_idle_memory();
        assert_eq!(advised, again, "the same mappings each time");
        let text: String = (0..1000).map(|n| n.to_string()).collect();
        assert!(text.len() > 1000);
    }
}
