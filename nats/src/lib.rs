//! Hearth's storage seam on NATS JetStream: each [`Bucket`] is a JetStream KV bucket
//! (replicated as the cluster is configured), revisions are the KV's revisions, and
//! `create`/`update`/`delete_if` are its conditional writes. This is the first part of
//! the clustered backend; it passes the same conformance suite as sled.
//!
//! The seam is synchronous (sled answers in microseconds and capabilities call it
//! inline); async-nats is async. The client runs on a runtime of its own thread, and
//! each call is handed to it and waited for, the way a sled call waits for the disk.

#![deny(missing_docs)]

mod keys;
pub mod local;
mod log;

pub use log::{LogConfig, NatsLog};

use async_nats::jetstream::{self, kv, object_store};
use futures::StreamExt as _;
use hearth_host::storage::{Bucket, Change, Entry, Revision, Storage, StorageError, StorageFuture, Watch};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) fn backend(error: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(error.to_string())
}

/// A conditional write JetStream refused because the key moved on (its "wrong last
/// sequence" answer, whichever error kind the client wraps it in) is a conflict.
fn conditional(error: impl std::fmt::Display) -> StorageError {
    let text = error.to_string();
    if text.contains("wrong last sequence") || text.contains("wrong last revision") || text.contains("already exists") {
        StorageError::Conflict
    } else {
        StorageError::Backend(text)
    }
}

/// How the buckets are created.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// Server URLs, e.g. `nats://127.0.0.1:4222`.
    pub servers: Vec<String>,
    /// Replicas of every bucket (1 to 5, at most the cluster's size).
    pub replicas: usize,
}

/// JetStream as Hearth's [`Storage`].
pub struct NatsStorage {
    runtime: tokio::runtime::Handle,
    client: async_nats::Client,
    jetstream: jetstream::Context,
    replicas: usize,
    buckets: Mutex<HashMap<String, Arc<NatsBucket>>>,
    ids: Mutex<Option<Arc<NatsBucket>>>,
    _thread: std::thread::JoinHandle<()>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for NatsStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsStorage").field("replicas", &self.replicas).finish_non_exhaustive()
    }
}

/// The longest a bucket operation may take before it fails. Plugins call buckets in
/// the middle of delivering an event, and a host must stop delivering well within its
/// lease when it is cut off: an operation that hangs longer than the lease margin
/// could let two hosts deliver the same partition. A failed operation is retried by
/// its caller (an event is delivered again).
pub(crate) const BUCKET_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a large value's transfer to or from the object store may take.
pub(crate) const TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest connecting, or creating a bucket or stream, may take.
pub(crate) const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long setting up a bucket or stream is retried. Just after a cluster starts, and
/// while it elects a new JetStream leader, creating one times out or finds no
/// responders for a few seconds; a host starting then waits rather than fails.
const SET_UP_RETRIES_FOR: Duration = Duration::from_secs(40);

/// Runs `attempt` until it succeeds, or fails with its last error once
/// [`SET_UP_RETRIES_FOR`] has passed or at once when the error is not one a cluster
/// answers while it settles (a bucket asking more replicas than there are nodes
/// fails straight away). Each attempt must be safe to repeat.
pub(crate) async fn until_set_up<T, F, A>(what: &str, mut attempt: A) -> Result<T, StorageError>
where
    A: FnMut() -> F,
    F: Future<Output = Result<T, StorageError>>,
{
    let started = std::time::Instant::now();
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(error) if settling(&error) && started.elapsed() < SET_UP_RETRIES_FOR => {
                tracing::debug!(%error, "waiting to set up a {what}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The answers of a cluster without a JetStream leader (yet), or of a new bucket or
/// stream without its own: a [`transient`] failure, or the system is "temporarily
/// unavailable" or names its missing leader.
fn settling(error: &StorageError) -> bool {
    let text = error.to_string().to_lowercase();
    transient(error) || ["temporarily unavailable", "leader"].iter().any(|answer| text.contains(answer))
}

/// Runs `work` on the client's runtime and waits for it, at most `limit`.
pub(crate) fn wait<T: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    limit: Duration,
    work: impl Future<Output = Result<T, StorageError>> + Send + 'static,
) -> Result<T, StorageError> {
    let (reply, answer) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        // Every call is bounded: a server that went away mid-call must not hang a host.
        let answered = tokio::time::timeout(limit, work).await;
        let _ = reply.send(answered.unwrap_or_else(|_| Err(StorageError::Backend("timed out".into()))));
    });
    let stopped = |_| StorageError::Backend("the NATS client stopped".into());
    // On a multi-threaded runtime, tell it this worker waits, so other tasks (other
    // plugins' calls, requests) move to another worker meanwhile.
    match tokio::runtime::Handle::try_current() {
        Ok(current) if current.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| answer.recv()).map_err(stopped)?
        }
        _ => answer.recv().map_err(stopped)?,
    }
}

impl NatsStorage {
    /// Connects to the cluster.
    pub fn connect(config: &NatsConfig) -> Result<Self, StorageError> {
        let (ready, runtime) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hearth-nats".into())
            .spawn(move || {
                let Ok(built) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                let _ = ready.send(built.handle().clone());
                built.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(backend)?;
        let runtime: tokio::runtime::Handle =
            runtime.recv().map_err(|_| StorageError::Backend("the NATS runtime did not start".into()))?;
        let servers = config.servers.clone();
        let client = wait(&runtime, SETUP_TIMEOUT, async move { async_nats::connect(servers).await.map_err(backend) })?;
        Ok(NatsStorage {
            runtime,
            jetstream: {
                let mut jetstream = jetstream::new(client.clone());
                jetstream.set_timeout(BUCKET_TIMEOUT);
                jetstream
            },
            client,
            replicas: config.replicas.max(1),
            buckets: Mutex::default(),
            ids: Mutex::default(),
            _thread: thread,
            _stop: stop,
        })
    }

    fn open(&self, name: &str) -> Result<Arc<NatsBucket>, StorageError> {
        if let Some(bucket) = hearth_host::sync::lock(&self.buckets).get(name) {
            return Ok(bucket.clone());
        }
        let (jetstream, client, config) = (
            self.jetstream.clone(),
            self.client.clone(),
            kv::Config { bucket: name.to_owned(), history: 1, num_replicas: self.replicas, ..Default::default() },
        );
        let objects_config = object_store::Config {
            bucket: format!("{name}-objects"),
            num_replicas: self.replicas,
            ..Default::default()
        };
        let (store, objects) = wait(&self.runtime, SETUP_TIMEOUT, async move {
            until_set_up("bucket", || async {
                // An existing bucket is joined as it is (another host made it, maybe
                // with other replicas); only a missing one is created.
                let objects = match jetstream.get_object_store(&objects_config.bucket).await {
                    Ok(objects) => objects,
                    Err(_) => jetstream.create_object_store(objects_config.clone()).await.map_err(backend)?,
                };
                let mut store = match jetstream.get_key_value(&config.bucket).await {
                    Ok(store) => store,
                    Err(_) => jetstream.create_key_value(config.clone()).await.map_err(backend)?,
                };
                if store.stream.cached_info().config.allow_direct {
                    // Direct gets may be answered by a replica that is behind: a plugin
                    // would not read its own write. Reads go to the bucket's leader.
                    let mut stream_config = store.stream.cached_info().config.clone();
                    stream_config.allow_direct = false;
                    jetstream.update_stream(stream_config).await.map_err(backend)?;
                    store = jetstream.get_key_value(&store.name).await.map_err(backend)?;
                }
                // A new bucket's stream elects its leader after it is created: until
                // then its reads answer "no responders".
                store.entry("kready").await.map_err(backend)?;
                keys::upgrade_layout(&client, &store, &objects).await?;
                Ok((store, objects))
            })
            .await
        })?;
        let bucket =
            Arc::new(NatsBucket { runtime: self.runtime.clone(), client: self.client.clone(), store, objects });
        hearth_host::sync::lock(&self.buckets).insert(name.to_owned(), bucket.clone());
        Ok(bucket)
    }
}

impl Storage for NatsStorage {
    fn bucket(&self, name: &str) -> Result<Arc<dyn Bucket>, StorageError> {
        Ok(self.open(name)?)
    }

    fn next_id(&self) -> Result<u64, StorageError> {
        let ids = {
            let mut ids = hearth_host::sync::lock(&self.ids);
            match &*ids {
                Some(ids) => ids.clone(),
                None => ids.insert(self.open("hearth-ids")?).clone(),
            }
        };
        // Every put gets the next sequence of the bucket's stream: increasing across
        // hosts and restarts.
        ids.put(b"id", b"")
    }

    fn flush(&self) -> StorageFuture<'_> {
        // A write answered by JetStream is stored on the bucket's replicas already.
        Box::pin(async { Ok(()) })
    }
}

/// One JetStream KV bucket. Values above [`INLINE_MAX`] (compiled components) go to
/// an object store beside it, `<bucket>-objects`, and the KV entry points there:
/// JetStream messages are capped (1 MiB by default) and objects are chunked.
pub struct NatsBucket {
    runtime: tokio::runtime::Handle,
    client: async_nats::Client,
    store: kv::Store,
    objects: object_store::ObjectStore,
}

/// The largest value kept in the KV entry itself.
pub const INLINE_MAX: usize = 256 * 1024;

/// A stored KV value starts with one of these.
const INLINE: u8 = 0;
const IN_OBJECT: u8 = 1;

/// What a KV entry holds for `value`, after putting it in the object store if large.
async fn stored_form(
    objects: &object_store::ObjectStore,
    key: &str,
    value: bytes::Bytes,
) -> Result<bytes::Bytes, StorageError> {
    if value.len() <= INLINE_MAX {
        return Ok([&[INLINE][..], &value].concat().into());
    }
    let mut reader: &[u8] = &value;
    objects.put(key, &mut reader).await.map_err(backend)?;
    Ok(vec![IN_OBJECT].into())
}

/// The value a KV entry stands for.
async fn value_of(objects: &object_store::ObjectStore, key: &str, stored: &[u8]) -> Result<Vec<u8>, StorageError> {
    match stored.split_first() {
        Some((&INLINE, value)) => Ok(value.to_vec()),
        Some((&IN_OBJECT, _)) => {
            use tokio::io::AsyncReadExt as _;
            let mut object = objects.get(key).await.map_err(backend)?;
            let mut value = Vec::new();
            object.read_to_end(&mut value).await.map_err(backend)?;
            Ok(value)
        }
        _ => Err(StorageError::Corrupt(format!("a value of {key} has no known form"))),
    }
}

/// Removes the object a deleted entry pointed to, if any.
async fn drop_object(objects: &object_store::ObjectStore, key: &str, stored: &[u8]) -> Result<(), StorageError> {
    if stored.first() == Some(&IN_OBJECT) {
        objects.delete(key).await.map_err(backend)?;
    }
    Ok(())
}

/// How long a read is retried while the cluster moves a bucket's leader (a node died).
const READ_RETRY: Duration = Duration::from_secs(2);

/// A request that went unanswered: it timed out, or no server answered it.
fn transient(error: &StorageError) -> bool {
    matches!(error, StorageError::Backend(text) if text.contains("timed out") || text.contains("no responders"))
}

impl NatsBucket {
    fn call<T: Send + 'static, F>(
        &self,
        work: impl FnOnce(kv::Store, object_store::ObjectStore) -> F,
    ) -> Result<T, StorageError>
    where
        F: Future<Output = Result<T, StorageError>> + Send + 'static,
    {
        // Each request inside is bounded by the client's timeout (BUCKET_TIMEOUT); this
        // bounds the whole operation, large transfers included.
        wait(&self.runtime, TRANSFER_TIMEOUT, work(self.store.clone(), self.objects.clone()))
    }

    /// A read, retried while the bucket has no leader: reads change nothing, so they
    /// can be repeated (writes are not retried: the caller decides).
    fn read<T: Send + 'static, F>(
        &self,
        work: impl Fn(kv::Store, object_store::ObjectStore) -> F,
    ) -> Result<T, StorageError>
    where
        F: Future<Output = Result<T, StorageError>> + Send + 'static,
    {
        let started = std::time::Instant::now();
        loop {
            match self.call(&work) {
                Err(error) if transient(&error) && started.elapsed() < READ_RETRY => {
                    tracing::debug!(%error, "retrying a read");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                result => return result,
            }
        }
    }
}

/// The entry of a key that holds a value (not a delete marker), as stored.
fn live(entry: Option<kv::Entry>) -> Option<kv::Entry> {
    entry.filter(|entry| entry.operation == kv::Operation::Put)
}

impl Bucket for NatsBucket {
    fn get(&self, key: &[u8]) -> Result<Option<Entry>, StorageError> {
        let key = keys::encode(key);
        self.read(|store, objects| {
            let key = key.clone();
            async move {
                let Some(entry) = live(store.entry(key.as_str()).await.map_err(backend)?) else { return Ok(None) };
                let value = value_of(&objects, &key, &entry.value).await?;
                Ok(Some(Entry { value, revision: entry.revision }))
            }
        })
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<Revision, StorageError> {
        let (key, value) = (keys::encode(key), bytes::Bytes::copy_from_slice(value));
        self.call(|store, objects| async move {
            let stored = stored_form(&objects, &key, value).await?;
            store.put(key, stored).await.map_err(backend)
        })
    }

    fn create(&self, key: &[u8], value: &[u8]) -> Result<Revision, StorageError> {
        let (key, value) = (keys::encode(key), bytes::Bytes::copy_from_slice(value));
        self.call(|store, objects| async move {
            if value.len() > INLINE_MAX && live(store.entry(key.as_str()).await.map_err(backend)?).is_some() {
                // Checked first, so a refused create leaves the present value's object alone.
                return Err(StorageError::Conflict);
            }
            let stored = stored_form(&objects, &key, value).await?;
            store.create(key, stored).await.map_err(|error| match error.kind() {
                kv::CreateErrorKind::AlreadyExists => StorageError::Conflict,
                _ => conditional(error),
            })
        })
    }

    fn update(&self, key: &[u8], value: &[u8], revision: Revision) -> Result<Revision, StorageError> {
        let (key, value) = (keys::encode(key), bytes::Bytes::copy_from_slice(value));
        self.call(move |store, objects| async move {
            if value.len() > INLINE_MAX
                && live(store.entry(key.as_str()).await.map_err(backend)?)
                    .is_none_or(|entry| entry.revision != revision)
            {
                return Err(StorageError::Conflict);
            }
            let stored = stored_form(&objects, &key, value).await?;
            // A deleted key is at its delete marker's revision: an update at the revision
            // of the value it had fails, as it must.
            store.update(key, stored, revision).await.map_err(|error| match error.kind() {
                kv::UpdateErrorKind::WrongLastRevision => StorageError::Conflict,
                _ => conditional(error),
            })
        })
    }

    fn delete(&self, key: &[u8]) -> Result<(), StorageError> {
        let key = keys::encode(key);
        self.call(|store, objects| async move {
            if let Some(entry) = live(store.entry(key.as_str()).await.map_err(backend)?) {
                store.delete(key.as_str()).await.map_err(backend)?;
                drop_object(&objects, &key, &entry.value).await?;
            }
            Ok(())
        })
    }

    fn delete_if(&self, key: &[u8], revision: Revision) -> Result<(), StorageError> {
        let key = keys::encode(key);
        self.call(move |store, objects| async move {
            let Some(entry) =
                live(store.entry(key.as_str()).await.map_err(backend)?).filter(|entry| entry.revision == revision)
            else {
                return Err(StorageError::Conflict);
            };
            store.delete_expect_revision(key.as_str(), Some(revision)).await.map_err(conditional)?;
            drop_object(&objects, &key, &entry.value).await
        })
    }

    fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Entry)>, StorageError> {
        let mut scanned = Vec::new();
        for key in self.keys(prefix)? {
            if let Some(entry) = self.get(&key)? {
                scanned.push((key, entry));
            }
        }
        Ok(scanned)
    }

    fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StorageError> {
        let filter = keys::filter(prefix);
        let listed = self.read(|store, _| {
            let (client, filter) = (self.client.clone(), filter.clone());
            async move { keys::list(&client, &store, &filter).await }
        })?;
        let mut keys: Vec<Vec<u8>> =
            listed.iter().filter_map(|key| keys::decode(key)).filter(|key| key.starts_with(prefix)).collect();
        keys.sort();
        Ok(keys)
    }

    fn watch(&self, prefix: &[u8]) -> Result<Watch, StorageError> {
        let (filter, prefix) = (keys::filter(prefix), prefix.to_vec());
        let (changes, received) = tokio::sync::mpsc::unbounded_channel();
        // Changes from the bucket's next revision on; when the server behind the watch
        // goes away, it is started again from the revision after the last one seen, so
        // no change is missed.
        let mut next = self.call(|store, _| async move {
            let mut stream = store.stream.clone();
            Ok(stream.info().await.map_err(backend)?.state.last_sequence + 1)
        })?;
        let (store, objects) = (self.store.clone(), self.objects.clone());
        self.runtime.spawn(async move {
            while !changes.is_closed() {
                let mut watching = match store.watch_from_revision(&filter, next).await {
                    Ok(watching) => watching,
                    Err(error) => {
                        tracing::debug!(%error, "restarting a bucket watch");
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        continue;
                    }
                };
                while let Some(Ok(entry)) = watching.next().await {
                    next = entry.revision + 1;
                    let Some(key) = keys::decode(&entry.key).filter(|key| key.starts_with(&prefix)) else { continue };
                    let revision = entry.revision;
                    let entry = if entry.operation == kv::Operation::Put {
                        match value_of(&objects, &entry.key, &entry.value).await {
                            Ok(value) => Some(Entry { value, revision }),
                            // Overwritten or deleted meanwhile: a later change reports that.
                            Err(_) => continue,
                        }
                    } else {
                        None
                    };
                    if changes.send(Change { key, entry }).is_err() {
                        return;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        });
        Ok(Watch::new(futures::stream::unfold(received, |mut received| async move {
            received.recv().await.map(|change| (change, received))
        })))
    }
}
