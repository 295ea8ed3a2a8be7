# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Kubernetes resource quantities (volume sizes) as numbers, and the volume resize plan of a StatefulSet.

Documentation: quantity_bytes.yml and volume_resize_plan.yml beside this file.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from ansible.errors import AnsibleFilterError

# Kubernetes' quantity grammar (k8s.io/apimachinery/pkg/api/resource): a signed decimal number and one
# suffix, binary SI (Ki..Ei), decimal SI (m, k, M..E) or a decimal exponent (e3, E-2). The exponent comes
# first in the alternation so that "1E3" is an exponent and "1E" is exa.
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>[eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def quantity_bytes(quantity) -> int:
    """The value of a Kubernetes quantity, rounded away from zero to a whole number as Kubernetes rounds it.

    Accepts what the API server accepts for ``resources.requests.storage``: ``32Gi``, ``1.5Gi``, ``500M``,
    ``1e9``, ``10`` (bytes) and whole numbers.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, (str, int)):
        raise AnsibleFilterError(
            f"quantity_bytes expects a Kubernetes quantity such as 32Gi, 500M or 10, not {type(quantity).__name__} "
            f"{quantity!r}"
        )
    text = str(quantity)
    found = _QUANTITY.fullmatch(text)
    if found is None:
        raise AnsibleFilterError(
            f"quantity_bytes: {text!r} is not a Kubernetes quantity (a number with an optional suffix "
            "Ki, Mi, Gi, Ti, Pi, Ei, m, k, M, G, T, P, E or an exponent, such as 32Gi, 500M or 1e9)"
        )
    try:
        number = Decimal(found.group("number"))
    except InvalidOperation as err:  # the pattern admits only valid decimals; kept for safety
        raise AnsibleFilterError(f"quantity_bytes: {text!r} is not a number") from err
    suffix = found.group("suffix") or ""
    if suffix in _BINARY:
        value = number * (1024 ** _BINARY[suffix])
    elif suffix in _DECIMAL:
        value = number.scaleb(_DECIMAL[suffix])
    elif suffix:
        value = number.scaleb(int(suffix[1:]))
    else:
        value = number
    return int(value.to_integral_value(rounding=ROUND_CEILING if value >= 0 else ROUND_FLOOR))


def volume_resize_plan(statefulset, volumes) -> dict:
    """Compare the volume claim templates of a StatefulSet with the requested sizes.

    statefulset: the StatefulSet as the API returns it, or an empty dict when there is none.
    volumes: requested size per claim template name (a dict).
    """
    if not isinstance(volumes, dict):
        raise AnsibleFilterError(
            f"volume_resize_plan expects the requested sizes as a dict, not {type(volumes).__name__}"
        )
    if not statefulset:
        return {"volumes": [], "grow": [], "shrink": [], "recreate": False}
    if not isinstance(statefulset, dict):
        raise AnsibleFilterError(f"volume_resize_plan expects a StatefulSet (a dict), not {type(statefulset).__name__}")

    templates = (statefulset.get("spec") or {}).get("volumeClaimTemplates") or []
    plan = []
    for template in templates:
        name = template["metadata"]["name"]
        if name not in volumes:
            continue
        current = (((template.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
        if current is None:
            raise AnsibleFilterError(
                f"volume_resize_plan: volume claim template {name!r} of StatefulSet "
                f"{statefulset.get('metadata', {}).get('name', '?')!r} requests no storage"
            )
        current_bytes, requested_bytes = quantity_bytes(current), quantity_bytes(volumes[name])
        plan.append({"name": name, "current": str(current), "requested": str(volumes[name]),
                     "grow": requested_bytes > current_bytes, "shrink": requested_bytes < current_bytes})

    grow = [entry for entry in plan if entry["grow"]]
    # volumeClaimTemplates are immutable: a grown or an added/removed volume needs a new StatefulSet object.
    template_names = sorted(template["metadata"]["name"] for template in templates)
    return {
        "volumes": plan,
        "grow": grow,
        "shrink": [entry for entry in plan if entry["shrink"]],
        "recreate": bool(grow) or template_names != sorted(volumes),
    }


class FilterModule:
    """Kubernetes quantity filters."""

    def filters(self):
        return {
            "quantity_bytes": quantity_bytes,
            "volume_resize_plan": volume_resize_plan,
        }
