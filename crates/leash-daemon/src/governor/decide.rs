//! The governor's decision, from one reading and the previous state, with
//! hysteresis so a temperature or charge hovering at a line does not flip
//! inference on and off at every reading.
//!
//! - Heat: `hot` at or above `max_temp_c` (inference pauses), back only
//!   below `resume_temp_c`; `warm` at or above `warm_temp_c` (decode threads
//!   lowered to one, which is often enough to stay under the cap), back
//!   below `resume_temp_c` too.
//! - Battery: `low` under `min_battery_pct` and not charging (jobs whose
//!   trigger is not `urgent` wait); back once charging or
//!   [`BATTERY_HYSTERESIS_PCT`] above the line.
//! - No temperature (no sensor readable) keeps the previous heat: leash cannot
//!   tell that a hot phone cooled down, so it does not pretend it did.

use serde::{Deserialize, Serialize};

use super::readings::DeviceReading;

/// Percentage points above `min_battery_pct` needed to leave `low`.
pub const BATTERY_HYSTERESIS_PCT: u32 = 5;

/// How hot the device is, as far as inference is concerned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Heat {
    /// Below `device.warm_temp_c`: full speed.
    #[default]
    Normal,
    /// Decode threads lowered.
    Warm,
    /// Inference paused.
    Hot,
}

/// The thresholds, from `device.*`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// `device.max_temp_c`: at or above it, inference pauses.
    pub max_temp_c: f64,
    /// `device.resume_temp_c`: a paused device resumes at or below it
    /// (hysteresis).
    pub resume_temp_c: f64,
    /// At or above it, decode threads are lowered.
    pub warm_temp_c: f64,
    /// `device.min_battery_pct`: below it, not charging, only urgent jobs start.
    pub min_battery_pct: u32,
}

impl Thresholds {
    /// The thresholds of `device:`.
    pub fn from_config(device: &leash_config::DeviceConfig) -> Self {
        Thresholds {
            max_temp_c: device.max_temp_c,
            resume_temp_c: device.resume_temp_c,
            warm_temp_c: device.effective_warm_temp_c(),
            min_battery_pct: device.min_battery_pct,
        }
    }
}

/// The governor's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernorState {
    /// How hot the device is.
    pub heat: Heat,
    /// Low battery, not charging: only urgent jobs start.
    pub low_battery: bool,
}

/// What the worker may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Every job may start.
    Open,
    /// Only jobs of `urgent` triggers start.
    UrgentOnly,
    /// Nothing starts; inference of a running job waits between steps.
    Paused,
}

impl GovernorState {
    /// What the worker may start in this state: heat pauses everything, low
    /// battery lets only urgent jobs through.
    pub fn gate(self) -> Gate {
        match (self.heat, self.low_battery) {
            (Heat::Hot, _) => Gate::Paused,
            (Heat::Normal | Heat::Warm, true) => Gate::UrgentOnly,
            (Heat::Normal | Heat::Warm, false) => Gate::Open,
        }
    }

    /// Decode threads to ask the backend for: `Some(1)` while warm, `None`
    /// (the configured count) otherwise.
    pub fn decode_threads(self) -> Option<u32> {
        match self.heat {
            Heat::Warm => Some(1),
            Heat::Normal | Heat::Hot => None,
        }
    }

    /// The next state after `reading`.
    pub fn next(self, reading: &DeviceReading, limits: &Thresholds) -> GovernorState {
        let heat = match reading.temp_c {
            None => self.heat,
            Some(t) if t >= limits.max_temp_c => Heat::Hot,
            Some(t) if self.heat == Heat::Hot && t >= limits.resume_temp_c => Heat::Hot,
            Some(t) if t >= limits.warm_temp_c => Heat::Warm,
            Some(t) if self.heat == Heat::Warm && t >= limits.resume_temp_c => Heat::Warm,
            Some(_) => Heat::Normal,
        };
        let low_battery = match (reading.battery_pct, reading.charging) {
            (_, Some(true)) | (None, _) => false,
            (Some(pct), Some(false) | None) => {
                let line = if self.low_battery {
                    limits
                        .min_battery_pct
                        .saturating_add(BATTERY_HYSTERESIS_PCT)
                } else {
                    limits.min_battery_pct
                };
                pct < line
            }
        };
        GovernorState { heat, low_battery }
    }

    /// Why the state is what it is, for the audit log and `leash status`.
    pub fn reason(self, reading: &DeviceReading, limits: &Thresholds) -> String {
        let temp = reading
            .temp_c
            .map_or_else(|| "unknown".to_string(), |t| format!("{t:.1} °C"));
        let mut parts = vec![match self.heat {
            Heat::Hot => format!(
                "hot: {temp} (pause at {:.1} °C, resume below {:.1} °C)",
                limits.max_temp_c, limits.resume_temp_c
            ),
            Heat::Warm => format!(
                "warm: {temp} (decode threads lowered from {:.1} °C)",
                limits.warm_temp_c
            ),
            Heat::Normal => format!("temperature {temp}"),
        }];
        if self.low_battery {
            parts.push(format!(
                "battery {}% and not charging (under {}%): only urgent jobs start",
                reading.battery_pct.unwrap_or(0),
                limits.min_battery_pct
            ));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const LIMITS: Thresholds = Thresholds {
        max_temp_c: 40.0,
        resume_temp_c: 37.0,
        warm_temp_c: 38.0,
        min_battery_pct: 15,
    };

    fn temp(t: f64) -> DeviceReading {
        DeviceReading {
            temp_c: Some(t),
            ..DeviceReading::default()
        }
    }

    fn battery(pct: u32, charging: bool) -> DeviceReading {
        DeviceReading {
            battery_pct: Some(pct),
            charging: Some(charging),
            ..DeviceReading::default()
        }
    }

    fn run(readings: &[DeviceReading]) -> Vec<GovernorState> {
        let mut state = GovernorState::default();
        readings
            .iter()
            .map(|r| {
                state = state.next(r, &LIMITS);
                state
            })
            .collect()
    }

    #[rstest]
    #[case::cool(30.0, Heat::Normal)]
    #[case::warm(38.5, Heat::Warm)]
    #[case::at_the_cap(40.0, Heat::Hot)]
    #[case::over_the_cap(45.0, Heat::Hot)]
    fn heat_from_a_cold_start(#[case] t: f64, #[case] expected: Heat) {
        assert_eq!(run(&[temp(t)])[0].heat, expected);
    }

    #[test]
    fn a_hot_device_resumes_only_below_the_resume_line() {
        let heats: Vec<Heat> = run(&[temp(41.0), temp(39.9), temp(37.0), temp(36.9)])
            .iter()
            .map(|s| s.heat)
            .collect();
        assert_eq!(heats, [Heat::Hot, Heat::Hot, Heat::Hot, Heat::Normal]);
    }

    #[test]
    fn hovering_at_the_cap_does_not_flap() {
        let states = run(&[temp(40.1), temp(39.9), temp(40.0), temp(39.5)]);
        assert!(
            states.iter().all(|s| s.gate() == Gate::Paused),
            "{states:?}"
        );
    }

    #[test]
    fn warm_lowers_threads_without_pausing_and_keeps_them_low_until_cooled() {
        let states = run(&[temp(38.2), temp(37.5), temp(36.5)]);
        assert_eq!(states[0].gate(), Gate::Open);
        assert_eq!(states[0].decode_threads(), Some(1));
        assert_eq!(states[1].decode_threads(), Some(1), "hysteresis");
        assert_eq!(states[2].decode_threads(), None);
    }

    #[test]
    fn a_missing_temperature_keeps_the_previous_heat() {
        let states = run(&[temp(42.0), DeviceReading::default()]);
        assert_eq!(states[1].heat, Heat::Hot);
    }

    #[rstest]
    #[case::low_unplugged(10, false, true)]
    #[case::low_charging(10, true, false)]
    #[case::at_the_line(15, false, false)]
    #[case::full(100, false, false)]
    fn battery_from_a_cold_start(#[case] pct: u32, #[case] charging: bool, #[case] low: bool) {
        let state = run(&[battery(pct, charging)])[0];
        assert_eq!(state.low_battery, low);
        assert_eq!(
            state.gate(),
            if low { Gate::UrgentOnly } else { Gate::Open }
        );
    }

    #[test]
    fn low_battery_needs_a_margin_or_the_charger_to_clear() {
        let lows: Vec<bool> = run(&[
            battery(14, false),
            battery(16, false),
            battery(19, false),
            battery(20, false),
            battery(14, false),
            battery(14, true),
        ])
        .iter()
        .map(|s| s.low_battery)
        .collect();
        assert_eq!(lows, [true, true, true, false, true, false]);
    }

    #[test]
    fn hot_wins_over_low_battery() {
        let state = run(&[DeviceReading {
            temp_c: Some(41.0),
            battery_pct: Some(5),
            charging: Some(false),
            ..DeviceReading::default()
        }])[0];
        assert_eq!(state.gate(), Gate::Paused);
        let reason = state.reason(
            &DeviceReading {
                temp_c: Some(41.0),
                battery_pct: Some(5),
                ..DeviceReading::default()
            },
            &LIMITS,
        );
        assert!(reason.contains("hot: 41.0 °C"), "{reason}");
        assert!(reason.contains("battery 5%"), "{reason}");
    }
}
