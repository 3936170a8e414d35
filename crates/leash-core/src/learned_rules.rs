//! The learned-rules file: exact-argv rules a person created by answering
//! "always" or "never" at an approval prompt.
//!
//! It is an ordinary rules document (the policy loads it like any extra rules
//! file), kept in the config dir so people can read and edit it, and it is
//! among leash's protected paths, so a command leash runs can never edit it.
//! Rules here are always for one exact argv, never program-wide: "always" for
//! `git push origin main` does not allow `git push --force`.

use std::path::{Path, PathBuf};

use leash_policy::{Decision, LearnedRule, parse_learned_rules, render_learned_rules};

use crate::engine::ensure_private_dir;
use crate::error::EngineError;

/// The learned-rules file at a fixed path.
#[derive(Debug, Clone)]
pub struct LearnedRulesFile {
    path: PathBuf,
}

impl LearnedRulesFile {
    /// The file at `path`; nothing is read or created yet.
    pub fn new(path: PathBuf) -> LearnedRulesFile {
        LearnedRulesFile { path }
    }

    /// Where the file is (named in audit records and reports).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rules in the file (none when it does not exist yet).
    pub fn rules(&self) -> Result<Vec<LearnedRule>, EngineError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(self.error(format!("cannot read: {err}"))),
        };
        parse_learned_rules(&self.path.display().to_string(), &text)
            .map_err(|err| self.error(format!("cannot parse: {err}")))
    }

    /// Records `decision` (allow or deny) for exactly `argv`, replacing an
    /// earlier rule for the same argv. The file is rewritten atomically (temp
    /// file + rename), so a crash leaves the old or the new file, never half.
    pub fn remember(&self, argv: &[String], decision: Decision) -> Result<PathBuf, EngineError> {
        let mut rules = self.rules()?;
        rules.retain(|rule| rule.argv != argv);
        rules.push(LearnedRule {
            argv: argv.to_vec(),
            decision,
            note: format!("learned at an approval prompt, {}", jiff::Timestamp::now()),
        });
        let text = render_learned_rules(&rules);
        // What we write must load back: never leave a file the policy rejects.
        parse_learned_rules(&self.path.display().to_string(), &text)
            .map_err(|err| self.error(format!("rendered rules do not load: {err}")))?;
        self.write_atomically(&text)?;
        tracing::info!(path = %self.path.display(), decision = decision.as_str(), "learned rule written");
        Ok(self.path.clone())
    }

    fn write_atomically(&self, text: &str) -> Result<(), EngineError> {
        let dir = self
            .path
            .parent()
            .ok_or_else(|| self.error("has no parent directory".to_owned()))?;
        ensure_private_dir(dir)?;
        // The temp name beside the file is predictable: the shared writer
        // removes whatever is planted there and creates it exclusively, so a
        // planted symlink is never written through.
        leash_atomic_file::write(&self.path, text.as_bytes())
            .map_err(|err| self.error(format!("cannot write: {err}")))
    }

    fn error(&self, message: String) -> EngineError {
        EngineError::LearnedRules {
            path: self.path.clone(),
            message,
        }
    }
}
