//! The resource guard: inference does not start when the device is short of
//! memory (a phone killing leash, or another app, mid-job helps nobody).

/// `MemAvailable` from `/proc/meminfo`, in MiB; `None` when it cannot be read
/// (then the guard does not block: an unknown figure is no evidence of a
/// shortage, and inference itself reports a failed allocation).
pub fn available_memory_mb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

fn parse_mem_available(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2097152 kB\n";
        assert_eq!(parse_mem_available(text), Some(2048));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn this_machine_reports_some_memory() {
        assert!(available_memory_mb().is_some_and(|mb| mb > 0));
    }
}
