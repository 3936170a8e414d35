//! The built-in phone notifier: when `approvals.notifier` is just
//! `termux-notification`, leash builds the notification itself with the same
//! three choices as the web page — approve once, grant for this job, deny
//! (with a reason typed in a `termux-dialog`).
//!
//! Termux runs a button's action as a shell string without the person's
//! PATH, so every word in it is absolute and single-quoted, and only words
//! leash itself made go there: its own binary, the config path, the
//! request's id and nonce, the dialog program. The model's command appears
//! only in the notification's text, passed as one argv element.

use std::path::{Path, PathBuf};

use leash_store::Approval;

/// The program name that selects the built-in notifier.
pub const TERMUX_NOTIFICATION: &str = "termux-notification";

/// Whether the configured notifier is the bare `termux-notification`
/// program (no arguments of the person's own).
pub fn is_builtin(program: &str, fixed: &[String]) -> bool {
    fixed.is_empty()
        && Path::new(program).file_name() == Some(std::ffi::OsStr::new(TERMUX_NOTIFICATION))
}

/// `program` as an absolute path: as given when it has a `/`, else found on
/// `search` (the daemon's PATH). `None` when not found.
pub fn absolute_program(program: &str, search: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::split_paths(search?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// One word for `sh`: single-quoted, a `'` inside as `'\''`.
fn sh_word(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The words of one button's action, as one shell string.
fn action(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| sh_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments for `termux-notification` (after the program itself).
pub fn notification_args(
    approval: &Approval,
    summary: &str,
    leash_bin: &str,
    config: &str,
    dialog: &str,
) -> Vec<String> {
    let id = approval.id.to_string();
    let nonce = approval.nonce.expose().to_string();
    let answer = |verb: &'static str, extra: &[&str]| {
        let mut words = vec![
            leash_bin,
            "--config",
            config,
            verb,
            id.as_str(),
            "--nonce",
            nonce.as_str(),
            "--via",
            "termux",
        ];
        words.extend_from_slice(extra);
        action(&words)
    };
    let mut args = header(
        format!("leash-approval-{id}"),
        format!("leash approval {id}"),
        summary,
    );
    args.extend([
        "--button1".to_owned(),
        "Approve once".to_owned(),
        "--button1-action".to_owned(),
        answer("approve", &[]),
        "--button2".to_owned(),
        "Grant for this job".to_owned(),
        "--button2-action".to_owned(),
        answer("approve", &["--grant", "--scope", "job"]),
        "--button3".to_owned(),
        "Deny…".to_owned(),
        "--button3-action".to_owned(),
        answer("deny", &["--reason-dialog", dialog]),
    ]);
    args
}

/// The notification's id, title, text and priority.
fn header(id: String, title: String, summary: &str) -> Vec<String> {
    vec![
        "--id".to_owned(),
        id,
        "--title".to_owned(),
        title,
        "--content".to_owned(),
        summary.to_owned(),
        "--priority".to_owned(),
        "high".to_owned(),
    ]
}

/// The arguments for `termux-notification` about request `id` of another
/// device (`owner`): approve once or deny, each answered through the fleet
/// (`leash approve --on OWNER ID`; the owner checks this device's trust and
/// hands over the nonce only then, so none is in the notification).
pub fn remote_notification_args(
    owner: &str,
    id: i64,
    summary: &str,
    leash_bin: &str,
    config: &str,
) -> Vec<String> {
    let id = id.to_string();
    let answer = |verb: &str| action(&[leash_bin, "--config", config, verb, "--on", owner, &id]);
    let mut args = header(
        remote_notification_id(owner, &id),
        format!("leash approval {id} on {owner}"),
        summary,
    );
    args.extend([
        "--button1".to_owned(),
        "Approve once".to_owned(),
        "--button1-action".to_owned(),
        answer("approve"),
        "--button3".to_owned(),
        "Deny".to_owned(),
        "--button3-action".to_owned(),
        answer("deny"),
    ]);
    args
}

/// The notification id of another device's request (removed when it closes).
pub fn remote_notification_id(owner: &str, id: &str) -> String {
    format!("leash-approval-{owner}-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_cannot_end_the_word() {
        assert_eq!(sh_word("a'b"), r"'a'\''b'");
        assert_eq!(sh_word("$(id) `id`"), "'$(id) `id`'");
    }

    #[test]
    fn another_devices_request_is_answered_through_the_fleet_without_a_nonce() {
        let args = remote_notification_args(
            "c",
            5,
            "leash wants to run: touch x",
            "/bin/leash",
            "/h/c.yaml",
        );
        let approve = &args[args.iter().position(|a| a == "--button1-action").unwrap() + 1];
        assert_eq!(
            approve,
            "'/bin/leash' '--config' '/h/c.yaml' 'approve' '--on' 'c' '5'"
        );
        assert!(!args.iter().any(|a| a.contains("--nonce")), "{args:?}");
        assert!(args.contains(&"leash-approval-c-5".to_owned()));
    }

    #[test]
    fn only_the_bare_program_is_the_builtin() {
        assert!(is_builtin("termux-notification", &[]));
        assert!(is_builtin("/data/bin/termux-notification", &[]));
        assert!(!is_builtin("termux-notification", &["--sound".to_owned()]));
        assert!(!is_builtin("notify-send", &[]));
    }
}
