//! The Functions v1beta1 tables of the store: settling, cascading deletes, admin views.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::records::{
    CronRecord, FnDomainRecord, FnNamespaceRecord, FnTriggerRecord, FunctionRecord, TokenRecord,
    TokenScope,
};
use crate::store::lifecycle::{Now, Outcome};
use crate::store::records::Record;
use crate::store::sorted;
use crate::wire::enums::Status;

/// Every Functions v1beta1 resource of one emulator.
#[derive(Debug, Default)]
pub(crate) struct FunctionTables {
    pub namespaces: BTreeMap<String, FnNamespaceRecord>,
    pub functions: BTreeMap<String, FunctionRecord>,
    pub crons: BTreeMap<String, CronRecord>,
    pub domains: BTreeMap<String, FnDomainRecord>,
    pub tokens: BTreeMap<String, TokenRecord>,
    pub triggers: BTreeMap<String, FnTriggerRecord>,
}

impl FunctionTables {
    /// Applies due transitions; drops resources that are gone and children of gone parents.
    pub(crate) fn sweep(&mut self, now: Instant) {
        self.namespaces
            .retain(|_, ns| !ns.life_mut().settle(now, false));
        let namespaces = &self.namespaces;
        self.functions.retain(|_, f| {
            let gone = f.life_mut().settle(now, false);
            f.finish_rollout();
            !gone && namespaces.contains_key(&f.namespace_id)
        });
        let functions = &self.functions;
        self.crons.retain(|_, c| {
            !c.life_mut().settle(now, false) && functions.contains_key(&c.function_id)
        });
        self.domains.retain(|_, d| {
            !d.life_mut().settle(now, false) && functions.contains_key(&d.function_id)
        });
        self.triggers.retain(|_, t| {
            !t.life_mut().settle(now, false) && functions.contains_key(&t.function_id)
        });
        self.tokens.retain(|_, t| {
            let parent_alive = match &t.scope {
                TokenScope::Function(id) => functions.contains_key(id),
                TokenScope::Namespace(id) => namespaces.contains_key(id),
            };
            !t.life_mut().settle(now, false) && parent_alive
        });
    }

    /// The earliest pending transition of any resource.
    pub(crate) fn earliest_due(&self) -> Option<Instant> {
        self.namespaces
            .values()
            .map(|r| r.life().due())
            .chain(self.functions.values().map(|r| r.life().due()))
            .chain(self.crons.values().map(|r| r.life().due()))
            .chain(self.domains.values().map(|r| r.life().due()))
            .chain(self.tokens.values().map(|r| r.life().due()))
            .chain(self.triggers.values().map(|r| r.life().due()))
            .flatten()
            .min()
    }

    /// True when any resource has this ID.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.namespaces.contains_key(id)
            || self.functions.contains_key(id)
            || self.crons.contains_key(id)
            || self.domains.contains_key(id)
            || self.tokens.contains_key(id)
            || self.triggers.contains_key(id)
    }

    /// Starts deleting a namespace, its functions (and their children) and its tokens.
    pub(crate) fn delete_namespace(&mut self, id: &str, now: Now, delay: Duration) {
        if let Some(namespace) = self.namespaces.get_mut(id) {
            namespace
                .meta
                .life
                .begin(now, Status::Deleting, delay, Outcome::Gone);
        }
        let children: Vec<String> = self
            .functions
            .values()
            .filter(|f| f.namespace_id == id)
            .map(|f| f.meta.id.clone())
            .collect();
        for function_id in children {
            self.delete_function(&function_id, now, delay);
        }
        for token in self.tokens.values_mut() {
            if token.scope == TokenScope::Namespace(id.to_owned()) {
                token
                    .meta
                    .life
                    .begin(now, Status::Deleting, delay, Outcome::Gone);
            }
        }
    }

    /// Starts deleting a function and its crons, domains, triggers and tokens.
    pub(crate) fn delete_function(&mut self, id: &str, now: Now, delay: Duration) {
        let begin = |life: &mut crate::store::lifecycle::Lifecycle| {
            life.begin(now, Status::Deleting, delay, Outcome::Gone);
        };
        if let Some(function) = self.functions.get_mut(id) {
            function.rollout = None;
            begin(&mut function.meta.life);
        }
        self.crons
            .values_mut()
            .filter(|c| c.function_id == id)
            .for_each(|c| begin(&mut c.meta.life));
        self.domains
            .values_mut()
            .filter(|d| d.function_id == id)
            .for_each(|d| begin(&mut d.meta.life));
        self.triggers
            .values_mut()
            .filter(|t| t.function_id == id)
            .for_each(|t| begin(&mut t.meta.life));
        self.tokens
            .values_mut()
            .filter(|t| t.scope == TokenScope::Function(id.to_owned()))
            .for_each(|t| begin(&mut t.meta.life));
    }

    /// Sets the status of any Functions resource out of band.
    pub(crate) fn force_status(
        &mut self,
        id: &str,
        now: Now,
        status: Status,
        message: &Option<String>,
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
        if let Some(function) = self.functions.get_mut(id) {
            function.rollout = None;
        }
        apply(&mut self.namespaces, id, now, status, message)
            .or_else(|| apply(&mut self.functions, id, now, status, message))
            .or_else(|| apply(&mut self.crons, id, now, status, message))
            .or_else(|| apply(&mut self.domains, id, now, status, message))
            .or_else(|| apply(&mut self.tokens, id, now, status, message))
            .or_else(|| apply(&mut self.triggers, id, now, status, message))
    }

    /// Number of live resources of an admin kind: `function_namespaces`, `functions`,
    /// `crons`, `function_domains`, `tokens` or `function_triggers`.
    pub(crate) fn count(&self, kind: &str) -> Option<usize> {
        Some(match kind {
            "function_namespaces" => self.namespaces.len(),
            "functions" => self.functions.len(),
            "crons" => self.crons.len(),
            "function_domains" => self.domains.len(),
            "tokens" => self.tokens.len(),
            "function_triggers" => self.triggers.len(),
            _ => return None,
        })
    }

    /// Every resource in its API representation, keyed by admin kind. Functions add the
    /// SHA-256 of their uploaded and deployed archives; tokens the hash of their value;
    /// triggers the hash of their write-only secret.
    pub(crate) fn dump(&self) -> Value {
        fn all<R: Record>(table: &BTreeMap<String, R>) -> Vec<Value> {
            sorted(table).into_iter().map(Record::to_json).collect()
        }
        let with = |mut value: Value, extra: Value| {
            if let (Value::Object(fields), Value::Object(more)) = (&mut value, extra) {
                fields.extend(more);
            }
            value
        };
        let functions: Vec<Value> = sorted(&self.functions)
            .into_iter()
            .map(|f| {
                with(
                    f.to_json(),
                    json!({
                        "uploaded_archive_sha256": f.uploaded.as_ref().map(|a| &a.sha256),
                        "deployed_archive_sha256": f.deployed.as_ref().map(|a| &a.sha256),
                    }),
                )
            })
            .collect();
        let tokens: Vec<Value> = sorted(&self.tokens)
            .into_iter()
            .map(|t| with(t.to_json(), json!({ "token_hash": t.value_hash })))
            .collect();
        let triggers: Vec<Value> = sorted(&self.triggers)
            .into_iter()
            .map(|t| {
                let hash = match &t.source {
                    super::records::FnTriggerSource::Sqs {
                        secret_key_hash, ..
                    } => json!({ "secret_key": secret_key_hash }),
                    _ => json!({}),
                };
                with(t.to_json(), json!({ "write_only_secret_hashes": hash }))
            })
            .collect();
        json!({
            "function_namespaces": all(&self.namespaces),
            "functions": functions,
            "crons": all(&self.crons),
            "function_domains": all(&self.domains),
            "tokens": tokens,
            "function_triggers": triggers,
        })
    }

    /// Removes every resource.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}
