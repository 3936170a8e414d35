//! What the device's condition is: battery temperature, charge and charger
//! from `termux-battery-status` on Termux (sysfs thermal reads are usually
//! denied to apps there), else `/sys/class/power_supply/*` and the hottest
//! `/sys/class/thermal/thermal_zone*/temp`; load and available memory from
//! `/proc` everywhere. Every value is optional: a desktop has no battery, a
//! container may have no thermal zones.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The longest a `termux-battery-status` run may take: without the
/// Termux:API app it never answers.
const TERMUX_TIMEOUT: Duration = Duration::from_secs(5);

/// One reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceReading {
    /// °C: the battery's on Termux, else the hottest thermal zone.
    pub temp_c: Option<f64>,
    /// Battery level, percent.
    pub battery_pct: Option<u32>,
    /// Plugged in and charging (or full on the charger).
    pub charging: Option<bool>,
    /// One-minute load average.
    pub load1: Option<f64>,
    /// `MemAvailable`, in MiB.
    pub mem_available_mb: Option<u64>,
    /// Where the battery and temperature came from: `termux-battery-status`,
    /// `sysfs` or `none`.
    pub source: String,
}

/// Where readings come from. Tests point the roots at fake trees and put a
/// fake `termux-battery-status` first on `PATH` (stand-ins for a phone).
#[derive(Debug, Clone)]
pub struct ReadingSources {
    /// The `termux-battery-status` program, when there is one.
    pub termux_battery_status: Option<PathBuf>,
    /// Where sysfs is (`/sys`).
    pub sys_root: PathBuf,
    /// Where procfs is (`/proc`).
    pub proc_root: PathBuf,
}

impl ReadingSources {
    /// `termux-battery-status` when it is on `PATH`, and the configured
    /// roots (`device.sys_root`, `device.proc_root`).
    pub fn from_config(device: &leash_config::DeviceConfig) -> Self {
        ReadingSources {
            termux_battery_status: find_on_path("termux-battery-status"),
            sys_root: device.sys_root.clone(),
            proc_root: device.proc_root.clone(),
        }
    }

    /// Reads everything once.
    pub fn read(&self) -> DeviceReading {
        let mut reading = DeviceReading {
            load1: read_load(&self.proc_root),
            mem_available_mb: read_mem_available(&self.proc_root),
            source: "none".to_string(),
            ..DeviceReading::default()
        };
        if let Some(program) = &self.termux_battery_status
            && let Some(battery) = read_termux(program)
        {
            reading.temp_c = battery.temperature;
            reading.battery_pct = battery.percentage;
            reading.charging = battery.plugged.as_deref().map(|p| p != "UNPLUGGED");
            reading.source = "termux-battery-status".to_string();
            return reading;
        }
        let (pct, charging) = read_power_supply(&self.sys_root);
        let temp = read_thermal(&self.sys_root);
        if pct.is_some() || temp.is_some() {
            reading.source = "sysfs".to_string();
        }
        reading.battery_pct = pct;
        reading.charging = charging;
        reading.temp_c = temp;
        reading
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `termux-battery-status`'s JSON (only the fields used).
#[derive(Debug, Deserialize)]
struct TermuxBattery {
    #[serde(default)]
    percentage: Option<u32>,
    #[serde(default)]
    plugged: Option<String>,
    #[serde(default)]
    temperature: Option<f64>,
}

fn read_termux(program: &Path) -> Option<TermuxBattery> {
    let mut child = Command::new(program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| tracing::warn!(%error, program = %program.display(), "cannot run"))
        .ok()?;
    let deadline = Instant::now() + TERMUX_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) | Err(_) => {
                tracing::warn!(program = %program.display(), "no answer in time (is the Termux:API app installed?)");
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut text = String::new();
    child
        .stdout
        .take()?
        .take(64 << 10)
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text)
        .map_err(|error| tracing::warn!(%error, "termux-battery-status answered something else"))
        .ok()
}

/// The first battery under `class/power_supply`: capacity and status.
fn read_power_supply(sys_root: &Path) -> (Option<u32>, Option<bool>) {
    let Ok(entries) = std::fs::read_dir(sys_root.join("class/power_supply")) else {
        return (None, None);
    };
    let mut supplies: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    supplies.sort();
    let read = |dir: &Path, name: &str| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let mut online = false;
    let mut battery = None;
    for dir in &supplies {
        match read(dir, "type").as_deref() {
            Some("Battery") if battery.is_none() => battery = Some(dir.clone()),
            Some("Mains" | "USB" | "Wireless") => {
                online |= read(dir, "online").as_deref() == Some("1");
            }
            _ => {}
        }
    }
    let Some(battery) = battery else {
        return (None, None);
    };
    let pct = read(&battery, "capacity").and_then(|s| s.parse().ok());
    let status = read(&battery, "status");
    let charging = match status.as_deref() {
        Some("Charging" | "Full") => Some(true),
        Some("Discharging") => Some(online),
        Some(_) | None => Some(online),
    };
    (pct, charging)
}

/// The hottest thermal zone, in °C (sysfs gives millidegrees).
fn read_thermal(sys_root: &Path) -> Option<f64> {
    let entries = std::fs::read_dir(sys_root.join("class/thermal")).ok()?;
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("temp")).ok())
        .filter_map(|s| s.trim().parse::<i64>().ok())
        // Some zones report nonsense (-273000, 0) when their sensor is off.
        .filter(|milli| *milli > 0 && *milli < 200_000)
        .map(|milli| milli as f64 / 1000.0)
        .reduce(f64::max)
}

fn read_load(proc_root: &Path) -> Option<f64> {
    std::fs::read_to_string(proc_root.join("loadavg"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn read_mem_available(proc_root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(proc_root.join("meminfo")).ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A stand-in sysfs/procfs tree, laid out as Linux lays them out.
    fn fake_tree(
        battery: Option<(&str, &str)>,
        zones: &[&str],
        ac_online: bool,
    ) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        if let Some((capacity, status)) = battery {
            let bat = sys.join("class/power_supply/BAT0");
            write(&bat.join("type"), "Battery\n");
            write(&bat.join("capacity"), &format!("{capacity}\n"));
            write(&bat.join("status"), &format!("{status}\n"));
        }
        let ac = sys.join("class/power_supply/AC");
        write(&ac.join("type"), "Mains\n");
        write(&ac.join("online"), if ac_online { "1\n" } else { "0\n" });
        for (i, temp) in zones.iter().enumerate() {
            write(
                &sys.join(format!("class/thermal/thermal_zone{i}/temp")),
                temp,
            );
        }
        let proc = dir.path().join("proc");
        write(&proc.join("loadavg"), "0.42 0.30 0.20 1/100 1234\n");
        write(
            &proc.join("meminfo"),
            "MemTotal: 4000000 kB\nMemAvailable: 2048000 kB\n",
        );
        dir
    }

    fn sources(dir: &Path, termux: Option<PathBuf>) -> ReadingSources {
        ReadingSources {
            termux_battery_status: termux,
            sys_root: dir.join("sys"),
            proc_root: dir.join("proc"),
        }
    }

    #[test]
    fn sysfs_gives_the_hottest_sane_zone_and_the_battery() {
        let dir = fake_tree(
            Some(("12", "Discharging")),
            &["45000\n", "-273000\n", "51500\n"],
            false,
        );
        let reading = sources(dir.path(), None).read();
        assert_eq!(reading.temp_c, Some(51.5));
        assert_eq!(reading.battery_pct, Some(12));
        assert_eq!(reading.charging, Some(false));
        assert_eq!(reading.load1, Some(0.42));
        assert_eq!(reading.mem_available_mb, Some(2000));
        assert_eq!(reading.source, "sysfs");
    }

    #[test]
    fn a_battery_on_the_charger_counts_as_charging() {
        let dir = fake_tree(Some(("12", "Not charging")), &[], true);
        let reading = sources(dir.path(), None).read();
        assert_eq!(reading.charging, Some(true));
        assert_eq!(reading.temp_c, None);
    }

    #[test]
    fn no_battery_and_no_zones_reads_nothing_but_load() {
        let dir = fake_tree(None, &[], false);
        let reading = sources(dir.path(), None).read();
        assert_eq!(reading.battery_pct, None);
        assert_eq!(reading.temp_c, None);
        assert_eq!(reading.source, "none");
        assert!(reading.load1.is_some());
    }

    /// A stand-in for Termux:API's `termux-battery-status` (the real one needs
    /// the Android app).
    fn fake_termux(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("termux-battery-status");
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn termux_battery_status_wins_over_sysfs() {
        let dir = fake_tree(Some(("90", "Charging")), &["30000\n"], true);
        let fake = fake_termux(
            dir.path(),
            r#"echo '{"health":"GOOD","percentage":9,"plugged":"UNPLUGGED","status":"DISCHARGING","temperature":41.3,"current":-300000}'"#,
        );
        let reading = sources(dir.path(), Some(fake)).read();
        assert_eq!(reading.temp_c, Some(41.3));
        assert_eq!(reading.battery_pct, Some(9));
        assert_eq!(reading.charging, Some(false));
        assert_eq!(reading.source, "termux-battery-status");
    }

    #[test]
    fn a_broken_termux_api_falls_back_to_sysfs() {
        let dir = fake_tree(Some(("70", "Discharging")), &["36000\n"], false);
        let fake = fake_termux(dir.path(), "echo 'Termux:API is not installed' >&2; exit 1");
        let reading = sources(dir.path(), Some(fake)).read();
        assert_eq!(reading.source, "sysfs");
        assert_eq!(reading.temp_c, Some(36.0));
    }
}
