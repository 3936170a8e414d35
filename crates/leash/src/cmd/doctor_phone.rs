//! `leash doctor`'s phone checks: Termux (the one detector in
//! `leash-system-paths`), the Termux:API version (≥ 0.52), Android 12+'s
//! phantom-process killer, that nothing of leash's lives in `$PREFIX/tmp`
//! (Android wipes it when the app restarts), the wake lock, and the voice
//! programs (`device.speak`, `leash listen`).
//!
//! The Termux:API version is read the ways Termux offers: the app's version in
//! `$TERMUX_API_APP__VERSION_NAME` (exported by the Termux app when the
//! Termux:API app is installed), else the `termux-api` package's version from
//! `dpkg-query -W -f '${Version}' termux-api` in `$PREFIX/bin`. The
//! phantom-process killer's settings are Android's
//! (`settings get global settings_enable_monitor_phantom_procs`,
//! `device_config get activity_manager max_phantom_processes`, the checks
//! Termux's README gives); an app often cannot read them, so an unreadable
//! value is reported with the `adb` commands to check and change it, never as
//! a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use leash_config::LoadedConfig;
use leash_daemon::voice::{VoiceProgram, listener, speaker};
use serde::Serialize;

/// Android 12 (API 31) brought the phantom-process killer.
const PHANTOM_KILLER_SDK: u32 = 31;

/// What the phone checks found.
#[derive(Debug, Serialize)]
pub struct Phone {
    /// Termux's `$PREFIX`, `None` off Termux.
    pub termux_prefix: Option<PathBuf>,
    /// On Termux: the Termux:API version and where it was read.
    pub termux_api: Option<TermuxApi>,
    /// On Termux with Android 12+: the phantom-process killer's settings.
    pub phantom_processes: Option<PhantomProcesses>,
    /// leash's paths inside `$PREFIX/tmp` (each one is a problem).
    pub prefix_tmp_uses: Vec<PrefixTmpUse>,
    /// Where leash's own temporary files go (the sandbox's private tmps).
    pub temp_dir: Option<PathBuf>,
    /// Whether jobs hold `termux-wake-lock`.
    pub wake_lock: bool,
    /// `device.speak`'s program (reported whether or not speaking is on).
    pub speak: VoiceProgram,
    pub speak_enabled: bool,
    /// `leash listen`'s speech-to-text program.
    pub listen: VoiceProgram,
}

#[derive(Debug, Serialize)]
pub struct TermuxApi {
    pub version: Option<String>,
    /// `TERMUX_API_APP__VERSION_NAME` or `dpkg-query termux-api`.
    pub source: Option<String>,
    /// `Some(false)` when the version is known and below 0.52.
    pub recent_enough: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct PhantomProcesses {
    /// `settings_enable_monitor_phantom_procs` (`false` = killer off).
    pub monitor: Option<String>,
    /// `max_phantom_processes` (Android's default is 32).
    pub max: Option<String>,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct PrefixTmpUse {
    pub what: String,
    pub path: PathBuf,
}

/// Runs the checks (`loaded` is `None` when the config did not load).
pub fn diagnose(loaded: Option<&LoadedConfig>, android_sdk: Option<u32>) -> Option<Phone> {
    let loaded = loaded?;
    let prefix = leash_system_paths::termux_prefix();
    let termux_api = prefix.as_deref().map(termux_api);
    let phantom_processes = match (&prefix, android_sdk) {
        (Some(_), Some(sdk)) if sdk >= PHANTOM_KILLER_SDK => Some(phantom_processes()),
        (Some(_), _) => Some(PhantomProcesses {
            monitor: None,
            max: None,
            note: "Android version unknown; on Android 12+ check it as below".to_owned()
                + PHANTOM_HELP,
        }),
        (None, _) => None,
    };
    let temp_dir = Some(loaded.paths.cache_dir.join("tmp"));
    let prefix_tmp_uses = prefix
        .as_deref()
        .map(|p| prefix_tmp_uses(loaded, &p.join("tmp")))
        .unwrap_or_default();
    Some(Phone {
        wake_lock: prefix.is_some() && loaded.config.device.wake_lock,
        termux_prefix: prefix,
        termux_api,
        phantom_processes,
        prefix_tmp_uses,
        temp_dir,
        speak: speaker(loaded),
        speak_enabled: loaded.config.device.speak,
        listen: listener(loaded),
    })
}

const PHANTOM_HELP: &str = ": from a computer, `adb shell settings get global settings_enable_monitor_phantom_procs` \
(Android 14+: Developer options > Disable child process restrictions) or \
`adb shell /system/bin/dumpsys activity settings | grep max_phantom_processes`; \
turn it off with `adb shell settings put global settings_enable_monitor_phantom_procs false` \
or `adb shell /system/bin/device_config put activity_manager max_phantom_processes 2147483647`";

fn termux_api(prefix: &Path) -> TermuxApi {
    let from_app = std::env::var("TERMUX_API_APP__VERSION_NAME")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            (
                v,
                "TERMUX_API_APP__VERSION_NAME (the Termux:API app)".to_owned(),
            )
        });
    let found = from_app.or_else(|| {
        output(
            &prefix.join("bin/dpkg-query"),
            &["-W", "-f", "${Version}", "termux-api"],
        )
        .map(|v| (v, "dpkg-query termux-api (the package)".to_owned()))
    });
    let recent_enough = found
        .as_ref()
        .and_then(|(v, _)| leash_system_paths::parse_version(v))
        .map(|v| v >= leash_system_paths::MIN_TERMUX_API_VERSION);
    let (version, source) = found.unzip();
    TermuxApi {
        version,
        source,
        recent_enough,
    }
}

fn phantom_processes() -> PhantomProcesses {
    let monitor = output(
        Path::new("/system/bin/settings"),
        &["get", "global", "settings_enable_monitor_phantom_procs"],
    );
    let max = output(
        Path::new("/system/bin/device_config"),
        &["get", "activity_manager", "max_phantom_processes"],
    );
    let killer_off = monitor.as_deref() == Some("false")
        || max
            .as_deref()
            .and_then(|m| m.parse::<u64>().ok())
            .is_some_and(|m| m >= 1024);
    let note = if killer_off {
        "off: background jobs and llama-server are not killed as phantom processes".to_owned()
    } else if monitor.is_none() && max.is_none() {
        "unreadable from Termux; check it".to_owned() + PHANTOM_HELP
    } else {
        "on: Android may kill llama-server and jobs in the background (leash restarts the server; jobs are re-asked)"
            .to_owned()
            + PHANTOM_HELP
    };
    PhantomProcesses { monitor, max, note }
}

/// A program's trimmed standard output when it exits 0 with some output.
fn output(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.is_empty() && text != "null").then_some(text)
}

/// Every path leash keeps or writes that lies in `tmp` (`$PREFIX/tmp`).
fn prefix_tmp_uses(loaded: &LoadedConfig, tmp: &Path) -> Vec<PrefixTmpUse> {
    let config = &loaded.config;
    let paths = &loaded.paths;
    let mut candidates: Vec<(String, PathBuf)> = vec![
        ("config dir".into(), paths.config_dir.clone()),
        ("state dir".into(), paths.state_dir.clone()),
        ("data dir".into(), paths.data_dir.clone()),
        (
            "cache dir (leash's temporary files)".into(),
            paths.cache_dir.clone(),
        ),
        ("config file".into(), loaded.location.path.clone()),
    ];
    if let Some(ws) = &config.security.workspace {
        candidates.push(("security.workspace".into(), ws.clone()));
    }
    for dir in &config.monitoring.watch_directories {
        candidates.push(("monitoring.watch_directories".into(), dir.clone()));
    }
    for dir in &config.security.paths.write {
        candidates.push(("security.paths.write".into(), dir.clone()));
    }
    if let Some(model) = &config.model.path {
        candidates.push(("model.path".into(), model.clone()));
    }
    let canonical_tmp = std::fs::canonicalize(tmp).ok();
    candidates
        .into_iter()
        .filter(|(_, path)| {
            path.starts_with(tmp)
                || canonical_tmp
                    .as_ref()
                    .is_some_and(|t| std::fs::canonicalize(path).is_ok_and(|p| p.starts_with(t)))
        })
        .map(|(what, path)| PrefixTmpUse { what, path })
        .collect()
}

/// What fails doctor: an old Termux:API, anything in `$PREFIX/tmp`.
pub fn problems(phone: Option<&Phone>) -> Vec<String> {
    let Some(phone) = phone else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if let Some(api) = &phone.termux_api
        && api.recent_enough == Some(false)
    {
        let (major, minor) = leash_system_paths::MIN_TERMUX_API_VERSION;
        problems.push(format!(
            "Termux:API {} is older than {major}.{minor}: update the Termux:API app and `pkg install termux-api`",
            api.version.as_deref().unwrap_or("?")
        ));
    }
    for used in &phone.prefix_tmp_uses {
        problems.push(format!(
            "{} {} is in $PREFIX/tmp, which Android wipes when Termux restarts: move it under $HOME",
            used.what,
            used.path.display()
        ));
    }
    problems
}

fn voice_line(program: &VoiceProgram) -> String {
    let name = program.argv.join(" ");
    if program.found {
        format!("{name}: found")
    } else {
        format!("{name}: not installed (optional)")
    }
}

/// The text lines of the phone checks.
pub fn render(phone: Option<&Phone>) -> String {
    let Some(phone) = phone else {
        return String::new();
    };
    let mut out = String::new();
    if let Some(prefix) = &phone.termux_prefix {
        out.push_str(&format!("termux prefix: {}\n", prefix.display()));
    }
    if let Some(api) = &phone.termux_api {
        let (major, minor) = leash_system_paths::MIN_TERMUX_API_VERSION;
        let verdict = match api.recent_enough {
            Some(true) => "ok".to_owned(),
            Some(false) => format!("TOO OLD (need >= {major}.{minor})"),
            None => "unknown (`pkg install termux-api` and the Termux:API app)".to_owned(),
        };
        out.push_str(&format!(
            "termux:api:   {} {verdict}{}\n",
            api.version.as_deref().unwrap_or("-"),
            api.source
                .as_deref()
                .map(|s| format!(" (from {s})"))
                .unwrap_or_default()
        ));
    }
    if let Some(phantom) = &phone.phantom_processes {
        out.push_str(&format!("phantom killer: {}\n", phantom.note));
    }
    if let Some(tmp) = &phone.temp_dir {
        out.push_str(&format!("temp files:   {}\n", tmp.display()));
    }
    for used in &phone.prefix_tmp_uses {
        out.push_str(&format!(
            "  IN $PREFIX/tmp: {} {}\n",
            used.what,
            used.path.display()
        ));
    }
    if phone.termux_prefix.is_some() {
        out.push_str(&format!(
            "wake lock:    {}\n",
            if phone.wake_lock {
                "held while jobs run"
            } else {
                "off (device.wake_lock)"
            }
        ));
    }
    out.push_str(&format!(
        "voice speak:  {}{}\n",
        voice_line(&phone.speak),
        if phone.speak_enabled {
            ""
        } else {
            " [device.speak off]"
        }
    ));
    out.push_str(&format!("voice listen: {}\n", voice_line(&phone.listen)));
    out
}
