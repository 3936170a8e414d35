mod common;
#[test]
fn depth() {
    let f = common::Fixture::new();
    let p = f.policy(common::Profile::Default);
    let n: usize = std::env::var("N").unwrap().parse().unwrap();
    let kind = std::env::var("K").unwrap();
    let s = match kind.as_str() {
        "sub" => format!("echo {}x{}", "$(".repeat(n), ")".repeat(n)),
        "par" => format!("{}ls{}", "(".repeat(n), ")".repeat(n)),
        _ => format!("{}ls{}", "{ ".repeat(n), "; }".repeat(n)),
    };
    let v = p.check_shell(&s);
    eprintln!("RESULT {kind} {n} {} {} {}", s.len(), v.decision.as_str(), v.rule);
}
