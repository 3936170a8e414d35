//! leash-config
