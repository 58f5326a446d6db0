//! The phases of `outbound-http`: only *prepare*, which gives each invocation the hooks
//! that check its outgoing requests against the module's grant.

use std::any::Any;
use std::sync::Arc;

use super::hooks::GrantedHosts;
use crate::runtime::outbound::OutboundHooks;
use crate::runtime::{Capability, InvocationState, ModuleContext};

/// Keeps nothing: the grant is in each module's context.
pub struct OutboundHttp;

impl Capability for OutboundHttp {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    /// Every invocation gets the hooks, so a refusal (no grant at all included) is
    /// counted and logged with what to change.
    fn prepare(&self, module: &Arc<ModuleContext>, state: &mut InvocationState) {
        state
            .capabilities
            .insert(OutboundHooks(Box::new(GrantedHosts::new(module.clone()))));
    }
}
