//! Route templates of the Functions API: the keys of call accounting (`CallStats`), spans
//! and metrics. Never a URL with IDs in it.

use crate::scaleway::Route;

/// ListNamespaces.
pub const LIST_NAMESPACES: Route = "GET /functions/v1beta1/regions/{region}/namespaces";
/// CreateNamespace.
pub const CREATE_NAMESPACE: Route = "POST /functions/v1beta1/regions/{region}/namespaces";
/// GetNamespace.
pub const GET_NAMESPACE: Route =
    "GET /functions/v1beta1/regions/{region}/namespaces/{namespace_id}";
/// UpdateNamespace.
pub const UPDATE_NAMESPACE: Route =
    "PATCH /functions/v1beta1/regions/{region}/namespaces/{namespace_id}";
/// DeleteNamespace.
pub const DELETE_NAMESPACE: Route =
    "DELETE /functions/v1beta1/regions/{region}/namespaces/{namespace_id}";

/// ListFunctions.
pub const LIST_FUNCTIONS: Route = "GET /functions/v1beta1/regions/{region}/functions";
/// CreateFunction.
pub const CREATE_FUNCTION: Route = "POST /functions/v1beta1/regions/{region}/functions";
/// GetFunction.
pub const GET_FUNCTION: Route = "GET /functions/v1beta1/regions/{region}/functions/{function_id}";
/// UpdateFunction.
pub const UPDATE_FUNCTION: Route =
    "PATCH /functions/v1beta1/regions/{region}/functions/{function_id}";
/// DeleteFunction.
pub const DELETE_FUNCTION: Route =
    "DELETE /functions/v1beta1/regions/{region}/functions/{function_id}";
/// DeployFunction.
pub const DEPLOY_FUNCTION: Route =
    "POST /functions/v1beta1/regions/{region}/functions/{function_id}/deploy";
/// GetFunctionUploadURL.
pub const UPLOAD_URL: Route =
    "GET /functions/v1beta1/regions/{region}/functions/{function_id}/upload-url";
/// GetFunctionDownloadURL.
pub const DOWNLOAD_URL: Route =
    "GET /functions/v1beta1/regions/{region}/functions/{function_id}/download-url";
/// The PUT of an archive to the presigned URL (object storage, not the API).
pub const UPLOAD_ARCHIVE: Route = "PUT {upload_url}";

/// ListFunctionRuntimes.
pub const LIST_RUNTIMES: Route = "GET /functions/v1beta1/regions/{region}/runtimes";

/// ListCrons.
pub const LIST_CRONS: Route = "GET /functions/v1beta1/regions/{region}/crons";
/// CreateCron.
pub const CREATE_CRON: Route = "POST /functions/v1beta1/regions/{region}/crons";
/// GetCron.
pub const GET_CRON: Route = "GET /functions/v1beta1/regions/{region}/crons/{cron_id}";
/// UpdateCron.
pub const UPDATE_CRON: Route = "PATCH /functions/v1beta1/regions/{region}/crons/{cron_id}";
/// DeleteCron.
pub const DELETE_CRON: Route = "DELETE /functions/v1beta1/regions/{region}/crons/{cron_id}";

/// ListDomains.
pub const LIST_DOMAINS: Route = "GET /functions/v1beta1/regions/{region}/domains";
/// CreateDomain.
pub const CREATE_DOMAIN: Route = "POST /functions/v1beta1/regions/{region}/domains";
/// GetDomain.
pub const GET_DOMAIN: Route = "GET /functions/v1beta1/regions/{region}/domains/{domain_id}";
/// DeleteDomain.
pub const DELETE_DOMAIN: Route = "DELETE /functions/v1beta1/regions/{region}/domains/{domain_id}";

/// ListTokens.
pub const LIST_TOKENS: Route = "GET /functions/v1beta1/regions/{region}/tokens";
/// CreateToken (deprecated upstream).
pub const CREATE_TOKEN: Route = "POST /functions/v1beta1/regions/{region}/tokens";
/// GetToken.
pub const GET_TOKEN: Route = "GET /functions/v1beta1/regions/{region}/tokens/{token_id}";
/// DeleteToken.
pub const DELETE_TOKEN: Route = "DELETE /functions/v1beta1/regions/{region}/tokens/{token_id}";

/// ListTriggers.
pub const LIST_TRIGGERS: Route = "GET /functions/v1beta1/regions/{region}/triggers";
/// CreateTrigger.
pub const CREATE_TRIGGER: Route = "POST /functions/v1beta1/regions/{region}/triggers";
/// GetTrigger.
pub const GET_TRIGGER: Route = "GET /functions/v1beta1/regions/{region}/triggers/{trigger_id}";
/// UpdateTrigger.
pub const UPDATE_TRIGGER: Route = "PATCH /functions/v1beta1/regions/{region}/triggers/{trigger_id}";
/// DeleteTrigger.
pub const DELETE_TRIGGER: Route =
    "DELETE /functions/v1beta1/regions/{region}/triggers/{trigger_id}";
