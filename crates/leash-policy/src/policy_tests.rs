//! Whole-policy tests against a fixture: a temp dir with fake executables (and
//! a fake busybox with applet symlinks) as the only search path, so nothing
//! depends on what is installed on this machine.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use rstest::rstest;

use crate::{
    Decision, LearnedRule, Platform, Policy, PolicyError, PolicySettings, RulesSource,
    render_learned_rules,
};

pub(crate) struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    pub ws: PathBuf,
    bin: PathBuf,
}

const PROGRAMS: &[&str] = &[
    "ls",
    "cat",
    "grep",
    "find",
    "git",
    "rm",
    "cp",
    "mv",
    "sort",
    "tee",
    "tar",
    "sed",
    "env",
    "nice",
    "timeout",
    "xargs",
    "sh",
    "python3.12",
    "make",
    "curl",
    "chmod",
    "echo",
    "mkdir",
    "head",
    "perl",
    "cargo",
    "npm",
    "ssh",
    "busybox",
    "vim",
    "docker",
    "sqlite3",
    "which.debianutils",
    "mawk",
    "awk-unused",
];

fn exe(path: &Path) {
    std::fs::write(path, "#!/bin/true\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub(crate) fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let bin = root.join("bin");
    let ws = root.join("ws");
    let home = root.join("home");
    for d in [&bin, &ws, &home.join(".ssh"), &ws.join("src")] {
        std::fs::create_dir_all(d).unwrap();
    }
    for p in PROGRAMS {
        exe(&bin.join(p));
    }
    symlink("python3.12", bin.join("python3")).unwrap();
    symlink("python3.12", bin.join("python")).unwrap();
    symlink("which.debianutils", bin.join("which")).unwrap();
    symlink("mawk", bin.join("awk")).unwrap();
    symlink("rm", bin.join("del")).unwrap();
    symlink("busybox", bin.join("bbrm")).unwrap();
    std::fs::create_dir_all(bin.join("applets")).unwrap();
    symlink(bin.join("busybox"), bin.join("applets/rm")).unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}").unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "secret").unwrap();
    symlink(home.join(".ssh"), ws.join("keys")).unwrap();
    exe(&ws.join("evil"));
    Fixture {
        _tmp: tmp,
        root,
        ws,
        bin,
    }
}

fn settings(f: &Fixture) -> PolicySettings {
    let mut s = PolicySettings::for_platform(f.ws.clone(), f.root.join("home"), &Platform::Linux);
    s.search_path = vec![f.bin.clone(), f.bin.join("applets")];
    s.whitelist.push("busybox".into());
    s.blacklist = vec!["rm -rf".into(), "git push --force".into()];
    s.require_approval_for = vec!["git push".into()];
    s.protected_paths = vec![f.root.join("state")];
    s
}

pub(crate) fn policy(f: &Fixture) -> Policy {
    Policy::load(settings(f)).unwrap()
}

#[rstest]
#[case::plain_listing("ls -la src")]
#[case::read_file("cat src/main.rs")]
#[case::grep("grep -rn main src")]
#[case::find_names("find . -name '*.rs'")]
#[case::git_status("git status")]
#[case::git_log_patch("git log -p -n 3")]
#[case::git_dash_c_dir("git -C src log")]
#[case::copy_inside("cp src/main.rs src/copy.rs")]
#[case::sort_output_inside("sort -o out.txt src/main.rs")]
#[case::sed_substitute("sed 's/a/b/g' src/main.rs")]
#[case::awk_print("awk '{print $1}' src/main.rs")]
#[case::env_locale("env LANG=C ls")]
#[case::timeout_wrapper("timeout 5 ls")]
#[case::sh_c_simple("sh -c 'ls -la'")]
#[case::python_version("python3 --version")]
#[case::versioned_python_link("python --version")]
#[case::debian_variant_name("which git")]
#[case::remove_file("rm src/old.rs")]
#[case::operand_after_double_dash("rm -- -rf")]
#[case::cargo_fmt("cargo fmt")]
#[case::read_system_file("cat /etc/hostname")]
#[case::echo_path("echo /etc/shadow")]
fn everyday_commands_are_allowed(#[case] line: &str) {
    let f = fixture();
    let v = policy(&f).check_shell(line);
    assert_eq!(
        v.decision,
        Decision::Allow,
        "{line}: {} {}",
        v.rule,
        v.reason
    );
}

#[rstest]
#[case::chaining("ls; rm x", "shell.syntax")]
#[case::substitution("echo $(id)", "shell.syntax")]
#[case::seed_blacklist_bundled("rm -rf src", "seed.blacklist")]
#[case::seed_blacklist_split("rm -r -f src", "seed.blacklist")]
#[case::seed_blacklist_upper("rm -Rf src", "seed.blacklist")]
#[case::seed_blacklist_long("rm --recursive --force src", "seed.blacklist")]
#[case::seed_blacklist_abbreviated("rm --rec --fo src", "seed.blacklist")]
#[case::seed_blacklist_after_operand("rm src -rf", "seed.blacklist")]
#[case::seed_blacklist_extra_flag("rm -rfv src", "seed.blacklist")]
#[case::seed_blacklist_symlink_alias("del -rf src", "seed.blacklist")]
#[case::seed_blacklist_multicall("busybox rm -rf src", "seed.blacklist")]
#[case::multicall_under_an_unlisted_name("bbrm -rf src", "seed.whitelist")]
#[case::seed_blacklist_in_wrapper("timeout 5 rm -rf src", "seed.blacklist")]
#[case::seed_blacklist_in_sh_c("sh -c 'rm -rf src'", "seed.blacklist")]
#[case::seed_blacklist_in_xargs("xargs rm -rf", "seed.blacklist")]
#[case::seed_push_force("git push -f origin", "seed.blacklist")]
#[case::find_exec("find . -exec rm {} +", "builtin.find.exec")]
#[case::git_config_pager("git -c core.pager=sh log", "builtin.git.exec-options")]
#[case::git_alias("git st", "program.unknown-subcommand")]
#[case::tar_compress_program("tar -I sh -cf x.tar src", "builtin.tar.exec")]
#[case::sed_exec("sed 's/x/id/e' f", "builtin.sed.unsafe-script")]
#[case::awk_system("awk 'BEGIN{system(\"id\")}'", "builtin.awk.unsafe-program")]
#[case::mawk_by_alias("awk 'BEGIN{system(\"id\")}'", "builtin.awk.unsafe-program")]
#[case::env_injection("env LD_PRELOAD=/x.so ls", "env.injection")]
#[case::sh_c_pipe("sh -c 'cat x | sh'", "shell.syntax")]
#[case::python_inline("python3 -c 'import os'", "builtin.python.inline-code")]
#[case::network_off("curl https://example.com", "network.off")]
#[case::relative_program("./evil", "program.untrusted-location")]
#[case::workspace_program("EVIL", "program.untrusted-location")]
#[case::unknown_program("nosuchthing", "program.unknown")]
#[case::not_whitelisted("docker ps", "seed.whitelist")]
#[case::secret_via_symlink("cat keys/id_rsa", "paths.denied")]
#[case::secret_absolute("cat HOME/.ssh/id_rsa", "paths.denied")]
#[case::protected_state("cat ROOT/state/leash.db", "paths.denied")]
#[case::write_outside("tee /etc/x", "paths.write-outside-roots")]
#[case::write_outside_attached("sort -o/etc/x src/main.rs", "paths.write-outside-roots")]
#[case::git_hooks_write("cp x .git/hooks/pre-commit", "paths.git-internal")]
#[case::lookalike_program("\u{0441}at x", "program.unknown")]
#[case::invisible("cat\u{200B} x", "input.invisible")]
#[case::fullwidth_dash("rm \u{FF0D}rf src", "input.lookalike")]
fn hostile_commands_are_denied(#[case] line: &str, #[case] rule: &str) {
    let f = fixture();
    let line = line
        .replace("EVIL", f.ws.join("evil").to_str().unwrap())
        .replace("HOME", f.root.join("home").to_str().unwrap())
        .replace("ROOT", f.root.to_str().unwrap());
    let v = policy(&f).check_shell(&line);
    assert_eq!(
        (v.decision, v.rule.as_str()),
        (Decision::Deny, rule),
        "{line}: {}",
        v.reason
    );
}

#[rstest]
#[case::push("git push origin main", "seed.require_approval_for")]
#[case::push_through_global_options("git -C src push", "seed.require_approval_for")]
#[case::script("python3 x.py", "builtin.python.script")]
#[case::make("make test", "builtin.make.recipes")]
#[case::commit_hooks("git commit -m x", "builtin.git.hooks")]
#[case::read_outside("cat /var/log/syslog", "paths.read-outside-roots")]
fn risky_commands_ask(#[case] line: &str, #[case] rule: &str) {
    let f = fixture();
    let mut s = settings(&f);
    s.network = true;
    let v = Policy::load(s).unwrap().check_shell(line);
    assert_eq!(
        (v.decision, v.rule.as_str()),
        (Decision::Ask, rule),
        "{line}: {}",
        v.reason
    );
}

#[test]
fn program_identity_is_reported_with_the_canonical_file() {
    let f = fixture();
    let p = policy(&f);
    let v = p.check_argv(&["python3", "--version"]);
    let cmd = v.command.unwrap();
    assert_eq!(cmd.program, f.bin.join("python3.12"));
    assert_eq!(cmd.identity, "python3");
    let rm = p
        .check_argv(&[f.bin.join("applets/rm").to_str().unwrap(), "x"])
        .command
        .unwrap();
    assert_eq!(
        (rm.program, rm.identity.as_str()),
        (f.bin.join("busybox"), "rm")
    );
}

#[test]
fn explain_lists_every_match_and_the_winner() {
    let f = fixture();
    let e = policy(&f).explain_shell("rm -rf src");
    let rules: Vec<&str> = e.matches.iter().map(|m| m.rule.as_str()).collect();
    assert!(rules.contains(&"seed.blacklist"), "{rules:?}");
    assert!(rules.contains(&"builtin.rm.recursive"), "{rules:?}");
    assert_eq!(e.verdict.rule, "seed.blacklist");
    assert_eq!(e.verdict.decision, Decision::Deny);
}

#[test]
fn learned_allow_turns_exactly_that_ask_into_allow_and_never_a_deny() {
    let f = fixture();
    let learned = render_learned_rules(&[
        LearnedRule {
            argv: vec!["make".into(), "test".into()],
            decision: Decision::Allow,
            note: "tty".into(),
        },
        LearnedRule {
            argv: vec!["rm".into(), "-rf".into(), "src".into()],
            decision: Decision::Allow,
            note: String::new(),
        },
        LearnedRule {
            argv: vec!["ls".into(), "src".into()],
            decision: Decision::Deny,
            note: String::new(),
        },
    ]);
    let mut s = settings(&f);
    s.extra_rules.push(RulesSource {
        name: "learned.yaml".into(),
        text: learned,
        origin: crate::VerdictOrigin::Learned,
    });
    let p = Policy::load(s).unwrap();
    assert_eq!(p.check_shell("make test").decision, Decision::Allow);
    assert_eq!(p.check_shell("make all").decision, Decision::Ask);
    assert_eq!(p.check_shell("rm -rf src").decision, Decision::Deny);
    let v = p.check_shell("ls src");
    assert_eq!(
        (v.decision, v.rule.as_str()),
        (Decision::Deny, "learned.deny.3")
    );
    assert_eq!(p.check_shell("ls -l src").decision, Decision::Allow);
}

/// The verdict says where its rule came from; only the learned-rules file
/// makes a learned allow, whatever a configured rule's id looks like
/// (regression class `origin-by-rule-id`).
#[test]
fn a_verdict_names_its_origin_and_a_rule_id_cannot_claim_to_be_learned() {
    let f = fixture();
    let p = policy(&f);
    let origin = |line: &str| p.check_shell(line).origin;
    assert_eq!(origin("rm -rf src"), crate::VerdictOrigin::SeedList);
    assert_eq!(origin("ls -l"), crate::VerdictOrigin::SeedList);
    assert_eq!(origin("ls | sh"), crate::VerdictOrigin::BuiltIn);

    let mut s = settings(&f);
    s.extra_rules.push(RulesSource::configured(
        "config:security.rules",
        "rules:\n  - id: learned.allow.1\n    when: { argv: [make, test] }\n    decision: allow\n    reason: looks learned\n",
    ));
    let configured = Policy::load(s).unwrap().check_shell("make test");
    assert_eq!(configured.decision, Decision::Allow);
    assert_eq!(configured.rule, "learned.allow.1");
    assert_eq!(configured.origin, crate::VerdictOrigin::Configured);
    assert!(!configured.is_learned_allow());

    let mut s = settings(&f);
    s.extra_rules.push(RulesSource::learned(
        "learned.yaml",
        render_learned_rules(&[LearnedRule {
            argv: vec!["make".into(), "test".into()],
            decision: Decision::Allow,
            note: String::new(),
        }]),
    ));
    let learned = Policy::load(s).unwrap().check_shell("make test");
    assert_eq!(learned.origin, crate::VerdictOrigin::Learned);
    assert!(learned.is_learned_allow());
}

#[test]
fn a_failing_example_names_the_rule_and_the_example() {
    let f = fixture();
    let mut s = settings(&f);
    s.extra_rules.push(RulesSource {
        name: "config:security.rules".into(),
        text: "rules:\n  - id: my.rule\n    program: ls\n    when: { options: [recursive] }\n    decision: ask\n    reason: r\n    match: [\"ls -l\"]\n".into(),
        origin: crate::VerdictOrigin::Configured,
    });
    match Policy::load(s) {
        Err(PolicyError::ExampleFailed { rule, example, .. }) => {
            assert_eq!((rule.as_str(), example.as_str()), ("my.rule", "ls -l"));
        }
        other => panic!("expected an example failure, got {other:?}"),
    }
}

#[test]
fn a_bad_seed_pattern_names_the_list_and_index() {
    let f = fixture();
    let mut s = settings(&f);
    s.blacklist = vec!["rm -rf".into(), "rm $(x)".into()];
    match Policy::load(s) {
        Err(PolicyError::SeedPattern { list, index, .. }) => {
            assert_eq!((list.as_str(), index), ("blacklist", 1))
        }
        other => panic!("expected a seed pattern error, got {other:?}"),
    }
}

#[test]
fn a_learned_rule_for_an_unknown_program_keeps_its_path_checks() {
    let f = fixture();
    exe(&f.bin.join("mytool"));
    let mut s = settings(&f);
    s.whitelist.push("mytool".into());
    s.extra_rules.push(RulesSource {
        name: "learned.yaml".into(),
        text: render_learned_rules(&[LearnedRule {
            argv: vec!["mytool".into(), "x".into()],
            decision: Decision::Allow,
            note: String::new(),
        }]),
        origin: crate::VerdictOrigin::Learned,
    });
    let secret = f.root.join("home/.ssh/id_rsa");
    let v = Policy::load(s)
        .unwrap()
        .check_argv(&["mytool", secret.to_str().unwrap()]);
    assert_eq!(v.rule, "paths.denied");
}

#[test]
fn oversized_input_is_denied_not_truncated() {
    let f = fixture();
    let p = policy(&f);
    let line = format!("echo {}", "a".repeat(crate::MAX_LINE_BYTES));
    assert_eq!(p.check_shell(&line).rule, "input.too-large");
    let argv: Vec<String> = std::iter::once("echo".to_string())
        .chain((0..crate::MAX_ARGS).map(|i| i.to_string()))
        .collect();
    assert_eq!(p.check_argv(&argv).rule, "input.too-large");
}

#[test]
fn wrappers_nested_too_deep_are_denied() {
    let f = fixture();
    let mut argv = vec!["nice"; crate::MAX_WRAPPER_DEPTH + 2];
    argv.push("ls");
    assert_eq!(policy(&f).check_argv(&argv).rule, "wrapper.depth");
}

#[test]
fn relative_paths_resolve_against_the_given_cwd() {
    let f = fixture();
    let p = policy(&f);
    let v = p.check_argv_at(&["tee", "x"], Path::new("/etc"));
    assert_eq!(v.rule, "paths.write-outside-roots");
    assert_eq!(
        p.check_argv_at(&["tee", "x"], &f.ws.join("src")).decision,
        Decision::Allow
    );
}
