"""The bench's sections, in report order. A new case (issue 16's scaling over servers, backups or databases) is
one module with a `SECTION = Section(...)` added to this list."""

from sections import azure, health, kube, site

SECTIONS = {section.name: section for section in (azure.SECTION, kube.SECTION, health.SECTION, site.SECTION)}
QUICK = ("azure", "health")
