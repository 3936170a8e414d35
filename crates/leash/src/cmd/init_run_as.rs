//! `leash init` as root: commands never run as root, so init names (and, if
//! missing, creates) an unprivileged user for `security.run_as`, writes it into
//! the config, and hands the workspaces it is given over to that user.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

/// The user `leash init` creates when run as root and none is named.
pub const DEFAULT_RUN_AS_USER: &str = "leash-run";

/// Makes sure `user` exists: `useradd --system` with a home of its own under
/// `/var/lib` and no login shell, when it is missing.
pub fn ensure_user(user: &str) -> anyhow::Result<bool> {
    if nix::unistd::User::from_name(user)
        .with_context(|| format!("looking up user {user}"))?
        .is_some()
    {
        return Ok(false);
    }
    let home = format!("/var/lib/{user}");
    let shell = ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false"]
        .into_iter()
        .find(|s| Path::new(s).exists())
        .unwrap_or("/bin/false");
    // Not through PATH: a service manager's or a test's PATH may lack sbin.
    let useradd = ["/usr/sbin/useradd", "/sbin/useradd", "/usr/bin/useradd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("useradd");
    let status = Command::new(useradd)
        .args(["--system", "--user-group", "--create-home", "--home-dir"])
        .arg(&home)
        .args(["--shell", shell, user])
        .status()
        .with_context(|| format!("running useradd to create {user} (install the passwd package, or create the user and pass --run-as)"))?;
    anyhow::ensure!(status.success(), "useradd {user} failed ({status})");
    Ok(true)
}

/// The default config text with `run_as` set to `user` (the commented example
/// line becomes the real key).
pub fn config_with_run_as(config: &str, user: &str) -> anyhow::Result<String> {
    let commented = "  # run_as: leash-run\n";
    anyhow::ensure!(
        config.contains(commented),
        "the default config has no run_as line to fill in"
    );
    Ok(config.replacen(commented, &format!("  run_as: {user}\n"), 1))
}

/// Creates each workspace (if missing) and hands it to `user`.
pub fn hand_over_workspaces(user: &str, workspaces: &[&Path]) -> anyhow::Result<()> {
    for ws in workspaces {
        std::fs::create_dir_all(ws).with_context(|| format!("creating {}", ws.display()))?;
    }
    leash_core::hand_over_if_root(user, workspaces).map_err(anyhow::Error::msg)?;
    Ok(())
}
