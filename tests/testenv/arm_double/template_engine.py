"""A strict subset of the ARM template language, enough for the collection's templates.

Evaluates parameters (types, allowed values, bounds, defaults), variables, template expressions
(`[func(args).member[index]]`), resource conditions and copy loops, nested inline deployments
(Bicep modules), `reference()` against the resources the double holds, and outputs.

Anything outside the subset is an error shaped like ARM's (`InvalidTemplate`), never a silent pass.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import uuid

from .arm_hash import guid, unique_string


class TemplateError(Exception):
    """An ARM template error: code + message (+ target), reported like ARM reports it."""

    def __init__(self, message: str, code: str = "InvalidTemplate", target: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target

    def to_error(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.target:
            err["target"] = self.target
        return err


class Unresolvable(Exception):
    """A value only known after deployment (reference() to a resource not yet there): what-if keeps the
    expression as text, as ARM's what-if does."""


# ---------------------------------------------------------------------------------------------------------
# Expression parsing
# ---------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>[()\[\],.]))")


def _tokenize(text: str) -> list:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise TemplateError(f"The template language expression '{text}' is not valid: unexpected character at "
                                f"position {pos}.")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        elif kind == "num":
            value = int(value)
        tokens.append((kind, value))
    return tokens


class _Parser:
    """expr := primary ( '.' name | '[' expr ']' )* ; primary := string | int | name '(' args ')'"""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _take(self, op=None):
        tok = self._peek()
        if tok[0] is None or (op is not None and tok != ("op", op)):
            raise TemplateError(f"The template language expression '{self.text}' is not valid: expected "
                                f"'{op or 'a value'}'.")
        self.pos += 1
        return tok

    def parse(self):
        node = self._expr()
        if self.pos != len(self.tokens):
            raise TemplateError(f"The template language expression '{self.text}' is not valid: unexpected "
                                f"'{self._peek()[1]}'.")
        return node

    def _expr(self):
        kind, value = self._take()
        if kind == "str":
            node = ("lit", value)
        elif kind == "num":
            node = ("lit", value)
        elif kind == "name":
            if "." in value:  # 'name.member' lexed as one token when a call has no parentheses
                raise TemplateError(f"The template language expression '{self.text}' is not valid: "
                                    f"'{value}' is not a function call.")
            self._take("(")
            args = []
            if self._peek() != ("op", ")"):
                args.append(self._expr())
                while self._peek() == ("op", ","):
                    self._take(",")
                    args.append(self._expr())
            self._take(")")
            node = ("call", value, args)
        else:
            raise TemplateError(f"The template language expression '{self.text}' is not valid.")
        while True:
            tok = self._peek()
            if tok == ("op", "."):
                self._take(".")
                kind, value = self._take()
                if kind != "name":
                    raise TemplateError(f"The template language expression '{self.text}' is not valid.")
                for part in value.split("."):
                    node = ("member", node, part)
            elif tok == ("op", "["):
                self._take("[")
                index = self._expr()
                self._take("]")
                node = ("index", node, index)
            else:
                return node


def is_property_copy(value: dict) -> bool:
    """Whether an object carries a property copy loop (`"copy": [{"name", "count", "input"}]`)."""
    loops = value.get("copy")
    return isinstance(loops, list) and bool(loops) and all(
        isinstance(loop, dict) and {"name", "count", "input"} <= set(loop) for loop in loops)


def is_expression(value) -> bool:
    return isinstance(value, str) and value.startswith("[") and value.endswith("]") and not value.startswith("[[")


# ---------------------------------------------------------------------------------------------------------
# Values and helpers
# ---------------------------------------------------------------------------------------------------------

def _arm_type(value) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "Null"


def _need(name, args, low, high=None):
    high = low if high is None else high
    if not low <= len(args) <= (high if high >= 0 else 10 ** 6):
        raise TemplateError(f"The template language function '{name}' must have "
                            f"{low if low == high else f'{low} to {high}'} parameter(s); found {len(args)}.")


def _str(name, value):
    if not isinstance(value, str):
        raise TemplateError(f"The template language function '{name}' expects a string; found "
                            f"'{_arm_type(value)}'.")
    return value


def _to_string(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if value is None:
        return ""
    return str(value)


def _format(fmt, *args):
    def repl(match):
        idx = int(match.group(1))
        if idx >= len(args):
            raise TemplateError(f"The template language function 'format' has an index {idx} out of range.")
        return _to_string(args[idx])
    return re.sub(r"\{(\d+)(?::[^}]*)?\}", repl, fmt.replace("{{", "\x00").replace("}}", "\x01")) \
        .replace("\x00", "{").replace("\x01", "}")


def _contains(container, item):
    if isinstance(container, dict):
        return any(k.lower() == str(item).lower() for k in container)
    if isinstance(container, str):
        return str(item) in container
    return item in container


def _union(*values):
    if all(isinstance(v, dict) for v in values):
        out = {}
        for val in values:
            for key, item in val.items():
                out[key] = _union(out[key], item) if isinstance(out.get(key), dict) and isinstance(item, dict) \
                    else copy.deepcopy(item)
        return out
    if all(isinstance(v, list) for v in values):
        out = []
        for val in values:
            out.extend(x for x in val if x not in out)
        return out
    raise TemplateError("The template language function 'union' expects all objects or all arrays.")


def _cmp_args(name, a, b):
    if type(a) is not type(b) or not isinstance(a, (int, str)):
        raise TemplateError(f"The template language function '{name}' expects two integers or two strings.")
    return a, b


def _div(a, b):
    if b == 0:
        raise TemplateError("The template language function 'div' cannot divide by zero.")
    return int(a / b)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise TemplateError(f"The template language function 'int' cannot convert '{value}'.") from err


def _bool(value):
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, (bool, int)):
        return bool(value)
    raise TemplateError(f"The template language function 'bool' cannot convert '{value}'.")


def _take(value, count):
    return value[:max(count, 0)]


def _skip(value, count):
    return value[max(count, 0):]


def _first(value):
    return value[0] if value else None


def _last(value):
    return value[-1] if value else None


def _length(value):
    if not isinstance(value, (str, list, dict)):
        raise TemplateError(f"The template language function 'length' expects an array, object or string; "
                            f"found '{_arm_type(value)}'.")
    return len(value)


def _empty(value):
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _json(text):
    try:
        return json.loads(_str("json", text))
    except ValueError as err:
        raise TemplateError(f"The template language function 'json' has an invalid argument: {err}") from err


def _create_object(*args):
    if len(args) % 2:
        raise TemplateError("The template language function 'createObject' expects key/value pairs.")
    return {_str("createObject", args[i]): args[i + 1] for i in range(0, len(args), 2)}


def _items(obj):
    return [{"key": k, "value": v} for k, v in sorted(obj.items())]


# name -> (min args, max args (-1: any), implementation)
PURE_FUNCTIONS = {
    "concat": (1, -1, lambda *a: [x for v in a for x in v] if all(isinstance(v, list) for v in a)
               else "".join(_to_string(v) for v in a)),
    "format": (1, -1, lambda fmt, *a: _format(_str("format", fmt), *a)),
    "tolower": (1, 1, lambda s: _str("toLower", s).lower()),
    "toupper": (1, 1, lambda s: _str("toUpper", s).upper()),
    "trim": (1, 1, lambda s: _str("trim", s).strip()),
    "uniquestring": (1, -1, lambda *a: unique_string(*[_str("uniqueString", x) for x in a])),
    "guid": (1, -1, lambda *a: guid(*[_str("guid", x) for x in a])),
    "substring": (1, 3, lambda s, start=0, length=None: _str("substring", s)[
        start:None if length is None else start + length]),
    "replace": (3, 3, lambda s, old, new: _str("replace", s).replace(old, new)),
    "split": (2, 2, lambda s, d: _str("split", s).split(d) if isinstance(d, str) else
              re.split("|".join(map(re.escape, d)), s)),
    "join": (2, 2, lambda a, d: d.join(_to_string(x) for x in a)),
    "startswith": (2, 2, lambda s, p: _str("startsWith", s).lower().startswith(p.lower())),
    "endswith": (2, 2, lambda s, p: _str("endsWith", s).lower().endswith(p.lower())),
    "indexof": (2, 2, lambda s, p: _str("indexOf", s).lower().find(p.lower())),
    "lastindexof": (2, 2, lambda s, p: _str("lastIndexOf", s).lower().rfind(p.lower())),
    "padleft": (2, 3, lambda s, n, c=" ": _to_string(s).rjust(n, c)),
    "string": (1, 1, _to_string),
    "base64": (1, 1, lambda s: base64.b64encode(_str("base64", s).encode()).decode()),
    "base64tostring": (1, 1, lambda s: base64.b64decode(_str("base64ToString", s)).decode()),
    "uri": (2, 2, lambda base, rel: base.rsplit("/", 1)[0] + "/" + rel.lstrip("/") if not base.endswith("/")
            else base + rel.lstrip("/")),
    "take": (2, 2, _take),
    "skip": (2, 2, _skip),
    "first": (1, 1, _first),
    "last": (1, 1, _last),
    "length": (1, 1, _length),
    "empty": (1, 1, _empty),
    "contains": (2, 2, _contains),
    "if": (3, 3, None),  # lazy: see Evaluator
    "equals": (2, 2, lambda a, b: a == b and type(a) is type(b) if not isinstance(a, str) else
               isinstance(b, str) and a == b),
    "not": (1, 1, lambda a: not a),
    "and": (2, -1, lambda *a: all(a)),
    "or": (2, -1, lambda *a: any(a)),
    "less": (2, 2, lambda a, b: _cmp_args("less", a, b)[0] < b),
    "lessorequals": (2, 2, lambda a, b: _cmp_args("lessOrEquals", a, b)[0] <= b),
    "greater": (2, 2, lambda a, b: _cmp_args("greater", a, b)[0] > b),
    "greaterorequals": (2, 2, lambda a, b: _cmp_args("greaterOrEquals", a, b)[0] >= b),
    "coalesce": (1, -1, lambda *a: next((x for x in a if x is not None), None)),
    "int": (1, 1, _int),
    "bool": (1, 1, _bool),
    "add": (2, 2, lambda a, b: a + b),
    "sub": (2, 2, lambda a, b: a - b),
    "mul": (2, 2, lambda a, b: a * b),
    "div": (2, 2, _div),
    "mod": (2, 2, lambda a, b: a % b),
    "min": (1, -1, lambda *a: min(a[0] if len(a) == 1 and isinstance(a[0], list) else a)),
    "max": (1, -1, lambda *a: max(a[0] if len(a) == 1 and isinstance(a[0], list) else a)),
    "range": (2, 2, lambda start, count: list(range(start, start + count))),
    "createarray": (0, -1, lambda *a: list(a)),
    "array": (1, 1, lambda a: a if isinstance(a, list) else [a]),
    "createobject": (0, -1, _create_object),
    "union": (1, -1, _union),
    "intersection": (2, -1, lambda *a: [x for x in a[0] if all(x in o for o in a[1:])] if isinstance(a[0], list)
                     else {k: v for k, v in a[0].items() if all(o.get(k) == v for o in a[1:])}),
    "json": (1, 1, _json),
    "items": (1, 1, _items),
    "null": (0, 0, lambda: None),
    "true": (0, 0, lambda: True),
    "false": (0, 0, lambda: False),
}

# Functions ARM allows only in parameter default values.
DEFAULT_ONLY_FUNCTIONS = {
    "utcnow": (0, 1, lambda fmt="": "20250101T000000Z"),
    "newguid": (0, 0, lambda: str(uuid.uuid4())),
}


# ---------------------------------------------------------------------------------------------------------
# Resource ids
# ---------------------------------------------------------------------------------------------------------

def resource_id_from(scope_id: str, rtype: str, names: list) -> str:
    parts = rtype.split("/")
    namespace, types = parts[0], parts[1:]
    if len(types) != len(names) or not types:
        raise TemplateError(f"Unable to evaluate the template language function 'resourceId': the type "
                            f"'{rtype}' requires {len(types)} resource name argument(s).")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names))
    return f"{scope_id}/providers/{namespace}/{path}"


def split_name(name: str) -> list:
    return list(name.split("/"))


def is_deployment_id(rid: str) -> bool:
    return "/providers/microsoft.resources/deployments/" in rid.lower()


# ---------------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------------

class Scope:
    """Where a template is deployed: subscription, optional resource group, the deployment's name."""

    def __init__(self, subscription_id: str, tenant_id: str, resource_group: dict | None, deployment_name: str,
                 location: str | None = None):
        self.subscription_id = subscription_id
        self.tenant_id = tenant_id
        self.resource_group = resource_group  # ARM resource group body, or None at subscription scope
        self.deployment_name = deployment_name
        self.location = location

    @property
    def subscription_path(self) -> str:
        return f"/subscriptions/{self.subscription_id}"

    @property
    def scope_id(self) -> str:
        if self.resource_group:
            return f"{self.subscription_path}/resourceGroups/{self.resource_group['name']}"
        return self.subscription_path


class Evaluator:
    """Evaluates one template's expressions. `lookup(resource_id)` returns a held resource or None."""

    def __init__(self, scope: Scope, lookup, what_if: bool = False, rg_lookup=None):
        self.scope = scope
        self.lookup = lookup
        self.rg_lookup = rg_lookup or (lambda name: None)
        self.what_if = what_if
        self.parameters: dict = {}
        self.variables_raw: dict = {}
        self.variables: dict = {}
        self.copy_index: dict = {}
        self.property_loops: set = set()  # names in copy_index that are property loops (see _fn_copyindex)
        self.deployed: dict = {}  # resource id (lower) -> body deployed in this run (for reference())
        self.symbols: dict = {}  # symbolic name -> resource id (languageVersion 2.0)
        # What-if evaluates no runtime function where ARM does not: a nested deployment's parameters (see
        # whatif.py) are evaluated with this set, so any reference()/list*() makes them "not fully evaluated".
        self.defer_runtime = False
        self._evaluating_vars: set = set()

    # -- public --------------------------------------------------------------------------------------------
    def evaluate(self, value, default_context: bool = False):
        """Evaluate every expression string inside value (deep)."""
        if isinstance(value, str):
            if is_expression(value):
                return self._eval_node(_Parser(value[1:-1]).parse(), default_context)
            if value.startswith("[["):
                return value[1:]
            return value
        if isinstance(value, list):
            return [self.evaluate(v, default_context) for v in value]
        if isinstance(value, dict):
            if is_property_copy(value):
                return self._property_copy(value, lambda v: self.evaluate(v, default_context))
            return {self.evaluate(k, default_context) if is_expression(k) else k: self.evaluate(v, default_context)
                    for k, v in value.items()}
        return value

    def evaluate_keeping_unknowns(self, value):
        """As evaluate(), but a value only known after deployment stays as its expression text (what-if)."""
        if isinstance(value, str):
            try:
                return self.evaluate(value)
            except Unresolvable:
                return value
        if isinstance(value, list):
            return [self.evaluate_keeping_unknowns(v) for v in value]
        if isinstance(value, dict):
            if is_property_copy(value):
                return self._property_copy(value, self.evaluate_keeping_unknowns)
            return {self.evaluate_keeping_unknowns(k) if is_expression(k) else k: self.evaluate_keeping_unknowns(v)
                    for k, v in value.items()}
        return value

    def _property_copy(self, value: dict, evaluate) -> dict:
        """An object with a property `copy` loop: each loop {name, count, input} becomes the array `name`."""
        out = {self.evaluate(k) if is_expression(k) else k: evaluate(v) for k, v in value.items() if k != "copy"}
        for loop in value["copy"]:
            count = self.evaluate(loop["count"])
            if not isinstance(count, int) or count < 0:
                raise TemplateError(f"The copy count of property '{loop['name']}' must be a non-negative integer.")
            items = []
            self.property_loops.add(loop["name"])
            for i in range(count):
                self.copy_index[loop["name"]] = i
                items.append(evaluate(loop["input"]))
            self.copy_index.pop(loop["name"], None)
            self.property_loops.discard(loop["name"])
            out[loop["name"]] = items
        return out

    def variable(self, name: str):
        key = next((k for k in self.variables_raw if k.lower() == name.lower()), None)
        if key is None:
            raise TemplateError(f"The template variable '{name}' is not found. Please see "
                                f"https://aka.ms/arm-syntax-variables for usage details.")
        if key not in self.variables:
            if key in self._evaluating_vars:
                raise TemplateError(f"The template variable '{name}' has a circular reference.")
            self._evaluating_vars.add(key)
            try:
                raw = self.variables_raw[key]
                if key == "copy" and isinstance(raw, list):
                    for loop in raw:
                        self.variables[loop["name"]] = self._variable_copy(loop)
                else:
                    self.variables[key] = self.evaluate(raw)
            finally:
                self._evaluating_vars.discard(key)
        return self.variables[key]

    def _variable_copy(self, loop: dict):
        count = self.evaluate(loop["count"])
        out = []
        for i in range(count):
            self.copy_index[loop["name"]] = i
            out.append(self.evaluate(loop["input"]))
        self.copy_index.pop(loop["name"], None)
        return out

    # -- nodes ---------------------------------------------------------------------------------------------
    def _eval_node(self, node, default_context=False):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "member":
            base = self._eval_node(node[1], default_context)
            if not isinstance(base, dict):
                raise TemplateError(f"The language expression property '{node[2]}' can't be evaluated, property "
                                    f"name must be accessed on an object, found '{_arm_type(base)}'.")
            key = next((k for k in base if k.lower() == node[2].lower()), None)
            if key is None:
                raise TemplateError(f"The language expression property '{node[2]}' doesn't exist, available "
                                    f"properties are '{', '.join(base)}'.")
            return base[key]
        if kind == "index":
            base = self._eval_node(node[1], default_context)
            index = self._eval_node(node[2], default_context)
            if isinstance(base, list) and isinstance(index, int):
                if not 0 <= index < len(base):
                    raise TemplateError(f"The language expression index '{index}' is out of bounds.")
                return base[index]
            if isinstance(base, dict) and isinstance(index, str):
                key = next((k for k in base if k.lower() == index.lower()), None)
                if key is None:
                    raise TemplateError(f"The language expression property '{index}' doesn't exist.")
                return base[key]
            raise TemplateError("The language expression index is not valid for this value.")
        name, args = node[1], node[2]
        lname = name.lower()
        if lname == "if":
            _need("if", args, 3)
            cond = self._eval_node(args[0], default_context)
            return self._eval_node(args[1] if cond else args[2], default_context)
        if lname in ("and", "or"):  # short-circuit like ARM since 2021
            _need(name, args, 2, -1)
            for arg in args:
                val = self._eval_node(arg, default_context)
                if lname == "and" and not val:
                    return False
                if lname == "or" and val:
                    return True
            return lname == "and"
        values = [self._eval_node(a, default_context) for a in args]
        return self.call(name, values, default_context)

    def call(self, name: str, args: list, default_context: bool = False):
        lname = name.lower()
        handler = getattr(self, "_fn_" + lname, None)
        if handler is not None:
            return handler(*args)
        spec = PURE_FUNCTIONS.get(lname)
        if spec is None and default_context:
            spec = DEFAULT_ONLY_FUNCTIONS.get(lname)
        if spec is None:
            if lname in DEFAULT_ONLY_FUNCTIONS:
                raise TemplateError(f"The template function '{name}' is only valid in parameter default values.")
            raise TemplateError(f"The template function '{name}' is not valid. Please see "
                                f"https://aka.ms/arm-syntax-functions for usage details.")
        _need(name, args, spec[0], spec[1])
        try:
            return spec[2](*args)
        except TemplateError:
            raise
        except (TypeError, ValueError, AttributeError, IndexError, KeyError) as err:
            raise TemplateError(f"Unable to evaluate the template language function '{name}': {err}") from err

    # -- deployment functions ------------------------------------------------------------------------------
    def _fn_parameters(self, name):
        key = next((k for k in self.parameters if k.lower() == str(name).lower()), None)
        if key is None:
            raise TemplateError(f"The template parameter '{name}' is not found. Please see "
                                f"https://aka.ms/arm-syntax-parameters for usage details.")
        return self.parameters[key]

    def _fn_variables(self, name):
        return self.variable(name)

    def _fn_copyindex(self, *args):
        loop, offset = None, 0
        for arg in args:
            if isinstance(arg, str):
                loop = arg
            else:
                offset = arg
        if not self.copy_index:
            raise TemplateError("The template function 'copyIndex' is not expected at this location.")
        if loop is None:
            # As in ARM, an unnamed copyIndex() inside a property loop is the resource (or variable) loop's index.
            outer = [i for name, i in self.copy_index.items() if name not in self.property_loops]
            return (outer or list(self.copy_index.values()))[-1] + offset
        if loop not in self.copy_index:
            raise TemplateError(f"The template function 'copyIndex' refers to an unknown copy loop '{loop}'.")
        return self.copy_index[loop] + offset

    def _fn_resourcegroup(self, *args):
        if args:
            raise TemplateError("The template function 'resourceGroup' takes no arguments here.")
        if not self.scope.resource_group:
            raise TemplateError("The template function 'RESOURCEGROUP' is not expected at this location. Please "
                                "see https://aka.ms/arm-syntax-functions for usage details.")
        return copy.deepcopy(self.scope.resource_group)

    def _fn_subscription(self, *args):
        return {"id": self.scope.subscription_path, "subscriptionId": self.scope.subscription_id,
                "tenantId": self.scope.tenant_id, "displayName": "ARM test double subscription"}

    def _fn_tenant(self, *args):
        return {"tenantId": self.scope.tenant_id, "countryCode": "NL", "displayName": "ARM test double tenant"}

    def _fn_deployment(self, *args):
        return {"name": self.scope.deployment_name, "properties": {}, "location": self.scope.location}

    def _fn_environment(self, *args):
        return {"name": "AzureCloud", "resourceManager": "https://management.azure.com/",
                "authentication": {"loginEndpoint": "https://login.microsoftonline.com/"},
                "suffixes": {"storage": "core.windows.net", "keyvaultDns": ".vault.azure.net",
                             "acrLoginServer": ".azurecr.io"}}

    def _fn_resourceid(self, *args):
        args = [_str("resourceId", a) for a in args]
        type_pos = next((i for i, a in enumerate(args) if "/" in a and "." in a.split("/")[0]), None)
        if type_pos is None:
            raise TemplateError("Unable to evaluate the template language function 'resourceId': no resource "
                                "type argument (like 'Microsoft.Network/virtualNetworks') was found.")
        prefix = args[:type_pos]
        sub = self.scope.subscription_id
        if len(prefix) == 2:
            sub, rg_name = prefix
        elif len(prefix) == 1:
            rg_name = prefix[0]
        elif self.scope.resource_group:
            rg_name = self.scope.resource_group["name"]
        else:
            return resource_id_from(f"/subscriptions/{sub}", args[type_pos], args[type_pos + 1:])
        return resource_id_from(f"/subscriptions/{sub}/resourceGroups/{rg_name}", args[type_pos],
                                args[type_pos + 1:])

    def _fn_subscriptionresourceid(self, *args):
        args = [_str("subscriptionResourceId", a) for a in args]
        sub = args[0] if "/" not in args[0] else self.scope.subscription_id
        rest = args[1:] if "/" not in args[0] else args
        return resource_id_from(f"/subscriptions/{sub}", rest[0], rest[1:])

    def _fn_tenantresourceid(self, rtype, *names):
        return resource_id_from("", rtype, list(names))

    def _fn_extensionresourceid(self, base_id, rtype, *names):
        return resource_id_from(base_id, rtype, list(names))

    def _fn_reference(self, target, api_version=None, full=None):
        target = _str("reference", target)
        rid = self.symbols.get(target) or (target if target.startswith("/") else None)
        if rid is None:  # 'Microsoft.X/y/name' short form: a resource of this template's scope
            parts = target.split("/")
            rid = resource_id_from(self.scope.scope_id, "/".join(parts[:len(parts) // 2 + 1]),
                                   parts[len(parts) // 2 + 1:]) if len(parts) >= 3 else None
        if rid is None:
            raise TemplateError(f"The template function 'reference' has an invalid resource '{target}'.")
        if self.what_if and (self.defer_runtime or is_deployment_id(rid)):
            raise Unresolvable(rid)  # a deployment's outputs are known only once it ran (ARM's what-if neither)
        body = self.deployed.get(rid.lower())
        if body is None:
            if self.what_if and not self.deployed_only_known(rid):
                raise Unresolvable(rid)
            body = self.lookup(rid)
        if body is None:
            if self.what_if:
                raise Unresolvable(rid)
            raise TemplateError(f"The Resource '{rid}' was not found.", code="ResourceNotFound", target=rid)
        if isinstance(full, str) and full.lower() == "full":
            return copy.deepcopy(body)
        return copy.deepcopy(body.get("properties", {}))

    def deployed_only_known(self, rid: str) -> bool:
        """In what-if, a resource the template (re)deploys is only known if it already exists."""
        return self.lookup(rid) is not None

    def _fn_list(self, *args):
        if self.what_if and self.defer_runtime:
            raise Unresolvable("list")
        raise TemplateError("The template function 'list' is not supported by the ARM test double.")

    def _fn_listkeys(self, *args):
        if self.what_if and self.defer_runtime:
            raise Unresolvable("listKeys")
        raise TemplateError("The template function 'listKeys' is not supported by the ARM test double "
                            "(and a template should not move keys through outputs).")


# ---------------------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------------------

_PARAM_TYPES = {
    "string": (str,), "securestring": (str,), "int": (int,), "bool": (bool,), "object": (dict,),
    "secureobject": (dict,), "array": (list,),
}
_ARM_TYPE_NAMES = {"string": "String", "securestring": "String", "int": "Integer", "bool": "Boolean",
                   "object": "Object", "secureobject": "Object", "array": "Array"}
# How deployments echo parameter and output types (the JToken names above are for error messages).
_ECHO_TYPE_NAMES = {"string": "String", "securestring": "SecureString", "int": "Int", "bool": "Bool",
                    "object": "Object", "secureobject": "SecureObject", "array": "Array"}
_RESOURCE_META_KEYS = {"condition", "copy", "dependsOn", "comments", "metadata", "resources", "scope",
                       "existing", "import"}


def _check_type(name, ptype, value):
    allowed = _PARAM_TYPES[ptype]
    ok = isinstance(value, allowed) and not (ptype == "int" and isinstance(value, bool))
    if not ok:
        raise TemplateError(
            f"Template parameter JToken type is not valid. Expected '{_ARM_TYPE_NAMES[ptype]}'. Actual "
            f"'{_arm_type(value).replace('Int', 'Integer').replace('Bool', 'Boolean')}'. Please see "
            f"https://aka.ms/arm-create-parameter-file for usage details.", target=name)


def bind_parameters(ev: Evaluator, template: dict, supplied: dict) -> dict:
    """Check the supplied {name: {value}} against the template's declarations; set ev.parameters.
    Returns the deployment's echo of parameters ({name: {type, value}}, secure values without value)."""
    declared = template.get("parameters") or {}
    if not isinstance(declared, dict):
        raise TemplateError("The template 'parameters' must be an object.")
    lower_declared = {k.lower(): k for k in declared}
    unknown = [k for k in supplied if k.lower() not in lower_declared]
    if unknown:
        raise TemplateError(f"The template parameters '{', '.join(sorted(unknown))}' in the parameters file are "
                            f"not valid; they are not present in the original template and can therefore not be "
                            f"provided at deployment time. The only supported parameters for this template are "
                            f"'{', '.join(declared)}'.")
    echo = {}
    for name, decl in declared.items():
        ptype = str(decl.get("type", "")).lower()
        if ptype not in _PARAM_TYPES:
            raise TemplateError(f"The template parameter '{name}' has an invalid type '{decl.get('type')}'.",
                                target=name)
        given = next((v for k, v in supplied.items() if k.lower() == name.lower()), None)
        if given is not None:
            if not isinstance(given, dict) or ("value" not in given and "reference" not in given):
                raise TemplateError(f"The value of deployment parameter '{name}' is null or not an object with "
                                    f"a 'value' property.", target=name)
            if "reference" in given:
                raise TemplateError(f"Key Vault parameter references ('{name}') are not supported by the ARM "
                                    f"test double.", target=name)
            value = given["value"]
        elif "defaultValue" in decl:
            value = ev.evaluate(decl["defaultValue"], default_context=True)
        else:
            raise TemplateError(f"Deployment template validation failed: 'The value for the template parameter "
                                f"'{name}' at line '1' and column '1' is not provided. Please see "
                                f"https://aka.ms/arm-create-parameter-file for usage details.'.", target=name)
        _check_type(name, ptype, value)
        if "allowedValues" in decl and value not in decl["allowedValues"]:
            raise TemplateError(f"Deployment template validation failed: 'The provided value '{value}' for the "
                                f"template parameter '{name}' is not valid. The parameter value is not part of "
                                f"the allowed value(s): '{','.join(map(_to_string, decl['allowedValues']))}'.'.",
                                target=name)
        if ptype == "int":
            if "minValue" in decl and value < decl["minValue"] or "maxValue" in decl and value > decl["maxValue"]:
                raise TemplateError(f"Deployment template validation failed: 'The provided value '{value}' for "
                                    f"the template parameter '{name}' is out of the allowed range.'.", target=name)
        if isinstance(value, (str, list)):
            if "minLength" in decl and len(value) < decl["minLength"] or \
                    "maxLength" in decl and len(value) > decl["maxLength"]:
                raise TemplateError(f"Deployment template validation failed: 'The provided value for the template "
                                    f"parameter '{name}' has an invalid length.'.", target=name)
        ev.parameters[name] = value
        secure = ptype.startswith("secure")
        echo[name] = {"type": _ECHO_TYPE_NAMES[ptype]}
        if not secure:
            echo[name]["value"] = value
    return echo


def check_template_shape(template) -> None:
    if not isinstance(template, dict):
        raise TemplateError("The request content was invalid: the template must be a JSON object.",
                            code="InvalidRequestContent")
    for key in ("$schema", "contentVersion", "resources"):
        if key not in template:
            raise TemplateError(f"The template is missing the required property '{key}'.")
    allowed = {"$schema", "contentVersion", "apiProfile", "parameters", "variables", "functions", "resources",
               "outputs", "metadata", "languageVersion", "definitions", "imports"}
    extra = set(template) - allowed
    if extra:
        raise TemplateError(f"The template has unknown top-level properties: {', '.join(sorted(extra))}.")
    if template.get("functions"):
        raise TemplateError("User-defined template functions are not supported by the ARM test double.")


class PlannedResource:
    """One resource a template asks for, evaluated: its id and the body ARM would hold."""

    def __init__(self, rid: str, body: dict, symbolic: str | None, depends_on: list, raw: dict,
                 unresolved: bool = False, parent: dict | None = None):
        self.id = rid
        self.body = body
        self.symbolic = symbolic
        self.depends_on = depends_on
        self.raw = raw
        # True when what-if could not evaluate the resource's identity or condition (a runtime value): its id is
        # then the unevaluated text, and resolve_identity() computes the real one at deployment.
        self.unresolved = unresolved
        self.parent = parent
        self.copy_index: dict = {}


def template_resources(template: dict) -> list:
    """[(symbolic name or None, resource json)] for array and languageVersion 2.0 object forms."""
    res = template.get("resources", [])
    if isinstance(res, dict):
        return list(res.items())
    if not isinstance(res, list):
        raise TemplateError("The template 'resources' must be an array or an object.")
    return [(None, r) for r in res]


def resource_identity(ev: Evaluator, res: dict, parent: dict | None = None) -> tuple:
    """(full type, full name, resource id) of an evaluated resource declaration."""
    rtype = ev.evaluate(res.get("type"))
    name = ev.evaluate(res.get("name"))
    if not isinstance(rtype, str) or not isinstance(name, str):
        raise TemplateError("A template resource needs a string 'type' and 'name'.")
    if parent is not None and "/" not in rtype.split(".", 1)[-1].split("/", 1)[0] and not rtype.count("/"):
        rtype = f"{parent['type']}/{rtype}"
        name = f"{parent['name']}/{name}"
    if "/" not in rtype:
        raise TemplateError(f"The resource type '{rtype}' is not valid: expected 'Namespace/type'.")
    names = split_name(name)
    scope_value = ev.evaluate(res["scope"]) if "scope" in res else None
    if scope_value:
        base = scope_value if scope_value.startswith("/") else f"{ev.scope.scope_id}/providers/{scope_value}"
        rid = resource_id_from(base, rtype, names)
    elif rtype.lower() == "microsoft.resources/resourcegroups":
        rid = f"/subscriptions/{ev.scope.subscription_id}/resourceGroups/{name}"
    elif rtype.lower() == "microsoft.resources/deployments" and res.get("resourceGroup"):
        target = ev.evaluate(res["resourceGroup"])
        rid = resource_id_from(f"/subscriptions/{ev.scope.subscription_id}/resourceGroups/{target}", rtype, names)
    else:
        rid = resource_id_from(ev.scope.scope_id, rtype, names)
    return rtype, name, rid


def evaluate_body(ev: Evaluator, res: dict, rtype: str, name: str, rid: str, keep_unknowns: bool) -> dict:
    """The body ARM would hold for a resource declaration (meta keys dropped, nested templates left raw)."""
    evaluate = ev.evaluate_keeping_unknowns if keep_unknowns else ev.evaluate
    body = {}
    nested = rtype.lower() == "microsoft.resources/deployments"
    for key, value in res.items():
        if key in _RESOURCE_META_KEYS:
            continue
        if nested and key == "properties" and isinstance(value, dict):
            # A nested template is evaluated in its own (inner) scope, not here.
            body[key] = {k: (v if k == "template" else evaluate(v)) for k, v in value.items()}
            continue
        body[key] = evaluate(value)
    body["type"], body["name"], body["id"] = rtype, name, rid
    return body


def reevaluate(ev: Evaluator, planned: "PlannedResource") -> dict:
    """A planned resource's body evaluated now (at deployment, once what it references exists)."""
    saved = dict(ev.copy_index)
    ev.copy_index.clear()
    ev.copy_index.update(planned.copy_index)
    try:
        return evaluate_body(ev, planned.raw, planned.body["type"], planned.body["name"], planned.id, False)
    finally:
        ev.copy_index.clear()
        ev.copy_index.update(saved)


def unresolved_resource(ev: Evaluator, sym, res: dict, parent, depends: list) -> PlannedResource:
    """A resource whose identity or condition needs a runtime value (what-if): its id is the unevaluated text."""
    rtype = ev.evaluate_keeping_unknowns(res.get("type"))
    name = res.get("name") if not parent else f"{parent['name']}/{res.get('name')}"
    rid = f"{ev.scope.scope_id}/providers/{rtype}/{name}"
    planned = PlannedResource(rid, {"type": rtype, "name": name, "id": rid}, sym, depends, res, unresolved=True,
                              parent=parent)
    planned.copy_index = dict(ev.copy_index)
    if sym:
        ev.symbols[sym] = rid
    return planned


def resolve_identity(ev: Evaluator, planned: PlannedResource) -> bool:
    """At deployment, the identity of a resource what-if could not name; False when its condition is false."""
    saved = dict(ev.copy_index)
    ev.copy_index.clear()
    ev.copy_index.update(planned.copy_index)
    try:
        if "condition" in planned.raw and not ev.evaluate(planned.raw["condition"]):
            return False
        rtype, name, rid = resource_identity(ev, planned.raw, planned.parent)
    finally:
        ev.copy_index.clear()
        ev.copy_index.update(saved)
    planned.id, planned.body, planned.unresolved = rid, {"type": rtype, "name": name, "id": rid}, False
    if planned.symbolic:
        ev.symbols[planned.symbolic] = rid
    return True


def expand_resources(ev: Evaluator, template: dict, keep_unknowns: bool) -> list:
    """The template's resources as PlannedResources (conditions applied, copy loops expanded)."""
    out = []

    def add(sym, res, parent=None):
        if not isinstance(res, dict):
            raise TemplateError("Each template resource must be an object.")
        if res.get("existing"):
            rtype, name, rid = resource_identity(ev, res, parent)
            if sym:
                ev.symbols[sym] = rid
            return
        loops = [res["copy"]] if "copy" in res else [None]
        loop = loops[0]
        count = ev.evaluate(loop["count"]) if loop else 1
        if loop and not isinstance(count, int):
            raise TemplateError(f"The copy count of '{loop.get('name')}' must be an integer.")
        for i in range(count):
            if loop:
                ev.copy_index[loop["name"]] = i
            try:
                depends = []
                try:
                    if "condition" in res and not ev.evaluate(res["condition"]):
                        continue
                    depends = [ev.evaluate_keeping_unknowns(d) if keep_unknowns else ev.evaluate(d)
                               for d in res.get("dependsOn", [])]
                    rtype, name, rid = resource_identity(ev, res, parent)
                except Unresolvable:
                    if not keep_unknowns:
                        raise
                    planned = unresolved_resource(ev, sym, res, parent, depends)
                    out.append(planned)
                    continue
                if sym:
                    ev.symbols[sym] = rid
                body = evaluate_body(ev, res, rtype, name, rid, keep_unknowns)
                planned = PlannedResource(rid, body, sym, depends, res, parent=parent)
                planned.copy_index = dict(ev.copy_index)
                out.append(planned)
                for child in res.get("resources", []) or []:
                    add(None, child, {"type": rtype, "name": name})
            finally:
                if loop:
                    ev.copy_index.pop(loop["name"], None)

    for sym, res in template_resources(template):
        add(sym, res)
    return out


def order_by_dependencies(planned: list, symbols: dict) -> list:
    """Topological order by dependsOn (ids, symbolic names or 'type/name' short forms)."""
    by_id = {p.id.lower(): p for p in planned}

    def resolve(dep: str):
        if dep in symbols:
            return symbols[dep].lower()
        if dep.lower() in by_id:
            return dep.lower()
        matches = [k for k in by_id if k.endswith(dep.lower()) or k.endswith("/" + dep.lower().split("/")[-1])
                   and dep.lower().split("/")[0] in k]
        return matches[0] if matches else None

    ordered, state = [], {}

    def visit(p, chain):
        key = p.id.lower()
        if state.get(key) == "done":
            return
        if state.get(key) == "visiting":
            raise TemplateError(f"Deployment template validation failed: 'Circular dependency detected on "
                                f"resource: '{p.id}'.'.")
        state[key] = "visiting"
        for dep in p.depends_on:
            target = resolve(dep) if isinstance(dep, str) else None
            if target and target in by_id:
                visit(by_id[target], chain + [key])
        state[key] = "done"
        ordered.append(p)

    for p in planned:
        visit(p, [])
    return ordered


def evaluate_outputs(ev: Evaluator, template: dict) -> dict:
    outputs = {}
    for name, decl in (template.get("outputs") or {}).items():
        if "condition" in decl and not ev.evaluate(decl["condition"]):
            continue
        if "copy" in decl:
            loop = decl["copy"]
            values = []
            for i in range(ev.evaluate(loop["count"])):
                ev.copy_index["__output"] = i
                values.append(ev.evaluate(loop["input"]))
            ev.copy_index.pop("__output", None)
            value = values
        else:
            value = ev.evaluate(decl.get("value"))
        ptype = str(decl.get("type", "")).lower()
        if ptype not in _PARAM_TYPES:
            raise TemplateError(f"The template output '{name}' has an invalid type '{decl.get('type')}'.")
        _check_type(name, ptype, value)
        outputs[name] = {"type": _ECHO_TYPE_NAMES[ptype], "value": value}
    return outputs


def template_hash(template: dict) -> str:
    return str(int(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:15], 16))
