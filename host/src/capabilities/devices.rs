//! `hearth:plugin/devices`: describing a household's devices and queueing commands
//! for them.
//!
//! A command is sent only if the plugin's manifest was granted `kind:command` for the
//! device's kind and the household gave the plugin control of that device. Commands
//! wait in a per-device queue until the appliance fetches them.

use crate::HostError;
use crate::bindings::hearth::plugin::devices::{Command, DeviceError, DeviceInfo, Host};
use crate::households::{Device, Households};
use crate::refs::Pseudonyms;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A command waiting for its appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedCommand {
    pub id: String,
    pub plugin: String,
    /// `set-temperature`, `preheat`, `start-program` or `stop`.
    pub command: String,
    /// The argument: a temperature in 0.01 °C or a program name.
    pub argument: Option<serde_json::Value>,
    pub time_ms: u64,
}

/// The per-device command queues, keyed `device \0 sequence`.
#[derive(Debug, Clone)]
pub struct CommandQueue {
    db: sled::Db,
    tree: sled::Tree,
}

impl CommandQueue {
    pub fn open(db: &sled::Db) -> Result<Self, HostError> {
        Ok(CommandQueue { db: db.clone(), tree: db.open_tree("device-commands")? })
    }

    fn push(&self, device: &str, mut command: QueuedCommand) -> Result<String, HostError> {
        let sequence = self.db.generate_id()?;
        command.id = format!("cmd-{sequence}");
        let key = [device.as_bytes(), &[0], &sequence.to_be_bytes()].concat();
        let bytes = serde_json::to_vec(&command).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.tree.insert(key, bytes)?;
        Ok(command.id)
    }

    /// Drops the device's pending commands; returns how many.
    pub fn erase_device(&self, device: &str) -> Result<usize, HostError> {
        let prefix = [device.as_bytes(), &[0]].concat();
        let mut erased = 0;
        for key in self.tree.scan_prefix(prefix).keys() {
            self.tree.remove(key?)?;
            erased += 1;
        }
        Ok(erased)
    }

    /// Takes the device's pending commands, oldest first.
    pub fn take(&self, device: &str) -> Result<Vec<QueuedCommand>, HostError> {
        let prefix = [device.as_bytes(), &[0]].concat();
        let mut commands = Vec::new();
        for entry in self.tree.scan_prefix(prefix) {
            let (key, value) = entry?;
            commands
                .push(serde_json::from_slice(&value).map_err(|error| HostError::Corrupt(format!("command: {error}")))?);
            self.tree.remove(key)?;
        }
        Ok(commands)
    }
}

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
        let found = self.device(&device).map_err(|error| wasmtime::format_err!("devices: {error}"))?;
        Ok(match found {
            Some(device) => Ok(DeviceInfo { kind: device.kind, model: device.model, region: device.region }),
            None => Err(DeviceError::UnknownDevice(format!("no consenting device with ref {device}"))),
        })
    }

    fn send(&mut self, device: String, command: Command) -> wasmtime::Result<Result<String, DeviceError>> {
        let storage = |error: HostError| wasmtime::format_err!("devices: {error}");
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
