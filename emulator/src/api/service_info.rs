//! `GET /containers/v1/regions/{region}` (GetServiceInfo).

use axum::Json;
use axum::extract::Path;

use super::check_region;
use crate::error::ApiError;
use crate::wire::common::ServiceInfo;

/// Describes the emulated service.
pub(crate) async fn get(Path(region): Path<String>) -> Result<Json<ServiceInfo>, ApiError> {
    check_region(&region)?;
    Ok(Json(ServiceInfo {
        name: "containers",
        description: "Serverless Containers API (scaleway-emulator)",
        version: "v1",
        documentation_url: Some(
            "https://www.scaleway.com/en/developers/api/serverless-containers/",
        ),
        built_at: None,
        git_commit: "",
    }))
}
