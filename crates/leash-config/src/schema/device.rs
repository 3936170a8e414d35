//! `device:` the resource governor — when the phone is too hot or too low on
//! battery for inference.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::reader::{PathRule, Reader};
use crate::yaml_tree::Node;

/// `device:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// Whether the daemon reads the device's condition at all. Default true.
    pub governor: bool,
    /// Inference pauses at or above this temperature (°C). Default 40.
    pub max_temp_c: f64,
    /// …and resumes only below this one (hysteresis). Default 37.
    pub resume_temp_c: f64,
    /// Decode threads are lowered (to one) at or above this temperature, to
    /// stay under `max_temp_c` rather than stop. Default: 2 °C under
    /// `max_temp_c`.
    pub warm_temp_c: Option<f64>,
    /// Jobs whose trigger is not `urgent` wait while the battery is below
    /// this percentage and not charging. Default 15.
    pub min_battery_pct: u32,
    /// Seconds between readings. Default 30: a reading costs one
    /// `termux-battery-status` run (or a few sysfs reads), and nothing in
    /// between.
    pub interval_s: u64,
    /// Where sysfs is (power supplies, thermal zones). Default `/sys`; tests
    /// and unusual devices point it elsewhere.
    pub sys_root: PathBuf,
    /// Where procfs is (load, memory). Default `/proc`.
    pub proc_root: PathBuf,
    /// On Termux, hold `termux-wake-lock` while any job runs (released after
    /// the last one). Default true; turn it off if you keep a wake lock of
    /// your own (Termux has one lock per app: leash's release would end yours).
    pub wake_lock: bool,
    /// Speak the model's `notify` messages aloud as well (`termux-tts-speak`
    /// on Termux, `espeak-ng` elsewhere, or `speak_command`). Default false.
    /// A missing voice is logged; the notify still happens.
    pub speak: bool,
    /// The speaking program as argv (the text goes to its standard input,
    /// never its arguments). Default: `termux-tts-speak` on Termux,
    /// `espeak-ng --stdin` elsewhere.
    pub speak_command: Option<Vec<String>>,
    /// `leash listen`'s speech-to-text program as argv (prints the text).
    /// Default `termux-speech-to-text`.
    pub listen_command: Option<Vec<String>>,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            governor: true,
            max_temp_c: 40.0,
            resume_temp_c: 37.0,
            warm_temp_c: None,
            min_battery_pct: 15,
            interval_s: 30,
            sys_root: PathBuf::from("/sys"),
            proc_root: PathBuf::from("/proc"),
            wake_lock: true,
            speak: false,
            speak_command: None,
            listen_command: None,
        }
    }
}

impl DeviceConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    /// The temperature from which decode threads are lowered.
    pub fn effective_warm_temp_c(&self) -> f64 {
        self.warm_temp_c.unwrap_or(self.max_temp_c - 2.0)
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut d = DeviceConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(&f, "governor", &mut d.governor, Reader::boolean);
        r.field(&f, "max_temp_c", &mut d.max_temp_c, |r, n, k| {
            r.number(n, k, -40.0, 150.0)
        });
        r.field(&f, "resume_temp_c", &mut d.resume_temp_c, |r, n, k| {
            r.number(n, k, -40.0, 150.0)
        });
        r.optional(&f, "warm_temp_c", &mut d.warm_temp_c, |r, n, k| {
            r.number(n, k, -40.0, 150.0)
        });
        r.field(&f, "min_battery_pct", &mut d.min_battery_pct, |r, n, k| {
            r.integer32(n, k, 0)
        });
        r.field(&f, "interval_s", &mut d.interval_s, |r, n, k| {
            r.integer(n, k, 1)
        });
        r.field(&f, "sys_root", &mut d.sys_root, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        r.field(&f, "proc_root", &mut d.proc_root, |r, n, k| {
            r.path(n, k, PathRule::RelativeToConfig)
        });
        r.field(&f, "wake_lock", &mut d.wake_lock, Reader::boolean);
        r.field(&f, "speak", &mut d.speak, Reader::boolean);
        r.optional(&f, "speak_command", &mut d.speak_command, |r, n, k| {
            r.list(n, k, Reader::nonempty_string)
        });
        r.optional(&f, "listen_command", &mut d.listen_command, |r, n, k| {
            r.list(n, k, Reader::nonempty_string)
        });
        for (key, argv) in [
            ("speak_command", &d.speak_command),
            ("listen_command", &d.listen_command),
        ] {
            if argv.as_ref().is_some_and(Vec::is_empty) {
                r.error(
                    f.origin(),
                    &f.key(key),
                    "a program and its arguments; found []",
                );
            }
        }
        if d.min_battery_pct > 100 {
            r.error(
                f.origin(),
                &f.key("min_battery_pct"),
                format!("a percentage, 0 to 100; found {}", d.min_battery_pct),
            );
        }
        // Without a gap the governor would pause and resume on every
        // reading that crosses one line.
        if d.resume_temp_c >= d.max_temp_c {
            r.error(
                f.origin(),
                &f.key("resume_temp_c"),
                format!(
                    "must be below device.max_temp_c ({}) so that pausing has hysteresis; found {}",
                    d.max_temp_c, d.resume_temp_c
                ),
            );
        }
        d
    }
}
