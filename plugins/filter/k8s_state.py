# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a Kubernetes object as read differs from what a role wants: decide from a read before writing.

Documentation: k8s_differs.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _scalar(value):
    """Kubernetes hands scalars back as it stores them: labels, annotations and parameters are strings."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, (int, float)) else value


def differences(desired, live, path=""):
    """Paths where `desired` is not contained in `live` (fields the server adds are ignored)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [path or "."]
        out = []
        for key, value in desired.items():
            if key not in live:
                if value not in (None, {}, []):
                    out.append(f"{path}.{key}" if path else key)
                continue
            out.extend(differences(value, live[key], f"{path}.{key}" if path else key))
        return out
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return [path or "."]
        return [d for i, (a, b) in enumerate(zip(desired, live)) for d in differences(a, b, f"{path}[{i}]")]
    if desired is None:
        return []
    return [] if _scalar(desired) == _scalar(live) else [path or "."]


def k8s_differs(live, desired):
    """True when the object must be written: it is missing, or a field it should have differs."""
    if not isinstance(desired, dict):
        raise AnsibleFilterError(f"k8s_differs: the desired object must be a mapping, got {type(desired).__name__}")
    if isinstance(live, dict) and "resources" in live:  # a registered kubernetes.core.k8s_info result
        live = live["resources"]
    if isinstance(live, list):
        if len(live) > 1:
            raise AnsibleFilterError(f"k8s_differs: expected at most one live object, got {len(live)}")
        live = live[0] if live else None
    if live is None:
        return True
    if not isinstance(live, dict):
        raise AnsibleFilterError(f"k8s_differs: the live object must be a mapping, got {type(live).__name__}")
    wanted = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}
    return bool(differences(wanted, live))


class FilterModule:
    """Kubernetes object state filters."""

    def filters(self):
        return {"k8s_differs": k8s_differs}
