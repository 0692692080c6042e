#!/usr/bin/env python3
"""Drives the Scaleway Serverless Containers emulator with the official Python SDK, unchanged.

Usage: test_sdk_emulator.py --api-url http://127.0.0.1:PORT   (or SCW_EMULATOR_URL=...)

The emulator should run with short life-cycle delays (e.g. 200 ms): the SDK waiters are given
a 1 s polling interval (their minimum). Every step is a check; the first failing check stops
the scenario, since later steps depend on earlier ones. The last line printed is
"N passed, M failed", and the exit status is 0 only when nothing failed.
"""

import argparse
import json
import os
import sys
import time
import traceback
import uuid

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


def raw_get(api, path):
    """GET through the SDK's own transport and return the raw response text."""
    response = api._request("GET", f"/containers/v1/regions/fr-par{path}")
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


class Scenario:
    def __init__(self, api_url):
        self.client = Client(
            access_key="SCWXXXXXXXXXXXXXXXXX",
            secret_key=str(uuid.uuid4()),
            default_project_id=PROJECT_ID,
            default_region="fr-par",
            api_url=api_url,
        )
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", default=os.environ.get("SCW_EMULATOR_URL"))
    args = parser.parse_args()
    if not args.api_url:
        parser.error("--api-url (or SCW_EMULATOR_URL) is required")

    scenario = Scenario(args.api_url.rstrip("/"))
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
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
