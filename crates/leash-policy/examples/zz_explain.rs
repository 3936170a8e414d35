fn main() {
    let s = leash_policy::PolicySettings::new("/work/main".into(), "/root".into());
    let p = leash_policy::Policy::load(s).expect("load");
    for l in std::env::args().skip(1) {
        let e = p.explain_shell(&l);
        println!("{l}: {:?} {}", e.verdict.decision, e.verdict.rule);
        for m in e.matches { println!("   {:?} {} {}", m.decision, m.rule, m.reason); }
    }
}
