fn main() {
    let s = leash_policy::PolicySettings::new("/work/main".into(), "/root".into());
    match leash_policy::Policy::load(s) {
        Ok(p) => {
            for l in std::env::args().skip(1) {
                let v = p.check_shell(&l);
                println!(
                    "{:5} {:35} {} | {}",
                    v.decision.as_str(),
                    v.rule,
                    l,
                    v.reason
                );
            }
        }
        Err(e) => println!("LOAD ERROR: {e}"),
    }
}
