//! The execution mode: what happens to an action after the policy decided on it
//! (docs/DESIGN.md "Execution modes"). The type is the shared vocabulary's
//! ([`leash_protocol::ExecutionMode`]); this is how the config spells it.

pub use leash_protocol::ExecutionMode;

use crate::yaml_enum::YamlEnum;

impl YamlEnum for ExecutionMode {
    const WHAT: &'static str = "execution mode";
    const ALL: &'static [Self] = &ExecutionMode::ALL;
    fn yaml_name(&self) -> &'static str {
        self.as_str()
    }
}
