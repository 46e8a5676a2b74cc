//! `hearth:plugin/devices`: describing a household's devices and queueing commands
//! for them.
//!
//! A command is sent only if the plugin's manifest was granted `kind:command` for the
//! device's kind and the household gave the plugin control of that device. Commands
//! wait in a per-device queue until the appliance fetches them.

use super::{Capability, PluginStore, Setup};
use crate::HostError;
use crate::bindings::hearth::plugin::devices::{Command, DeviceError, DeviceInfo, Host};
use crate::households::commands::{CommandQueue, QueuedCommand};
use crate::households::refs::Pseudonyms;
use crate::households::{Device, Households};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

/// Per-store context of the devices capability.
pub struct DevicesCtx {
    pub(crate) plugin: Arc<str>,
    /// `kind:command` pairs the operator granted the plugin.
    pub(crate) granted: Vec<String>,
    pub(crate) refs: Pseudonyms,
    pub(crate) households: Households,
    pub(crate) queue: CommandQueue,
}

impl DevicesCtx {
    /// The device behind a ref this plugin was given, if its household still consents.
    fn device(&self, reference: &str) -> Result<Option<Device>, HostError> {
        let Some(id) = self.refs.resolve(&self.plugin, reference)? else {
            return Ok(None);
        };
        let Some(device) = self.households.device(&id)? else {
            return Ok(None);
        };
        Ok(self.households.allows(&self.plugin, &device.household, Some(&device.id))?.then_some(device))
    }
}

fn command_parts(command: &Command) -> (&'static str, Option<serde_json::Value>) {
    match command {
        Command::SetTemperature(centi) => ("set-temperature", Some((*centi).into())),
        Command::Preheat(centi) => ("preheat", Some((*centi).into())),
        Command::StartProgram(program) => ("start-program", Some(program.clone().into())),
        Command::Stop => ("stop", None),
    }
}

impl Host for DevicesCtx {
    fn describe(&mut self, device: String) -> wasmtime::Result<Result<DeviceInfo, DeviceError>> {
        let found = self.device(&device).map_err(|error| super::backend_failed("devices", error))?;
        Ok(match found {
            Some(device) => Ok(DeviceInfo { kind: device.kind, model: device.model, region: device.region }),
            None => Err(DeviceError::UnknownDevice(format!("no consenting device with ref {device}"))),
        })
    }

    fn send(&mut self, device: String, command: Command) -> wasmtime::Result<Result<String, DeviceError>> {
        let storage = |error: HostError| super::backend_failed("devices", error);
        let Some(target) = self.device(&device).map_err(storage)? else {
            return Ok(Err(DeviceError::UnknownDevice(format!("no consenting device with ref {device}"))));
        };
        let (name, argument) = command_parts(&command);
        let permission = format!("{}:{name}", target.kind);
        if !self.granted.contains(&permission) {
            return Ok(Err(DeviceError::NotGranted(format!("{permission} is not granted to this plugin"))));
        }
        if let Command::SetTemperature(centi) | Command::Preheat(centi) = command
            && !(-5_000..=30_000).contains(&centi)
        {
            return Ok(Err(DeviceError::Invalid(format!("{centi} (0.01 °C) is outside -50..=300 °C"))));
        }
        let control = self
            .households
            .grant_of(&target.household, &self.plugin)
            .map_err(storage)?
            .is_some_and(|grant| grant.control);
        if !control {
            return Ok(Err(DeviceError::NoConsent(
                "the household has not given this plugin control of its devices".into(),
            )));
        }
        let queued = QueuedCommand {
            id: String::new(),
            plugin: self.plugin.to_string(),
            command: name.to_owned(),
            argument,
            time_ms: crate::clock::now_ms(),
        };
        Ok(Ok(self.queue.push(&target.id, queued).map_err(storage)?))
    }
}

/// Always linked: `describe` only tells kind, model and region of devices the plugin
/// already gets events from, and `send` checks the granted command kinds on every call.
impl Capability for DevicesCtx {
    fn new(setup: &Setup<'_>) -> Self {
        let backends = setup.backends;
        DevicesCtx {
            plugin: setup.plugin.clone(),
            granted: setup.grants.device_commands.clone(),
            refs: backends.refs.clone(),
            households: backends.households.clone(),
            queue: backends.commands.clone(),
        }
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        crate::bindings::link_every_version(linker, "devices", |instance| {
            crate::bindings::hearth::plugin::devices::add_to_linker_instance::<T, HasSelf<Self>>(instance, get)
        })
    }
}
