//! The policy: built once from settings, then answers checks.
//!
//! A check runs, in order: input limits and character hygiene, program
//! resolution, the seed lists, the built-in and configured rules, the path
//! rules for every path argument, and — for wrappers — the same again for the
//! command they run. The strictest decision wins; a learned (or configured)
//! allow rule only turns an `ask` for the top-level command into `allow`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::PolicyError;
use crate::explain::{Collector, Explanation, RuleMatch};
use crate::grammar_check;
use crate::limits::{self, MAX_WRAPPER_DEPTH};
use crate::paths::PathRules;
use crate::pattern::ArgvPattern;
use crate::program::{ProgramResolver, ResolveError, Resolved};
use crate::rules::{self, RuleDecision, RuleSet};
use crate::spec::{PathArg, normalize_name};
use crate::wrappers::{self, InnerRun};
use crate::{Decision, PolicySettings, ResolvedCommand, Verdict, VerdictOrigin, shell};

const SHELL_HINT: &str = "propose exactly one command as plain words (an argv such as [\"ls\", \"-la\"]); run further steps as separate actions and write files with write_file";

/// A loaded policy. Cheap to share between threads (`&Policy` is `Sync`).
#[derive(Debug)]
pub struct Policy {
    settings: PolicySettings,
    pub(crate) rules: RuleSet,
    pub(crate) resolver: ProgramResolver,
    paths: PathRules,
    whitelist: Vec<ArgvPattern>,
    blacklist: Vec<ArgvPattern>,
    approval: Vec<ArgvPattern>,
}

/// The top-level program, for the verdict.
struct Top {
    resolved: Arc<Resolved>,
    judged: String,
}

fn compile_seed(
    list: &str,
    patterns: &[String],
    rules: &RuleSet,
) -> Result<Vec<ArgvPattern>, PolicyError> {
    patterns
        .iter()
        .enumerate()
        .map(|(index, text)| {
            ArgvPattern::compile(text, &rules.knowledge).map_err(|message| {
                PolicyError::SeedPattern {
                    list: list.to_string(),
                    index,
                    pattern: text.clone(),
                    message,
                }
            })
        })
        .collect()
}

impl Policy {
    /// Compiles the seed lists, the built-in rules (precompiled; their
    /// examples are checked when leash is tested) and `extra_rules`, verifying
    /// every `extra_rules` example. Any problem is an error: never run on a
    /// policy that did not load.
    pub fn load(settings: PolicySettings) -> Result<Policy, PolicyError> {
        let rules = rules::build(&settings.extra_rules)?;
        let whitelist = compile_seed("whitelist", &settings.whitelist, &rules)?;
        let blacklist = compile_seed("blacklist", &settings.blacklist, &rules)?;
        let approval = compile_seed(
            "require_approval_for",
            &settings.require_approval_for,
            &rules,
        )?;
        let paths = PathRules::new(
            &settings.workspace,
            &settings.home,
            &settings.read_roots,
            &settings.write_roots,
            &settings.deny_paths,
            &settings.allow_paths,
            &settings.protected_paths,
            &settings.search_path,
        )?;
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let untrusted: Vec<PathBuf> = std::iter::once(&settings.workspace)
            .chain(&settings.write_roots)
            .map(|p| canonical(p))
            .collect();
        let mut shared: Vec<PathBuf> = crate::defaults::temp_dirs()
            .iter()
            .map(|p| canonical(p))
            .collect();
        if !settings.home.as_os_str().is_empty() {
            shared.push(canonical(&settings.home));
        }
        let resolver = ProgramResolver::new(&settings.search_path, untrusted, shared)
            .on_termux(settings.termux_prefix.clone());
        Ok(Policy {
            settings,
            rules,
            resolver,
            paths,
            whitelist,
            blacklist,
            approval,
        })
    }

    /// A typed, read-only view of every program grammar this policy judges
    /// with (options and their value types, subcommands, operand types), for
    /// generating the model's output grammar from the same data.
    pub fn grammar(&self) -> crate::CommandGrammar {
        crate::CommandGrammar::build(&self.rules.knowledge)
    }

    /// The settings this policy was built from.
    pub fn settings(&self) -> &PolicySettings {
        &self.settings
    }

    /// The path rules (for judging file actions, see `file_action`).
    pub(crate) fn path_rules(&self) -> &PathRules {
        &self.paths
    }

    /// The program resolver (for the programs that carry file actions out).
    pub(crate) fn resolver(&self) -> &ProgramResolver {
        &self.resolver
    }

    /// Checks an argv with the workspace as cwd.
    pub fn check_argv<S: AsRef<str>>(&self, argv: &[S]) -> Verdict {
        self.check_argv_at(argv, &self.settings.workspace)
    }

    /// Checks an argv run in `cwd` (relative paths resolve there).
    pub fn check_argv_at<S: AsRef<str>>(&self, argv: &[S], cwd: &Path) -> Verdict {
        self.run_argv(argv, cwd, false).verdict
    }

    /// Parses a shell-style line with a real shell grammar and checks the argv.
    pub fn check_shell(&self, line: &str) -> Verdict {
        self.run_shell(line, false).verdict
    }

    /// Like [`Policy::check_argv`], with every rule that matched.
    pub fn explain_argv<S: AsRef<str>>(&self, argv: &[S]) -> Explanation {
        self.run_argv(argv, &self.settings.workspace, true)
    }

    /// Like [`Policy::check_argv_at`], with every rule that matched.
    pub fn explain_argv_at<S: AsRef<str>>(&self, argv: &[S], cwd: &Path) -> Explanation {
        self.run_argv(argv, cwd, true)
    }

    /// Like [`Policy::check_shell`], with every rule that matched.
    pub fn explain_shell(&self, line: &str) -> Explanation {
        self.run_shell(line, true)
    }

    fn run_shell(&self, line: &str, explain: bool) -> Explanation {
        if let Err(problem) = limits::check_line(line) {
            return refusal(problem.rule, problem.reason, problem.hint);
        }
        match shell::parse_command(line) {
            Ok(argv) => self.run_argv(&argv, &self.settings.workspace, explain),
            Err(reject) => refusal(
                "shell.syntax",
                format!(
                    "one command per action; no shell syntax: found {}",
                    reject.found
                ),
                SHELL_HINT,
            ),
        }
    }

    fn run_argv<S: AsRef<str>>(&self, argv: &[S], cwd: &Path, explain: bool) -> Explanation {
        if let Err(problem) = limits::check_argv(argv) {
            return refusal(problem.rule, problem.reason, problem.hint);
        }
        let refs: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
        let mut collector = Collector::new(explain);
        let top = self.evaluate(&refs, cwd, 0, None, &mut collector);
        let allowed = || RuleMatch {
            rule: "seed.whitelist".to_string(),
            origin: VerdictOrigin::SeedList,
            decision: Decision::Allow,
            reason: match &top {
                Some(t) => format!("`{}` is whitelisted and no rule objects", t.judged),
                None => "no rule objects".to_string(),
            },
            hint: String::new(),
        };
        let network_if_approved = collector.network_if_approved;
        let (winner, mut matches) = collector.finish(allowed);
        if explain && matches.is_empty() {
            matches.push(winner.clone());
        }
        Explanation {
            verdict: Verdict {
                decision: winner.decision,
                rule: winner.rule,
                origin: winner.origin,
                reason: winner.reason,
                hint: winner.hint,
                // Only meaningful for an ask: a deny never runs, and an allow
                // (not a person's approval) never earns the network.
                network_if_approved: network_if_approved && winner.decision == Decision::Ask,
                command: top.map(|t| ResolvedCommand {
                    program: t.resolved.program.clone(),
                    identity: t.judged,
                    argv: refs.iter().map(|s| (*s).to_string()).collect(),
                }),
            },
            matches,
        }
    }

    /// Judges one (possibly inner) command. `applet` is set for the applet of
    /// a multi-call binary: it runs that binary, under the applet's name.
    ///
    /// Every stage pushes its findings into `out`, which keeps the strictest
    /// (deny > ask > allow); a stage never lowers what an earlier one found.
    /// The stages go from the cheapest and most general (who is the program,
    /// is it listed at all) to the most specific (each path argument, what a
    /// wrapper runs), and each stops as soon as a deny has settled the answer
    /// — except under `explain`, which wants every finding.
    fn evaluate(
        &self,
        argv: &[&str],
        cwd: &Path,
        depth: usize,
        applet: Option<&Arc<Resolved>>,
        out: &mut Collector,
    ) -> Option<Top> {
        if depth > MAX_WRAPPER_DEPTH {
            out.push(
                "wrapper.depth",
                Decision::Deny,
                format!("wrappers nested more than {MAX_WRAPPER_DEPTH} deep"),
                "run the inner command directly",
            );
            return None;
        }
        // The outer argv was size-checked by the caller; an inner one (what
        // `env`/`xargs`/`sh -c` run) is built here and needs the same check.
        if depth > 0
            && let Err(problem) = limits::check_argv(argv)
        {
            out.push(problem.rule, Decision::Deny, problem.reason, problem.hint);
            return None;
        }
        // Identity: which file would run. The name the model wrote counts
        // for nothing until it resolves through the fixed search path to a
        // trusted location; `busybox rm`'s applet is judged as `rm`.
        let resolved = match applet {
            Some(binary) => {
                let name = argv[0].rsplit('/').next().unwrap_or(argv[0]);
                Arc::new(Resolved {
                    program: binary.program.clone(),
                    identity: name.to_string(),
                    multi_call: true,
                })
            }
            None => match self.resolver.resolve(argv[0]) {
                Ok(r) => r,
                Err(ResolveError::Unknown(reason)) => {
                    out.push(
                        "program.unknown",
                        Decision::Deny,
                        reason,
                        "use a program installed in the system search path",
                    );
                    return None;
                }
                Err(ResolveError::Untrusted(reason)) => {
                    out.push(
                        "program.untrusted-location",
                        Decision::Deny,
                        reason,
                        "run installed programs by name; scripts the model wrote run only through an interpreter, with approval",
                    );
                    return None;
                }
            },
        };
        // The names patterns may match: the canonical one (the file the
        // program resolved to) and the one it was called by, but the latter
        // only when the knowledge says both are the same program (`vi` →
        // `vim`), so a link named `ls` to `rm` is never judged as `ls`.
        let knowledge = &self.rules.knowledge;
        let spec_index = knowledge.lookup(&resolved.identity);
        let spec = knowledge.spec(spec_index);
        let canonical_name = normalize_name(&resolved.identity);
        let called = normalize_name(argv[0].rsplit('/').next().unwrap_or(argv[0]));
        let mut names: Vec<&str> = vec![canonical_name];
        if called != canonical_name
            && spec_index.is_some()
            && knowledge.lookup(called) == spec_index
        {
            names.push(called);
        }
        let judged = names.last().copied().unwrap_or(canonical_name);
        let parsed = spec.parse(&argv[1..]);
        let subcommand = parsed.subcommand.map(|(word, idx)| {
            idx.and_then(|i| spec.subcommands.get(usize::from(i)))
                .map(|s| s.name.as_str())
                .unwrap_or(word)
        });
        let top = Top {
            resolved: Arc::clone(&resolved),
            judged: judged.to_string(),
        };

        // Seed lists: the blacklist first, so its reason is the one reported.
        if let Some(p) = self
            .blacklist
            .iter()
            .find(|p| p.matches(&names, spec_index, true, &parsed, subcommand))
        {
            out.push_from(
                VerdictOrigin::SeedList,
                "seed.blacklist",
                Decision::Deny,
                format!("matches the blacklist entry `{}`", p.text),
                "this command is never allowed; find another way or stop",
            );
        }
        if !self
            .whitelist
            .iter()
            .any(|p| p.matches(&names, spec_index, false, &parsed, subcommand))
        {
            out.push_from(
                VerdictOrigin::SeedList,
                "seed.whitelist",
                Decision::Deny,
                format!("`{judged}` is not in the whitelist of programs that may run"),
                "use a whitelisted program, or ask the person to add this one to security.whitelist",
            );
        }
        let approval = self
            .approval
            .iter()
            .find(|p| p.matches(&names, spec_index, true, &parsed, subcommand));
        if let Some(p) = approval {
            out.push_from(
                VerdictOrigin::SeedList,
                "seed.require_approval_for",
                Decision::Ask,
                format!("matches the require_approval_for entry `{}`", p.text),
                "a person must approve this command",
            );
        }
        if out.settled() {
            return Some(top);
        }

        // Subcommands the knowledge does not list: an unknown word may be an
        // alias a repository's config defines (`git x` = anything), so the
        // program's knowledge decides how much to trust it.
        if let (Some((word, None)), Some(decision)) = (parsed.subcommand, spec.unknown_subcommand)
            && decision != Decision::Allow
        {
            out.push(
                    "program.unknown-subcommand",
                    decision,
                    format!("`{judged} {word}` is not a subcommand leash knows (it may be an alias from repository config)"),
                    "use a standard subcommand",
                );
        }

        // Argument knowledge: the rules written for this program. Allow
        // exceptions apply to the command the model wrote, never to one a
        // wrapper runs (depth > 0), so a wrapper cannot unlock an exception.
        let version_only = matches!(argv, [_, "--version"]);
        if let Some(index) = spec_index {
            let facts = rules::script_facts(spec, &parsed);
            let view = rules::view(argv, &parsed, spec, &facts);
            for (rule, condition) in self.rules.for_spec(index) {
                let is_exception = rule.decision == RuleDecision::Fixed(Decision::Allow);
                if (is_exception && depth > 0) || !condition.holds(&view) {
                    continue;
                }
                let mut reason = rule.reason.clone();
                if condition.script_unsafe == Some(true)
                    && let Some(finding) = &facts.finding
                {
                    reason = format!("{reason}: {finding}");
                }
                match rule.decision {
                    RuleDecision::Fixed(decision) => {
                        out.push_from(rule.origin, &rule.id, decision, reason, &rule.hint)
                    }
                    // `X --version` prints and exits: it reaches nothing.
                    RuleDecision::Network if version_only => {}
                    RuleDecision::Network if self.settings.network => {
                        out.push_from(rule.origin, &rule.id, Decision::Ask, reason, &rule.hint);
                    }
                    // The person listed this command as needing approval:
                    // it asks, and only the approved run gets the network.
                    RuleDecision::Network if approval.is_some() => {
                        out.network_if_approved = true;
                        out.push(
                            "network.approval",
                            Decision::Ask,
                            format!(
                                "{reason} ({}); security.network is off, so only a run the person approves gets the network",
                                rule.id
                            ),
                            &rule.hint,
                        );
                    }
                    RuleDecision::Network => out.push(
                        "network.off",
                        Decision::Deny,
                        format!("{reason} ({}), and security.network is off", rule.id),
                        "work offline; network access is disabled",
                    ),
                }
                if out.settled() {
                    return Some(top);
                }
            }
        }

        // The grammar: shapes it does not admit ask (or deny, for programs to run).
        let mut shapes = Vec::new();
        grammar_check::check(
            spec,
            spec_index.is_some() && !spec.implicit,
            judged,
            &argv[1..],
            &parsed,
            &mut shapes,
        );
        for f in shapes {
            out.push(f.rule, f.decision, f.reason, f.hint);
            if out.settled() {
                return Some(top);
            }
        }

        // Paths: every argument the grammar types as a path, judged against
        // the read/write roots and denials. `-C DIR`-style options change the
        // directory later paths are relative to, so they are applied first.
        let mut path_args: Vec<PathArg<'_>> = Vec::new();
        spec.path_args(
            &parsed,
            spec_index.is_some() && !spec.implicit,
            &mut path_args,
        );
        let mut effective_cwd = cwd.to_path_buf();
        for arg in path_args.iter().filter(|a| a.changes_dir) {
            effective_cwd = crate::paths::lexical_absolute(Path::new(arg.text), &effective_cwd);
        }
        let no_target_dir = no_target_directory(spec, &parsed, &path_args);
        for arg in &path_args {
            let base = if arg.changes_dir {
                cwd
            } else {
                effective_cwd.as_path()
            };
            let mut findings = Vec::new();
            findings.extend(self.paths.check(arg.text, base, arg.access));
            if arg.dest && !no_target_dir {
                // `cp SRC... DIR` writes `DIR/basename(SRC)`: judge that.
                for name in destination_names(arg, &path_args, base) {
                    findings.extend(self.paths.check(&name, base, arg.access));
                }
            }
            for finding in findings {
                out.push(finding.rule, finding.decision, finding.reason, finding.hint);
                if out.settled() {
                    return Some(top);
                }
            }
        }
        // `sed -i.bak`, `cp --suffix=.old`: the backups are written too.
        for backup in
            crate::backup::backup_paths(spec, &parsed, &path_args, &effective_cwd, no_target_dir)
        {
            if let Some(finding) = self
                .paths
                .check(&backup.text, &effective_cwd, backup.access)
            {
                out.push(finding.rule, finding.decision, finding.reason, finding.hint);
                if out.settled() {
                    return Some(top);
                }
            }
        }
        // A program that looks for a repository upwards (git) reads its
        // config and hooks from wherever it finds one: judge that directory
        // as well, not just the arguments.
        if spec.discovers_repository && parsed.subcommand.is_some() {
            let git_dir = spec
                .global
                .option_id("git-dir")
                .and_then(|id| parsed.values(None, id).last());
            if let Some(finding) = self.paths.repository(&effective_cwd, git_dir) {
                out.push(finding.rule, finding.decision, finding.reason, finding.hint);
                if out.settled() {
                    return Some(top);
                }
            }
        }

        // Wrappers: judge what they run, recursively and with the same
        // collector, so the inner command's deny is the outer one's deny.
        if let Some(wrapper) = &spec.wrapper {
            let wrapped = wrappers::unwrap(wrapper, spec, &parsed);
            for f in wrapped.findings {
                out.push(f.rule, f.decision, f.reason, f.hint);
            }
            match wrapped.run {
                Some(InnerRun::Argv(inner)) => {
                    self.evaluate(&inner, &effective_cwd, depth + 1, None, out);
                }
                Some(InnerRun::Applet(inner)) => {
                    self.evaluate(&inner, &effective_cwd, depth + 1, Some(&resolved), out);
                }
                Some(InnerRun::Shell(line)) => match shell::parse_command(line) {
                    Ok(inner) => {
                        let inner_refs: Vec<&str> = inner.iter().map(String::as_str).collect();
                        self.evaluate(&inner_refs, &effective_cwd, depth + 1, None, out);
                    }
                    Err(reject) => out.push(
                        "shell.syntax",
                        Decision::Deny,
                        format!(
                            "`{judged} -c` runs a string with shell syntax: found {}",
                            reject.found
                        ),
                        SHELL_HINT,
                    ),
                },
                None => {}
            }
        }
        Some(top)
    }
}

/// Whether a destination is written as itself, never as `DIR/basename(SRC)`
/// (`-T`, `--no-target-directory`).
pub(crate) fn no_target_directory(
    spec: &crate::spec::ProgramSpec,
    parsed: &crate::options::ParsedArgs<'_>,
    path_args: &[PathArg<'_>],
) -> bool {
    let level = parsed.sub_level();
    path_args.iter().any(|a| a.dest)
        && ["no-target-directory", "--no-target-directory", "-T"]
            .iter()
            .filter_map(|name| spec.args_spec(level).option_id(name))
            .any(|id| parsed.has(level, id))
}

/// The paths a destination operand writes when it is an existing directory:
/// `DEST/basename(SRC)` for every source operand (read paths that are not
/// the destination). Empty when the destination is not a directory.
pub(crate) fn destination_names(
    dest: &PathArg<'_>,
    all: &[PathArg<'_>],
    base: &Path,
) -> Vec<String> {
    let target = crate::resolve::final_path(Path::new(dest.text), base);
    if !target.is_dir() {
        return Vec::new();
    }
    all.iter()
        .filter(|a| !a.dest && !a.changes_dir)
        .filter_map(|src| {
            // `cp -r SRC/. DIR` copies SRC's entries into DIR itself.
            if src.text == "." || src.text.ends_with("/.") {
                return Some(dest.text.to_string());
            }
            let trimmed = src.text.trim_end_matches('/');
            let name = Path::new(trimmed).file_name()?;
            Some(
                Path::new(dest.text)
                    .join(name)
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect()
}

/// A verdict for input refused before any program was looked at.
fn refusal(rule: &str, reason: String, hint: &str) -> Explanation {
    let m = RuleMatch {
        rule: rule.to_string(),
        origin: VerdictOrigin::BuiltIn,
        decision: Decision::Deny,
        reason,
        hint: hint.to_string(),
    };
    Explanation {
        verdict: Verdict {
            decision: Decision::Deny,
            rule: m.rule.clone(),
            origin: m.origin,
            reason: m.reason.clone(),
            hint: m.hint.clone(),
            network_if_approved: false,
            command: None,
        },
        matches: vec![m],
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
pub(crate) mod tests;
