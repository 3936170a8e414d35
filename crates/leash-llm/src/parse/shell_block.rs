//! The fallback for models that answer with a fenced shell block instead of
//! JSON: each command line is kept as a *line*, never split here. The engine
//! gives each to `leash_policy::Policy::check_shell`, which parses it with a
//! real shell grammar and refuses anything beyond one simple command — the
//! policy's parser is the only one that decides what a shell line means.

use super::fences::Fence;

/// Fence languages read as shell commands (`` = a bare ``` fence).
const SHELL_LANGS: [&str; 6] = ["sh", "bash", "shell", "zsh", "console", ""];

pub(crate) fn is_shell_fence(fence: &Fence<'_>) -> bool {
    SHELL_LANGS.contains(&fence.lang.as_str())
}

/// The command lines of a shell block: blank lines and `#` comments dropped,
/// a leading `$ ` prompt removed, backslash-newline continuations joined
/// (as a shell would).
pub(crate) fn command_lines(content: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for raw in content.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        let line = if pending.is_empty() {
            line.strip_prefix("$ ").unwrap_or(line)
        } else {
            line
        };
        match line.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending).trim().to_string());
            }
        }
    }
    let last = pending.trim();
    if !last.is_empty() {
        lines.push(last.to_string());
    }
    lines.retain(|line| !line.is_empty());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_prompts_and_continuations() {
        let lines = command_lines("# list\n$ ls -la\n\ngrep -r \\\n  foo .\n");
        assert_eq!(lines, vec!["ls -la", "grep -r  foo ."]);
    }
}
