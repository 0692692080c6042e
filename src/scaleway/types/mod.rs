//! Wire types of the Containers API v1, spelled exactly as the spec spells them.

mod common;
mod container;
mod domain;
mod namespace;
mod trigger;

pub use common::{ApiDuration, DomainListOrder, ListOrder, Page, Status};
pub(crate) use common::{null_as_default, string_enum};
pub use container::{
    Container, ContainerFilter, ContainerSettings, CreateContainerRequest, HttpProbe, Privacy,
    Probe, Protocol, Sandbox, ScalingOption, TcpProbe, UpdateContainerRequest,
};
pub use domain::{CreateDomainRequest, Domain, DomainFilter, UpdateDomainRequest};
pub use namespace::{CreateNamespaceRequest, Namespace, NamespaceFilter, UpdateNamespaceRequest};
pub use trigger::{
    CreateTriggerRequest, CronConfig, DestinationConfig, HttpMethod, NatsConfig, NatsConfigRequest,
    SourceType, SqsConfig, SqsConfigRequest, Trigger, TriggerFilter, UpdateTriggerRequest,
};
