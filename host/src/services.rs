//! Service routing: which provider serves a call to `service.operation`. The household's
//! preferred provider comes first, then the operator's ranking, then plugin id; only
//! providers with the household's consent serve it; plugins already in the call chain
//! are skipped (no cycles), quarantined ones too; a provider that fails hands the call
//! to the next. The same router serves appliances, apps, operators and plugins.

use crate::bindings::{ServiceRequest, ServiceResponse};
use crate::capabilities::services::ServiceRouter;
use crate::households::Households;
use crate::households::refs::{Pseudonyms, RefKind};
use crate::plugins::running::Directory;
use crate::runtime::worker::ServiceCall;
use crate::storage::{Bucket, BucketExt, Storage, scoped_key};
use crate::{CallError, HostError};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Instant;

/// The router, with the operator's rankings (`provider-rankings`: operation → plugin
/// ids) and households' preferences (`provider-preferences`: `household \0 operation`
/// → plugin id).
pub struct Router {
    /// Weak: plugins' stores hold the router, and must not keep the running plugins
    /// (and so themselves) alive.
    directory: Weak<Directory>,
    households: Households,
    refs: Pseudonyms,
    rankings: Arc<dyn Bucket>,
    preferences: Arc<dyn Bucket>,
}

impl Router {
    /// A router over the running plugins in `directory`.
    pub fn open(
        storage: &dyn Storage,
        directory: &Arc<Directory>,
        households: Households,
        refs: Pseudonyms,
    ) -> Result<Self, HostError> {
        Ok(Router {
            directory: Arc::downgrade(directory),
            households,
            refs,
            rankings: storage.bucket("provider-rankings")?,
            preferences: storage.bucket("provider-preferences")?,
        })
    }

    /// The operator's order of preference among the providers of `service.operation`.
    pub fn set_ranking(&self, operation: &str, plugins: &[&str]) -> Result<(), HostError> {
        self.rankings.put_json(operation.as_bytes(), &plugins)?;
        Ok(())
    }

    /// A household's preferred provider of `service.operation`.
    pub fn set_preference(&self, household: &str, operation: &str, plugin: &str) -> Result<(), HostError> {
        self.preferences.put(&scoped_key(household, operation), plugin.as_bytes())?;
        Ok(())
    }

    /// Forgets a household's preferences (it was erased).
    pub fn erase_household(&self, household: &str) -> Result<usize, HostError> {
        Ok(self.preferences.delete_prefix(&scoped_key(household, ""))?)
    }

    /// Calls a provider of `request`; `household` is the real household id, and the
    /// provider sees its own ref of it.
    pub async fn call(
        &self,
        request: ServiceRequest,
        household: Option<String>,
        chain: Vec<Arc<str>>,
        deadline: Option<Instant>,
    ) -> Result<ServiceResponse, CallError> {
        let name = format!("{}.{}", request.service, request.operation);
        let directory = self.directory.upgrade().ok_or(CallError::Stopped)?;
        let mut providers = directory.providers(&name);
        drop(directory);
        if providers.is_empty() {
            return Err(CallError::NoProvider(name));
        }
        let ranking: Vec<String> = self.rankings.get_json(name.as_bytes()).ok().flatten().unwrap_or_default();
        let preferred = household
            .as_deref()
            .and_then(|household| self.preferences.value(&scoped_key(household, &name)).ok().flatten())
            .map(|plugin| String::from_utf8_lossy(&plugin).into_owned());
        providers.sort_by_key(|link| {
            let rank = ranking.iter().position(|id| **id == *link.id).unwrap_or(usize::MAX);
            (preferred.as_deref() != Some(&*link.id), rank)
        });
        if let Some(household) = &household {
            // A provider serves a household only with its consent.
            providers.retain(|link| matches!(self.households.grant_of(household, &link.id), Ok(Some(_))));
            if providers.is_empty() {
                return Err(CallError::NoProvider(format!("{name} (no provider has this household's consent)")));
            }
        }
        providers.retain(|link| !chain.contains(&link.id));
        if providers.is_empty() {
            let chain: Vec<&str> = chain.iter().map(|id| &**id).collect();
            return Err(CallError::Cycle(format!(
                "{name} is only provided by plugins already in the call chain {chain:?}"
            )));
        }
        let mut last_error = CallError::Quarantined(name.clone());
        let caller = caller_key(household.as_deref(), &chain);
        for link in providers.iter().filter(|link| !link.breaker.is_quarantined()) {
            let mut request = request.clone();
            if let Some(household) = &household {
                let reference = self
                    .refs
                    .mint(&link.id, RefKind::Household, household)
                    .map_err(|error| CallError::Storage(error.to_string()))?;
                request.household = Some(reference);
            }
            match link.call(ServiceCall { request, chain: chain.clone(), deadline }, &caller).await {
                result @ (Ok(_) | Err(CallError::Plugin(_))) => return result,
                Err(error) => {
                    link.log.report(|| {
                        let error = crate::capabilities::log::cut(&error.to_string()).to_owned();
                        format!("{name} failed, trying the next provider: {error}")
                    });
                    last_error = error;
                }
            }
        }
        Err(last_error)
    }
}

/// Who a call counts against in a plugin's breaker: the household it is for, else
/// the plugin that made it, else the operator.
fn caller_key(household: Option<&str>, chain: &[Arc<str>]) -> String {
    match (household, chain.last()) {
        (Some(household), _) => format!("household:{household}"),
        (None, Some(plugin)) => format!("plugin:{plugin}"),
        (None, None) => "operator".to_owned(),
    }
}

impl ServiceRouter for Router {
    fn route(
        &self,
        request: ServiceRequest,
        real_household: Option<String>,
        chain: Vec<Arc<str>>,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<ServiceResponse, CallError>> + Send + '_>> {
        Box::pin(self.call(request, real_household, chain, Some(deadline)))
    }

    fn resolve_household(&self, plugin: &str, reference: &str) -> Option<String> {
        self.refs.resolve(plugin, reference).ok().flatten()
    }
}
