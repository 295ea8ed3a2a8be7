"""Section 6, retention: backup_retention over 100, 1,000 and 10,000 backups in Azurite, Blob requests counted
through a recording proxy (tests/blob_recorder.py): List Blobs pages, Blob Batch requests, single deletes, task
time; and, side by side, one delete request per blob (the module's own fallback path) for the same blobs."""

from __future__ import annotations

import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from blob_recorder import BlobRecorder
from measure import PLAYBOOKS, REPO, Bench, Samples, Section, log
from report import Panel, fmt, table
from testenv_client import run_playbook

if str(REPO / ".collections") not in sys.path:  # the collection as ansible_collections.neo4j_azure.aks (make setup)
    sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import backup_name  # noqa: E402

# BENCH_RETENTION_SIZES="100,1000" narrows a run (Azurite's in-memory store slows down with the container's size).
SIZES = tuple(int(n) for n in os.environ.get("BENCH_RETENTION_SIZES", "100,1000,10000").split(","))
PREFIX = "neo4j-backups"
ENVIRONMENT = "bench"
POLICY = {"keep_last": 7, "keep_daily": 7, "keep_weekly": 4}  # the module's defaults
TASK = "Prune with backup_retention"
LARGE = 10_000
SINGLE_DELETE_SIZES = (100, 1_000)  # one request per blob: 10,000 would take minutes and say nothing new


def label(size: int) -> str:
    return f"{size:,} backups"


def sizes_in(ret: dict) -> list:
    """The sizes a results file holds (a run may have been narrowed with BENCH_RETENTION_SIZES)."""
    return [n for n in (100, 1_000, 10_000) if f"{label(n)} / prune" in ret]


def seed(container, size: int, now: datetime) -> list:
    """size complete backups of one database, one an hour back from now (uploaded straight to Azurite)."""
    names = [backup_name(PREFIX, ENVIRONMENT, "neo4j", now - timedelta(hours=1 + i)) for i in range(size)]

    def upload(name):
        # overwrite: a retried upload whose first attempt Azurite stored must not fail with 409
        container.upload_blob(name, b"bench", metadata={"backup_complete": "true"}, overwrite=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, names))
    return names


def one_delete_per_blob(container, blobs: list) -> float:
    """The same deletes one request each, as the module sends them to an account that refuses batches (ETag
    condition, snapshots included): seconds."""
    from azure.core import MatchConditions  # pylint: disable=import-outside-toplevel
    started = time.perf_counter()
    for name, etag in blobs:
        container.delete_blob(name, delete_snapshots="include", etag=etag,
                              match_condition=MatchConditions.IfNotModified)
    return time.perf_counter() - started


def measure(bench: Bench):
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
    env = bench.env
    service = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"])
    samples = Samples([label(n) for n in SIZES], ("prune", "no-op", "one delete per blob"))
    with BlobRecorder(env["AZURE_STORAGE_CONNECTION_STRING"]) as recorder:
        for size in SIZES:
            # 10,000: one repetition (Azurite alone takes 3-4 minutes to answer that prune's deletes, see growth())
            for rep in range(1 if size >= LARGE else bench.runs):
                container = service.create_container(f"bench-ret-{size}-{secrets.token_hex(3)}")
                try:
                    seed(container, size, datetime.now(timezone.utc).replace(microsecond=0))
                    for phase in ("prune", "no-op"):
                        mark = recorder.mark()
                        run = run_playbook(PLAYBOOKS / "retention.yml", env={**env, **recorder.env}, extra_vars={
                            "bench_container": container.container_name, "bench_environment": ENVIRONMENT,
                            "bench_policy": POLICY}, timeout=1800).require_ok(f"retention {size} {phase}")
                        task = run.timed_task(TASK)
                        counts = recorder.counts(mark)
                        server = recorder.server_seconds(mark)
                        sample = {"task_s": task.seconds, "wall_s": run.wall, "changed": task.changed,
                                  "server_s": server, "client_s": task.seconds - server,
                                  "deleted": len(task.result.get("deleted") or []),
                                  "kept": len(task.result.get("kept") or []),
                                  "requests": counts["total"], "list": counts["list"], "batch": counts["batch"],
                                  "delete": counts["delete"], "unanswered": counts["unanswered"],
                                  # backups the policy deletes that the module left: already gone or changed
                                  "left": sum(" not deleted: " in w for w in task.result.get("warnings") or [])}
                        samples.add(label(size), phase, sample)
                        log(f"retention {size} {phase} #{rep + 1}: {counts}, deleted {sample['deleted']}, "
                            f"{task.seconds:.2f}s (Azurite answering {server:.2f}s)")
                    if size in SINGLE_DELETE_SIZES:
                        names = seed(container, size, datetime.now(timezone.utc).replace(microsecond=0)
                                     - timedelta(days=3650))
                        etags = {b.name: b.etag for b in container.list_blobs(name_starts_with=f"{PREFIX}/")}
                        seconds = one_delete_per_blob(container, [(n, etags[n]) for n in names])
                        samples.add(label(size), "one delete per blob", {"delete_s": seconds, "delete": len(names)})
                        log(f"retention {size} one delete per blob #{rep + 1}: {seconds:.2f}s")
                finally:
                    container.delete_container()
    result = samples.summary()
    result["_growth"] = growth(result)
    yield "retention", result


def growth(result: dict) -> dict:
    """Per step of size, cost(bigger) / cost(smaller) against the size ratio: at most linear when every ratio of
    requests and of the module's own time (task time minus the time Azurite took to answer) is <= the size ratio.
    The task time's ratio is reported too: Azurite's in-memory store (LokiJS) finds a blob to delete by scanning
    the account's blobs, so its time per delete grows with the container and its share of a large prune is
    quadratic; that is the test double's cost, not the module's (Azure's Blob service indexes blobs by name)."""
    steps = []
    for small, big in zip(SIZES, SIZES[1:]):
        a, b = result[f"{label(small)} / prune"], result[f"{label(big)} / prune"]
        step = {"from": small, "to": big, "size_ratio": big / small,
                "requests_ratio": b["requests"]["median"] / a["requests"]["median"],
                "time_ratio": b["task_s"]["median"] / a["task_s"]["median"]}
        if "client_s" in a and "client_s" in b:
            step["client_ratio"] = b["client_s"]["median"] / a["client_s"]["median"]
            step["server_ratio"] = b["server_s"]["median"] / a["server_s"]["median"]
        steps.append(step)
    return {"steps": steps, "met": all(s["requests_ratio"] <= s["size_ratio"] and
                                       s.get("client_ratio", s["time_ratio"]) <= s["size_ratio"] for s in steps)}


def markdown(results: dict, meta: dict) -> list:  # pylint: disable=unused-argument
    ret = results["retention"]
    rows = []
    for size in sizes_in(ret):
        for phase in ("prune", "no-op"):
            st = ret[f"{label(size)} / {phase}"]
            # fmt() gives "n/a" for a figure an older results file does not have
            rows.append([label(size), phase, fmt(st["deleted"]), fmt(st["kept"]), fmt(st.get("left")),
                         fmt(st["requests"]), fmt(st["list"]), fmt(st["batch"]), fmt(st["delete"]),
                         fmt(st.get("unanswered")), fmt(st["task_s"], digits=2), fmt(st.get("server_s"), digits=2),
                         fmt(st.get("client_s"), digits=2), fmt(st["changed"])])
    lines = [f"## 6. backup_retention over {', '.join(f'{n:,}' for n in sizes_in(ret))} backups (Azurite)", ""]
    lines += table(["backups", "run", "deleted", "kept", "left (gone or changed)", "Blob requests", "List Blobs",
                    "Blob Batch", "single deletes", "of which unanswered", "task time s",
                    "of which Azurite answering s", "the module's own s", "changed"], rows)
    if any(ret[f"{label(n)} / {p}"].get("unanswered", {}).get("max") for n in sizes_in(ret) for p in ("prune", "no-op")):
        lines += ["", "An unanswered request is one Azurite did not answer within the recording proxy's "
                      f"{BlobRecorder.UPSTREAM_TIMEOUT} s: the "
                      "client (azure-storage-blob, 60 s read timeout) gave up on it and retried. A retried batch "
                      "whose first attempt Azurite carried out finds its blobs gone (404): the module reports them "
                      "as left (already gone) in its warnings, not as deleted. Azurite answering time is the union "
                      "of the spans during which a request waited on Azurite, given-up attempts included."]
    single = [[label(n), fmt(ret[f"{label(n)} / one delete per blob"]["delete"]),
               fmt(ret[f"{label(n)} / one delete per blob"]["delete_s"], digits=2),
               fmt(ret[f"{label(n)} / prune"]["batch"])]
              for n in SINGLE_DELETE_SIZES if ret.get(f"{label(n)} / one delete per blob")]
    if single:
        lines += ["", "The same number of blobs deleted one request each (what the module sends to an account that "
                      "refuses batches; in-process through the SDK, so without the module's start-up):", ""]
        lines += table(["backups", "delete requests", "seconds", "batch requests the module sent instead"], single)
    grow = ret["_growth"]

    def step_text(s):
        text = (f"{s['from']:,} -> {s['to']:,} backups (x{s['size_ratio']:g}): requests x{s['requests_ratio']:.2f}, "
                f"task time x{s['time_ratio']:.2f}")
        if "client_ratio" in s:
            text += f" (the module's own time x{s['client_ratio']:.2f}, Azurite's x{s['server_ratio']:.2f})"
        return text
    lines += ["", "Growth (prune run): " + "; ".join(step_text(s) for s in grow["steps"]) +
              f". Target (at most linear in requests and in the module's own time): "
              f"{'met' if grow['met'] else 'MISSED'}. Azurite's in-memory store (LokiJS) finds each blob it deletes by "
              "scanning the account's blobs, so its answering time per delete grows with the container: a large "
              "prune's Azurite share grows with the square of its size. That is the double's cost; the module's "
              "requests and its own time are what the target judges.", ""]
    return lines


def panels(results: dict) -> list:
    ret = results["retention"]
    labels = [label(n) for n in sizes_in(ret)]
    return [Panel("backup_retention: prune run", labels,
                  [[ret[f"{x} / prune"]["task_s"] for x in labels]], ["task time"], "seconds"),
            Panel("backup_retention: Blob requests", labels,
                  [[ret[f"{x} / prune"]["requests"] for x in labels]], ["requests"], "requests")]


METHOD = """\
- Retention: per size and repetition a fresh Azurite container holds that many complete backups of one database,
  one an hour back from now; backup_retention (the module's default policy: last 7, daily 7, weekly 4) runs
  through a recording HTTP proxy (tests/blob_recorder.py) that counts List Blobs pages, Blob Batch requests and
  single deletes and times how long Azurite took to answer them (the module sends them one after the other, so task
  time minus that is the module's own: start-up, listing, deciding, building batches); then a no-op re-run. "One
  delete per blob" deletes as many fresh blobs one request each, the
  module's fallback path, in-process."""

SECTION = Section(name="retention", needs=("azurite",), measure=measure, markdown=markdown, panels=panels,
                  method=METHOD)
