//! Leases between hosts sharing one backend (here sled, shared in-process; the
//! clustered tests do the same over NATS with real processes): every unit is run by
//! exactly one live member, work is spread, a member that stops renewing loses its
//! units to the others within the lease time, and one that joins gets a share.

use hearth_host::cluster::{Claim, ClusterConfig, Leases};
use hearth_host::storage::Storage;
use hearth_host::storage::sled::SledStorage;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const UNITS: usize = 24;

fn member(storage: &Arc<dyn Storage>, host: &str) -> (Leases, Vec<Claim>) {
    let config = ClusterConfig { host_id: host.into(), lease: Duration::from_millis(600) };
    let leases = Leases::join(&**storage, config).unwrap();
    let claims = (0..UNITS).map(|unit| leases.claim(&format!("plugin|topic#{unit}"))).collect();
    (leases, claims)
}

/// Which member runs each unit now; fails if a unit runs on two.
fn owners(members: &[(&str, &[Claim])]) -> BTreeMap<usize, &'static str> {
    let mut owners = BTreeMap::new();
    for (host, claims) in members {
        for (unit, claim) in claims.iter().enumerate() {
            if *claim.owned().borrow() {
                let host: &'static str = Box::leak(host.to_string().into_boxed_str());
                assert!(owners.insert(unit, host).is_none(), "unit {unit} runs on two hosts");
            }
        }
    }
    owners
}

async fn settle(members: &[(&str, &[Claim])], wanted: impl Fn(&BTreeMap<usize, &'static str>) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let now = owners(members);
        if wanted(&now) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "leases did not settle: {now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn count(owners: &BTreeMap<usize, &str>, host: &str) -> usize {
    owners.values().filter(|owner| **owner == host).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unit_runs_on_one_live_member_and_moves_when_a_member_dies() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(SledStorage::open(&dir.path().join("db")).unwrap());
    let (a, claims_a) = member(&storage, "host-a");
    let (b, claims_b) = member(&storage, "host-b");

    settle(&[("host-a", &claims_a), ("host-b", &claims_b)], |owners| owners.len() == UNITS).await;
    let spread = owners(&[("host-a", &claims_a), ("host-b", &claims_b)]);
    assert!(count(&spread, "host-a") >= 4 && count(&spread, "host-b") >= 4, "work is not spread: {spread:?}");
    let members = a.members().unwrap();
    assert_eq!(members.iter().map(|member| member.units).sum::<usize>(), UNITS, "{members:?}");

    // host-b stops renewing without a word (a crash): host-a has every unit within
    // the lease time and a tick or two.
    drop(claims_b);
    drop(b);
    let took = settle(&[("host-a", &claims_a)], |owners| owners.len() == UNITS).await;
    assert!(took < Duration::from_millis(600 * 3), "takeover took {took:?}");

    // A member that joins gets its share back, and no unit ever runs twice meanwhile.
    let (c, claims_c) = member(&storage, "host-c");
    settle(&[("host-a", &claims_a), ("host-c", &claims_c)], |owners| {
        owners.len() == UNITS && count(owners, "host-c") >= 4
    })
    .await;
    assert_eq!(c.host_id(), Some("host-c"));

    // Leaving hands everything over at once.
    for claim in &claims_c {
        claim.set_running(false);
    }
    c.leave();
    settle(&[("host-a", &claims_a), ("host-c", &claims_c)], |owners| count(owners, "host-a") == UNITS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alone_every_claim_is_owned() {
    let leases = Leases::solo();
    let claim = leases.claim("plugin|topic");
    assert!(*claim.owned().borrow());
    assert!(leases.members().unwrap().is_empty());
}

/// A member's storage whose `cluster-members` writes fail while `cut` is set: its
/// heartbeat fails, so no lease round happens at all, as when a host loses its NATS
/// connection for longer than the lease.
/// While `stall` is set, each read of `cluster-leases` takes a second (longer than the
/// lease): a lease round hangs on a backend that answers slowly, as a NATS cluster
/// electing leaders does.
struct HeartbeatCut {
    inner: Arc<dyn Storage>,
    cut: Arc<std::sync::atomic::AtomicBool>,
    stall: Arc<std::sync::atomic::AtomicBool>,
}

struct CutBucket {
    inner: Arc<dyn hearth_host::storage::Bucket>,
    cut: Arc<std::sync::atomic::AtomicBool>,
    stall: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl HeartbeatCut {
    fn check(cut: &std::sync::atomic::AtomicBool) -> Result<(), hearth_host::storage::StorageError> {
        if cut.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(hearth_host::storage::StorageError::Backend("cut off".into()));
        }
        Ok(())
    }
}

impl Storage for HeartbeatCut {
    fn bucket(&self, name: &str) -> Result<Arc<dyn hearth_host::storage::Bucket>, hearth_host::storage::StorageError> {
        let inner = self.inner.bucket(name)?;
        match name {
            "cluster-members" => Ok(Arc::new(CutBucket { inner, cut: self.cut.clone(), stall: None })),
            "cluster-leases" => Ok(Arc::new(CutBucket { inner, cut: Arc::default(), stall: Some(self.stall.clone()) })),
            _ => Ok(inner),
        }
    }
    fn next_id(&self) -> Result<u64, hearth_host::storage::StorageError> {
        self.inner.next_id()
    }
    fn flush(&self) -> hearth_host::storage::StorageFuture<'_> {
        self.inner.flush()
    }
}

impl hearth_host::storage::Bucket for CutBucket {
    fn get(&self, key: &[u8]) -> Result<Option<hearth_host::storage::Entry>, hearth_host::storage::StorageError> {
        if self.stall.as_ref().is_some_and(|stall| stall.load(std::sync::atomic::Ordering::Relaxed)) {
            std::thread::sleep(Duration::from_secs(1));
        }
        self.inner.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<u64, hearth_host::storage::StorageError> {
        HeartbeatCut::check(&self.cut)?;
        self.inner.put(key, value)
    }
    fn create(&self, key: &[u8], value: &[u8]) -> Result<u64, hearth_host::storage::StorageError> {
        HeartbeatCut::check(&self.cut)?;
        self.inner.create(key, value)
    }
    fn update(&self, key: &[u8], value: &[u8], revision: u64) -> Result<u64, hearth_host::storage::StorageError> {
        HeartbeatCut::check(&self.cut)?;
        self.inner.update(key, value, revision)
    }
    fn delete(&self, key: &[u8]) -> Result<(), hearth_host::storage::StorageError> {
        self.inner.delete(key)
    }
    fn delete_if(&self, key: &[u8], revision: u64) -> Result<(), hearth_host::storage::StorageError> {
        self.inner.delete_if(key, revision)
    }
    fn scan(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, hearth_host::storage::Entry)>, hearth_host::storage::StorageError> {
        self.inner.scan(prefix)
    }
    fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, hearth_host::storage::StorageError> {
        self.inner.keys(prefix)
    }
    fn watch(&self, prefix: &[u8]) -> Result<hearth_host::storage::Watch, hearth_host::storage::StorageError> {
        self.inner.watch(prefix)
    }
}

/// Waits until host-b runs every unit, checking every 5 ms that no unit runs on both.
async fn host_b_takes_every_unit(both: &[(&str, &[Claim])]) {
    let started = Instant::now();
    loop {
        let owners = owners(both);
        if count(&owners, "host-b") == UNITS {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "host-b never took over: {owners:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A member that cannot write its heartbeat stops its units while their leases still
/// hold; the other member takes them only after, so no unit ever runs on both (the
/// check runs every 5 ms through the whole hand-over).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cut_off_from_its_heartbeat_stops_before_its_leases_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(SledStorage::open(&dir.path().join("db")).unwrap());
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cut_off: Arc<dyn Storage> =
        Arc::new(HeartbeatCut { inner: storage.clone(), cut: cut.clone(), stall: Arc::default() });
    let (_a, claims_a) = member(&cut_off, "host-a");
    let (_b, claims_b) = member(&storage, "host-b");
    let both = [("host-a", &claims_a[..]), ("host-b", &claims_b[..])];
    settle(&both, |owners| owners.len() == UNITS && count(owners, "host-a") >= 4).await;
    // Each member is running the units it owns (stopping one takes a moment).
    for claim in claims_a.iter().chain(&claims_b).filter(|claim| *claim.owned().borrow()) {
        claim.set_running(true);
    }

    cut.store(true, std::sync::atomic::Ordering::Relaxed);
    host_b_takes_every_unit(&both).await;
}

/// A member whose lease rounds hang (its heartbeat still beats, so the others still see
/// it live) lets its units go before their leases run out, and another member takes
/// them only after: no unit ever runs on both (checked every 5 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_lease_rounds_hang_stops_before_its_leases_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(SledStorage::open(&dir.path().join("db")).unwrap());
    let stall = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stalling: Arc<dyn Storage> =
        Arc::new(HeartbeatCut { inner: storage.clone(), cut: Arc::default(), stall: stall.clone() });
    let (_a, claims_a) = member(&stalling, "host-a");
    let (_b, claims_b) = member(&storage, "host-b");
    let both = [("host-a", &claims_a[..]), ("host-b", &claims_b[..])];
    settle(&both, |owners| owners.len() == UNITS && count(owners, "host-a") >= 4).await;

    stall.store(true, std::sync::atomic::Ordering::Relaxed);
    host_b_takes_every_unit(&both).await;
    // Lets the hanging round end, so the test's runtime can stop.
    stall.store(false, std::sync::atomic::Ordering::Relaxed);
}
