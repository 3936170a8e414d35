//! Property tests: every way of spelling a dangerous option gets a decision at
//! least as strict as its canonical spelling.
//!
//! For each dangerous option (rm's `-r`+`-f`, find `-exec`, git `-c`, tar
//! `--checkpoint-action` / `-I`, sort `-o`, sed `-i` / `s///e`, the seed's
//! `git push` and `dd`, wrappers) proptest generates spellings: split, `=`,
//! attached values, bundled short options, GNU long-option abbreviations, after
//! operands, repeated, behind wrappers, with an absolute or aliased program path,
//! and in the shell-string form with random quoting. A spelling is compared with
//! the canonical form's decision; it may be weaker only where the semantics make
//! the option an operand (after `--`), which each generator tracks explicitly.

// Test code: a broken fixture or a failed expectation panics, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt::Debug;

use common::{Fixture, Profile};
use leash_policy::{Decision, Policy};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// A generated argv (with corpus placeholders), and whether the dangerous option
/// is still an option in it (false when `--` turned it into an operand).
#[derive(Debug, Clone)]
struct Spelling {
    argv: Vec<String>,
    dangerous: bool,
}

/// How one word is written in the shell-string form. All of these denote the
/// same word to a POSIX shell.
#[derive(Debug, Clone, Copy)]
enum Quoting {
    Plain,
    Single,
    Double,
    Backslashes,
    SplitSingle,
}

fn quoting() -> impl Strategy<Value = Quoting> {
    select(vec![
        Quoting::Plain,
        Quoting::Single,
        Quoting::Double,
        Quoting::Backslashes,
        Quoting::SplitSingle,
    ])
}

fn plain_safe(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:,+-@%^".contains(c))
}

fn single_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn quote_word(word: &str, how: Quoting) -> String {
    match how {
        Quoting::Plain if plain_safe(word) => word.to_string(),
        Quoting::Plain | Quoting::Single => single_quoted(word),
        Quoting::Double => {
            let mut out = String::from("\"");
            for c in word.chars() {
                if matches!(c, '"' | '\\' | '$' | '`') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            out
        }
        Quoting::Backslashes if word.chars().all(|c| c != '\n') && !word.is_empty() => {
            word.chars().map(|c| format!("\\{c}")).collect()
        }
        Quoting::Backslashes => single_quoted(word),
        Quoting::SplitSingle => {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) if plain_safe(&first.to_string()) => {
                    let rest: String = chars.collect();
                    if rest.is_empty() {
                        first.to_string()
                    } else {
                        format!("{first}{}", single_quoted(&rest))
                    }
                }
                Some(_) | None => single_quoted(word),
            }
        }
    }
}

fn render_shell(argv: &[String], quotings: &[Quoting]) -> String {
    argv.iter()
        .enumerate()
        .map(|(i, word)| quote_word(word, quotings[i % quotings.len()]))
        .collect::<Vec<_>>()
        .join(" ")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Runs one family: the canonical argv's decision is the floor for every
/// spelling that keeps the option an option, in argv form and in shell form.
fn check_family<S>(family: &str, canonical: &[&str], minimum: Decision, spellings: S)
where
    S: Strategy<Value = Spelling>,
    S::Value: Debug,
{
    let fixture = Fixture::new();
    let policy = fixture.policy(Profile::Default);
    let canonical_argv = fixture.expand_argv(&strings(canonical));
    let floor = policy.check_argv(&canonical_argv);
    assert!(
        floor.decision >= minimum,
        "{family}: the canonical form {canonical_argv:?} must be at least {}, got {} (rule {}: {})",
        minimum.as_str(),
        floor.decision.as_str(),
        floor.rule,
        floor.reason
    );
    let floor = floor.decision;
    let strategy = (spellings, prop::collection::vec(quoting(), 1..6));
    let mut runner = TestRunner::new(Config {
        cases: 192,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |(spelling, quotings)| {
        check_spelling(&fixture, &policy, floor, &spelling, &quotings)
    });
    if let Err(err) = result {
        panic!("{family}: {err}");
    }
}

fn check_spelling(
    fixture: &Fixture,
    policy: &Policy,
    floor: Decision,
    spelling: &Spelling,
    quotings: &[Quoting],
) -> Result<(), TestCaseError> {
    let argv = fixture.expand_argv(&spelling.argv);
    let by_argv = policy.check_argv(&argv);
    let line = render_shell(&argv, quotings);
    let by_shell = policy.check_shell(&line);
    if spelling.dangerous {
        prop_assert!(
            by_argv.decision >= floor,
            "argv {:?} got {} (rule {}: {}), weaker than the canonical {}",
            argv,
            by_argv.decision.as_str(),
            by_argv.rule,
            by_argv.reason,
            floor.as_str()
        );
        prop_assert!(
            by_shell.decision >= floor,
            "shell {:?} got {} (rule {}: {}), weaker than the canonical {}",
            line,
            by_shell.decision.as_str(),
            by_shell.rule,
            by_shell.reason,
            floor.as_str()
        );
    }
    // Whatever the spelling, quoting never changes the meaning: the shell form
    // is never judged more leniently than the same argv.
    prop_assert!(
        by_shell.decision >= by_argv.decision,
        "shell {:?} got {} (rule {}), but the same argv {:?} got {} (rule {})",
        line,
        by_shell.decision.as_str(),
        by_shell.rule,
        argv,
        by_argv.decision.as_str(),
        by_argv.rule
    );
    Ok(())
}

/// Ways to name a program: bare, absolute on the search path, through `..`, a
/// symlink to it, and (where given) busybox.
fn program(name: &'static str, busybox: bool) -> impl Strategy<Value = Vec<String>> {
    let mut forms = vec![
        vec![name.to_string()],
        vec![format!("«BIN»/{name}")],
        vec![format!("«BIN»/../bin/{name}")],
        vec![format!("«BIN»//{name}")],
    ];
    if name == "rm" {
        forms.push(vec!["myrm".into()]);
        forms.push(vec!["«BIN»/myrm".into()]);
        forms.push(vec!["«BB»/rm".into()]);
    }
    if busybox {
        forms.push(vec!["busybox".into(), name.to_string()]);
    }
    select(forms)
}

/// Prefixes `abbreviations("--recursive", 3)` = `--rec`, `--recu`, ..., `--recursive`.
fn abbreviations(long: &str, shortest: usize) -> Vec<String> {
    (shortest..=long.len())
        .map(|n| long[..n].to_string())
        .collect()
}

// ------------------------------------------------------------------ rm -r -f

#[derive(Debug, Clone)]
struct Token {
    text: String,
    recursive: bool,
    force: bool,
}

fn rm_flag_tokens() -> impl Strategy<Value = Vec<Token>> {
    let recursive: Vec<String> = ["-r", "-R"]
        .iter()
        .map(|s| s.to_string())
        .chain(abbreviations("--recursive", 3))
        .collect();
    let force: Vec<String> = ["-f".to_string()]
        .into_iter()
        .chain(abbreviations("--force", 3))
        .collect();
    let bundles = strings(&[
        "-rf", "-fr", "-Rf", "-fR", "-rfv", "-vrf", "-frv", "-dRf", "-rRf",
    ]);
    let extras = strings(&["-v", "--verbose", "-d", "--dir", "--one-file-system"]);
    let separate = (select(recursive), select(force)).prop_map(|(r, f)| {
        vec![
            Token {
                text: r,
                recursive: true,
                force: false,
            },
            Token {
                text: f,
                recursive: false,
                force: true,
            },
        ]
    });
    let bundled = select(bundles).prop_map(|b| {
        vec![Token {
            text: b,
            recursive: true,
            force: true,
        }]
    });
    (
        prop_oneof![separate, bundled],
        prop::collection::vec(select(extras), 0..3),
        prop::collection::vec(select(strings(&["build", "src", "notes"])), 1..3),
        0usize..3,
    )
        .prop_map(|(mut flags, extras, operands, repeats)| {
            let copies: Vec<Token> = flags.iter().take(repeats).cloned().collect();
            flags.extend(copies);
            flags.extend(extras.into_iter().map(|text| Token {
                text,
                recursive: false,
                force: false,
            }));
            flags.extend(operands.into_iter().map(|text| Token {
                text,
                recursive: false,
                force: false,
            }));
            flags
        })
        .prop_shuffle()
}

fn rm_spellings() -> impl Strategy<Value = Spelling> {
    (
        program("rm", true),
        rm_flag_tokens(),
        prop::option::of(0usize..8),
    )
        .prop_map(|(program, tokens, double_dash)| {
            // GNU getopt permutes: options count wherever they are, until `--`;
            // after `--` everything is an operand (`rm -- -rf` removes a file).
            let cut = double_dash
                .map(|i| i.min(tokens.len()))
                .unwrap_or(tokens.len());
            let before = &tokens[..cut];
            let dangerous = before.iter().any(|t| t.recursive) && before.iter().any(|t| t.force);
            let mut argv = program;
            argv.extend(before.iter().map(|t| t.text.clone()));
            if double_dash.is_some() {
                argv.push("--".into());
            }
            argv.extend(tokens[cut..].iter().map(|t| t.text.clone()));
            Spelling { argv, dangerous }
        })
}

#[test]
fn rm_recursive_force_in_any_spelling_is_denied() {
    check_family(
        "rm -rf",
        &["rm", "-rf", "build"],
        Decision::Deny,
        rm_spellings(),
    );
}

// ------------------------------------------------------------------ find -exec

fn find_exec_spellings() -> impl Strategy<Value = Spelling> {
    let leading = select(vec![
        vec![],
        strings(&["-L"]),
        strings(&["-H"]),
        strings(&["-P"]),
    ]);
    let paths = select(vec![
        strings(&["."]),
        strings(&["src"]),
        strings(&["«WS»"]),
        strings(&[".", "src"]),
    ]);
    let before = prop::collection::vec(
        select(vec![
            strings(&["-name", "*.rs"]),
            strings(&["-type", "f"]),
            strings(&["-maxdepth", "2"]),
            strings(&["-print"]),
            strings(&["-o"]),
            strings(&["-a"]),
        ]),
        0..3,
    );
    let primary = select(strings(&["-exec", "-execdir"]));
    let payload = select(vec![
        (strings(&["id"]), ";"),
        (strings(&["id", "{}"]), ";"),
        (strings(&["id", "{}"]), "+"),
        (strings(&["«BIN»/id", "{}"]), ";"),
        (strings(&["rm", "{}"]), ";"),
    ]);
    let wrap = select(vec!["plain", "parens", "negated"]);
    (
        program("find", false),
        leading,
        paths,
        before,
        primary,
        payload,
        wrap,
    )
        .prop_map(
            |(mut argv, leading, paths, before, primary, (command, terminator), wrap)| {
                argv.extend(leading);
                argv.extend(paths);
                argv.extend(before.into_iter().flatten());
                let mut exec = vec![primary];
                exec.extend(command);
                exec.push(terminator.to_string());
                match wrap {
                    "parens" => {
                        argv.push("(".into());
                        argv.extend(exec);
                        argv.push(")".into());
                    }
                    "negated" => {
                        argv.push("!".into());
                        argv.extend(exec);
                    }
                    _ => argv.extend(exec),
                }
                Spelling {
                    argv,
                    dangerous: true,
                }
            },
        )
}

#[test]
fn find_exec_in_any_position_is_never_weaker() {
    check_family(
        "find -exec",
        &["find", ".", "-exec", "id", ";"],
        Decision::Ask,
        find_exec_spellings(),
    );
}

// ------------------------------------------------------------------ git -c

fn git_config_spellings() -> impl Strategy<Value = Spelling> {
    let global = prop::collection::vec(
        select(vec![
            strings(&["-C", "."]),
            strings(&["--no-pager"]),
            strings(&["-P"]),
            strings(&["--git-dir=.git"]),
            strings(&["--work-tree=."]),
            strings(&["--literal-pathspecs"]),
            strings(&["-c", "user.name=x"]),
        ]),
        0..3,
    );
    let setting = select(vec![
        strings(&["-c", "core.pager=id"]),
        strings(&["-c", "CORE.PAGER=id"]),
        strings(&["-c", "Core.Pager=id"]),
        strings(&["-c", "core.fsmonitor=id"]),
        strings(&["-c", "core.sshCommand=id"]),
        strings(&["-c", "alias.log=!id"]),
        strings(&["-c", "core.hooksPath=hooks"]),
        strings(&["--config-env", "core.pager=HOME"]),
        strings(&["--config-env=core.pager=HOME"]),
    ]);
    let subcommand = select(vec![
        strings(&["log"]),
        strings(&["status"]),
        strings(&["diff"]),
        strings(&["show", "HEAD"]),
        strings(&["log", "-1"]),
    ]);
    (
        program("git", false),
        global.clone(),
        setting,
        global,
        subcommand,
    )
        .prop_map(|(mut argv, before, setting, after, subcommand)| {
            argv.extend(before.into_iter().flatten());
            argv.extend(setting);
            argv.extend(after.into_iter().flatten());
            argv.extend(subcommand);
            Spelling {
                argv,
                dangerous: true,
            }
        })
}

#[test]
fn git_config_override_in_any_spelling_is_never_weaker() {
    check_family(
        "git -c",
        &["git", "-c", "core.pager=id", "log"],
        Decision::Ask,
        git_config_spellings(),
    );
}

// ------------------------------------------------------------------ tar

fn tar_mode() -> impl Strategy<Value = (Vec<String>, bool)> {
    // (words, must_be_first): old-style bundles are only options in first position.
    select(vec![
        (strings(&["-cf", "x.tar"]), false),
        (strings(&["-c", "-f", "x.tar"]), false),
        (strings(&["-cfx.tar"]), false),
        (strings(&["--create", "--file=x.tar"]), false),
        (strings(&["--create", "--file", "x.tar"]), false),
        (strings(&["--cre", "--fil=x.tar"]), false),
        (strings(&["cf", "x.tar"]), true),
    ])
}

fn tar_spellings(dangerous_option: Vec<Vec<String>>) -> impl Strategy<Value = Spelling> {
    (
        program("tar", false),
        tar_mode(),
        select(dangerous_option),
        prop::collection::vec(
            select(vec![strings(&["-v"]), strings(&["--checkpoint=1"])]),
            0..2,
        ),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut argv, (mode, first), option, extras, at)| {
            let mut rest: Vec<Vec<String>> = vec![option, vec!["src".into()]];
            rest.extend(extras);
            if !first {
                rest.push(mode.clone());
            }
            // Move the dangerous option to a random position among the groups
            // (getopt-style tar accepts options after operands).
            let option = rest.remove(0);
            let at = at.index(rest.len() + 1);
            rest.insert(at, option);
            if first {
                argv.extend(mode);
            }
            argv.extend(rest.into_iter().flatten());
            Spelling {
                argv,
                dangerous: true,
            }
        })
}

#[test]
fn tar_checkpoint_action_in_any_spelling_is_never_weaker() {
    let mut options: Vec<Vec<String>> = abbreviations("--checkpoint-action", 13)
        .into_iter()
        .flat_map(|long| {
            vec![
                vec![format!("{long}=exec=id")],
                vec![long, "exec=id".into()],
            ]
        })
        .collect();
    options.push(strings(&["--checkpoint-action=exec=sh -c id"]));
    check_family(
        "tar --checkpoint-action",
        &[
            "tar",
            "-cf",
            "x.tar",
            "--checkpoint=1",
            "--checkpoint-action=exec=id",
            "src",
        ],
        Decision::Ask,
        tar_spellings(options),
    );
}

#[test]
fn tar_compress_program_in_any_spelling_is_never_weaker() {
    let mut options: Vec<Vec<String>> = abbreviations("--use-compress-program", 5)
        .into_iter()
        .flat_map(|long| vec![vec![format!("{long}=id")], vec![long, "id".into()]])
        .collect();
    options.extend([
        strings(&["-I", "id"]),
        strings(&["-Iid"]),
        strings(&["-vIid"]),
    ]);
    options.extend(
        abbreviations("--to-command", 6)
            .into_iter()
            .map(|long| vec![format!("{long}=id")]),
    );
    check_family(
        "tar -I",
        &["tar", "-I", "id", "-cf", "x.tar", "src"],
        Decision::Ask,
        tar_spellings(options),
    );
}

// ------------------------------------------------------------------ sort -o

fn sort_output_spellings(target: &'static str) -> impl Strategy<Value = Spelling> {
    let mut options: Vec<Vec<String>> = vec![
        vec!["-o".into(), target.into()],
        vec![format!("-o{target}")],
        vec!["-uo".into(), target.into()],
        vec![format!("-nro{target}")],
    ];
    for long in abbreviations("--output", 3) {
        options.push(vec![format!("{long}={target}")]);
        options.push(vec![long, target.into()]);
    }
    (
        program("sort", false),
        select(options),
        prop::collection::vec(select(strings(&["-u", "-n", "-r", "--stable"])), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mut argv, option, extras, repeated, option_last)| {
            argv.extend(extras);
            let mut body = option.clone();
            if repeated {
                body.extend(option);
            }
            if option_last {
                argv.push("a.txt".into());
                argv.extend(body);
            } else {
                argv.extend(body);
                argv.push("a.txt".into());
            }
            Spelling {
                argv,
                dangerous: true,
            }
        })
}

#[rstest::rstest]
#[case::outside_every_root("«OUT»/x")]
#[case::home_dotfile("«HOME»/.bashrc")]
#[case::git_hook(".git/hooks/pre-commit")]
#[case::through_symlink_out("link-out/x")]
#[case::sibling_prefix("../project-evil/x")]
fn sort_output_in_any_spelling_is_denied(#[case] target: &'static str) {
    check_family(
        "sort -o",
        &["sort", "-o", target, "a.txt"],
        Decision::Deny,
        sort_output_spellings(target),
    );
}

// ------------------------------------------------------------------ sed -i and s///e

fn sed_in_place_spellings() -> impl Strategy<Value = Spelling> {
    let mut in_place: Vec<String> = strings(&["-i", "-i.bak", "-ibak", "-ni", "-Ei", "-si", "-in"]);
    for long in abbreviations("--in-place", 3) {
        in_place.push(format!("{long}=.bak"));
        in_place.push(long);
    }
    let script = select(vec![
        strings(&["s/a/b/"]),
        strings(&["-e", "s/a/b/"]),
        strings(&["--expression=s/a/b/"]),
        strings(&["-es/a/b/"]),
    ]);
    (
        program("sed", false),
        select(in_place),
        script,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut argv, option, script, at)| {
            let positional = script.len() == 1 && !script[0].starts_with('-');
            let mut groups = vec![script, vec!["«OUT»/outside.txt".to_string()]];
            // A bare script must stay the first operand; options can go anywhere.
            let at = if positional {
                1 + at.index(2)
            } else {
                at.index(3)
            };
            groups.insert(at, vec![option]);
            argv.extend(groups.into_iter().flatten());
            Spelling {
                argv,
                dangerous: true,
            }
        })
}

#[test]
fn sed_in_place_outside_the_roots_in_any_spelling_is_denied() {
    check_family(
        "sed -i",
        &["sed", "-i", "s/a/b/", "«OUT»/outside.txt"],
        Decision::Deny,
        sed_in_place_spellings(),
    );
}

fn sed_execute_spellings() -> impl Strategy<Value = Spelling> {
    let commands = select(strings(&[
        "s/x/id/e",
        "s|x|id|e",
        "s#x#id#e",
        "s,x,id,e",
        "s/x/id/ge",
        "s/x/id/eg",
        "s/x/id/Ie",
        "1s/x/id/e",
        "$s/x/id/e",
        "/x/s/x/id/e",
        "1e id",
        "e id",
        "p;e id",
        "p\ne id",
        "  s/x/id/e  ",
    ]));
    let how = select(vec![
        "positional",
        "-e",
        "--expression=",
        "--expression",
        "-e-attached",
    ]);
    (program("sed", false), commands, how, any::<bool>()).prop_map(
        |(mut argv, command, how, quiet)| {
            if quiet {
                argv.push("-n".into());
            }
            match how {
                "positional" => argv.push(command),
                "--expression=" => argv.push(format!("--expression={command}")),
                "-e-attached" => argv.push(format!("-e{command}")),
                flag => {
                    argv.push(flag.into());
                    argv.push(command);
                }
            }
            argv.push("a.txt".into());
            Spelling {
                argv,
                dangerous: true,
            }
        },
    )
}

#[test]
fn sed_execute_command_in_any_spelling_is_never_weaker() {
    check_family(
        "sed e",
        &["sed", "s/x/id/e", "a.txt"],
        Decision::Ask,
        sed_execute_spellings(),
    );
}

// ------------------------------------------------------------------ seed lists

fn git_push_spellings() -> impl Strategy<Value = Spelling> {
    let global = prop::collection::vec(
        select(vec![
            strings(&["-C", "."]),
            strings(&["-C", "sub"]),
            strings(&["-c", "k.v=x"]),
            strings(&["--no-pager"]),
            strings(&["-P"]),
            strings(&["--git-dir=.git"]),
            strings(&["--work-tree=."]),
            strings(&["--namespace=x"]),
            strings(&["--literal-pathspecs"]),
        ]),
        0..4,
    );
    let args = select(vec![
        vec![],
        strings(&["origin", "main"]),
        strings(&["--force"]),
        strings(&["-u", "origin", "HEAD"]),
        strings(&["--all"]),
    ]);
    (program("git", false), global, args).prop_map(|(mut argv, global, args)| {
        argv.extend(global.into_iter().flatten());
        argv.push("push".into());
        argv.extend(args);
        Spelling {
            argv,
            dangerous: true,
        }
    })
}

#[test]
fn git_push_asks_in_any_spelling() {
    check_family(
        "git push",
        &["git", "push"],
        Decision::Ask,
        git_push_spellings(),
    );
}

/// Wrapper chains in front of a canonical dangerous command.
fn wrapped(command: &'static [&'static str]) -> impl Strategy<Value = Spelling> {
    let wrapper = select(vec![
        strings(&["env"]),
        strings(&["env", "-u", "X"]),
        strings(&["env", "-i"]),
        strings(&["nice"]),
        strings(&["nice", "-n", "5"]),
        strings(&["nice", "-n5"]),
        strings(&["nohup"]),
        strings(&["timeout", "5"]),
        strings(&["timeout", "-s", "KILL", "5"]),
        strings(&["timeout", "--kill-after=1", "5"]),
        strings(&["xargs"]),
        strings(&["xargs", "-0"]),
        strings(&["stdbuf", "-o0"]),
    ]);
    (prop::collection::vec(wrapper, 1..4), any::<bool>()).prop_map(move |(chain, absolute)| {
        let mut argv: Vec<String> = chain.into_iter().flatten().collect();
        if absolute {
            argv[0] = format!("«BIN»/{}", argv[0]);
        }
        argv.extend(strings(command));
        Spelling {
            argv,
            dangerous: true,
        }
    })
}

#[rstest::rstest]
#[case::blacklisted_dd(&["dd", "if=/dev/zero", "of=x"], Decision::Deny)]
#[case::blacklisted_rm_rf(&["rm", "-rf", "build"], Decision::Deny)]
#[case::secret_read(&["cat", "«HOME»/.ssh/id_rsa"], Decision::Deny)]
#[case::shell_c(&["sh", "-c", "rm -rf /"], Decision::Deny)]
#[case::approval_git_push(&["git", "push"], Decision::Ask)]
#[case::approval_docker(&["docker", "ps"], Decision::Ask)]
#[case::exec_option_find(&["find", ".", "-exec", "id", ";"], Decision::Ask)]
fn wrappers_never_weaken_what_they_run(
    #[case] command: &'static [&'static str],
    #[case] minimum: Decision,
) {
    check_family("wrapped", command, minimum, wrapped(command));
}
