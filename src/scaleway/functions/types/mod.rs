//! Wire types of the Functions API v1beta1, spelled exactly as the spec spells them.
//!
//! `Privacy`, `Sandbox`, `ApiDuration`, `Page`, `ListOrder` and `DomainListOrder` have the
//! same values in both APIs and are shared with [`crate::scaleway::types`].

mod common;
mod cron;
mod domain;
mod function;
mod namespace;
mod runtime;
mod token;
mod trigger;
mod url;

pub use common::{CreatedOrder, Secret, SecretHashedValue};
pub use cron::{CreateCronRequest, Cron, CronArgs, CronFilter, CronStatus, UpdateCronRequest};
pub use domain::{CreateDomainRequest, Domain, DomainFilter, DomainStatus};
pub use function::{
    CreateFunctionRequest, Function, FunctionFilter, FunctionSettings, FunctionStatus, HttpOption,
    UpdateFunctionRequest,
};
pub use namespace::{
    CreateNamespaceRequest, Namespace, NamespaceFilter, NamespaceStatus, UpdateNamespaceRequest,
};
pub use runtime::{FunctionRuntime, Runtime, RuntimeStatus};
pub use token::{CreateTokenRequest, Token, TokenFilter, TokenScope, TokenStatus};
pub use trigger::{
    CreateTriggerRequest, InputType, ScwNatsConfig, ScwNatsConfigRequest, ScwSqsConfig,
    ScwSqsConfigRequest, Trigger, TriggerConfig, TriggerFilter, TriggerStatus,
    UpdateTriggerRequest,
};
pub use url::{DownloadUrl, PresignedHeaders, PresignedUrl, UploadUrl};

pub use crate::scaleway::types::{ApiDuration, DomainListOrder, ListOrder, Page, Privacy, Sandbox};
