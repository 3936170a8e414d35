//! Shared by the policy's integration tests, its benchmark and its fuzz targets:
//! a self-contained fake machine (fake programs on a fixed search path, a fake
//! home full of secrets, a workspace with hostile symlinks) and the loader of the
//! data-driven corpora in `tests/corpus/`.
//!
//! Nothing here depends on what is installed on the machine running the tests:
//! every program the corpora name is a fake executable in a temp dir, and the
//! policy's `search_path` points only there.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use leash_policy::{Decision, Policy, PolicySettings, Verdict, default_whitelist};

/// Programs installed as fake executables in `«BIN»`: issue #3's list, the
/// wrappers and shells the corpora use, and a few dangerous programs that must
/// be denied because they are not whitelisted (not because they are missing).
pub const FAKE_PROGRAMS: &[&str] = &[
    // issue #3, item 4
    "ls",
    "cat",
    "echo",
    "printf",
    "grep",
    "rg",
    "find",
    "head",
    "tail",
    "wc",
    "sort",
    "uniq",
    "cut",
    "tr",
    "diff",
    "stat",
    "file",
    "du",
    "df",
    "date",
    "uname",
    "basename",
    "dirname",
    "which",
    "git",
    "tar",
    "gzip",
    "gunzip",
    "zip",
    "unzip",
    "awk",
    "sed",
    "xargs",
    "env",
    "python",
    "python3",
    "perl",
    "ruby",
    "node",
    "make",
    "npm",
    "npx",
    "pip",
    "cargo",
    "less",
    "more",
    "vim",
    "vi",
    "nano",
    "curl",
    "wget",
    "cp",
    "mv",
    "rm",
    "mkdir",
    "rmdir",
    "touch",
    "ln",
    "chmod",
    "chown",
    "tee",
    "rsync",
    "scp",
    "ssh",
    "docker",
    "podman",
    "kubectl",
    "systemctl",
    "crontab",
    "sqlite3",
    "jq",
    // wrappers, shells and editors' other names
    "sh",
    "bash",
    "dash",
    "zsh",
    "nice",
    "nohup",
    "timeout",
    "sudo",
    "su",
    "doas",
    "chroot",
    "strace",
    "stdbuf",
    "setsid",
    "flock",
    "watch",
    "script",
    "time",
    "ionice",
    "taskset",
    "view",
    "ex",
    "gawk",
    "pip3",
    // dangerous or merely unlisted programs
    "dd",
    "shred",
    "truncate",
    "mkfs",
    "kill",
    "install",
    "nc",
    "socat",
    "base64",
    "xxd",
    "od",
    "sha256sum",
    "id",
    // small inspection programs with grammars of their own
    "sleep",
    "seq",
    "test",
    "pwd",
    "whoami",
    "nproc",
    "mawk",
];

/// The seed config's lists (issue #2), used by every profile.
pub const SEED_BLACKLIST: &[&str] = &["rm -rf", "dd"];
pub const SEED_REQUIRE_APPROVAL: &[&str] = &["docker", "git push"];
pub const SEED_WHITELIST: &[&str] = &["ls", "cat", "echo"];

/// Which policy a corpus case is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Default whitelist, seed blacklist and require_approval_for, `network: false`.
    Default,
    /// As `Default` but with the seed config's own whitelist `ls cat echo`.
    SeedWhitelist,
    /// As `Default` but `network: true`.
    Network,
}

impl Profile {
    fn from_suffix(suffix: &str) -> Option<Profile> {
        match suffix {
            "" => Some(Profile::Default),
            "seed" => Some(Profile::SeedWhitelist),
            "net" => Some(Profile::Network),
            _ => None,
        }
    }
}

/// A fake machine in a temp dir. Layout (placeholders used by the corpora):
///
/// ```text
/// «ROOT»/usr/bin         fake programs («BIN»), myrm -> rm, lѕ (Cyrillic ѕ)
/// «ROOT»/opt/busybox/bin busybox, rm|sh|dd|wget|nc -> busybox («BB»)
/// «ROOT»/outside         a directory outside every root («OUT»)
/// «ROOT»/home            the user's home («HOME»): .ssh, .aws, leash config/state, ...
/// «ROOT»/home/project    the workspace («WS»), readable and writable
/// «ROOT»/home/project-evil   a sibling whose name has the workspace as a prefix
/// ```
#[derive(Debug)]
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub bin: PathBuf,
    pub busybox_dir: PathBuf,
    pub outside: PathBuf,
    pub home: PathBuf,
    pub workspace: PathBuf,
}

fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, content).unwrap();
}

fn write_executable(path: &Path, content: &str) {
    write(path, content);
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn fake_program(name: &str) -> String {
    format!("#!/bin/sh\n# fake `{name}` for leash-policy tests; never meant to run\nexit 0\n")
}

impl Fixture {
    /// A fixture under the build's temp dir (`CARGO_TARGET_TMPDIR`), not under
    /// `/tmp`: the policy never trusts a program found in a world-writable
    /// temp dir by name, so fake programs there would all be judged untrusted.
    pub fn new() -> Fixture {
        let base = option_env!("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_dir().unwrap().join("target"));
        Fixture::new_in(&base)
    }

    /// A fixture in a fresh directory under `base` (which must not be a
    /// world-writable temp dir, see [`Fixture::new`]).
    pub fn new_in(base: &Path) -> Fixture {
        fs::create_dir_all(base).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("leash-policy-")
            .tempdir_in(base)
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        // Program dirs sit two levels down, like /usr/bin: the policy treats a
        // search-path dir's parent as readable, and that must not be the root.
        let bin = root.join("usr/bin");
        let busybox_dir = root.join("opt/busybox/bin");
        let outside = root.join("outside");
        let home = root.join("home");
        let workspace = home.join("project");

        for name in FAKE_PROGRAMS {
            write_executable(&bin.join(name), &fake_program(name));
        }
        // A Cyrillic lookalike of `ls` that really exists on the search path.
        write_executable(&bin.join("l\u{0455}"), &fake_program("lookalike ls"));
        symlink("rm", bin.join("myrm")).unwrap();

        write_executable(&busybox_dir.join("busybox"), &fake_program("busybox"));
        for applet in ["rm", "sh", "dd", "wget", "nc"] {
            symlink("busybox", busybox_dir.join(applet)).unwrap();
        }

        write(&outside.join("outside.txt"), "outside every root\n");
        write(&outside.join("x.gz"), "not really gzip\n");
        fs::create_dir_all(outside.join("emptydir")).unwrap();

        // The home: secrets that are denied by default, and leash's own files.
        for (path, content) in [
            (".ssh/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n"),
            (
                ".ssh/id_ed25519",
                "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n",
            ),
            (".ssh/authorized_keys", "ssh-ed25519 AAAA fake\n"),
            (".ssh/config", "Host *\n"),
            (
                ".aws/credentials",
                "[default]\naws_secret_access_key = fake\n",
            ),
            (".gnupg/private-keys-v1.d/key", "fake\n"),
            (".config/gcloud/credentials.db", "fake\n"),
            (".kube/config", "apiVersion: v1\n"),
            (".netrc", "machine example.com password fake\n"),
            (".docker/config.json", "{\"auths\":{}}\n"),
            (".config/leash/config.yaml", "security: {}\n"),
            (".local/state/leash/leash.db", "fake sqlite\n"),
            (".local/state/leash/token", "fake-token\n"),
            (".local/state/leash/learned-rules.yaml", "rules: []\n"),
            (".bashrc", "# bashrc\n"),
            ("notes.txt", "ordinary notes in a read root\n"),
            (
                "project-evil/secret.txt",
                "sibling with the workspace as a name prefix\n",
            ),
        ] {
            write(&home.join(path), content);
        }

        // The workspace: ordinary files, repo-controlled code, hostile symlinks.
        for (path, content) in [
            ("README.md", "# project\n"),
            ("Cargo.toml", "[package]\nname = \"p\"\n"),
            ("Makefile", "all:\n\ttrue\n"),
            (
                "package.json",
                "{\"name\":\"p\",\"scripts\":{\"build\":\"true\"}}\n",
            ),
            ("requirements.txt", "requests\n"),
            ("setup.py", "print('setup')\n"),
            ("script.py", "print('hi')\n"),
            ("script.pl", "print 1;\n"),
            ("script.rb", "puts 1\n"),
            ("index.js", "console.log(1)\n"),
            ("script.sed", "s/a/b/\n"),
            ("prog.awk", "{print}\n"),
            ("evil.vim", "!id\n"),
            ("evil.vimrc", "!id\n"),
            ("evil.cfg", "[core]\n\tpager = id\n"),
            ("evil.yaml", "security: {}\n"),
            ("evil.cron", "* * * * * id\n"),
            ("evil.so", "not a library\n"),
            ("a.txt", "foo\nbar\n"),
            ("b.txt", "foo\nbaz\n"),
            ("file.txt", "text\n"),
            ("names.txt", "b\na\nb\n"),
            ("nums.txt", "3\n1\n2\n"),
            ("log.txt", "line\n"),
            ("data.json", "{\"name\":\"p\",\"items\":[1,2]}\n"),
            ("data.csv", "a,b\n1,2\n"),
            ("x.db", "not really sqlite\n"),
            ("x.tgz", "not really a tarball\n"),
            ("x.gz", "not really gzip\n"),
            ("archive.zip", "not really a zip\n"),
            ("notes/todo.md", "- TODO\n"),
            ("src/main.rs", "fn main() {}\n"),
            ("src/lib.rs", "pub fn f() {}\n"),
            ("build/old.log", "old\n"),
            ("hooks/pre-commit", "#!/bin/sh\nid\n"),
            ("tpl/hooks/pre-commit", "#!/bin/sh\nid\n"),
            ("keys/placeholder", "\n"),
            ("sub/README.md", "sub\n"),
            (".git/HEAD", "ref: refs/heads/main\n"),
            (".git/config", "[core]\n\tbare = false\n"),
            (".git/index", "fake\n"),
            (".leash.yaml", "security: {}\n"),
        ] {
            write(&workspace.join(path), content);
        }
        write_executable(
            &workspace.join(".git/hooks/pre-commit"),
            "#!/bin/sh\nexit 0\n",
        );
        // Repositories by meaning: a bare-repository lookalike built from
        // ordinary files, a half-built one, a `.git` file pointing outside the
        // roots, a dangling link into `.git`, and a staged copy of leash's config.
        for (path, content) in [
            ("evil/HEAD", "ref: refs/heads/main\n"),
            ("evil/objects/info/packs", "\n"),
            (
                "evil/refs/heads/main",
                "0000000000000000000000000000000000000000\n",
            ),
            ("evil/config", "[core]\n\tfsmonitor = id\n"),
            ("half/objects/info/packs", "\n"),
            ("staging/.leash.yaml", "security: {}\n"),
            ("staging/config.yaml", "security: {}\n"),
        ] {
            write(&workspace.join(path), content);
        }
        write(
            &workspace.join("linked/.git"),
            &format!("gitdir: {}\n", outside.join("repo").display()),
        );
        write(&outside.join("repo/HEAD"), "ref: refs/heads/main\n");
        fs::create_dir_all(outside.join("repo/objects")).unwrap();
        fs::create_dir_all(outside.join("repo/refs")).unwrap();
        symlink(".git/commondir", workspace.join("dangle")).unwrap();
        write_executable(&workspace.join("build.sh"), "#!/bin/sh\nid\n");
        write_executable(&workspace.join("evil.sh"), "#!/bin/sh\nid\n");
        // Copies of programs inside the (writable) workspace.
        write_executable(&workspace.join("rm"), &fake_program("rm"));
        write_executable(&workspace.join("tools/rm"), &fake_program("rm"));
        write_executable(&workspace.join("ws-bin/ls"), &fake_program("ls"));
        fs::create_dir_all(workspace.join("emptydir")).unwrap();
        symlink(home.join(".ssh"), workspace.join("link-ssh")).unwrap();
        symlink(home.join(".ssh/id_rsa"), workspace.join("link-key")).unwrap();
        symlink(&outside, workspace.join("link-out")).unwrap();
        symlink(bin.join("rm"), workspace.join("link-rm")).unwrap();
        symlink(".git", workspace.join("gitlink")).unwrap();

        Fixture {
            _dir: dir,
            root,
            bin,
            busybox_dir,
            outside,
            home,
            workspace,
        }
    }

    /// leash's own files: config, state dir, token, learned rules, and a config
    /// kept inside the workspace (protected although the workspace is writable).
    pub fn protected_paths(&self) -> Vec<PathBuf> {
        vec![
            self.home.join(".config/leash/config.yaml"),
            self.home.join(".local/state/leash"),
            self.home.join(".local/state/leash/token"),
            self.home.join(".local/state/leash/learned-rules.yaml"),
            self.workspace.join(".leash.yaml"),
        ]
    }

    pub fn settings(&self, profile: Profile) -> PolicySettings {
        let mut settings = PolicySettings::new(self.workspace.clone(), self.home.clone());
        settings.whitelist = match profile {
            Profile::SeedWhitelist => strings(SEED_WHITELIST),
            Profile::Default | Profile::Network => default_whitelist(),
        };
        settings.blacklist = strings(SEED_BLACKLIST);
        settings.require_approval_for = strings(SEED_REQUIRE_APPROVAL);
        settings.search_path = vec![self.bin.clone(), self.busybox_dir.clone()];
        // The home is readable, so secret reads are denied by the deny list and
        // not merely for being outside every root.
        settings.read_roots = vec![self.home.clone()];
        settings.protected_paths = self.protected_paths();
        settings.network = matches!(profile, Profile::Network);
        settings
    }

    pub fn policy(&self, profile: Profile) -> Policy {
        Policy::load(self.settings(profile))
            .unwrap_or_else(|err| panic!("the fixture policy ({profile:?}) must load: {err}"))
    }

    /// Replace the corpus placeholders (see the header of `corpus/hostile.cases`).
    pub fn expand(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('«') {
            out.push_str(&rest[..start]);
            let after = &rest[start + '«'.len_utf8()..];
            let end = after
                .find('»')
                .unwrap_or_else(|| panic!("unterminated placeholder in {text:?}"));
            out.push_str(&self.placeholder(&after[..end]));
            rest = &after[end + '»'.len_utf8()..];
        }
        out.push_str(rest);
        out
    }

    fn placeholder(&self, token: &str) -> String {
        let path = |p: &Path| p.display().to_string();
        match token {
            "ROOT" => path(&self.root),
            "BIN" => path(&self.bin),
            "BB" => path(&self.busybox_dir),
            "OUT" => path(&self.outside),
            "HOME" => path(&self.home),
            "WS" => path(&self.workspace),
            "NL" => "\n".into(),
            "CR" => "\r".into(),
            "TAB" => "\t".into(),
            "SP" => " ".into(),
            "NUL" => "\0".into(),
            _ => {
                if let Some(hex) = token.strip_prefix("U+") {
                    let code = u32::from_str_radix(hex, 16)
                        .unwrap_or_else(|_| panic!("bad code point placeholder «{token}»"));
                    return char::from_u32(code)
                        .unwrap_or_else(|| panic!("not a scalar value: «{token}»"))
                        .to_string();
                }
                if let Some(spec) = token.strip_prefix("REPEAT:") {
                    let (count, unit) = spec
                        .split_once(':')
                        .unwrap_or_else(|| panic!("bad REPEAT placeholder «{token}»"));
                    let count: usize = count.parse().unwrap();
                    return unit.repeat(count);
                }
                panic!("unknown placeholder «{token}»")
            }
        }
    }

    /// Expand an argv from a corpus: placeholders in every element, and an element
    /// that is exactly `«REPEAT-ARGS:N:text»` becomes N elements `text`.
    pub fn expand_argv(&self, argv: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(argv.len());
        for element in argv {
            let repeated = element
                .strip_prefix("«REPEAT-ARGS:")
                .and_then(|rest| rest.strip_suffix('»'))
                .and_then(|spec| spec.split_once(':'));
            match repeated {
                Some((count, unit)) => {
                    let count: usize = count.parse().unwrap();
                    let unit = self.expand(unit);
                    out.extend(std::iter::repeat_n(unit, count));
                }
                None => out.push(self.expand(element)),
            }
        }
        out
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The three policies the corpora are judged by, built once.
#[derive(Debug)]
pub struct Policies {
    pub default: Policy,
    pub seed: Policy,
    pub network: Policy,
}

impl Policies {
    pub fn new(fixture: &Fixture) -> Policies {
        Policies {
            default: fixture.policy(Profile::Default),
            seed: fixture.policy(Profile::SeedWhitelist),
            network: fixture.policy(Profile::Network),
        }
    }

    pub fn get(&self, profile: Profile) -> &Policy {
        match profile {
            Profile::Default => &self.default,
            Profile::SeedWhitelist => &self.seed,
            Profile::Network => &self.network,
        }
    }
}

/// What a case requires of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly allow: a stricter decision is a false positive, a bug too.
    Allow,
    /// Ask or deny.
    AtLeastAsk,
    /// Deny.
    Deny,
}

impl Expect {
    pub fn holds(self, decision: Decision) -> bool {
        match self {
            Expect::Allow => decision == Decision::Allow,
            Expect::AtLeastAsk => decision >= Decision::Ask,
            Expect::Deny => decision == Decision::Deny,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Expect::Allow => "expected allow",
            Expect::AtLeastAsk => "expected ≥ ask",
            Expect::Deny => "expected deny",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A shell-style string, judged by `check_shell`.
    Shell,
    /// A JSON array of strings, judged by `check_argv` (no shell involved).
    Argv,
}

/// One line of a corpus file.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub line: usize,
    pub expect: Expect,
    pub form: Form,
    pub profile: Profile,
    /// The input column as written (placeholders not yet expanded).
    pub raw: String,
}

impl Case {
    /// The class is the part of the name before the first dot.
    pub fn class(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }
}

/// The input of a case once placeholders are expanded.
#[derive(Debug, Clone)]
pub enum Input {
    Shell(String),
    Argv(Vec<String>),
}

impl Input {
    /// A short, printable rendering for failure messages.
    pub fn preview(&self) -> String {
        let text = match self {
            Input::Shell(s) => format!("{s:?}"),
            Input::Argv(a) => format!("{a:?}"),
        };
        if text.chars().count() > 160 {
            let head: String = text.chars().take(150).collect();
            format!("{head}… ({} bytes)", text.len())
        } else {
            text
        }
    }
}

pub fn corpus_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(file)
}

/// Parse a corpus file. Format (see the header of `hostile.cases`):
/// `NAME EXPECT FORM INPUT`, the first three separated by whitespace, the input
/// being the rest of the line after the whitespace that follows FORM.
pub fn load_corpus(file: &str) -> Vec<Case> {
    let path = corpus_path(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = split_column(line);
        let (expect, rest) = split_column(rest);
        let (form, input) = split_column(rest);
        let expect = match expect {
            "allow" => Expect::Allow,
            "ask" => Expect::AtLeastAsk,
            "deny" => Expect::Deny,
            other => panic!(
                "{}:{line_no}: unknown expectation {other:?}",
                path.display()
            ),
        };
        let (form_name, profile_name) = form.split_once('@').unwrap_or((form, ""));
        let form = match form_name {
            "sh" => Form::Shell,
            "argv" => Form::Argv,
            other => panic!("{}:{line_no}: unknown form {other:?}", path.display()),
        };
        let profile = Profile::from_suffix(profile_name).unwrap_or_else(|| {
            panic!(
                "{}:{line_no}: unknown profile {profile_name:?}",
                path.display()
            )
        });
        assert!(
            !name.is_empty(),
            "{}:{line_no}: empty case name",
            path.display()
        );
        cases.push(Case {
            name: name.to_string(),
            line: line_no,
            expect,
            form,
            profile,
            raw: input.to_string(),
        });
    }
    cases
}

fn split_column(line: &str) -> (&str, &str) {
    let line = line.trim_start_matches([' ', '\t']);
    match line.find([' ', '\t']) {
        Some(end) => (&line[..end], line[end..].trim_start_matches([' ', '\t'])),
        None => (line, ""),
    }
}

impl Fixture {
    pub fn input(&self, case: &Case) -> Input {
        match case.form {
            Form::Shell => Input::Shell(self.expand(&case.raw)),
            Form::Argv => {
                let argv: Vec<String> = serde_json::from_str(&case.raw).unwrap_or_else(|e| {
                    panic!(
                        "case {} (line {}): argv is not a JSON string array: {e}",
                        case.name, case.line
                    )
                });
                Input::Argv(self.expand_argv(&argv))
            }
        }
    }
}

/// Judge an input with the entry point the engine uses for its form.
pub fn judge(policy: &Policy, input: &Input) -> Verdict {
    match input {
        Input::Shell(s) => policy.check_shell(s),
        Input::Argv(argv) => {
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            policy.check_argv(&refs)
        }
    }
}
