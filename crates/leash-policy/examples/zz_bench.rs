fn main() {
    let s = leash_policy::PolicySettings::new("/work/main".into(), "/root".into());
    let p = leash_policy::Policy::load(s).unwrap();
    let corpus = [
        "ls -la",
        "cat Cargo.toml",
        "git status",
        "git log --oneline -n 5",
        "grep -rn foo crates",
        "rm -rf /",
        "ls; id",
        "echo $(id)",
        "sed 's/a/b/' Cargo.toml",
        "find . -exec rm {} +",
        "tar -czf x.tgz crates",
        "python3 x.py",
        "curl https://x",
        "cat /etc/shadow",
        "env LD_PRELOAD=x ls",
        "sort -o /tmp/x y",
        "head -n 5 README.md",
        "awk '{print $1}' f",
        "git -c core.pager=sh log",
        "mkdir -p build/out",
    ];
    let argvs: Vec<Vec<String>> = corpus
        .iter()
        .map(|l| l.split(' ').map(String::from).collect())
        .collect();
    for (name, shell) in [("check_shell", true), ("check_argv", false)] {
        let n = 200_000;
        let t = std::time::Instant::now();
        for i in 0..n {
            let v = if shell {
                p.check_shell(corpus[i % corpus.len()])
            } else {
                p.check_argv(&argvs[i % argvs.len()])
            };
            std::hint::black_box(v);
        }
        let el = t.elapsed();
        println!("{name}: {:.0} decisions/s", n as f64 / el.as_secs_f64());
    }
}
