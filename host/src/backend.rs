//! What a host runs on: its buckets, its event log, and whether it shares them.

use crate::cluster::ClusterConfig;
use crate::events::log::EventLog;
use crate::storage::Storage;
use std::sync::Arc;

/// Where a host keeps everything: the buckets and the event log. [`Host::open`] uses
/// the embedded sled store; a cluster passes its shared backend to [`Host::open_on`].
pub struct Backend {
    /// The buckets.
    pub storage: Arc<dyn Storage>,
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// This host's part in a cluster sharing the backend; `None` alone.
    pub cluster: Option<ClusterConfig>,
}
