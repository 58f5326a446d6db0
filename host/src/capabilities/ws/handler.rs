//! Calls into a module's `ws-handler` export: one fresh instance per call, the socket being
//! handled put into the store (`socket`) so the module's replies go to it.

use crate::runtime::bindings::{GuestConnection, GuestError, GuestMessage};
use crate::runtime::{InvocationError, InvocationState, LoadedModule, Runtime};

/// What a call into the handler ends with: the module's answer, or why there is none.
pub type Outcome = Result<Result<(), GuestError>, InvocationError>;

/// `on-connect`; an error refuses the client.
pub async fn on_connect(
    module: &LoadedModule,
    runtime: &Runtime,
    connection: &GuestConnection,
    socket: impl FnOnce(&mut InvocationState),
) -> Outcome {
    let Some(indices) = &module.exports.ws else {
        return Err(module.missing_export("ws-handler"));
    };
    module
        .invoke(runtime, socket, async |store, instance| {
            let handler = indices.load(&mut *store, &instance)?;
            handler.call_on_connect(&mut *store, connection).await
        })
        .await
}

/// `on-message`.
pub async fn on_message(
    module: &LoadedModule,
    runtime: &Runtime,
    connection: &GuestConnection,
    message: &GuestMessage,
    socket: impl FnOnce(&mut InvocationState),
) -> Outcome {
    let Some(indices) = &module.exports.ws else {
        return Err(module.missing_export("ws-handler"));
    };
    module
        .invoke(runtime, socket, async |store, instance| {
            let handler = indices.load(&mut *store, &instance)?;
            handler
                .call_on_message(&mut *store, connection, message)
                .await
        })
        .await
}

/// `on-disconnect`; it returns nothing, so only the invocation can fail.
pub async fn on_disconnect(
    module: &LoadedModule,
    runtime: &Runtime,
    connection: &GuestConnection,
    socket: impl FnOnce(&mut InvocationState),
) -> Result<(), InvocationError> {
    let Some(indices) = &module.exports.ws else {
        return Err(module.missing_export("ws-handler"));
    };
    module
        .invoke(runtime, socket, async |store, instance| {
            let handler = indices.load(&mut *store, &instance)?;
            handler
                .call_on_disconnect(&mut *store, connection)
                .await
                .map(Ok::<(), GuestError>)
        })
        .await
        .map(drop)
}
