//! One interface to the two kinds of Scaleway Serverless namespace: a ServerlessNamespace of
//! type Containers is a Containers API v1 namespace, one of type Functions a Functions API
//! v1beta1 namespace. Both carry the same settings (name, project, description, environment,
//! secret environment, tags), so the reconciler works with the Containers wire types and
//! the Functions calls are converted at this boundary.

use super::function_plan::secrets as secret_list;
use crate::crd::NamespaceType;
use crate::scaleway::functions::types as fx;
use crate::scaleway::types::{
    CreateNamespaceRequest, Namespace, NamespaceFilter, Status, UpdateNamespaceRequest,
};
use crate::scaleway::{Client, Error, Functions, Regional};

/// The namespace calls of one region, for one type.
#[derive(Clone)]
pub enum NamespaceApi<'a> {
    /// Containers API v1.
    Containers(Regional<'a>),
    /// Functions API v1beta1.
    Functions(Functions<'a>),
}

impl<'a> NamespaceApi<'a> {
    /// The calls for namespaces of `type_` in `region`.
    pub fn new(client: &'a Client, region: &str, type_: NamespaceType) -> Self {
        match type_ {
            NamespaceType::Containers => Self::Containers(client.region(region)),
            NamespaceType::Functions => Self::Functions(client.functions(region)),
        }
    }

    /// Every namespace matching `filter`.
    pub async fn list_all(&self, filter: &NamespaceFilter) -> Result<Vec<Namespace>, Error> {
        match self {
            Self::Containers(api) => api.list_all_namespaces(filter).await,
            Self::Functions(api) => {
                let filter = fx::NamespaceFilter {
                    name: filter.name.clone(),
                    organization_id: filter.organization_id.clone(),
                    project_id: filter.project_id.clone(),
                };
                Ok(api
                    .list_all_namespaces(&filter)
                    .await?
                    .into_iter()
                    .map(from_functions)
                    .collect())
            }
        }
    }

    /// One namespace.
    pub async fn get(&self, id: &str) -> Result<Namespace, Error> {
        match self {
            Self::Containers(api) => api.get_namespace(id).await,
            Self::Functions(api) => api.get_namespace(id).await.map(from_functions),
        }
    }

    /// CreateNamespace.
    pub async fn create(&self, request: &CreateNamespaceRequest) -> Result<Namespace, Error> {
        match self {
            Self::Containers(api) => api.create_namespace(request).await,
            Self::Functions(api) => {
                let request = fx::CreateNamespaceRequest {
                    name: request.name.clone(),
                    project_id: request.project_id.clone(),
                    environment_variables: request.environment_variables.clone(),
                    description: request.description.clone(),
                    secret_environment_variables: request
                        .secret_environment_variables
                        .as_ref()
                        .map(secret_list),
                    tags: request.tags.clone(),
                    activate_vpc_integration: None,
                };
                api.create_namespace(&request).await.map(from_functions)
            }
        }
    }

    /// UpdateNamespace.
    pub async fn update(
        &self,
        id: &str,
        request: &UpdateNamespaceRequest,
    ) -> Result<Namespace, Error> {
        match self {
            Self::Containers(api) => api.update_namespace(id, request).await,
            Self::Functions(api) => {
                let request = fx::UpdateNamespaceRequest {
                    environment_variables: request.environment_variables.clone(),
                    description: request.description.clone(),
                    secret_environment_variables: request
                        .secret_environment_variables
                        .as_ref()
                        .map(secret_list),
                    tags: request.tags.clone(),
                };
                api.update_namespace(id, &request).await.map(from_functions)
            }
        }
    }

    /// DeleteNamespace (cascades to everything in it).
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        match self {
            Self::Containers(api) => api.delete_namespace(id).await.map(|_| ()),
            Self::Functions(api) => api.delete_namespace(id).await.map(|_| ()),
        }
    }
}

/// A Functions namespace in the Containers shape (the statuses share their names).
fn from_functions(namespace: fx::Namespace) -> Namespace {
    Namespace {
        id: namespace.id,
        name: namespace.name,
        organization_id: namespace.organization_id,
        project_id: namespace.project_id,
        description: namespace.description,
        status: Status::from(namespace.status.as_str()),
        error_message: namespace.error_message,
        environment_variables: namespace.environment_variables,
        secret_environment_variables: namespace
            .secret_environment_variables
            .into_iter()
            .map(|s| (s.key, s.hashed_value))
            .collect(),
        tags: namespace.tags,
        created_at: namespace.created_at,
        updated_at: namespace.updated_at,
        region: namespace.region,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_functions_namespace_reads_as_a_namespace() {
        let wire = serde_json::json!({
            "id": "11111111-1111-4111-8111-111111111111", "name": "fns",
            "project_id": "p", "organization_id": "o", "status": "pending",
            "secret_environment_variables": [{"key": "K", "hashed_value": "$h"}],
            "environment_variables": {"A": "1"}, "tags": ["t"], "region": "fr-par",
            "registry_endpoint": "rg.fr-par.scw.cloud/funcscwfns"
        });
        let namespace: fx::Namespace =
            serde_json::from_value(wire).unwrap_or_else(|e| panic!("{e}"));
        let converted = from_functions(namespace);
        assert_eq!(converted.status, Status::Pending);
        assert!(converted.status.is_transient());
        assert_eq!(
            converted
                .secret_environment_variables
                .get("K")
                .map(String::as_str),
            Some("$h")
        );
        assert_eq!(converted.tags, vec!["t".to_owned()]);
    }

    #[test]
    fn secrets_become_a_key_value_list() {
        let values = std::collections::BTreeMap::from([(
            "K".to_owned(),
            crate::scaleway::SecretString::new("v".to_owned()),
        )]);
        let list = secret_list(&values);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].key, "K");
        assert!(!format!("{list:?}").contains("\"v\""));
    }
}
