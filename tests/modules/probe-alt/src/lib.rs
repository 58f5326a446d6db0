//! Test fixture: the probe with another answer, for hot-swap tests.

const VARIANT: &str = "probe-alt";

include!("../../probe/src/routes.rs");
