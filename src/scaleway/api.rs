//! Typed calls of the Containers API v1, one per operation, bound to a region.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::client::{Call, Client, erased, segment};
use super::error::{Error, Route};
use super::types::*;

/// Largest `page_size` the operator asks for. The spec states no maximum; the public API and
/// our emulator accept 100.
pub const MAX_PAGE_SIZE: u32 = 100;

/// `scaleway.std.ServiceInfo`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, Default)]
pub struct ServiceInfo {
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Service description.
    #[serde(default)]
    pub description: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Documentation URL.
    #[serde(default)]
    pub documentation_url: Option<String>,
}

/// Paging and order of one list call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest<O> {
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
    /// Sort order.
    pub order_by: O,
}

impl<O: Default> Default for PageRequest<O> {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: MAX_PAGE_SIZE,
            order_by: O::default(),
        }
    }
}

#[derive(Serialize)]
struct ListQuery<'a, F: Serialize, O: Serialize> {
    #[serde(flatten)]
    filter: &'a F,
    page: u32,
    page_size: u32,
    order_by: O,
}

/// The list response shape: `{ "<plural>": [...], "total_count": N }`.
pub(crate) trait ListResponse<T>: DeserializeOwned {
    /// The items and the total count.
    fn into_page(self) -> Page<T>;
}

/// Declares the list response `$name` whose items of type `$item` sit under the key `$key`.
macro_rules! list_response {
    ($name:ident, $item:ty, $key:ident) => {
        #[derive(serde::Deserialize)]
        struct $name {
            #[serde(default)]
            $key: Vec<$item>,
            #[serde(default, deserialize_with = "crate::scaleway::api::total_count")]
            total_count: u64,
        }
        impl $crate::scaleway::api::ListResponse<$item> for $name {
            fn into_page(self) -> $crate::scaleway::types::Page<$item> {
                $crate::scaleway::types::Page {
                    items: self.$key,
                    total_count: self.total_count,
                }
            }
        }
    };
}
pub(crate) use list_response;
list_response!(NamespaceList, Namespace, namespaces);
list_response!(ContainerList, Container, containers);
list_response!(DomainList, Domain, domains);
list_response!(TriggerList, Trigger, triggers);

/// `total_count` is a uint64; some proxies turn it into a string (the Python SDK copies an
/// `x-total-count` header into it as one), so accept both.
pub(crate) fn total_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(u64),
        Text(String),
    }
    match Option::<Count>::deserialize(d)? {
        None => Ok(0),
        Some(Count::Number(n)) => Ok(n),
        Some(Count::Text(text)) => text.parse().map_err(serde::de::Error::custom),
    }
}

/// The client bound to one region: every path starts `/containers/v1/regions/{region}`.
#[derive(Clone, Debug)]
pub struct Regional<'a> {
    scope: Scope<'a>,
}

impl Client {
    /// Calls in `region` (`fr-par`, `nl-ams`, `pl-waw`).
    pub fn region(&self, region: &str) -> Regional<'_> {
        Regional {
            scope: Scope::new(self, format!("/containers/v1/regions/{}", segment(region))),
        }
    }
}

const NO_BODY: Option<&()> = None;

/// The transport bound to one API prefix (`/containers/v1/regions/fr-par`,
/// `/functions/v1beta1/regions/fr-par`): the request helpers that every typed call of every
/// API goes through.
#[derive(Clone, Debug)]
pub(crate) struct Scope<'a> {
    client: &'a Client,
    base: String,
}

impl<'a> Scope<'a> {
    /// Calls under `base` (already percent-encoded, no trailing slash).
    pub(crate) fn new(client: &'a Client, base: String) -> Self {
        Self { client, base }
    }

    /// The client the calls go through.
    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    /// The prefix followed by `suffix` (which starts with `/`).
    pub(crate) fn path(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.base)
    }

    /// The prefix followed by `/{collection}/{id}`, the ID percent-encoded.
    pub(crate) fn item(&self, collection: &str, id: &str) -> String {
        format!("{}/{collection}/{}", self.base, segment(id))
    }

    /// GET without a query.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        route: Route,
        path: String,
    ) -> Result<T, Error> {
        self.client
            .send(Call {
                method: Method::GET,
                route,
                path,
                query: None,
                body: NO_BODY,
            })
            .await
    }

    /// DELETE.
    pub(crate) async fn delete<T: DeserializeOwned>(
        &self,
        route: Route,
        path: String,
    ) -> Result<T, Error> {
        self.client
            .send(Call {
                method: Method::DELETE,
                route,
                path,
                query: None,
                body: NO_BODY,
            })
            .await
    }

    /// GET with a query (a filter that is not a list).
    pub(crate) async fn get_with_query<Q: Serialize + Sync, T: DeserializeOwned>(
        &self,
        route: Route,
        path: String,
        query: &Q,
    ) -> Result<T, Error> {
        self.client
            .send(Call {
                method: Method::GET,
                route,
                path,
                query: Some(query as &(dyn erased::Query + Sync)),
                body: NO_BODY,
            })
            .await
    }

    /// POST or PATCH with a JSON body.
    pub(crate) async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        route: Route,
        path: String,
        body: &B,
    ) -> Result<T, Error> {
        self.client
            .send(Call {
                method,
                route,
                path,
                query: None,
                body: Some(body),
            })
            .await
    }

    /// One page of a list call.
    pub(crate) async fn list<L, T, F, O>(
        &self,
        route: Route,
        path: String,
        filter: &F,
        page: PageRequest<O>,
    ) -> Result<Page<T>, Error>
    where
        L: ListResponse<T>,
        F: Serialize + Sync,
        O: Serialize + Sync + Copy,
    {
        let query = ListQuery {
            filter,
            page: page.page,
            page_size: page.page_size,
            order_by: page.order_by,
        };
        let response: L = self
            .client
            .send(Call {
                method: Method::GET,
                route,
                path,
                query: Some(&query as &(dyn erased::Query + Sync)),
                body: NO_BODY,
            })
            .await?;
        Ok(response.into_page())
    }

    /// Walks every page (at the maximum page size) and returns all items. Stops when a page
    /// is short or empty, or when `total_count` items were read.
    pub(crate) async fn list_all<L, T, F, O>(
        &self,
        route: Route,
        path: &str,
        filter: &F,
        order_by: O,
    ) -> Result<Vec<T>, Error>
    where
        L: ListResponse<T>,
        F: Serialize + Sync,
        O: Serialize + Sync + Copy,
    {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let request = PageRequest {
                page,
                page_size: MAX_PAGE_SIZE,
                order_by,
            };
            let batch = self
                .list::<L, T, F, O>(route, path.to_owned(), filter, request)
                .await?;
            let short = (batch.items.len() as u32) < MAX_PAGE_SIZE;
            items.extend(batch.items);
            if short || items.len() as u64 >= batch.total_count {
                return Ok(items);
            }
            page += 1;
        }
    }
}

impl Regional<'_> {
    /// GetServiceInfo.
    pub async fn service_info(&self) -> Result<ServiceInfo, Error> {
        self.scope
            .get(
                "GET /containers/v1/regions/{region}",
                self.scope.base.clone(),
            )
            .await
    }

    // --- namespaces -------------------------------------------------------------------

    /// ListNamespaces, one page.
    pub async fn list_namespaces(
        &self,
        filter: &NamespaceFilter,
        page: PageRequest<ListOrder>,
    ) -> Result<Page<Namespace>, Error> {
        self.scope
            .list::<NamespaceList, _, _, _>(
                "GET /containers/v1/regions/{region}/namespaces",
                format!("{}/namespaces", self.scope.base),
                filter,
                page,
            )
            .await
    }

    /// ListNamespaces, every page.
    pub async fn list_all_namespaces(
        &self,
        filter: &NamespaceFilter,
    ) -> Result<Vec<Namespace>, Error> {
        self.scope
            .list_all::<NamespaceList, _, _, _>(
                "GET /containers/v1/regions/{region}/namespaces",
                &format!("{}/namespaces", self.scope.base),
                filter,
                ListOrder::default(),
            )
            .await
    }

    /// CreateNamespace. Never retried: on an unknown outcome, look the namespace up by name.
    pub async fn create_namespace(
        &self,
        request: &CreateNamespaceRequest,
    ) -> Result<Namespace, Error> {
        self.scope
            .write(
                Method::POST,
                "POST /containers/v1/regions/{region}/namespaces",
                format!("{}/namespaces", self.scope.base),
                request,
            )
            .await
    }

    /// GetNamespace.
    pub async fn get_namespace(&self, id: &str) -> Result<Namespace, Error> {
        self.scope
            .get(
                "GET /containers/v1/regions/{region}/namespaces/{namespace_id}",
                format!("{}/namespaces/{}", self.scope.base, segment(id)),
            )
            .await
    }

    /// UpdateNamespace.
    pub async fn update_namespace(
        &self,
        id: &str,
        request: &UpdateNamespaceRequest,
    ) -> Result<Namespace, Error> {
        self.scope
            .write(
                Method::PATCH,
                "PATCH /containers/v1/regions/{region}/namespaces/{namespace_id}",
                format!("{}/namespaces/{}", self.scope.base, segment(id)),
                request,
            )
            .await
    }

    /// DeleteNamespace (cascades to everything inside it).
    pub async fn delete_namespace(&self, id: &str) -> Result<Namespace, Error> {
        self.scope
            .delete(
                "DELETE /containers/v1/regions/{region}/namespaces/{namespace_id}",
                format!("{}/namespaces/{}", self.scope.base, segment(id)),
            )
            .await
    }

    // --- containers -------------------------------------------------------------------

    /// ListContainers, one page.
    pub async fn list_containers(
        &self,
        filter: &ContainerFilter,
        page: PageRequest<ListOrder>,
    ) -> Result<Page<Container>, Error> {
        self.scope
            .list::<ContainerList, _, _, _>(
                "GET /containers/v1/regions/{region}/containers",
                format!("{}/containers", self.scope.base),
                filter,
                page,
            )
            .await
    }

    /// ListContainers, every page.
    pub async fn list_all_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<Container>, Error> {
        self.scope
            .list_all::<ContainerList, _, _, _>(
                "GET /containers/v1/regions/{region}/containers",
                &format!("{}/containers", self.scope.base),
                filter,
                ListOrder::default(),
            )
            .await
    }

    /// CreateContainer. Never retried: on an unknown outcome, look the container up by name.
    pub async fn create_container(
        &self,
        request: &CreateContainerRequest,
    ) -> Result<Container, Error> {
        self.scope
            .write(
                Method::POST,
                "POST /containers/v1/regions/{region}/containers",
                format!("{}/containers", self.scope.base),
                request,
            )
            .await
    }

    /// GetContainer.
    pub async fn get_container(&self, id: &str) -> Result<Container, Error> {
        self.scope
            .get(
                "GET /containers/v1/regions/{region}/containers/{container_id}",
                format!("{}/containers/{}", self.scope.base, segment(id)),
            )
            .await
    }

    /// UpdateContainer (a configuration change rolls the container out by itself).
    pub async fn update_container(
        &self,
        id: &str,
        request: &UpdateContainerRequest,
    ) -> Result<Container, Error> {
        self.scope
            .write(
                Method::PATCH,
                "PATCH /containers/v1/regions/{region}/containers/{container_id}",
                format!("{}/containers/{}", self.scope.base, segment(id)),
                request,
            )
            .await
    }

    /// DeleteContainer (cascades to its triggers and domains).
    pub async fn delete_container(&self, id: &str) -> Result<Container, Error> {
        self.scope
            .delete(
                "DELETE /containers/v1/regions/{region}/containers/{container_id}",
                format!("{}/containers/{}", self.scope.base, segment(id)),
            )
            .await
    }

    /// RedeployContainer: a rollout that re-pulls the image (for mutable tags). The spec
    /// requires a body, an empty object (seed 001 shows none; we follow 000). Not retried.
    pub async fn redeploy_container(&self, id: &str) -> Result<Container, Error> {
        let empty = serde_json::Map::new();
        self.scope
            .write(
                Method::POST,
                "POST /containers/v1/regions/{region}/containers/{container_id}/redeploy",
                format!("{}/containers/{}/redeploy", self.scope.base, segment(id)),
                &empty,
            )
            .await
    }

    // --- domains ----------------------------------------------------------------------

    /// ListDomains, one page.
    pub async fn list_domains(
        &self,
        filter: &DomainFilter,
        page: PageRequest<DomainListOrder>,
    ) -> Result<Page<Domain>, Error> {
        self.scope
            .list::<DomainList, _, _, _>(
                "GET /containers/v1/regions/{region}/domains",
                format!("{}/domains", self.scope.base),
                filter,
                page,
            )
            .await
    }

    /// ListDomains, every page.
    pub async fn list_all_domains(&self, filter: &DomainFilter) -> Result<Vec<Domain>, Error> {
        self.scope
            .list_all::<DomainList, _, _, _>(
                "GET /containers/v1/regions/{region}/domains",
                &format!("{}/domains", self.scope.base),
                filter,
                DomainListOrder::default(),
            )
            .await
    }

    /// CreateDomain. Never retried.
    pub async fn create_domain(&self, request: &CreateDomainRequest) -> Result<Domain, Error> {
        self.scope
            .write(
                Method::POST,
                "POST /containers/v1/regions/{region}/domains",
                format!("{}/domains", self.scope.base),
                request,
            )
            .await
    }

    /// GetDomain.
    pub async fn get_domain(&self, id: &str) -> Result<Domain, Error> {
        self.scope
            .get(
                "GET /containers/v1/regions/{region}/domains/{domain_id}",
                format!("{}/domains/{}", self.scope.base, segment(id)),
            )
            .await
    }

    /// UpdateDomain (tags only).
    pub async fn update_domain(
        &self,
        id: &str,
        request: &UpdateDomainRequest,
    ) -> Result<Domain, Error> {
        self.scope
            .write(
                Method::PATCH,
                "PATCH /containers/v1/regions/{region}/domains/{domain_id}",
                format!("{}/domains/{}", self.scope.base, segment(id)),
                request,
            )
            .await
    }

    /// DeleteDomain.
    pub async fn delete_domain(&self, id: &str) -> Result<Domain, Error> {
        self.scope
            .delete(
                "DELETE /containers/v1/regions/{region}/domains/{domain_id}",
                format!("{}/domains/{}", self.scope.base, segment(id)),
            )
            .await
    }

    // --- triggers ---------------------------------------------------------------------

    /// ListTriggers, one page.
    pub async fn list_triggers(
        &self,
        filter: &TriggerFilter,
        page: PageRequest<ListOrder>,
    ) -> Result<Page<Trigger>, Error> {
        self.scope
            .list::<TriggerList, _, _, _>(
                "GET /containers/v1/regions/{region}/triggers",
                format!("{}/triggers", self.scope.base),
                filter,
                page,
            )
            .await
    }

    /// ListTriggers, every page.
    pub async fn list_all_triggers(&self, filter: &TriggerFilter) -> Result<Vec<Trigger>, Error> {
        self.scope
            .list_all::<TriggerList, _, _, _>(
                "GET /containers/v1/regions/{region}/triggers",
                &format!("{}/triggers", self.scope.base),
                filter,
                ListOrder::default(),
            )
            .await
    }

    /// CreateTrigger. Never retried: on an unknown outcome, look the trigger up by name.
    pub async fn create_trigger(&self, request: &CreateTriggerRequest) -> Result<Trigger, Error> {
        self.scope
            .write(
                Method::POST,
                "POST /containers/v1/regions/{region}/triggers",
                format!("{}/triggers", self.scope.base),
                request,
            )
            .await
    }

    /// GetTrigger.
    pub async fn get_trigger(&self, id: &str) -> Result<Trigger, Error> {
        self.scope
            .get(
                "GET /containers/v1/regions/{region}/triggers/{trigger_id}",
                format!("{}/triggers/{}", self.scope.base, segment(id)),
            )
            .await
    }

    /// UpdateTrigger (the source type cannot change).
    pub async fn update_trigger(
        &self,
        id: &str,
        request: &UpdateTriggerRequest,
    ) -> Result<Trigger, Error> {
        self.scope
            .write(
                Method::PATCH,
                "PATCH /containers/v1/regions/{region}/triggers/{trigger_id}",
                format!("{}/triggers/{}", self.scope.base, segment(id)),
                request,
            )
            .await
    }

    /// DeleteTrigger.
    pub async fn delete_trigger(&self, id: &str) -> Result<Trigger, Error> {
        self.scope
            .delete(
                "DELETE /containers/v1/regions/{region}/triggers/{trigger_id}",
                format!("{}/triggers/{}", self.scope.base, segment(id)),
            )
            .await
    }
}
