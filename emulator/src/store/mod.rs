//! In-memory state: the four resource tables, settling of life cycles, cascading deletes.

pub(crate) mod lifecycle;
pub(crate) mod records;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::functions_api::tables::FunctionTables;
use crate::ids::{new_suffix, new_uuid};
use crate::wire::enums::Status;
use lifecycle::{Now, Outcome};
use records::{ContainerRecord, DomainRecord, NamespaceRecord, Record, TriggerRecord};

/// Length of the random part of a namespace's endpoint prefix.
const ENDPOINT_SUFFIX_LEN: usize = 8;

/// All resources of one emulator.
#[derive(Debug)]
pub(crate) struct Store {
    pub namespaces: BTreeMap<String, NamespaceRecord>,
    pub containers: BTreeMap<String, ContainerRecord>,
    pub domains: BTreeMap<String, DomainRecord>,
    pub triggers: BTreeMap<String, TriggerRecord>,
    /// The Functions v1beta1 resources.
    pub functions: FunctionTables,
    next_seq: u64,
    rng: fastrand::Rng,
    sweep: SweepClock,
}

/// When `settle` must look at every resource again. Every transition is scheduled under the
/// store's lock with one of the configured delays, so a transition scheduled after the last
/// sweep is due no earlier than `last + min_delay`: until then, and until the earliest due
/// time seen by that sweep, nothing can be due and the O(N) sweep is skipped.
#[derive(Debug, Default)]
struct SweepClock {
    last: Option<Instant>,
    earliest_due: Option<Instant>,
    min_delay: Duration,
}

impl Store {
    /// An empty store whose IDs are drawn from a generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            namespaces: BTreeMap::new(),
            containers: BTreeMap::new(),
            domains: BTreeMap::new(),
            triggers: BTreeMap::new(),
            functions: FunctionTables::default(),
            next_seq: 0,
            rng: fastrand::Rng::with_seed(seed),
            sweep: SweepClock::default(),
        }
    }

    /// The shortest delay any transition is scheduled with (lets `settle` skip sweeps).
    pub(crate) fn set_min_delay(&mut self, delay: Duration) {
        self.sweep.min_delay = delay;
    }

    /// Applies every due transition (unless `frozen`) and drops resources that are gone,
    /// together with any child whose parent is gone. Skips the sweep when nothing can be due.
    pub(crate) fn settle(&mut self, now: Instant, frozen: bool) {
        if frozen {
            return;
        }
        if let Some(last) = self.sweep.last {
            let horizon = last + self.sweep.min_delay;
            let next = self
                .sweep
                .earliest_due
                .map_or(horizon, |due| due.min(horizon));
            if now < next {
                return;
            }
        }
        self.sweep_all(now);
        self.sweep.last = Some(now);
        self.sweep.earliest_due = self
            .namespaces
            .values()
            .map(|r| r.life().due())
            .chain(self.containers.values().map(|r| r.life().due()))
            .chain(self.domains.values().map(|r| r.life().due()))
            .chain(self.triggers.values().map(|r| r.life().due()))
            .flatten()
            .chain(self.functions.earliest_due())
            .min();
    }

    fn sweep_all(&mut self, now: Instant) {
        let frozen = false;
        self.namespaces
            .retain(|_, ns| !ns.life_mut().settle(now, frozen));
        let namespaces = &self.namespaces;
        self.containers.retain(|_, c| {
            !c.life_mut().settle(now, frozen) && namespaces.contains_key(&c.namespace_id)
        });
        let containers = &self.containers;
        self.domains.retain(|_, d| {
            !d.life_mut().settle(now, frozen) && containers.contains_key(&d.container_id)
        });
        self.triggers.retain(|_, t| {
            !t.life_mut().settle(now, frozen) && containers.contains_key(&t.container_id)
        });
        self.functions.sweep(now);
    }

    /// A fresh resource ID (never one in use) and the next creation sequence number.
    pub(crate) fn next_identity(&mut self) -> (String, u64) {
        let id = loop {
            let id = new_uuid(&mut self.rng);
            if !self.contains(&id) {
                break id;
            }
        };
        self.next_seq += 1;
        (id, self.next_seq)
    }

    /// The random lowercase alphanumeric part of a new namespace's endpoint prefix.
    pub(crate) fn endpoint_suffix(&mut self) -> String {
        new_suffix(&mut self.rng, ENDPOINT_SUFFIX_LEN)
    }

    /// A random UUID that is not a resource ID (e.g. a registry namespace or MnQ credential).
    pub(crate) fn random_uuid(&mut self) -> String {
        new_uuid(&mut self.rng)
    }

    fn contains(&self, id: &str) -> bool {
        self.namespaces.contains_key(id)
            || self.containers.contains_key(id)
            || self.domains.contains_key(id)
            || self.triggers.contains_key(id)
            || self.functions.contains(id)
    }

    /// Starts deleting a namespace and, in cascade, its containers and their domains and
    /// triggers; all disappear together after `delay`.
    pub(crate) fn delete_namespace(&mut self, id: &str, now: Now, delay: Duration) {
        if let Some(namespace) = self.namespaces.get_mut(id) {
            namespace
                .meta
                .life
                .begin(now, Status::Deleting, delay, Outcome::Gone);
        }
        let children: Vec<String> = self
            .containers
            .values()
            .filter(|c| c.namespace_id == id)
            .map(|c| c.meta.id.clone())
            .collect();
        for container_id in children {
            self.delete_container(&container_id, now, delay);
        }
    }

    /// Starts deleting a container and, in cascade, its domains and triggers.
    pub(crate) fn delete_container(&mut self, id: &str, now: Now, delay: Duration) {
        if let Some(container) = self.containers.get_mut(id) {
            container
                .meta
                .life
                .begin(now, Status::Deleting, delay, Outcome::Gone);
        }
        for domain in self.domains.values_mut().filter(|d| d.container_id == id) {
            domain
                .meta
                .life
                .begin(now, Status::Deleting, delay, Outcome::Gone);
        }
        for trigger in self.triggers.values_mut().filter(|t| t.container_id == id) {
            trigger
                .meta
                .life
                .begin(now, Status::Deleting, delay, Outcome::Gone);
        }
    }

    /// A custom hostname routes to one container or function at a time, across both APIs:
    /// 409 `already_exists` naming the domain that holds it.
    pub(crate) fn ensure_hostname_free(
        &self,
        hostname: &str,
    ) -> Result<(), crate::error::ApiError> {
        let holder = self
            .domains
            .values()
            .find(|d| d.hostname == hostname)
            .map(|d| d.meta.id.clone())
            .or_else(|| {
                self.functions
                    .domains
                    .values()
                    .find(|d| d.hostname == hostname)
                    .map(|d| d.meta.id.clone())
            });
        match holder {
            None => Ok(()),
            Some(resource_id) => Err(crate::error::ApiError::AlreadyExists {
                resource: "domain",
                resource_id,
                help_message: format!(
                    "hostname {hostname:?} is already assigned to a container or a function"
                ),
            }),
        }
    }

    /// The namespace a container belongs to.
    pub(crate) fn namespace_of(&self, container: &ContainerRecord) -> Option<&NamespaceRecord> {
        self.namespaces.get(&container.namespace_id)
    }

    /// Sets the status of any resource out of band. Returns its new API representation, or
    /// `None` when no resource has this ID.
    pub(crate) fn force_status(
        &mut self,
        id: &str,
        now: Now,
        status: Status,
        error_message: Option<String>,
    ) -> Option<Value> {
        fn apply<R: Record>(
            table: &mut BTreeMap<String, R>,
            id: &str,
            now: Now,
            status: Status,
            message: &Option<String>,
        ) -> Option<Value> {
            let record = table.get_mut(id)?;
            record.life_mut().force(now, status, message.clone());
            Some(record.to_json())
        }
        apply(&mut self.namespaces, id, now, status, &error_message)
            .or_else(|| apply(&mut self.containers, id, now, status, &error_message))
            .or_else(|| apply(&mut self.domains, id, now, status, &error_message))
            .or_else(|| apply(&mut self.triggers, id, now, status, &error_message))
            .or_else(|| self.functions.force_status(id, now, status, &error_message))
    }

    /// Number of live resources of a kind (`namespaces`, `containers`, `domains`, `triggers`,
    /// or a Functions kind: `function_namespaces`, `functions`, `crons`, `function_domains`,
    /// `tokens`, `function_triggers`).
    pub(crate) fn count(&self, kind: &str) -> usize {
        match kind {
            "namespaces" => self.namespaces.len(),
            "containers" => self.containers.len(),
            "domains" => self.domains.len(),
            "triggers" => self.triggers.len(),
            other => self.functions.count(other).unwrap_or(0),
        }
    }

    /// Every resource in its API representation (creation order), plus the hashes of the
    /// write-only trigger secrets under `write_only_secret_hashes`.
    pub(crate) fn dump(&self) -> Value {
        let triggers: Vec<Value> = sorted(&self.triggers)
            .into_iter()
            .map(|trigger| {
                let mut value = trigger.to_json();
                if let Value::Object(fields) = &mut value {
                    fields.insert(
                        "write_only_secret_hashes".into(),
                        trigger.write_only_hashes(),
                    );
                }
                value
            })
            .collect();
        json!({
            "namespaces": sorted(&self.namespaces).into_iter().map(Record::to_json).collect::<Vec<_>>(),
            "containers": sorted(&self.containers).into_iter().map(Record::to_json).collect::<Vec<_>>(),
            "domains": sorted(&self.domains).into_iter().map(Record::to_json).collect::<Vec<_>>(),
            "triggers": triggers,
            "functions_api": self.functions.dump(),
        })
    }

    /// Removes every resource (IDs keep coming from the same generator).
    pub(crate) fn clear(&mut self) {
        self.namespaces.clear();
        self.containers.clear();
        self.domains.clear();
        self.triggers.clear();
        self.functions.clear();
    }
}

/// Records of a table in creation order.
pub(crate) fn sorted<R: Record>(table: &BTreeMap<String, R>) -> Vec<&R> {
    let mut records: Vec<&R> = table.values().collect();
    records.sort_by_key(|record| record.seq());
    records
}
