//! What a command writes, named from the policy's own parse: the rollback
//! journal saves pre-images of exactly these paths before the command runs.
//!
//! The same grammar that judges an argv types its operands and option values
//! (write path, directory destination judged as `DIR/basename(SRC)`, a
//! directory the program writes into), so the write targets come from there,
//! never from a second reading of the argv. Where the grammar cannot name
//! every effect (no complete grammar, a script that writes files, a
//! repository's own files, the network), the result says why, so the caller
//! can class the command as partly reversible or irreversible.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Policy;
use crate::program::Resolved;
use crate::rules::format::PathRoleDoc;
use crate::rules::{self, RuleDecision};
use crate::spec::{Access, PathArg};
use crate::wrappers::{self, InnerRun};
use crate::{limits, shell};

/// One path a command may write, in its final form (absolute, symlinks
/// followed the way the kernel follows them when the program opens it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTarget {
    /// The path in its final form.
    pub path: PathBuf,
    /// The program writes below it too (`cp -r`, `tar -x -C DIR`).
    pub recursive: bool,
}

/// Every write target the grammar names, and what it cannot name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteTargets {
    /// The paths the grammar says the command writes (the undo journal
    /// saves their pre-images).
    pub targets: Vec<WriteTarget>,
    /// Why the targets may not be all the command writes (no complete
    /// grammar, a script that writes files, a repository's own files).
    pub unknown: Vec<String>,
    /// Why the command has effects beyond files (the network).
    pub beyond_files: Vec<String>,
}

impl WriteTargets {
    fn push(&mut self, path: PathBuf, recursive: bool) {
        if let Some(existing) = self.targets.iter_mut().find(|t| t.path == path) {
            existing.recursive |= recursive;
        } else {
            self.targets.push(WriteTarget { path, recursive });
        }
    }
}

impl Policy {
    /// The write targets of `argv` run in `cwd`, from the same parse that
    /// judges it. Wrappers (`env`, `nice`, `sh -c`) contribute what they run.
    pub fn write_targets<S: AsRef<str>>(&self, argv: &[S], cwd: &Path) -> WriteTargets {
        let mut out = WriteTargets::default();
        if limits::check_argv(argv).is_err() {
            out.unknown
                .push("the command is outside the input limits".to_owned());
            return out;
        }
        let refs: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
        self.collect_writes(&refs, cwd, 0, None, &mut out);
        out
    }

    fn collect_writes(
        &self,
        argv: &[&str],
        cwd: &Path,
        depth: usize,
        applet: Option<&Arc<Resolved>>,
        out: &mut WriteTargets,
    ) {
        let Some(argv0) = argv.first().copied() else {
            return;
        };
        if depth > limits::MAX_WRAPPER_DEPTH {
            out.unknown.push("wrappers nested too deep".to_owned());
            return;
        }
        let resolved = match applet {
            Some(binary) => Arc::new(Resolved {
                program: binary.program.clone(),
                identity: argv0.rsplit('/').next().unwrap_or(argv0).to_string(),
                multi_call: true,
            }),
            None => match self.resolver.resolve(argv0) {
                Ok(r) => r,
                Err(_) => {
                    out.unknown
                        .push(format!("`{argv0}` does not resolve to a known program"));
                    return;
                }
            },
        };
        let knowledge = &self.rules.knowledge;
        let spec_index = knowledge.lookup(&resolved.identity);
        let spec = knowledge.spec(spec_index);
        let name = &resolved.identity;
        let known = spec_index.is_some() && !spec.implicit;
        let parsed = spec.parse(&argv[1..]);
        if !known || !spec.complete {
            out.unknown.push(format!(
                "leash has no complete grammar for `{name}`, so it cannot name what it writes"
            ));
        } else if !parsed.oddities.is_empty() {
            out.unknown.push(format!(
                "`{name}` is used in a shape its grammar does not admit"
            ));
        }
        match parsed.subcommand {
            Some((word, None)) => out
                .unknown
                .push(format!("`{name} {word}` is not a subcommand leash knows")),
            Some((word, Some(i)))
                if spec
                    .subcommands
                    .get(usize::from(i))
                    .is_none_or(|s| !s.complete) =>
            {
                out.unknown
                    .push(format!("leash knows `{name} {word}` only by name"));
            }
            Some((_, Some(_))) | None => {}
        }
        if spec.discovers_repository && parsed.subcommand.is_some() {
            out.unknown.push(format!(
                "`{name}` also writes its repository's own files, which are not journaled"
            ));
        }
        let facts = rules::script_facts(spec, &parsed);
        if facts.file || facts.finding.is_some() {
            out.unknown.push(format!(
                "the `{name}` script may write files it does not name in its arguments"
            ));
        }
        if let Some(index) = spec_index {
            let view = rules::view(argv, &parsed, spec, &facts);
            for (rule, condition) in self.rules.for_spec(index) {
                if rule.decision == RuleDecision::Network && condition.holds(&view) {
                    out.beyond_files
                        .push(format!("{} ({})", rule.reason, rule.id));
                }
            }
        }

        let mut path_args: Vec<PathArg<'_>> = Vec::new();
        spec.path_args(&parsed, known, &mut path_args);
        let mut effective_cwd = cwd.to_path_buf();
        for arg in path_args.iter().filter(|a| a.changes_dir) {
            effective_cwd = crate::paths::lexical_absolute(Path::new(arg.text), &effective_cwd);
        }
        let no_target_dir = crate::policy::no_target_directory(spec, &parsed, &path_args);
        for arg in &path_args {
            let recursive = match arg.access {
                Access::Read | Access::ReadRecursive => continue,
                Access::Write => false,
                Access::WriteRecursive => true,
            };
            let base = if arg.changes_dir {
                cwd
            } else {
                effective_cwd.as_path()
            };
            let dest_names = if arg.dest && !no_target_dir {
                crate::policy::destination_names(arg, &path_args, base)
            } else {
                Vec::new()
            };
            if dest_names.is_empty() {
                out.push(
                    crate::resolve::final_path(Path::new(arg.text), base),
                    recursive,
                );
            }
            for name in dest_names {
                out.push(
                    crate::resolve::final_path(Path::new(&name), base),
                    recursive,
                );
            }
        }
        for backup in
            crate::backup::backup_paths(spec, &parsed, &path_args, &effective_cwd, no_target_dir)
        {
            out.push(
                crate::resolve::final_path(Path::new(&backup.text), &effective_cwd),
                backup.access == Access::WriteRecursive,
            );
        }
        // A program that writes into its directory option (`tar -x -C DIR`)
        // writes into the working directory when the option is absent.
        let level = parsed.sub_level();
        let args_spec = spec.args_spec(level);
        for (i, opt) in args_spec.options.iter().enumerate() {
            let Ok(id) = u16::try_from(i) else { break };
            if opt.path == PathRoleDoc::Cwd
                && !opt.write_when.is_empty()
                && opt.write_when.iter().any(|w| parsed.has(level, *w))
                && !parsed.has(level, id)
            {
                out.push(
                    crate::resolve::final_path(Path::new("."), &effective_cwd),
                    spec.recursive || opt.recursive,
                );
            }
        }

        if let Some(wrapper) = &spec.wrapper {
            match wrappers::unwrap(wrapper, spec, &parsed).run {
                Some(InnerRun::Argv(inner)) => {
                    self.collect_writes(&inner, &effective_cwd, depth + 1, None, out);
                }
                Some(InnerRun::Applet(inner)) => {
                    self.collect_writes(&inner, &effective_cwd, depth + 1, Some(&resolved), out);
                }
                Some(InnerRun::Shell(line)) => match shell::parse_command(line) {
                    Ok(inner) => {
                        let refs: Vec<&str> = inner.iter().map(String::as_str).collect();
                        self.collect_writes(&refs, &effective_cwd, depth + 1, None, out);
                    }
                    Err(_) => out
                        .unknown
                        .push(format!("`{name}` runs a string with shell syntax")),
                },
                None => {}
            }
        }
    }
}
