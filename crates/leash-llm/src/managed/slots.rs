//! Saving and restoring slot 0's KV cache through llama-server's slots API
//! (`POST /slots/0?action=save|restore`, files under `--slot-save-path`).
//!
//! The embedded backend saves its KV cache once per process so the next one
//! does not evaluate the system prompt again; this is the same for a server
//! that was restarted (after a crash, a phantom-process kill, a new daemon):
//! the restored slot holds the system prompt's tokens, and `cache_prompt`
//! then evaluates only what follows them.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::server_error;
use crate::backend::BackendError;

#[derive(Serialize)]
struct SlotFile<'a> {
    filename: &'a str,
}

/// The slot file's name: tied to the model file, its size and the context
/// size, so a cache made for another model (or context) is never restored
/// into this one.
pub(super) fn slot_file_name(model_path: &Path, context_size: u32) -> String {
    let size = std::fs::metadata(model_path).map_or(0, |m| m.len());
    let mut hasher = Sha256::new();
    hasher.update(model_path.as_os_str().as_encoded_bytes());
    hasher.update(size.to_le_bytes());
    hasher.update(context_size.to_le_bytes());
    let digest = hex::encode(hasher.finalize());
    format!("slot0-{}.bin", digest.get(..16).unwrap_or(&digest))
}

/// `POST /slots/0?action=<action>` with the file name.
pub(super) fn slot_action(
    agent: &ureq::Agent,
    base_url: &str,
    api_key: &str,
    action: &str,
    file_name: &str,
) -> Result<(), BackendError> {
    let body = serde_json::to_string(&SlotFile {
        filename: file_name,
    })
    .map_err(|error| server_error(format!("cannot encode the slot request: {error}")))?;
    let response = agent
        .post(format!("{base_url}/slots/0?action={action}"))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {api_key}"))
        .send(body)
        .map_err(|error| server_error(format!("slot {action}: {error}")))?;
    let status = response.status().as_u16();
    if status == 200 {
        Ok(())
    } else {
        let mut detail = String::new();
        let _ = std::io::Read::read_to_string(
            &mut response.into_body().into_with_config().limit(4096).reader(),
            &mut detail,
        );
        Err(server_error(format!(
            "slot {action} answered HTTP {status}: {}",
            detail.trim()
        )))
    }
}
