"""The API server's rules the emulator (``kubeapi.py``) applies to what it is sent: selector grammar, name and
field validation, immutable fields, defaults filled in at admission. Each rule names the conformance case
(``/work/shared/kube-conformance``, recorded from a real kube-apiserver v1.36) it reproduces."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from typing import Any

Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def invalid(kind: str, group: str, name: str, problems: list[tuple[str, str, str]]) -> ApiError:
    """422 Invalid as the real server words it: ``Kind.group "name" is invalid: field: message`` with one
    cause per problem (``problems``: field, cause reason, message)."""
    shown = f"{kind}.{group}" if group else kind
    texts = [f"{f}: {m}" for f, _, m in problems]
    detail = texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"
    details: Obj = {"name": name, "kind": kind, "causes": [
        {"reason": r, "message": m, "field": f} for f, r, m in problems
    ]}  # fmt: skip
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", f'{shown} "{name}" is invalid: {detail}', details)


# -- label and field selectors (cases 035, 036) ------------------------------------------------------------

_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|[^\s=!(),]+)")
_OPERATORS = "in, notin, =, ==, !=, gt, lt"
Requirement = tuple[str, str, list[str]]


def parse_label_selector(text: str) -> list[Requirement]:
    """The label selector grammar (``=``, ``==``, ``!=``, ``in``, ``notin``, ``key``, ``!key``, AND by ``,``);
    a syntax error is a 400 worded as the real parser words it (case 035)."""
    tokens = [m[1] for m in _TOKEN.finditer(text) if m[1]]
    requirements: list[Requirement] = []
    at = 0

    def take() -> str | None:
        nonlocal at
        at += 1
        return tokens[at - 1] if at <= len(tokens) else None

    def bad(message: str) -> ApiError:
        return ApiError(400, "BadRequest", message)

    while at < len(tokens):
        first = take()
        if first == "!":
            requirements.append((take() or "", "!", []))
        else:
            key, peek = first or "", tokens[at] if at < len(tokens) else None
            if peek is None or peek == ",":
                requirements.append((key, "exists", []))
            elif peek in ("=", "==", "!="):
                take()
                value = tokens[at] if at < len(tokens) and tokens[at] != "," else ""
                if value:
                    take()
                requirements.append((key, "!=" if peek == "!=" else "=", [value]))
            elif peek in ("in", "notin"):
                take()
                opened = take()
                if opened != "(":
                    raise bad(f"unable to parse requirement: found '{opened}' expected: '('")
                values = []
                while (token := take()) not in (")", None):
                    if token != ",":
                        values.append(token)
                requirements.append((key, peek, values))
            else:
                raise bad(f"unable to parse requirement: found '{peek}', expected: {_OPERATORS}")
        after = take()
        if after not in (",", None):
            raise bad(f"found '{after}', expected: ',' or 'end of string'")
    return requirements


def labels_match(requirements: list[Requirement], labels: dict[str, str]) -> bool:
    for key, op, values in requirements:
        have = labels.get(key)
        if (
            (op == "=" and have != values[0])
            or (op == "!=" and have == values[0])
            or (op == "in" and have not in values)
            or (op == "notin" and have in values)
            or (op == "exists" and have is None)
            or (op == "!" and have is not None)
        ):
            return False
    return True


# The fields each kind can be selected by besides metadata.name/namespace (the registries' field sets).
FIELD_SELECTABLE = {
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
    "Event": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
              "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
              "reason", "reportingComponent", "source", "type",
              "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid"),
    "Node": ("spec.unschedulable",),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Job": ("status.successful",),
    "ReplicaSet": ("status.replicas",),
}  # fmt: skip


def parse_field_selector(text: str, kind: str) -> list[tuple[str, bool, str]]:
    """``path=value`` / ``path!=value`` terms; a field the kind cannot be selected by is a 400 (case 036)."""
    terms = []
    allowed = ("metadata.name", "metadata.namespace", *FIELD_SELECTABLE.get(kind, ()))
    for term in filter(None, (t.strip() for t in text.split(","))):
        match = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", term)
        if not match:
            raise ApiError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{term}'")
        path, op, value = match[1].strip(), match[2], match[3].strip()
        if path not in allowed:
            only = ", ".join(f'"{a}"' for a in allowed)
            raise ApiError(400, "BadRequest", f'"{path}" is not a known field selector: only {only}')
        terms.append((path, op == "!=", value))
    return terms


def fields_match(terms: list[tuple[str, bool, str]], obj: Obj) -> bool:
    for path, negated, value in terms:
        node: Any = obj
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        text = "" if node is None else (str(node).lower() if isinstance(node, bool) else str(node))
        if (text == value) == negated:
            return False
    return True


def continue_token(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def continue_key(token: str) -> tuple[str, str]:
    """The position a continue token stands for; anything else is 400 (case 036)."""
    try:
        namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(namespace), str(name)
    except (ValueError, TypeError):
        raise ApiError(400, "BadRequest", "invalid continue token: continue key is not valid") from None


# -- names (case 047) --------------------------------------------------------------------------------------

PATH_SEGMENT_NAMES = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Event"}
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def check_name(kind: str, group: str, meta: Obj) -> None:
    name = meta.get("name") or ""
    if not name:
        raise invalid(kind, group, "", [("metadata.name", "FieldValueRequired",
                                         "Required value: name or generateName is required")])  # fmt: skip
    if kind in PATH_SEGMENT_NAMES:  # any path segment: "system:cloud-controller-manager" is a ClusterRole
        if name in (".", "..") or "/" in name or "%" in name:
            message = f'Invalid value: "{name}": may not contain \'/\' or \'%\', nor be "." or ".."'
            raise invalid(kind, group, name, [("metadata.name", "FieldValueInvalid", message)])
        return
    if len(name) > 253 or not SUBDOMAIN.fullmatch(name):
        message = (
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        )
        raise invalid(kind, group, name, [("metadata.name", "FieldValueInvalid", message)])


# -- defaults filled in at create (cases 007, 019, 028) ----------------------------------------------------

SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")


def service_defaults(service: Obj, allocate: int) -> None:
    """What the real server fills into a Service: type, session affinity, IP family, a cluster IP from
    ``--service-cluster-ip-range`` (case 007), each port's protocol and targetPort."""
    spec = service.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = str(SERVICE_RANGE[allocate])
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def check_cluster_ip(service: Obj) -> None:
    """A cluster IP outside the service range cannot be allocated (case 018)."""
    ip = (service.get("spec") or {}).get("clusterIP")
    if not ip or ip == "None":
        return
    try:
        inside = ipaddress.ip_address(ip) in SERVICE_RANGE
    except ValueError:
        inside = False
    if not inside:
        name = service["metadata"]["name"]
        message = (
            f'Invalid value: ["{ip}"]: failed to allocate IP {ip}: '
            "the provided network does not match the current range"
        )
        raise invalid("Service", "", name, [("spec.clusterIPs", "FieldValueInvalid", message)])


def job_defaults(job: Obj, uid: str) -> None:
    """Job defaults and the controller-uid selector and labels (case 028)."""
    spec = job.setdefault("spec", {})
    for key, value in (("parallelism", 1), ("completions", 1), ("backoffLimit", 6),
                       ("completionMode", "NonIndexed"), ("suspend", False), ("manualSelector", False),
                       ("podReplacementPolicy", "TerminatingOrFailed")):  # fmt: skip
        spec.setdefault(key, value)
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": job["metadata"]["name"],
        "controller-uid": uid,
        "job-name": job["metadata"]["name"],
    }
    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}


# -- validation of what is sent (cases 008, 020, 026, 028, 039, 045) --------------------------------------


def validate(kind: str, group: str, obj: Obj) -> None:
    name = obj["metadata"].get("name", "")
    problems: list[tuple[str, str, str]] = []
    if kind == "ClusterRoleBinding":
        for index, subject in enumerate(obj.get("subjects") or []):
            if subject.get("kind") == "ServiceAccount" and not subject.get("namespace"):
                problems.append((f"subjects[{index}].namespace", "FieldValueRequired", "Required value"))
    if kind == "Deployment":
        spec = obj.get("spec") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        wanted = (spec.get("selector") or {}).get("matchLabels") or {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            shown = json.dumps(labels, separators=(",", ":"))
            message = f"Invalid value: {shown}: `selector` does not match template `labels`"
            problems.append(("spec.template.metadata.labels", "FieldValueInvalid", message))
    if kind == "Job":
        spec = obj.get("spec") or {}
        ttl = spec.get("ttlSecondsAfterFinished")
        if isinstance(ttl, int) and ttl < 0:
            problems.append(("spec.ttlSecondsAfterFinished", "FieldValueInvalid",
                             f"Invalid value: {ttl}: must be greater than or equal to 0"))  # fmt: skip
        restart = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
        if restart not in ("OnFailure", "Never"):
            problems.append(("spec.template.spec.restartPolicy", "FieldValueRequired",
                             'Required value: valid values: "OnFailure", "Never"'))  # fmt: skip
    if kind == "Event":
        involved = (obj.get("involvedObject") or {}).get("namespace")
        if involved and involved != obj["metadata"].get("namespace"):
            problems.append(("involvedObject.namespace", "FieldValueInvalid",
                             f'Invalid value: "{involved}": does not match event.namespace'))  # fmt: skip
    if kind == "CustomResourceDefinition":
        problems += _crd_problems(obj)
    if problems:
        raise invalid(kind, group, name, problems)


def _crd_problems(crd: Obj) -> list[tuple[str, str, str]]:
    spec, name = crd.get("spec") or {}, crd["metadata"].get("name", "")
    problems = []
    expected = f"{(spec.get('names') or {}).get('plural')}.{spec.get('group')}"
    if name != expected:
        problems.append(("metadata.name", "FieldValueInvalid",
                         f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))  # fmt: skip
    for index, version in enumerate(spec.get("versions") or []):
        if not (version.get("schema") or {}).get("openAPIV3Schema"):
            problems.append(
                (f"spec.versions[{index}].schema.openAPIV3Schema", "FieldValueRequired", "Required value")
            )
    return problems


MICRO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def check_micro_times(kind: str, obj: Obj) -> None:
    """A Lease's MicroTime fields take exactly six fractional digits; anything else cannot be decoded (400,
    case 039)."""
    if kind != "Lease":
        return
    for key in ("acquireTime", "renewTime"):
        value = (obj.get("spec") or {}).get(key)
        if value is not None and not (isinstance(value, str) and MICRO_TIME.fullmatch(value)):
            raise ApiError(
                400,
                "BadRequest",
                f'Lease in version "v1" cannot be handled as a Lease: parsing time "{value}" as '
                '"2006-01-02T15:04:05.000000Z07:00"',
            )


# -- immutable fields (cases 016-021) ----------------------------------------------------------------------

IMMUTABLE = {
    "Job": (("spec", "template"), ("spec", "completions"), ("spec", "selector")),
    "StorageClass": (("parameters",), ("reclaimPolicy",), ("provisioner",), ("volumeBindingMode",)),
    "Deployment": (("spec", "selector"),),
    "ClusterRoleBinding": (("roleRef",),),
    "RoleBinding": (("roleRef",),),
}
DEFAULTS = {("StorageClass", "reclaimPolicy"): "Delete", ("StorageClass", "volumeBindingMode"): "Immediate"}
RBAC = "rbac.authorization.k8s.io"
GROUPS = {"Job": "batch", "StorageClass": "storage.k8s.io", "Deployment": "apps",
          "ClusterRoleBinding": RBAC, "RoleBinding": RBAC}  # fmt: skip


def refuse_immutable_change(kind: str, name: str, old: Obj, new: Obj) -> None:
    """422 as the real API server answers a change to an immutable field."""
    problems = []
    for path in IMMUTABLE.get(kind, ()):
        before, after = _at(old, path), _at(new, path)
        default = DEFAULTS.get((kind, path[-1]))
        if kind == "Job" and path == ("spec", "selector") and after is None:
            continue  # the server fills a Job's selector in
        if (before if before is not None else default) != (after if after is not None else default):
            shown = json.dumps(after, separators=(",", ":"))
            why = "cannot change roleRef" if path == ("roleRef",) else "field is immutable"
            problems.append((".".join(path), "FieldValueInvalid", f"Invalid value: {shown}: {why}"))
    problems += _service_ip_change(kind, old, new)
    problems += _claim_change(kind, old, new)
    problems += _frozen_data_change(kind, old, new)
    if problems:
        raise invalid(kind, GROUPS.get(kind, ""), name, problems)


def _service_ip_change(kind: str, old: Obj, new: Obj) -> list[tuple[str, str, str]]:
    if kind != "Service":
        return []
    before, after = _at(old, ("spec", "clusterIP")), _at(new, ("spec", "clusterIP"))
    if before and after and before != after:
        return [
            (
                "spec.clusterIPs[0]",
                "FieldValueInvalid",
                f'Invalid value: ["{after}"]: may not change once set',
            )
        ]
    return []


def _claim_change(kind: str, old: Obj, new: Obj) -> list[tuple[str, str, str]]:
    """A claim's spec is immutable after creation, but for a bound claim's requests (case 019)."""
    if kind != "PersistentVolumeClaim":
        return []
    before, after = dict(old.get("spec") or {}), dict(new.get("spec") or {})
    if (old.get("status") or {}).get("phase") == "Bound":
        for spec in (before, after):
            spec["resources"] = {k: v for k, v in (spec.get("resources") or {}).items() if k != "requests"}
    after = {**after, **{k: v for k, v in before.items() if k in ("storageClassName", "volumeMode")
                         and k not in after}}  # fmt: skip
    if before == after:
        return []
    message = ("Forbidden: spec is immutable after creation except resources.requests and "
               "volumeAttributesClassName for bound claims")  # fmt: skip
    return [("spec", "FieldValueForbidden", message)]


def _frozen_data_change(kind: str, old: Obj, new: Obj) -> list[tuple[str, str, str]]:
    """A ConfigMap or Secret with ``immutable: true`` keeps its data and stays immutable (case 021)."""
    if kind not in ("ConfigMap", "Secret") or old.get("immutable") is not True:
        return []
    message = "Forbidden: field is immutable when `immutable` is set"
    problems = [(key, "FieldValueForbidden", message) for key in ("data", "binaryData")
                if old.get(key) != new.get(key)]  # fmt: skip
    if new.get("immutable") is not True:
        problems.append(("immutable", "FieldValueForbidden", message))
    return problems


def _at(obj: Obj, path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


# -- server-side apply field ownership (case 011) ----------------------------------------------------------

IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}


def leaves(body: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """The fields an apply sets, as paths to their values; list items with a ``name`` are keyed by it (as
    ``containers[name="main"]``), other lists are one value."""
    out: dict[tuple[str, ...], Any] = {}
    if isinstance(body, dict) and body:
        for key, value in body.items():
            out.update(leaves(value, (*prefix, f".{key}")))
    elif isinstance(body, list) and body and all(isinstance(i, dict) and "name" in i for i in body):
        for item in body:
            key = f'[name="{item["name"]}"]'
            out.update(leaves({k: v for k, v in item.items() if k != "name"}, (*prefix, key)))
    else:
        out[prefix] = body
    return {path: value for path, value in out.items() if tuple(p.lstrip(".") for p in path) not in IDENTITY}


def conflicts(body: Obj, manager: str, others: dict[str, Obj]) -> dict[str, list[str]]:
    """The fields of ``body`` another manager applied with a different value, by manager."""
    mine = leaves(body)
    found: dict[str, list[str]] = {}
    for other, applied in others.items():
        if other == manager:
            continue
        theirs = leaves(applied)
        for path, value in mine.items():
            if path in theirs and theirs[path] != value:
                found.setdefault(other, []).append("".join(path))
    return found


def conflict_error(found: dict[str, list[str]]) -> ApiError:
    """409 as the real server words an apply conflict (case 011): no details.name/kind, one cause a field."""
    causes = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{manager}"', "field": field}
        for manager, fields in found.items()
        for field in sorted(fields)
    ]
    count = len(causes)
    if count == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        lines = "".join(f"\n- {c['field']}" for c in causes)
        managers = ", ".join(f'"{m}"' for m in found)
        message = f"Apply failed with {count} conflicts: conflicts with {managers}:{lines}"
    return ApiError(409, "Conflict", message, {"causes": causes})


def drop_paths(applied: Obj, paths: set[tuple[str, ...]]) -> Obj:
    """What a manager still applies after a forced apply took ``paths`` from it."""
    kept = {path: value for path, value in leaves(applied).items() if path not in paths}
    out: Obj = {k: applied[k] for k in ("apiVersion", "kind") if k in applied}
    out["metadata"] = {k: v for k, v in (applied.get("metadata") or {}).items() if k in ("name", "namespace")}
    for path, value in kept.items():
        _put(out, path, value)
    return out


def _put(obj: Obj, path: tuple[str, ...], value: Any) -> None:
    node: Any = obj
    for index, part in enumerate(path):
        last = index == len(path) - 1
        if part.startswith("["):
            name = json.loads(part[len("[name=") : -1])
            items = node if isinstance(node, list) else []
            item = next((i for i in items if i.get("name") == name), None)
            if item is None:
                item = {"name": name}
                items.append(item)
            node = item
            continue
        key = part.lstrip(".")
        if last:
            node[key] = value
        else:
            nxt = path[index + 1]
            node = node.setdefault(key, [] if nxt.startswith("[") else {})
