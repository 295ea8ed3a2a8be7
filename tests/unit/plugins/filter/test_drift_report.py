"""plugins/filter/drift_report.py: report entries from ARM what-if (bicep_deployment), helm-diff and validate."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.neo4j_azure.aks.plugins.filter.drift_report import (FilterModule, drift_report,
                                                                             drift_report_markdown)

WORKSPACE = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/log-neo4j")

ARM_DRIFT = {
    "changed": True,
    "what_if": {"summary": {"Modify": 1, "NoChange": 9, "Unsupported": 1},
                "changes": [{"resource_id": WORKSPACE, "change_type": "Modify",
                             "changed_paths": ["properties.retentionInDays"]},
                            {"resource_id": "/subscriptions/s/resourceGroups/rg/providers/X/y/z",
                             "change_type": "Unsupported", "changed_paths": [],
                             "unsupported_reason": "name needs a runtime value"}],
                "diagnostics": [{"level": "Warning", "code": "NestedDeploymentShortCircuited",
                                 "message": "module aks not evaluated", "target": "/deployments/aks"}]},
    "diff": [{"before_header": WORKSPACE + " (Modify)", "after_header": WORKSPACE + " (Modify)",
              "before": {"properties": {"retentionInDays": 45, "sku": {"name": "PerGB2018"}}},
              "after": {"properties": {"retentionInDays": 30, "sku": {"name": "PerGB2018"}}}}],
}

# helm-diff's own format: "- "/"+ "/"  " before each line of the whole resource.
HELM_DIFF = """neo4j, neo4j, StatefulSet (apps) has changed:
  # Source: neo4j/templates/statefulset.yaml.tpl
  apiVersion: apps/v1
  kind: StatefulSet
  metadata:
    name: neo4j
  spec:
    template:
      spec:
        containers:
          - name: neo4j
            image: neo4j:5.26-community
-           resources: {limits: {memory: 3Gi}}
+           resources: {limits: {memory: 2Gi}}
-       terminationGracePeriodSeconds: 120
+       terminationGracePeriodSeconds: 300
neo4j, neo4j-lb, Service (v1) has been added:
+ apiVersion: v1
+ kind: Service
"""

# The test environment's plugin: difflib's unified format, full context.
UNIFIED = """neo4j, neo4j-config, ConfigMap has changed:
---\x20
+++\x20
@@ -1,4 +1,4 @@
 apiVersion: v1
 data:
-  NEO4J_server_memory_pagecache_size: 500m
+  NEO4J_server_memory_pagecache_size: 819m
 kind: ConfigMap
"""


def test_clean_system_reports_no_drift():
    report = drift_report({"arm": {"changed": False, "what_if": {"summary": {"NoChange": 10}, "changes": []}},
                           "helm": {"changed": False}, "release": "neo4j", "validate": []},
                          environment="local", generated="2026-12-02T01:00:00Z")
    assert report == {"drift": False, "count": 0, "environment": "local", "generated": "2026-12-02T01:00:00Z",
                      "summary": {"arm": 0, "helm": 0, "validate": 0}, "entries": [], "notes": []}
    text = drift_report_markdown(report)
    assert text.startswith("# Drift report: local\n") and "**No drift**" in text


def test_arm_property_with_live_and_desired_values_and_notes():
    report = drift_report({"arm": ARM_DRIFT})
    assert report["drift"] and report["summary"]["arm"] == 1
    assert report["entries"] == [{"source": "arm", "resource": WORKSPACE, "change": "Modify", "properties": [
        {"path": "properties.retentionInDays", "live": 45, "desired": 30}]}]
    assert report["notes"] == ["ARM what-if: NestedDeploymentShortCircuited module aks not evaluated",
                               "ARM what-if cannot compare /subscriptions/s/resourceGroups/rg/providers/X/y/z: "
                               "name needs a runtime value"]


def test_arm_created_group_and_resource():
    result = {"changed": True, "resource_group_created": True,
              "what_if": {"changes": [{"resource_id": WORKSPACE, "change_type": "Create", "changed_paths": []}]}}
    entries = drift_report({"arm": result})["entries"]
    assert [(e["resource"], e["change"]) for e in entries] == [("resource group", "Create"), (WORKSPACE, "Create")]


def test_helm_diff_format_gives_property_paths():
    report = drift_report({"helm": {"changed": True, "diff": {"prepared": HELM_DIFF}}, "release": "neo4j"})
    assert report["entries"] == [
        {"source": "helm", "resource": "StatefulSet neo4j/neo4j", "change": "Modify", "properties": [
            {"path": "spec.template.spec.containers[neo4j].resources.limits.memory", "live": "3Gi", "desired": "2Gi"},
            {"path": "spec.template.spec.terminationGracePeriodSeconds", "live": 120, "desired": 300}]},
        {"source": "helm", "resource": "Service neo4j/neo4j-lb", "change": "Create", "properties": []}]


def test_unified_format_gives_property_paths():
    (entry,) = drift_report({"helm": {"changed": True, "diff": {"prepared": UNIFIED}}})["entries"]
    assert entry["resource"] == "ConfigMap neo4j/neo4j-config"
    assert entry["properties"] == [{"path": "data.NEO4J_server_memory_pagecache_size", "live": "500m",
                                    "desired": "819m"}]


def test_partial_context_lists_the_changed_lines():
    prepared = ("neo4j, neo4j, StatefulSet (apps) has changed:\n"
                "@@ -3,1 +3,1 @@\n-      replicas: 2\n+      replicas: 1\n")
    (entry,) = drift_report({"helm": {"changed": True, "diff": {"prepared": prepared}}})["entries"]
    assert [p["path"] for p in entry["properties"]] == ["replicas: 2", "replicas: 1"]


def test_helm_change_without_helm_diff_is_still_drift():
    (entry,) = drift_report({"helm": {"changed": True}, "release": "graph"})["entries"]
    assert entry["resource"] == "release graph" and "helm-diff" in entry["note"]


def test_validate_problems_and_markdown_table():
    report = drift_report({"arm": ARM_DRIFT, "helm": {"changed": True, "diff": {"prepared": HELM_DIFF}},
                           "validate": ["StatefulSet neo4j: 0 of 1 replicas ready"]}, environment="prod")
    assert report["count"] == 4 and report["summary"] == {"arm": 1, "helm": 2, "validate": 1}
    text = drift_report_markdown(report)
    assert "**Drift found** in 4 resource(s): 1 Azure (ARM what-if), 2 Kubernetes (helm-diff), 1 health" in text
    assert "| `properties.retentionInDays` | `45` | `30` |" in text
    assert "| `spec.template.spec.terminationGracePeriodSeconds` | `120` | `300` |" in text
    assert "| `problem` | `StatefulSet neo4j: 0 of 1 replicas ready` | `(absent)` |" in text
    assert "## Notes" in text


def test_skipped_tasks_are_no_drift():
    assert not drift_report({"arm": {"skipped": True, "changed": False}, "helm": {"skipped": True}})["drift"]


@pytest.mark.parametrize("checks, message", [
    ([], "expects a dict"),
    ({"arms": {}}, "unknown keys arms"),
])
def test_bad_input_is_named(checks, message):
    with pytest.raises(AnsibleFilterError, match=message):
        drift_report(checks)


def test_markdown_needs_a_report():
    with pytest.raises(AnsibleFilterError, match="output of neo4j_azure.aks.drift_report"):
        drift_report_markdown({"drift": True})


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"drift_report", "drift_report_markdown"}
