#!/usr/bin/env python3
"""Drives the Scaleway Serverless emulator (Containers v1, Functions v1beta1) with the official Python SDK, unchanged.

Usage: test_sdk_emulator.py --api-url http://127.0.0.1:PORT   (or SCW_EMULATOR_URL=...)

The emulator should run with short life-cycle delays (e.g. 200 ms): the SDK waiters are given
a 1 s polling interval (their minimum). There is one scenario per API; every step is a check,
and the first failing check stops its scenario, since later steps depend on earlier ones (the
steps it skips count as failed). The last line printed is "N passed, M failed" over both
scenarios, and the exit status is 0 only when nothing failed.
"""

import argparse
import io
import json
import os
import sys
import time
import traceback
import uuid
import zipfile
from datetime import datetime, timezone

import requests

from scaleway import Client
from scaleway.container.v1 import (
    ContainerPrivacy,
    ContainerProbe,
    ContainerProbeHTTPProbe,
    ContainerProbeTCPProbe,
    ContainerScalingOption,
    ContainerV1API,
    CreateTriggerRequestCronConfig,
    CreateTriggerRequestDestinationConfig,
    CreateTriggerRequestSQSConfig,
)
from scaleway.function.v1beta1 import (
    CreateTriggerRequestMnqSqsClientConfig,
    CreateTriggerRequestSqsClientConfig,
    FunctionPrivacy,
    FunctionRuntime,
    FunctionV1Beta1API,
    Secret,
    UpdateTriggerRequestSqsClientConfig,
)
from scaleway_core.api import ScalewayException
from scaleway_core.utils import WaitForOptions

PROJECT_ID = str(uuid.uuid4())
SECRET = "s3cr3t-" + uuid.uuid4().hex
SQS_SECRET = "sqs-" + uuid.uuid4().hex
HASH_PREFIX = "$sha256$"
GONE_DEADLINE_SECONDS = 30


class CheckFailed(AssertionError):
    """A check of the scenario failed."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def fast_wait():
    """Waiter options: poll every second (the SDK minimum), give up after 60 s."""
    return WaitForOptions(timeout=60, min_delay=1, max_delay=1)


def raw_get(api, path, base="/containers/v1", params=None):
    """GET through the SDK's own transport and return the raw response text."""
    response = api._request("GET", f"{base}/regions/fr-par{path}", params=params or {})
    api._throw_on_error(response)
    return response.text


def expect_error(status, call):
    """Run `call`, which must raise a ScalewayException with `status`; return the JSON body."""
    try:
        call()
    except ScalewayException as error:
        check(error.status_code == status, f"expected HTTP {status}, got {error.status_code}: {error}")
        body = error.response.json()
        check(isinstance(body.get("message"), str), f"error body without message: {body}")
        check(isinstance(body.get("type"), str), f"error body without type: {body}")
        return body
    raise CheckFailed(f"expected HTTP {status}, the call succeeded")


def wait_gone(fetch):
    """Poll `fetch` until it raises a 404 ScalewayException."""
    deadline = time.monotonic() + GONE_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            resource = fetch()
        except ScalewayException as error:
            check(error.status_code == 404, f"expected 404 once gone, got {error.status_code}")
            body = error.response.json()
            check(body.get("type") == "not_found", f"404 body is not a not_found error: {body}")
            return
        check(str(resource.status) == "deleting", f"expected deleting, got {resource.status}")
        time.sleep(0.2)
    raise CheckFailed("resource never disappeared")


def sdk_client(api_url):
    return Client(
        access_key="SCWXXXXXXXXXXXXXXXXX",
        secret_key=str(uuid.uuid4()),
        default_project_id=PROJECT_ID,
        default_region="fr-par",
        api_url=api_url,
    )


def expect_arguments(body, names):
    """`body` is an invalid_arguments error naming exactly `names` (in any order)."""
    check(body["type"] == "invalid_arguments", f"type {body['type']}")
    given = sorted(d["argument_name"] for d in body["details"])
    check(given == sorted(names), f"details {body['details']}")


class Scenario:
    """Containers v1."""

    title = "Containers v1"

    def __init__(self, api_url):
        self.client = sdk_client(api_url)
        self.api = ContainerV1API(self.client)
        self.namespace = None
        self.web = None
        self.worker = None
        self.cron = None
        self.sqs = None

    def steps(self):
        return [
            ("create namespace", self.create_namespace),
            ("wait for namespace", self.wait_namespace),
            ("create containers", self.create_containers),
            ("wait for containers", self.wait_containers),
            ("create cron and SQS triggers", self.create_triggers),
            ("list with paging", self.list_with_paging),
            ("update container", self.update_container),
            ("redeploy container", self.redeploy_container),
            ("secrets are not returned in clear", self.secrets_hidden),
            ("invalid requests raise", self.invalid_requests),
            ("delete trigger", self.delete_trigger),
            ("delete containers (cascade to triggers)", self.delete_containers),
            ("delete namespace", self.delete_namespace),
        ]

    def create_namespace(self):
        ns = self.api.create_namespace(
            name="sdk-test",
            description="created by the Python SDK",
            environment_variables={"LEVEL": "debug"},
            secret_environment_variables={"NS_SECRET": SECRET},
            tags=["sdk"],
        )
        check(str(ns.status) == "creating", f"new namespace status {ns.status}")
        check(ns.project_id == PROJECT_ID, "project_id defaults to the client's")
        check(ns.region == "fr-par", f"region {ns.region}")
        check(ns.environment_variables == {"LEVEL": "debug"}, "plain variables echoed")
        hashed = ns.secret_environment_variables.get("NS_SECRET", "")
        check(hashed.startswith(HASH_PREFIX) and SECRET not in hashed, f"namespace secret shown as {hashed}")
        self.namespace = ns

    def wait_namespace(self):
        ns = self.api.wait_for_namespace(namespace_id=self.namespace.id, options=fast_wait())
        check(str(ns.status) == "ready", f"namespace ended {ns.status}")
        check(ns.updated_at >= ns.created_at, "timestamps parse and are ordered")

    def create_containers(self):
        self.web = self.api.create_container(
            namespace_id=self.namespace.id,
            name="web",
            image="rg.fr-par.scw.cloud/demo/web:1.0",
            environment_variables={"MODE": "prod"},
            secret_environment_variables={"API_KEY": SECRET},
            min_scale=0,
            max_scale=3,
            memory_limit_bytes=512 * 1024 * 1024,
            mvcpu_limit=280,
            timeout="60s",
            privacy=ContainerPrivacy.PRIVATE,
            port=8080,
            scaling_option=ContainerScalingOption(
                concurrent_requests_threshold=None,
                cpu_usage_threshold=70,
                memory_usage_threshold=None,
            ),
            liveness_probe=ContainerProbe(
                failure_threshold=3,
                interval="10s",
                timeout="2.5s",
                http=ContainerProbeHTTPProbe(path="/healthz"),
            ),
            startup_probe=ContainerProbe(
                failure_threshold=10,
                interval="5s",
                timeout="1s",
                tcp=ContainerProbeTCPProbe(),
            ),
            tags=["web"],
        )
        web = self.web
        check(str(web.status) == "creating", f"new container status {web.status}")
        check(web.scaling_option.cpu_usage_threshold == 70, f"scaling {web.scaling_option}")
        check(web.liveness_probe.http is not None and web.liveness_probe.http.path == "/healthz", "liveness probe")
        check(web.liveness_probe.timeout == "2.5s", f"probe timeout {web.liveness_probe.timeout}")
        check(web.startup_probe.tcp is not None and web.startup_probe.http is None, "startup probe is TCP")
        check(str(web.privacy) == "private", f"privacy {web.privacy}")
        check(web.public_endpoint.startswith("https://sdk-test"), f"endpoint {web.public_endpoint}")
        check(web.public_endpoint.endswith("-web.functions.fnc.fr-par.scw.cloud"), f"endpoint {web.public_endpoint}")
        self.worker = self.api.create_container(
            namespace_id=self.namespace.id, name="worker", image="rg.fr-par.scw.cloud/demo/worker:1.0"
        )
        check(str(self.worker.sandbox) == "v2", f"default sandbox {self.worker.sandbox}")

    def wait_containers(self):
        for container in (self.web, self.worker):
            done = self.api.wait_for_container(container_id=container.id, options=fast_wait())
            check(str(done.status) == "ready", f"{done.name} ended {done.status}: {done.error_message}")

    def create_triggers(self):
        self.cron = self.api.create_trigger(
            container_id=self.web.id,
            name="nightly",
            destination_config=CreateTriggerRequestDestinationConfig(http_path="/tick", http_method="post"),
            cron_config=CreateTriggerRequestCronConfig(
                schedule="0 3 * * *", timezone="Europe/Paris", body='{"job": "cleanup"}', headers={"X-From": "sdk"}
            ),
        )
        check(str(self.cron.source_type) == "cron", f"source_type {self.cron.source_type}")
        check(self.cron.cron_config.headers == {"X-From": "sdk"}, "cron headers echoed")
        self.sqs = self.api.create_trigger(
            container_id=self.worker.id,
            name="queue",
            destination_config=CreateTriggerRequestDestinationConfig(http_path="/jobs", http_method="post"),
            sqs_config=CreateTriggerRequestSQSConfig(
                region="fr-par",
                endpoint="https://sqs.mnq.fr-par.scaleway.com",
                access_key_id="SCWACCESSKEYID",
                secret_access_key=SQS_SECRET,
                queue_url=f"https://sqs.mnq.fr-par.scaleway.com/{PROJECT_ID}/jobs",
            ),
        )
        check(str(self.sqs.source_type) == "sqs", f"source_type {self.sqs.source_type}")
        check(self.sqs.cron_config is None and self.sqs.nats_config is None, "one source config only")
        for trigger in (self.cron, self.sqs):
            done = self.api.wait_for_trigger(trigger_id=trigger.id, options=fast_wait())
            check(str(done.status) == "ready", f"trigger {done.name} ended {done.status}")

    def list_with_paging(self):
        containers = self.api.list_containers_all(namespace_id=self.namespace.id, page_size=1)
        check([c.name for c in containers] == ["web", "worker"], f"paged containers {[c.name for c in containers]}")
        page = self.api.list_containers(namespace_id=self.namespace.id, page=2, page_size=1)
        check(page.total_count == 2 and [c.name for c in page.containers] == ["worker"], "second page")
        past_end = self.api.list_containers(namespace_id=self.namespace.id, page=5, page_size=1)
        check(past_end.containers == [] and past_end.total_count == 2, "page past the end is empty")
        triggers = self.api.list_triggers_all(namespace_id=self.namespace.id, page_size=1, order_by="name_asc")
        check([t.name for t in triggers] == ["nightly", "queue"], f"paged triggers {[t.name for t in triggers]}")
        namespaces = self.api.list_namespaces_all(name="sdk-test")
        check([n.id for n in namespaces] == [self.namespace.id], "namespace filtered by name and project")

    def update_container(self):
        updated = self.api.update_container(
            container_id=self.web.id,
            min_scale=1,
            https_connection_only=True,
            environment_variables={"MODE": "staging"},
            description="updated by the SDK",
        )
        check(str(updated.status) == "updating", f"status after update {updated.status}")
        check(updated.https_connections_only is True, "https_connection_only applied")
        done = self.api.wait_for_container(container_id=self.web.id, options=fast_wait())
        check(str(done.status) == "ready", f"after update {done.status}")
        check(done.min_scale == 1 and done.max_scale == 3, f"scale {done.min_scale}..{done.max_scale}")
        check(done.environment_variables == {"MODE": "staging"}, "environment replaced")
        check(done.scaling_option.cpu_usage_threshold == 70, "untouched fields kept")

    def redeploy_container(self):
        redeployed = self.api.redeploy_container(container_id=self.web.id)
        check(str(redeployed.status) == "updating", f"status after redeploy {redeployed.status}")
        done = self.api.wait_for_container(container_id=self.web.id, options=fast_wait())
        check(str(done.status) == "ready", f"after redeploy {done.status}")

    def secrets_hidden(self):
        web = self.api.get_container(container_id=self.web.id)
        hashed = web.secret_environment_variables.get("API_KEY", "")
        check(hashed.startswith(HASH_PREFIX), f"secret shown as {hashed!r}")
        check(SECRET not in hashed, "secret returned in clear")
        for path in (f"/containers/{self.web.id}", "/containers", "/namespaces", f"/triggers/{self.sqs.id}", "/triggers"):
            text = raw_get(self.api, path)
            check(SECRET not in text and SQS_SECRET not in text, f"a secret leaks through GET {path}")
        raw_trigger = json.loads(raw_get(self.api, f"/triggers/{self.sqs.id}"))
        check("secret_access_key" not in raw_trigger["sqs_config"], "write-only SQS secret returned")

    def invalid_requests(self):
        body = expect_error(
            400, lambda: self.api.create_container(namespace_id=self.namespace.id, name="Bad_Name", image="x")
        )
        check(body["type"] == "invalid_arguments", f"type {body['type']}")
        check([d["argument_name"] for d in body["details"]] == ["name"], f"details {body['details']}")
        body = expect_error(400, lambda: self.api.update_container(container_id=self.web.id, min_scale=9, max_scale=2))
        check(body["details"][0]["reason"] == "constraint", f"details {body['details']}")
        body = expect_error(409, lambda: self.api.create_namespace(name="sdk-test"))
        check(body["type"] == "already_exists", f"type {body['type']}")
        missing = str(uuid.uuid4())
        body = expect_error(404, lambda: self.api.get_container(container_id=missing))
        check(body["resource"] == "container" and body["resource_id"] == missing, f"404 body {body}")

    def delete_trigger(self):
        deleted = self.api.delete_trigger(trigger_id=self.cron.id)
        check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        wait_gone(lambda: self.api.get_trigger(trigger_id=self.cron.id))

    def delete_containers(self):
        for container in (self.web, self.worker):
            deleted = self.api.delete_container(container_id=container.id)
            check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        for container in (self.web, self.worker):
            wait_gone(lambda: self.api.get_container(container_id=container.id))
        expect_error(404, lambda: self.api.get_trigger(trigger_id=self.sqs.id))

    def delete_namespace(self):
        deleted = self.api.delete_namespace(namespace_id=self.namespace.id)
        check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        wait_gone(lambda: self.api.get_namespace(namespace_id=self.namespace.id))
        check(self.api.list_namespaces(name="sdk-test").total_count == 0, "namespace still listed")


def zip_archive():
    """A tiny, valid function archive, built in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return {'body': 'hello'}\n")
    return buffer.getvalue()


def put_archive(upload, data):
    """PUT `data` to an UploadURL the way a client does: no X-Auth-Token, the URL's headers."""
    headers = {name: ",".join(values) for name, values in upload.headers.items()}
    return requests.put(upload.url, data=data, headers=headers, timeout=30)


def hashed_secrets(resource):
    """{key: hashed_value} of a Functions resource's secret environment variables."""
    return {secret.key: secret.hashed_value for secret in resource.secret_environment_variables}


class FunctionsScenario:
    """Functions v1beta1."""

    title = "Functions v1beta1"

    def __init__(self, api_url):
        self.client = sdk_client(api_url)
        self.api = FunctionV1Beta1API(self.client)
        self.namespace = None
        self.function = None
        self.archive = zip_archive()
        self.ns_secret_hash = None
        self.sqs = None

    def steps(self):
        return [
            ("functions: create namespace", self.create_namespace),
            ("functions: wait for namespace and list it by name", self.wait_namespace),
            ("functions: update namespace", self.update_namespace),
            ("functions: create function", self.create_function),
            ("functions: deploy without code fails", self.deploy_without_code),
            ("functions: upload archive through the upload URL", self.upload_archive),
            ("functions: deploy and wait for function", self.deploy_function),
            ("functions: download URL serves the archive", self.download_archive),
            ("functions: update with and without redeploy", self.update_function),
            ("functions: list runtimes and functions", self.list_runtimes_and_functions),
            ("functions: crons", self.crons),
            ("functions: domain", self.domain),
            ("functions: token shows its value once", self.token),
            ("functions: triggers", self.triggers),
            ("functions: secrets are not returned in clear", self.secrets_hidden),
            ("functions: invalid requests raise", self.invalid_requests),
            ("functions: delete namespace (cascade to function)", self.delete_namespace),
        ]

    def raw_get(self, path, params=None):
        return raw_get(self.api, path, base="/functions/v1beta1", params=params)

    def create_namespace(self):
        ns = self.api.create_namespace(
            name="sdk-fn",
            description="functions created by the Python SDK",
            environment_variables={"LEVEL": "debug"},
            secret_environment_variables=[Secret(key="NS_SECRET", value=SECRET)],
            tags=["sdk"],
        )
        check(str(ns.status) == "creating", f"new namespace status {ns.status}")
        check(ns.project_id == PROJECT_ID, "project_id defaults to the client's")
        check(ns.region == "fr-par", f"region {ns.region}")
        check(ns.environment_variables == {"LEVEL": "debug"}, "plain variables echoed")
        hashed = hashed_secrets(ns)
        check(list(hashed) == ["NS_SECRET"], f"secret keys {list(hashed)}")
        check(hashed["NS_SECRET"].startswith(HASH_PREFIX), f"namespace secret shown as {hashed['NS_SECRET']!r}")
        check(SECRET not in hashed["NS_SECRET"], "namespace secret returned in clear")
        self.ns_secret_hash = hashed["NS_SECRET"]
        self.namespace = ns

    def wait_namespace(self):
        ns = self.api.wait_for_namespace(namespace_id=self.namespace.id, options=fast_wait())
        check(str(ns.status) == "ready", f"namespace ended {ns.status}: {ns.error_message}")
        check(ns.updated_at >= ns.created_at, "timestamps parse and are ordered")
        check(hashed_secrets(ns) == {"NS_SECRET": self.ns_secret_hash}, "secret hash is stable")
        namespaces = self.api.list_namespaces_all(name="sdk-fn")
        check([n.id for n in namespaces] == [self.namespace.id], "namespace filtered by name and project")
        other = self.api.list_namespaces(name="sdk-fn-other")
        check(other.total_count == 0 and other.namespaces == [], "another name matches nothing")

    def update_namespace(self):
        updated = self.api.update_namespace(
            namespace_id=self.namespace.id,
            description="updated by the SDK",
            secret_environment_variables=[Secret(key="NS_SECRET_2", value=SECRET)],
        )
        check(str(updated.status) == "pending", f"status after update {updated.status}")
        hashed = hashed_secrets(updated)
        check(sorted(hashed) == ["NS_SECRET", "NS_SECRET_2"], f"secrets merged per key: {sorted(hashed)}")
        check(hashed["NS_SECRET"] == self.ns_secret_hash, "an unlisted secret is kept")
        ns = self.api.wait_for_namespace(namespace_id=self.namespace.id, options=fast_wait())
        check(str(ns.status) == "ready", f"namespace ended {ns.status}: {ns.error_message}")
        check(ns.description == "updated by the SDK", f"description {ns.description!r}")
        check(ns.environment_variables == {"LEVEL": "debug"}, "untouched fields kept")

    def create_function(self):
        fn = self.api.create_function(
            namespace_id=self.namespace.id,
            name="hello",
            runtime=FunctionRuntime.PYTHON312,
            memory_limit=256,
            timeout="30s",
            min_scale=0,
            max_scale=2,
            privacy=FunctionPrivacy.PUBLIC,
            environment_variables={"MODE": "prod"},
            secret_environment_variables=[Secret(key="API_KEY", value=SECRET)],
            tags=["fn"],
        )
        check(str(fn.status) == "created", f"new function status {fn.status}")
        check(str(fn.runtime) == "python312", f"runtime {fn.runtime}")
        check(fn.memory_limit == 256 and fn.cpu_limit == 140, f"memory {fn.memory_limit}, cpu {fn.cpu_limit}")
        check(fn.timeout == "30s", f"timeout {fn.timeout}")
        check(fn.handler == "handler.handle", f"runtime default handler {fn.handler!r}")
        check(fn.ready_at is None, f"ready_at before any deploy {fn.ready_at}")
        check(fn.domain_name.startswith("sdk-fn"), f"domain_name {fn.domain_name}")
        check(fn.domain_name.endswith("-hello.functions.fnc.fr-par.scw.cloud"), f"domain_name {fn.domain_name}")
        hashed = hashed_secrets(fn)
        check(list(hashed) == ["API_KEY"], f"secret keys {list(hashed)}")
        check(hashed["API_KEY"].startswith(HASH_PREFIX) and SECRET not in hashed["API_KEY"], "function secret hashed")
        self.function = fn

    def deploy_without_code(self):
        deploying = self.api.deploy_function(function_id=self.function.id)
        check(str(deploying.status) == "pending", f"status after deploy {deploying.status}")
        failed = self.api.wait_for_function(function_id=self.function.id, options=fast_wait())
        check(str(failed.status) == "error", f"deploy without code ended {failed.status}")
        check("no code" in (failed.error_message or ""), f"error_message {failed.error_message!r}")
        expect_error(412, lambda: self.api.get_function_download_url(function_id=self.function.id))

    def upload_archive(self):
        size = len(self.archive)
        upload = self.api.get_function_upload_url(function_id=self.function.id, content_length=size)
        check("X-Amz-Signature=" in upload.url, f"upload URL {upload.url}")
        check(upload.headers.get("content-length") == [str(size)], f"upload headers {upload.headers}")
        wrong = requests.put(upload.url, data=self.archive + b"\0", timeout=30)
        check(wrong.status_code == 403, f"PUT of another length answered {wrong.status_code}")
        check("SignatureDoesNotMatch" in wrong.text, f"PUT of another length: {wrong.text}")
        answer = put_archive(upload, self.archive)
        check(answer.status_code == 200, f"PUT answered {answer.status_code}: {answer.text}")
        check(answer.headers.get("ETag"), "PUT answer has an ETag")

    def deploy_function(self):
        deploying = self.api.deploy_function(function_id=self.function.id)
        check(str(deploying.status) == "pending", f"status after deploy {deploying.status}")
        check(deploying.build_message, "a build message while pending")
        fn = self.api.wait_for_function(function_id=self.function.id, options=fast_wait())
        check(str(fn.status) == "ready", f"function ended {fn.status}: {fn.error_message}")
        check(fn.ready_at is not None, "ready_at set")
        check(fn.error_message is None, f"error_message {fn.error_message!r}")
        check(fn.domain_name == self.function.domain_name != "", f"domain_name {fn.domain_name!r}")
        self.function = fn

    def download_archive(self):
        download = self.api.get_function_download_url(function_id=self.function.id)
        headers = {name: ",".join(values) for name, values in download.headers.items()}
        answer = requests.get(download.url, headers=headers, timeout=30)
        check(answer.status_code == 200, f"GET answered {answer.status_code}")
        check(answer.content == self.archive, "the download URL serves the uploaded bytes")

    def update_function(self):
        kept = self.api.update_function(
            function_id=self.function.id, redeploy=False, min_scale=1, description="updated by the SDK"
        )
        check(str(kept.status) == "ready", f"status after update without redeploy {kept.status}")
        check(kept.min_scale == 1 and kept.max_scale == 2, f"scale {kept.min_scale}..{kept.max_scale}")
        check(kept.ready_at == self.function.ready_at, "not redeployed")
        fn = self.api.get_function(function_id=self.function.id)
        check(str(fn.status) == "ready" and fn.description == "updated by the SDK", f"stored {fn.status}")
        redeploying = self.api.update_function(
            function_id=self.function.id,
            environment_variables={"MODE": "staging"},
            secret_environment_variables=[Secret(key="API_KEY"), Secret(key="OTHER_KEY", value=SECRET)],
        )
        check(str(redeploying.status) == "pending", f"status after update {redeploying.status}")
        check(list(hashed_secrets(redeploying)) == ["OTHER_KEY"], "a secret without value is deleted")
        fn = self.api.wait_for_function(function_id=self.function.id, options=fast_wait())
        check(str(fn.status) == "ready", f"after redeploy {fn.status}: {fn.error_message}")
        check(fn.environment_variables == {"MODE": "staging"}, "environment replaced")
        check(fn.min_scale == 1 and str(fn.runtime) == "python312", "untouched fields kept")
        self.function = fn

    def list_runtimes_and_functions(self):
        runtimes = self.api.list_function_runtimes()
        by_name = {str(r.name): r for r in runtimes.runtimes}
        check("python312" in by_name, f"runtimes {sorted(by_name)}")
        check(str(by_name["python312"].status) == "available", f"python312 {by_name['python312'].status}")
        check(runtimes.total_count == len(runtimes.runtimes), "total_count")
        functions = self.api.list_functions_all(namespace_id=self.namespace.id, page_size=1)
        check([f.id for f in functions] == [self.function.id], f"functions {[f.name for f in functions]}")
        named = self.api.list_functions(namespace_id=self.namespace.id, name="nope")
        check(named.total_count == 0, "name filter")

    def crons(self):
        cron = self.api.create_cron(
            function_id=self.function.id, schedule="*/5 * * * *", args={"job": "cleanup"}, name="every-5"
        )
        check(str(cron.status) == "creating", f"new cron status {cron.status}")
        check(cron.args == {"job": "cleanup"}, f"args {cron.args}")
        done = self.api.wait_for_cron(cron_id=cron.id, options=fast_wait())
        check(str(done.status) == "ready", f"cron ended {done.status}")
        updated = self.api.update_cron(cron_id=cron.id, schedule="0 3 * * *")
        check(str(updated.status) == "pending", f"status after update {updated.status}")
        check(updated.schedule == "0 3 * * *" and updated.args == {"job": "cleanup"}, "args kept")
        done = self.api.wait_for_cron(cron_id=cron.id, options=fast_wait())
        check(str(done.status) == "ready", f"cron ended {done.status}")
        crons = self.api.list_crons_all(function_id=self.function.id, page_size=1)
        check([(c.id, c.name) for c in crons] == [(cron.id, "every-5")], f"crons {crons}")
        deleted = self.api.delete_cron(cron_id=cron.id)
        check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        wait_gone(lambda: self.api.get_cron(cron_id=cron.id))
        check(self.api.list_crons(function_id=self.function.id).total_count == 0, "cron still listed")

    def domain(self):
        hostname = f"fn-{uuid.uuid4().hex[:8]}.example.com"
        domain = self.api.create_domain(hostname=hostname, function_id=self.function.id)
        check(str(domain.status) == "creating", f"new domain status {domain.status}")
        check(domain.url == f"https://{hostname}", f"url {domain.url}")
        done = self.api.wait_for_domain(domain_id=domain.id, options=fast_wait())
        check(str(done.status) == "ready", f"domain ended {done.status}: {done.error_message}")
        domains = self.api.list_domains_all(function_id=self.function.id)
        check([d.hostname for d in domains] == [hostname], f"domains {[d.hostname for d in domains]}")
        body = expect_error(409, lambda: self.api.create_domain(hostname=hostname, function_id=self.function.id))
        check(body["type"] == "already_exists", f"type {body['type']}")
        deleted = self.api.delete_domain(domain_id=domain.id)
        check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        wait_gone(lambda: self.api.get_domain(domain_id=domain.id))

    def token(self):
        expires_at = datetime(2099, 1, 1, tzinfo=timezone.utc)
        token = self.api.create_token(function_id=self.function.id, description="ci", expires_at=expires_at)
        check(isinstance(token.token, str) and len(token.token) >= 64, "the token value is in the create answer")
        check(token.function_id == self.function.id and token.namespace_id is None, "token scope")
        value = token.token
        done = self.api.wait_for_token(token_id=token.id, options=fast_wait())
        check(str(done.status) == "ready", f"token ended {done.status}")
        fetched = self.api.get_token(token_id=token.id)
        check(fetched.token is None, "the token value is shown only once")
        check(fetched.expires_at == expires_at, f"expires_at {fetched.expires_at}")
        check(fetched.description == "ci", f"description {fetched.description!r}")
        tokens = self.api.list_tokens_all(function_id=self.function.id)
        check([t.id for t in tokens] == [token.id], f"tokens {[t.id for t in tokens]}")
        check(all(t.token is None for t in tokens), "a listed token shows its value")
        text = self.raw_get("/tokens", params={"function_id": self.function.id})
        check(value not in text, "the token value leaks through ListTokens")
        deleted = self.api.delete_token(token_id=token.id)
        check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        wait_gone(lambda: self.api.get_token(token_id=token.id))

    def triggers(self):
        queue = self.api.create_trigger(
            name="orders",
            function_id=self.function.id,
            description="orders queue",
            scw_sqs_config=CreateTriggerRequestMnqSqsClientConfig(
                queue="orders", mnq_project_id=PROJECT_ID, mnq_region="fr-par"
            ),
        )
        check(str(queue.input_type) == "scw_sqs", f"input_type {queue.input_type}")
        check(queue.scw_sqs_config is not None and queue.scw_sqs_config.queue == "orders", "scw_sqs_config echoed")
        check(queue.scw_sqs_config.mnq_credential_id, "the platform's MnQ credential is set")
        check(queue.scw_nats_config is None and queue.sqs_config is None, "one source config only")
        self.sqs = self.api.create_trigger(
            name="external",
            function_id=self.function.id,
            sqs_config=CreateTriggerRequestSqsClientConfig(
                endpoint="https://sqs.example.com",
                queue_url="https://sqs.example.com/queue",
                access_key="AKEXAMPLE",
                secret_key=SQS_SECRET,
            ),
        )
        check(str(self.sqs.input_type) == "sqs", f"input_type {self.sqs.input_type}")
        check(self.sqs.sqs_config.secret_key is None, "write-only SQS secret returned")
        for trigger in (queue, self.sqs):
            done = self.api.wait_for_trigger(trigger_id=trigger.id, options=fast_wait())
            check(str(done.status) == "ready", f"trigger {done.name} ended {done.status}: {done.error_message}")
        rotated = self.api.update_trigger(
            trigger_id=self.sqs.id,
            description="rotated",
            sqs_config=UpdateTriggerRequestSqsClientConfig(access_key="AKROTATED", secret_key=SQS_SECRET + "-2"),
        )
        check(str(rotated.status) == "pending", f"status after update {rotated.status}")
        check(rotated.sqs_config.access_key == "AKROTATED", f"access_key {rotated.sqs_config.access_key}")
        check(rotated.sqs_config.secret_key is None, "write-only SQS secret returned")
        check(rotated.sqs_config.queue_url == "https://sqs.example.com/queue", "the queue cannot change")
        done = self.api.wait_for_trigger(trigger_id=self.sqs.id, options=fast_wait())
        check(str(done.status) == "ready" and done.description == "rotated", f"after update {done.status}")
        by_function = self.api.list_triggers_all(function_id=self.function.id, page_size=1)
        check(sorted(t.name for t in by_function) == ["external", "orders"], f"triggers {by_function}")
        by_namespace = self.api.list_triggers(namespace_id=self.namespace.id)
        check(by_namespace.total_count == 2, f"triggers in namespace {by_namespace.total_count}")
        deleted = self.api.delete_trigger(trigger_id=queue.id)
        check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        wait_gone(lambda: self.api.get_trigger(trigger_id=queue.id))
        remaining = self.api.list_triggers_all(function_id=self.function.id)
        check([t.id for t in remaining] == [self.sqs.id], f"triggers after delete {remaining}")

    def secrets_hidden(self):
        fn = self.api.get_function(function_id=self.function.id)
        hashed = hashed_secrets(fn)
        check(hashed["OTHER_KEY"].startswith(HASH_PREFIX), f"secret shown as {hashed['OTHER_KEY']!r}")
        ns_params = {"namespace_id": self.namespace.id}
        for path, params in (
            (f"/namespaces/{self.namespace.id}", None),
            ("/namespaces", None),
            (f"/functions/{self.function.id}", None),
            ("/functions", ns_params),
            (f"/triggers/{self.sqs.id}", None),
            ("/triggers", ns_params),
        ):
            text = self.raw_get(path, params)
            check(SECRET not in text and SQS_SECRET not in text, f"a secret leaks through GET {path}")
        raw_trigger = json.loads(self.raw_get(f"/triggers/{self.sqs.id}"))
        check(raw_trigger["sqs_config"].get("secret_key") is None, "write-only SQS secret returned")
        raw_function = json.loads(self.raw_get(f"/functions/{self.function.id}"))
        check(
            all(set(s) == {"key", "hashed_value"} for s in raw_function["secret_environment_variables"]),
            f"secret list shape {raw_function['secret_environment_variables']}",
        )

    def invalid_requests(self):
        body = expect_error(
            400,
            lambda: self.api.create_function(
                namespace_id=self.namespace.id, name="bad-memory", runtime=FunctionRuntime.PYTHON312, memory_limit=300
            ),
        )
        expect_arguments(body, ["memory_limit"])
        body = expect_error(400, lambda: self.api.update_function(function_id=self.function.id, timeout="901s"))
        expect_arguments(body, ["timeout"])
        body = expect_error(
            400, lambda: self.api.get_function_upload_url(function_id=self.function.id, content_length=0)
        )
        expect_arguments(body, ["content_length"])
        body = expect_error(400, lambda: self.api.create_cron(function_id=self.function.id, schedule="61 25 * * *"))
        expect_arguments(body, ["schedule"])
        body = expect_error(
            400,
            lambda: self.api.create_function(namespace_id=str(uuid.uuid4()), name="orphan"),
        )
        expect_arguments(body, ["namespace_id"])
        body = expect_error(409, lambda: self.api.create_function(namespace_id=self.namespace.id, name="hello"))
        check(body["type"] == "already_exists", f"type {body['type']}")
        body = expect_error(409, lambda: self.api.create_namespace(name="sdk-fn"))
        check(body["type"] == "already_exists", f"type {body['type']}")
        missing = str(uuid.uuid4())
        body = expect_error(404, lambda: self.api.get_function(function_id=missing))
        check(body["resource"] == "function" and body["resource_id"] == missing, f"404 body {body}")
        fn = self.api.get_function(function_id=self.function.id)
        check(str(fn.status) == "ready" and fn.memory_limit == 256, "refused requests change nothing")

    def delete_namespace(self):
        deleted = self.api.delete_namespace(namespace_id=self.namespace.id)
        check(str(deleted.status) == "deleting", f"status after delete {deleted.status}")
        wait_gone(lambda: self.api.get_namespace(namespace_id=self.namespace.id))
        wait_gone(lambda: self.api.get_function(function_id=self.function.id))
        body = expect_error(404, lambda: self.api.get_trigger(trigger_id=self.sqs.id))
        check(body["type"] == "not_found", f"type {body['type']}")
        check(self.api.list_namespaces(name="sdk-fn").total_count == 0, "namespace still listed")


def run_scenario(scenario):
    """Runs the steps of `scenario` until the first failure; returns (passed, failed)."""
    print(f"== {scenario.title}")
    steps = scenario.steps()
    passed = failed = 0
    for index, (name, step) in enumerate(steps):
        started = time.monotonic()
        try:
            step()
        except Exception as error:  # any failure, including SDK exceptions
            failed += 1
            print(f"FAIL {name}: {error}")
            traceback.print_exc()
            skipped = len(steps) - index - 1
            if skipped:
                failed += skipped
                print(f"     {skipped} later step(s) not run (counted as failed)")
            break
        passed += 1
        print(f"ok   {name} ({time.monotonic() - started:.1f}s)")
    return passed, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", default=os.environ.get("SCW_EMULATOR_URL"))
    args = parser.parse_args()
    if not args.api_url:
        parser.error("--api-url (or SCW_EMULATOR_URL) is required")

    api_url = args.api_url.rstrip("/")
    passed = failed = 0
    for scenario in (Scenario(api_url), FunctionsScenario(api_url)):
        scenario_passed, scenario_failed = run_scenario(scenario)
        passed += scenario_passed
        failed += scenario_failed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
