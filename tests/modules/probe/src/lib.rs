//! Test fixture: one module whose routes exercise every path of the host's invocation
//! handling (echo, limits, traps, errors, config grants, guest output, slow answers).

const VARIANT: &str = "probe";

include!("routes.rs");
