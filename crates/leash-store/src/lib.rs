//! leash-store
