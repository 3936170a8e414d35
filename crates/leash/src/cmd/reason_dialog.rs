//! Asking a person why they refuse, on the phone: `termux-dialog text`
//! prints `{"code": -1, "text": "…"}` when the person pressed OK (`-2`:
//! cancelled). The words go to the daemon like `--reason` (which bounds and
//! escapes them); anything else (cancelled, empty, the dialog missing or
//! unreadable) is a denial without a reason — the person did press Deny.

use std::process::{Command, Stdio};

/// The daemon refuses longer reasons; a phone keyboard can type more.
const MAX_REASON_CHARS: usize = 300;

pub fn ask(dialog: &str) -> Option<String> {
    let output = Command::new(dialog)
        .args([
            "text",
            "-t",
            "Why refuse? (optional; the model is told)",
            "-i",
            "not needed, too risky, wrong file or place, do it another way…",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    if answer["code"].as_i64() != Some(-1) {
        return None;
    }
    let text = answer["text"].as_str()?.trim();
    (!text.is_empty()).then(|| text.chars().take(MAX_REASON_CHARS).collect())
}
