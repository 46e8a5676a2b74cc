//! Hosts sharing one backend: who is alive, and which host runs which piece of work.
//!
//! Each host writes a heartbeat to the `cluster-members` bucket; a member whose
//! heartbeat is older than the lease time is gone. Work comes in units (one partition
//! of one consumer): [`Leases::claim`] registers a unit this host could run, and the
//! unit runs on the host that holds its lease in the `cluster-leases` bucket. Units are
//! spread by rendezvous hashing over the live members, so every host computes the same
//! owner without talking to the others, a host that joins takes over about its share,
//! and a host that dies loses its share to the survivors once its leases expire.
//!
//! Leases are taken with `create` / `update`-at-revision, so two hosts never hold one
//! at the same time by the bucket's word. A host stops a unit before it lets its lease
//! go (on hand-over), and stops it once its lease runs out unrenewed (cut off from the
//! backend): a unit runs twice only if a host keeps running past its lease while its
//! clock lags the others' by more than the margin. Clocks are assumed in sync to
//! within a second (NTP).
//!
//! On one machine ([`Leases::solo`]) every unit is always this host's.

mod leases;

pub use leases::{Claim, Leases, Member};

use std::time::Duration;

/// How a host takes part in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This host's name among the members; unique in the cluster.
    pub host_id: String,
    /// How long a heartbeat or lease holds without renewal: a dead host's work moves
    /// on after at most about this long plus one tick.
    pub lease: Duration,
}

impl ClusterConfig {
    /// A member called `host_id` with 5-second leases.
    pub fn new(host_id: impl Into<String>) -> Self {
        ClusterConfig { host_id: host_id.into(), lease: Duration::from_secs(5) }
    }

    /// How often heartbeats and leases are renewed and owners recomputed.
    pub fn tick(&self) -> Duration {
        (self.lease / 5).max(Duration::from_millis(100))
    }
}

/// A hash every host and every version computes alike (FNV-1a, 64 bits): partitions
/// and lease owners must not depend on the process or the build.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        hash = (hash ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
