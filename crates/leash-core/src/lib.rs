//! leash-core
