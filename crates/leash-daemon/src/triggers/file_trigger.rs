//! A ready trigger file as a [`TriggerEvent`]: the filled-in prompt (trusted),
//! the size-capped content as the payload (untrusted), the claim, and the
//! de-duplication key `file:<path>:<dev>:<inode>:<size>:<mtime_ns>`.
//!
//! The content is read from the *claimed* file (claim first, then read: the
//! payload is always the content of the file the job owns), through a
//! descriptor opened with `O_NOFOLLOW` (a symlink is refused, never followed
//! out of the directory) and `O_NONBLOCK` (a FIFO cannot hang the watcher),
//! and only if that descriptor is still the plain file identified as
//! `identity`. At most the cap is read, however large the file is.

use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::intake::{FileClaim, TriggerEvent, TriggerPayload, TriggerSource};
use crate::triggers::file_rules::{FilePlan, FileRule};
use crate::triggers::prompt_template::{
    CONTENT_OMITTED, CONTENT_REFERENCE, DEFAULT_FILE_PROMPT, defuse_special_tokens, quoted, render,
};
use crate::triggers::readiness::{FileIdentity, is_plain_file};

/// The content of a trigger file, capped.
#[derive(Debug)]
struct CappedContent {
    text: String,
    total: u64,
    shown: u64,
}

/// Reads at most `cap` bytes of the regular file at `path` (see the module
/// documentation). Fails with `InvalidData` when the file is no longer the
/// one identified by `identity` (replaced or being rewritten).
fn read_capped(path: &Path, identity: FileIdentity, cap: u64) -> std::io::Result<CappedContent> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !is_plain_file(&meta) || FileIdentity::of(&meta) != identity {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file changed after it became ready",
        ));
    }
    let mut bytes = Vec::new();
    file.take(cap).read_to_end(&mut bytes)?;
    let shown = bytes.len() as u64;
    Ok(CappedContent {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        total: meta.len(),
        shown,
    })
}

/// The event for the trigger file that arrived as `original` and is claimed
/// (already renamed) to `claimed`, identity `identity`; its content is read
/// from `claimed`.
pub(crate) fn file_event(
    plan: &FilePlan,
    rule: &FileRule,
    original: &Path,
    claimed: &Path,
    identity: FileIdentity,
) -> std::io::Result<TriggerEvent> {
    let name = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (payload, content_ref) = if plan.max_content == 0 {
        (None, CONTENT_OMITTED)
    } else {
        let content = read_capped(claimed, identity, plan.max_content)?;
        let truncated = content.shown < content.total;
        let mut label = format!("content of trigger file {}", quoted(&name));
        if truncated {
            label.push_str(&format!(
                " (truncated: the first {} of {} bytes)",
                content.shown, content.total
            ));
        }
        let mut text = defuse_special_tokens(&content.text);
        if truncated {
            text.push_str("\n[… truncated by leash]");
        }
        (Some(TriggerPayload { label, text }), CONTENT_REFERENCE)
    };
    let template = rule
        .prompt
        .as_deref()
        .or(plan.monitoring_prompt.as_deref())
        .unwrap_or(DEFAULT_FILE_PROMPT);
    let quoted_name = quoted(&name);
    let quoted_path = quoted(&claimed.to_string_lossy());
    let mut prompt = render(
        template,
        &[
            ("path", &quoted_path),
            ("name", &quoted_name),
            ("content", content_ref),
        ],
    );
    prompt.push_str(&format!(
        "\n\n(Trigger: file trigger {}; the file {} is at {} while this job runs.)",
        quoted(&rule.name),
        quoted_name,
        quoted_path
    ));
    let mut event = TriggerEvent::new(TriggerSource::File, prompt);
    event.trigger_name = Some(rule.name.clone());
    event.payload = payload;
    event.mode = rule.mode;
    event.workspace = rule.workspace.clone();
    event.priority = rule.priority;
    event.dedup_key = Some(format!(
        "file:{}:{}:{}:{}:{}",
        original.display(),
        identity.dev,
        identity.ino,
        identity.size,
        identity.mtime_ns
    ));
    event.dedup_window = rule.dedup_window;
    event.claim = Some(FileClaim {
        from: claimed.to_path_buf(),
        to: claimed.to_path_buf(),
    });
    Ok(event)
}
