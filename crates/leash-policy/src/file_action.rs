//! The model's file actions (`write_file`, `move`, `copy`, `mkdir`, `delete`)
//! judged as what they are: a write, a move, a copy of these paths, with the
//! same path rules as the typed path operands of commands (denied paths,
//! protected files, `.git`, the write roots, symlinks and `..` resolved). No
//! program has to be whitelisted for them: they are leash's own actions, not
//! commands the model chose.
//!
//! The seed lists still apply to the program leash carries a file action out
//! with (`mv`, `cp`, `mkdir`): a person who lists `mv` as never allowed or as
//! needing approval gets that for `move` and `delete` too.
//!
//! | action   | paths judged                                                        |
//! |----------|---------------------------------------------------------------------|
//! | write    | PATH written                                                        |
//! | mkdir    | PATH written                                                        |
//! | delete   | PATH written recursively (it leaves); the trash gets `TRASH/name`   |
//! | move     | FROM written recursively (it leaves); TO written (`TO/name` if TO is a directory) |
//! | copy     | FROM read recursively; TO written (`TO/name` if TO is a directory)  |

use std::path::Path;

use crate::explain::{Collector, RuleMatch};
use crate::limits;
use crate::policy::Policy;
use crate::program::ResolveError;
use crate::spec::Access;
use crate::{Decision, ResolvedCommand, Verdict};

/// One file action, with its paths as the model wrote them (relative paths
/// resolve in the `cwd` given to [`Policy::check_file_action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction<'a> {
    /// Create or replace a file (leash writes it itself).
    Write {
        /// The file, as the model wrote it.
        path: &'a str,
    },
    /// Create a directory and its parents.
    Mkdir {
        /// The directory, as the model wrote it.
        path: &'a str,
    },
    /// Move `path` into leash's trash directory `trash` (undoable).
    Delete {
        /// What to delete, as the model wrote it.
        path: &'a str,
        /// leash's trash directory for the job (not the model's choice).
        trash: &'a str,
    },
    /// Move or rename.
    Move {
        /// The source, as the model wrote it.
        from: &'a str,
        /// The destination (a directory means `to/basename(from)`).
        to: &'a str,
    },
    /// Copy a file.
    Copy {
        /// The source, as the model wrote it.
        from: &'a str,
        /// The destination (a directory means `to/basename(from)`).
        to: &'a str,
    },
}

impl FileAction<'_> {
    /// The action's name as the model spells it.
    pub fn name(&self) -> &'static str {
        match self {
            FileAction::Write { .. } => "write_file",
            FileAction::Mkdir { .. } => "mkdir",
            FileAction::Delete { .. } => "delete",
            FileAction::Move { .. } => "move",
            FileAction::Copy { .. } => "copy",
        }
    }

    /// The argv leash carries the action out with in the sandbox, or `None`
    /// when leash performs it in-process (`write_file`: the content cannot
    /// reach a sandboxed child, whose stdin is `/dev/null`).
    pub fn carrier(&self) -> Option<Vec<String>> {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_string()).collect();
        match *self {
            FileAction::Write { .. } => None,
            FileAction::Mkdir { path } => Some(words(&["mkdir", "-p", "--", path])),
            FileAction::Delete { path, trash } => {
                Some(words(&["mv", "--", path, &format!("{trash}/")]))
            }
            FileAction::Move { from, to } => Some(words(&["mv", "--", from, to])),
            FileAction::Copy { from, to } => Some(words(&["cp", "--", from, to])),
        }
    }

    /// (path, access, is a destination that may be a directory) for every path.
    fn paths(&self) -> Vec<(&str, Access, bool)> {
        match *self {
            FileAction::Write { path } | FileAction::Mkdir { path } => {
                vec![(path, Access::Write, false)]
            }
            FileAction::Delete { path, trash } => vec![
                (path, Access::WriteRecursive, false),
                (trash, Access::Write, true),
            ],
            FileAction::Move { from, to } => vec![
                (from, Access::WriteRecursive, false),
                (to, Access::WriteRecursive, true),
            ],
            FileAction::Copy { from, to } => vec![
                (from, Access::ReadRecursive, false),
                (to, Access::WriteRecursive, true),
            ],
        }
    }

    /// The source whose name lands inside a destination directory.
    fn source(&self) -> Option<&str> {
        match *self {
            FileAction::Delete { path, .. } => Some(path),
            FileAction::Move { from, .. } | FileAction::Copy { from, .. } => Some(from),
            FileAction::Write { .. } | FileAction::Mkdir { .. } => None,
        }
    }
}

impl Policy {
    /// Judges a file action: the strictest of the path rules for each of its
    /// paths and the seed lists for the program that carries it out. An allow
    /// carries the resolved carrier program (`None` for `write_file`).
    pub fn check_file_action(&self, action: &FileAction<'_>, cwd: &Path) -> Verdict {
        let mut out = Collector::new(false);
        let paths = action.paths();
        let texts: Vec<&str> = paths.iter().map(|(text, _, _)| *text).collect();
        if let Err(problem) = limits::check_argv(&texts) {
            out.push(problem.rule, Decision::Deny, problem.reason, problem.hint);
        }
        for (text, access, dest) in &paths {
            if text.is_empty() {
                out.push(
                    "file-action.empty-path",
                    Decision::Deny,
                    format!("`{}` names an empty path", action.name()),
                    "name a file or directory relative to the workspace",
                );
                continue;
            }
            self.judge_path(text, *access, cwd, &mut out);
            // Into an existing directory: `TO/basename(FROM)` is what changes.
            if *dest
                && let Some(source) = action.source()
                && crate::resolve::final_path(Path::new(text), cwd).is_dir()
                && let Some(name) = Path::new(source.trim_end_matches('/')).file_name()
            {
                let inside = Path::new(text).join(name);
                self.judge_path(&inside.to_string_lossy(), *access, cwd, &mut out);
            }
            if *access == Access::WriteRecursive && !dest {
                self.judge_root_removal(text, cwd, &mut out);
            }
        }
        let carrier = action.carrier();
        let mut command = None;
        if let Some(argv) = &carrier {
            // The seed lists for the carrier (not its whitelist: these are
            // leash's own actions, and not its grammar: leash wrote the argv).
            let seen = self.explain_argv_at(argv, cwd);
            for m in seen.matches {
                if m.rule == "seed.blacklist" || m.rule == "seed.require_approval_for" {
                    out.push_from(m.origin, &m.rule, m.decision, m.reason, &m.hint);
                }
            }
            match self.resolver().resolve(&argv[0]) {
                Ok(resolved) => {
                    command = Some(ResolvedCommand {
                        program: resolved.program.clone(),
                        identity: resolved.identity.clone(),
                        argv: argv.clone(),
                    });
                }
                Err(ResolveError::Unknown(reason) | ResolveError::Untrusted(reason)) => out.push(
                    "program.unknown",
                    Decision::Deny,
                    format!(
                        "`{}` is carried out by `{}`: {reason}",
                        action.name(),
                        argv[0]
                    ),
                    "install the coreutils, or use write_file",
                ),
            }
        }
        let name = action.name();
        let (winner, _) = out.finish(|| RuleMatch {
            rule: "file-action.paths".to_string(),
            origin: crate::VerdictOrigin::BuiltIn,
            decision: Decision::Allow,
            reason: format!("`{name}` stays inside the write roots and touches no protected path"),
            hint: String::new(),
        });
        Verdict {
            decision: winner.decision,
            rule: winner.rule,
            origin: winner.origin,
            reason: winner.reason,
            hint: winner.hint,
            network_if_approved: false,
            command,
        }
    }

    fn judge_path(&self, text: &str, access: Access, cwd: &Path, out: &mut Collector) {
        if let Some(f) = self.path_rules().check(text, cwd, access) {
            out.push(f.rule, f.decision, f.reason, f.hint);
        }
    }

    /// Removing (or moving away) the workspace itself, or a directory that
    /// holds a write root, is never a file action.
    fn judge_root_removal(&self, text: &str, cwd: &Path, out: &mut Collector) {
        let target = crate::resolve::final_path(Path::new(text), cwd);
        let settings = self.settings();
        let roots = std::iter::once(&settings.workspace).chain(&settings.write_roots);
        for root in roots {
            let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
            if crate::paths::within(&root, &target) {
                out.push(
                    "file-action.root",
                    Decision::Deny,
                    format!(
                        "`{text}` is or holds the root `{}`: it is never moved or deleted",
                        root.display()
                    ),
                    "name a file or directory inside the workspace",
                );
                return;
            }
        }
    }
}

#[cfg(test)]
#[path = "file_action_tests.rs"]
mod tests;
