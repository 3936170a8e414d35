//! Checks before llama.cpp sees a model file. llama.cpp reports every load
//! failure as a null pointer (and a log line); these checks turn the common
//! ones — a missing file, something that is not a GGUF, a model larger than
//! the memory available — into errors that say what is wrong and with which
//! file.

use std::fs;
use std::path::Path;

use super::BACKEND_NAME;
use crate::{BackendError, GgufError, GgufInfo, read_gguf_info};

/// Memory beyond the weights: KV cache, compute buffers, the process itself.
/// A model is "too big" when its file plus this exceeds `MemAvailable`.
const HEADROOM_BYTES: u64 = 64 << 20;

/// Reads the GGUF header of `path` and checks that the model fits in memory.
pub(super) fn check_model_file(path: &Path) -> Result<GgufInfo, BackendError> {
    let load_error = |detail: String| BackendError::Load {
        backend: BACKEND_NAME.to_string(),
        detail,
    };
    let info = read_gguf_info(path).map_err(|err| match err {
        GgufError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
            load_error(format!(
                "{}: no such model file (`leash model fetch` downloads the default model)",
                path.display()
            ))
        }
        GgufError::Io { .. }
        | GgufError::NotGguf { .. }
        | GgufError::UnsupportedVersion { .. }
        | GgufError::Malformed { .. } => load_error(err.to_string()),
    })?;
    if let Some(available) = mem_available_bytes() {
        let needed = info.file_size.saturating_add(HEADROOM_BYTES);
        if needed > available {
            return Err(load_error(format!(
                "{}: the model is too big for this device: it needs about {} MiB, {} MiB of memory are available",
                path.display(),
                needed >> 20,
                available >> 20
            )));
        }
    }
    Ok(info)
}

/// `MemAvailable` from `/proc/meminfo`; `None` where it cannot be read (then
/// llama.cpp's own failure is the answer).
fn mem_available_bytes() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&meminfo)
}

fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mem_available() {
        let meminfo = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(parse_mem_available(meminfo), Some(2048 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: lots\n"), None);
    }
}
