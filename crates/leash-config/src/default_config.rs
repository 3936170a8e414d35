//! The commented config `leash init` writes: every key, its default and what it
//! means. A test keeps it loading to exactly [`Config::default`](crate::Config).

/// The text of the default config file.
pub fn default_config_yaml() -> String {
    include_str!("default_config.yaml").to_string()
}
