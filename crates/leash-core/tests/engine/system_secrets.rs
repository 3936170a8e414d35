//! The policy and the sandbox use one list of system secrets
//! (`leash-system-paths`): the policy must deny reading every one of them.

use leash_system_paths::SYSTEM_SECRETS;

use crate::Fixture;

/// A concrete path for a pattern: a trailing `*` (a prefix pattern such as
/// `sudoers*`) stands for the base name itself, an inner `*` for a plausible
/// name (`ssh_host_rsa_key`, `/proc/1/environ`). Wider matches of prefix
/// patterns (`/etc/sudoers.bak`) are denied by the sandbox today and by the
/// policy once it reads this crate's list (done at merge).
fn example(pattern: &str) -> String {
    let base = pattern.strip_suffix('*').unwrap_or(pattern);
    base.replace("/proc/*/", "/proc/1/").replace('*', "rsa")
}

#[test]
fn the_policy_denies_reading_every_system_secret() {
    let fx = Fixture::new();
    let engine = fx.engine("");
    let mut allowed = Vec::new();
    for pattern in SYSTEM_SECRETS {
        let path = example(pattern);
        let verdict = engine.policy.check_argv(&["cat", path.as_str()]);
        if verdict.decision != leash_policy::Decision::Deny {
            allowed.push(format!("{path} ({})", verdict.rule));
        }
    }
    assert!(
        allowed.is_empty(),
        "the policy lets `cat` read: {allowed:?}"
    );
}
