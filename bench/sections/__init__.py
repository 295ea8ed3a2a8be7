"""The bench's sections, in report order. A new case is one module with a `SECTION = Section(...)` added to this
list. `targets` measures nothing: it judges issue 16's targets from what the others measured in the same run."""

from sections import azure, growth, health, kube, realpod, retention, site, targets

SECTIONS = {section.name: section for section in (targets.SECTION, azure.SECTION, kube.SECTION, health.SECTION,
                                                  site.SECTION, growth.SECTION, retention.SECTION,
                                                  realpod.SECTION)}
QUICK = ("azure", "health")
# The order a full run measures in: retention last (after it deletes its 10,000-blob container, Azurite keeps a core
# busy for minutes, which would slow whatever ran next), targets after everything.
RUN_ORDER = ("realpod", "kube", "health", "site", "azure", "growth", "retention", "targets")
assert set(RUN_ORDER) == set(SECTIONS)
