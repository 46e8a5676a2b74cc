//! The response bodies of the API, typed so the OpenAPI document carries their
//! schemas. Each mirrors what a route answers, field for field.

use hearth_host::Host;
use hearth_host::commerce::orders::Order;
use hearth_host::households::Device;
use hearth_host::households::commands::QueuedCommand;
use hearth_host::households::notifications::Notification;
use hearth_host::runtime::breaker::Quarantine;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error: `{"error": {"code", "message"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `unauthorized`, `forbidden`, `not_found`, `invalid`, …
    pub code: String,
    /// For people.
    pub message: String,
}

/// The answers every authenticated route may give, documented once.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documents responses; never built
pub enum AuthErrors {
    /// No token, an unknown one, or an expired one.
    #[response(status = 401, description = "No, unknown or expired token")]
    Unauthorized(ErrorBody),
    /// A token of another role (or another scope).
    #[response(status = 403, description = "Another role's route")]
    Forbidden(ErrorBody),
}

/// A plugin as operators and its partner see it.
#[derive(Serialize, ToSchema)]
pub struct PluginView {
    /// Reverse-DNS id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Its publisher.
    pub publisher: String,
    /// One line.
    pub description: String,
    /// Hex SHA-256 of its component.
    pub component: String,
    /// Topic patterns it subscribes to.
    pub subscriptions: Vec<String>,
    /// Service operations it provides.
    pub provides: Vec<String>,
    /// The version a rollback would go back to.
    pub rollback_to: Option<String>,
    /// Delivery state, while it runs.
    pub status: Option<StatusView>,
    /// The capabilities it runs with: the manifest's request cut to the operator's grants.
    #[schema(value_type = Object)]
    pub capabilities: hearth_package::Capabilities,
    /// The limits it runs under.
    pub limits: LimitsView,
    /// The version this install replaced (installs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgraded_from: Option<Option<String>>,
}

/// A running plugin's delivery state.
#[derive(Serialize, ToSchema)]
pub struct StatusView {
    /// Delivery and calls stopped until an operator resumes it.
    pub quarantined: bool,
    /// Why.
    pub quarantine: Option<Quarantine>,
    /// Events handled.
    pub delivered: u64,
    /// Failed attempts.
    pub failed: u64,
    /// Retried attempts.
    pub retried: u64,
    /// Dead-lettered events.
    pub dead_lettered: u64,
    /// Events withheld for lack of consent.
    pub skipped_without_consent: u64,
    /// Failed service calls into it.
    pub calls_failed: u64,
    /// Callers suspended after failing calls.
    pub callers_suspended: u64,
    /// Events its slowest subscription has not handled.
    pub lag: u64,
    /// At the backlog bound.
    pub overflowing: bool,
    /// Events passed over at the bound.
    pub backlog_skipped: u64,
    /// Calls its manifest does not allow, each refused: capabilities it does not request,
    /// services outside its `calls`.
    pub calls_not_granted: u64,
}

impl PluginView {
    /// The view of a loaded plugin.
    pub fn of(host: &Host, plugin: &hearth_host::LoadedPlugin) -> Self {
        let info = &plugin.manifest.plugin;
        PluginView {
            id: info.id.clone(),
            version: info.version.to_string(),
            publisher: info.publisher.clone(),
            description: info.description.clone(),
            component: plugin.component_hash.clone(),
            subscriptions: plugin.manifest.subscriptions.topics.clone(),
            provides: plugin.manifest.services.provides.clone(),
            rollback_to: host.previous_version(&info.id).ok().flatten(),
            status: host.status(&info.id).map(|s| StatusView {
                quarantined: s.quarantined,
                quarantine: s.quarantine,
                delivered: s.delivered,
                failed: s.failed,
                retried: s.retried,
                dead_lettered: s.dead_lettered,
                skipped_without_consent: s.skipped_without_consent,
                calls_failed: s.calls_failed,
                callers_suspended: s.callers_suspended,
                lag: s.lag,
                overflowing: s.overflowing,
                backlog_skipped: s.backlog_skipped,
                calls_not_granted: s.calls_not_granted,
            }),
            capabilities: plugin.manifest.capabilities.clone(),
            limits: LimitsView::from(plugin.limits),
            upgraded_from: None,
        }
    }
}

/// `GET /v1/plugins`.
#[derive(Serialize, ToSchema)]
pub struct PluginList {
    /// The running plugins.
    pub plugins: Vec<PluginView>,
    /// Ids of installed plugins that are disabled (operators only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<Vec<String>>,
}

/// One dead letter, without the event's body.
#[derive(Serialize, ToSchema)]
pub struct DeadLetterView {
    /// The event's position in the log (redrive by it).
    pub seq: u64,
    /// The event's id.
    pub event_id: String,
    /// Its topic.
    pub topic: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was dead-lettered.
    pub time_ms: u64,
}

/// A plugin's dead letters.
#[derive(Serialize, ToSchema)]
pub struct DeadLetterList {
    /// Oldest first.
    pub dead_letters: Vec<DeadLetterView>,
}

/// A new token, shown once.
#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    /// Its id (to revoke it).
    pub id: String,
    /// Its role.
    pub role: crate::auth::Role,
    /// Its scope.
    pub scope: String,
    /// When it expires, ms since the epoch.
    pub expires_ms: Option<u64>,
    /// The secret.
    pub token: String,
}

/// `POST /v1/plugins/{id}/resume`.
#[derive(Serialize, ToSchema)]
pub struct Resumed {
    /// Whether it was quarantined.
    pub was_quarantined: bool,
}

/// `POST /v1/plugins/{id}/disable`.
#[derive(Serialize, ToSchema)]
pub struct Disabled {
    /// Whether it ran.
    pub was_running: bool,
}

/// `DELETE /v1/plugins/{id}`.
#[derive(Serialize, ToSchema)]
pub struct Removed {
    /// Key-value entries deleted.
    pub erased_entries: usize,
}

/// `GET /v1/audit`.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub entries: Vec<crate::audit::AuditEntry>,
}

/// `GET /v1/cluster`: the hosts sharing this one's state.
#[derive(Serialize, ToSchema)]
pub struct ClusterView {
    /// This host's id; absent when it runs alone on its embedded store.
    pub host: Option<String>,
    /// Live members (this one included), by host id.
    pub members: Vec<MemberView>,
}

/// One live host of a cluster.
#[derive(Serialize, ToSchema)]
pub struct MemberView {
    /// Its host id.
    pub host: String,
    /// Its heartbeat holds until then, ms since the epoch.
    pub heartbeat_until_ms: u64,
    /// Consumer partitions it delivers now.
    pub partitions: usize,
}

/// The limits a plugin runs under.
#[derive(Serialize, ToSchema)]
pub struct LimitsView {
    /// Linear memory, bytes.
    pub memory_bytes: usize,
    /// Per event call.
    pub event_timeout_ms: u64,
    /// Per service call.
    pub service_timeout_ms: u64,
    /// Instances.
    pub concurrency: usize,
}

impl From<hearth_host::runtime::limits::Limits> for LimitsView {
    fn from(limits: hearth_host::runtime::limits::Limits) -> Self {
        LimitsView {
            memory_bytes: limits.memory_bytes,
            event_timeout_ms: limits.event_timeout.as_millis() as u64,
            service_timeout_ms: limits.service_timeout.as_millis() as u64,
            concurrency: limits.concurrency,
        }
    }
}

/// `PUT /v1/plugins/{id}/limits`.
#[derive(Serialize, ToSchema)]
pub struct LimitsSet {
    /// What it runs under now.
    pub limits: LimitsView,
}

/// `POST /v1/events`.
#[derive(Serialize, ToSchema)]
pub struct Receipts {
    /// One per event, in order.
    pub receipts: Vec<hearth_host::events::ingest::Receipt>,
}

/// `GET /v1/commands`.
#[derive(Serialize, ToSchema)]
pub struct Commands {
    /// Oldest first; taken.
    pub commands: Vec<QueuedCommand>,
}

/// `GET /v1/me/notifications`.
#[derive(Serialize, ToSchema)]
pub struct Notifications {
    /// Oldest first.
    pub notifications: Vec<Notification>,
}

/// `GET /v1/me/offers`.
#[derive(Serialize, ToSchema)]
pub struct Offers {
    /// Pending orders, oldest first.
    pub offers: Vec<Order>,
}

/// `POST /v1/me/orders/{plugin}/{order}/confirm`.
#[derive(Serialize, ToSchema)]
pub struct Booked {
    /// The order id.
    pub order: String,
    /// Its total, in minor units.
    pub gross_minor: u64,
    /// ISO 4217 code.
    pub currency: String,
}

/// `DELETE /v1/me`.
#[derive(Serialize, ToSchema)]
pub struct Erased {
    /// What went, per store.
    pub erased: hearth_host::Erasure,
    /// Tokens of the household and its devices deleted.
    pub tokens: usize,
}

/// `GET /v1/me/devices`.
#[derive(Serialize, ToSchema)]
pub struct Devices {
    /// The household's devices.
    pub devices: Vec<Device>,
}

/// What a package asks for (`POST /v1/packages/verify`).
#[derive(Serialize, ToSchema)]
pub struct PackageReview {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Publisher.
    pub publisher: String,
    /// One line.
    pub description: String,
    /// The signing key, hex.
    pub signed_by: Option<String>,
    /// Hex SHA-256 of the component.
    pub component: String,
    /// Topic patterns.
    pub subscriptions: Vec<String>,
    /// Operations it provides.
    pub provides: Vec<String>,
    /// Operations it calls.
    pub calls: Vec<String>,
    /// Capabilities it requests (`kv`, `notify`, `commerce`, `devices`, `http`).
    #[schema(value_type = Object)]
    pub capabilities: hearth_package::Capabilities,
    /// Limits it requests.
    #[schema(value_type = Object)]
    pub limits: hearth_package::RequestedLimits,
    /// Subscriptions no event can match (a typo, or a kind the catalogue lacks), one
    /// sentence each; the package installs anyway.
    pub warnings: Vec<String>,
    /// The version installed now, if any.
    pub installed_version: Option<String>,
    /// Hex SHA-256 of the package file, when a registry served it
    /// (`POST /v1/registry/install` takes it back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// `POST /v1/trust/{publisher}`.
#[derive(Serialize, ToSchema)]
pub struct Trusted {
    /// The publisher.
    pub publisher: String,
    /// Whether the key was new.
    pub added: bool,
}

/// `GET /v1/households`: one page.
#[derive(Serialize, ToSchema)]
pub struct HouseholdPage {
    /// By id.
    pub households: Vec<HouseholdView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// A household with its devices.
#[derive(Serialize, ToSchema)]
pub struct HouseholdView {
    /// Its id.
    pub id: String,
    /// Its registered appliances.
    pub devices: Vec<hearth_host::households::Device>,
}
