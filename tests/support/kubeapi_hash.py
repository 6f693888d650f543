"""The ``pod-template-hash`` of kube-controller-manager, as the emulator's controllers name what they make.

The Deployment controller names a ReplicaSet ``<deployment>-<hash>`` and the DaemonSet controller a
ControllerRevision ``<daemonset>-<hash>`` (conformance cases 031, 032, 040: ``web-c8bb5747c``; 041:
``agent-75f8b5cdcb``). The hash is ``controller.ComputeHash`` (kubernetes pkg/controller/controller_utils.go):
FNV-32a over the pod template printed by go-spew with ``%#v`` (``hashutil.DeepHashObject``: SortKeys,
DisableMethods), its decimal value spelled with ``rand.SafeEncodeString``'s alphabet. What spew prints is the
Go value, so the template is first defaulted as the API server stores it, and then printed field by field in
the order of the Go structs of k8s.io/api v0.36.2 (``core/v1/types.go``) and k8s.io/apimachinery v0.36.2
(``pkg/apis/meta/v1/types.go``), listed below for the structs a plain template reaches. A template that
sets a field of a struct not listed here (volumes, probes, quantities, affinity …) gets a hash of its JSON
instead: a stable name, but not the one a real cluster would give.
"""

from __future__ import annotations

import copy
import json
from typing import Any

Obj = dict[str, Any]

# "Go type: field:type[=json name] …"; a json name defaults to the field name with its first letter lowered.
_LAYOUTS = """
v1.PodTemplateSpec: ObjectMeta:v1.ObjectMeta=metadata Spec:v1.PodSpec
v1.ObjectMeta: Name:string GenerateName:string Namespace:string SelfLink:string UID:types.UID=uid
 ResourceVersion:string Generation:int64 CreationTimestamp:v1.Time DeletionTimestamp:*v1.Time
 DeletionGracePeriodSeconds:*int64 Labels:map[string]string Annotations:map[string]string
 OwnerReferences:[]v1.OwnerReference Finalizers:[]string ManagedFields:[]v1.ManagedFieldsEntry
v1.Time: Time:time.Time=-
time.Time: wall:uint64=- ext:int64=- loc:*time.Location=-
v1.PodSpec: Volumes:[]v1.Volume InitContainers:[]v1.Container Containers:[]v1.Container
 EphemeralContainers:[]v1.EphemeralContainer RestartPolicy:v1.RestartPolicy
 TerminationGracePeriodSeconds:*int64 ActiveDeadlineSeconds:*int64 DNSPolicy:v1.DNSPolicy=dnsPolicy
 NodeSelector:map[string]string
 ServiceAccountName:string DeprecatedServiceAccount:string=serviceAccount AutomountServiceAccountToken:*bool
 NodeName:string HostNetwork:bool HostPID:bool HostIPC:bool ShareProcessNamespace:*bool
 SecurityContext:*v1.PodSecurityContext ImagePullSecrets:[]v1.LocalObjectReference Hostname:string
 Subdomain:string Affinity:*v1.Affinity SchedulerName:string Tolerations:[]v1.Toleration
 HostAliases:[]v1.HostAlias PriorityClassName:string Priority:*int32 DNSConfig:*v1.PodDNSConfig=dnsConfig
 ReadinessGates:[]v1.PodReadinessGate RuntimeClassName:*string EnableServiceLinks:*bool
 PreemptionPolicy:*v1.PreemptionPolicy Overhead:v1.ResourceList
 TopologySpreadConstraints:[]v1.TopologySpreadConstraint SetHostnameAsFQDN:*bool OS:*v1.PodOS=os
 HostUsers:*bool SchedulingGates:[]v1.PodSchedulingGate ResourceClaims:[]v1.PodResourceClaim
 Resources:*v1.ResourceRequirements HostnameOverride:*string SchedulingGroup:*v1.PodSchedulingGroup
v1.Container: Name:string Image:string Command:[]string Args:[]string WorkingDir:string
 Ports:[]v1.ContainerPort EnvFrom:[]v1.EnvFromSource Env:[]v1.EnvVar Resources:v1.ResourceRequirements
 ResizePolicy:[]v1.ContainerResizePolicy RestartPolicy:*v1.ContainerRestartPolicy
 RestartPolicyRules:[]v1.ContainerRestartRule VolumeMounts:[]v1.VolumeMount VolumeDevices:[]v1.VolumeDevice
 LivenessProbe:*v1.Probe ReadinessProbe:*v1.Probe StartupProbe:*v1.Probe Lifecycle:*v1.Lifecycle
 TerminationMessagePath:string TerminationMessagePolicy:v1.TerminationMessagePolicy
 ImagePullPolicy:v1.PullPolicy SecurityContext:*v1.SecurityContext Stdin:bool StdinOnce:bool TTY:bool=tty
v1.ResourceRequirements: Limits:v1.ResourceList Requests:v1.ResourceList Claims:[]v1.ResourceClaim
v1.PodSecurityContext: SELinuxOptions:*v1.SELinuxOptions=seLinuxOptions
 WindowsOptions:*v1.WindowsSecurityContextOptions RunAsUser:*int64 RunAsGroup:*int64 RunAsNonRoot:*bool
 SupplementalGroups:[]int64 SupplementalGroupsPolicy:*v1.SupplementalGroupsPolicy FSGroup:*int64=fsGroup
 Sysctls:[]v1.Sysctl FSGroupChangePolicy:*v1.PodFSGroupChangePolicy=fsGroupChangePolicy
 SeccompProfile:*v1.SeccompProfile AppArmorProfile:*v1.AppArmorProfile
 SELinuxChangePolicy:*v1.PodSELinuxChangePolicy=seLinuxChangePolicy
v1.ContainerPort: Name:string HostPort:int32 ContainerPort:int32 Protocol:v1.Protocol HostIP:string
v1.EnvVar: Name:string Value:string ValueFrom:*v1.EnvVarSource
v1.VolumeMount: Name:string ReadOnly:bool RecursiveReadOnly:*v1.RecursiveReadOnlyMode MountPath:string
 SubPath:string MountPropagation:*v1.MountPropagationMode SubPathExpr:string
v1.Toleration: Key:string Operator:v1.TolerationOperator Value:string Effect:v1.TaintEffect
 TolerationSeconds:*int64
v1.LocalObjectReference: Name:string
"""
# Named Go types and what they are underneath (core/v1/types.go, apimachinery pkg/types).
_NAMED = {
    "types.UID": "string", "v1.RestartPolicy": "string", "v1.DNSPolicy": "string", "v1.PullPolicy": "string",
    "v1.TerminationMessagePolicy": "string", "v1.Protocol": "string", "v1.TolerationOperator": "string",
    "v1.TaintEffect": "string", "v1.PreemptionPolicy": "string", "v1.MountPropagationMode": "string",
    "v1.RecursiveReadOnlyMode": "string", "v1.ResourceList": "map[v1.ResourceName]resource.Quantity",
}  # fmt: skip
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3


def _layouts(text: str) -> dict[str, list[tuple[str, str, str]]]:
    layouts: dict[str, list[tuple[str, str, str]]] = {}
    for entry in text.replace("\n ", " ").strip().splitlines():
        name, _, fields = entry.partition(": ")
        layouts[name] = []
        for spec in fields.split():
            field, _, rest = spec.partition(":")
            gotype, _, tag = rest.partition("=")
            layouts[name].append((field, gotype, tag or field[0].lower() + field[1:]))
    return layouts


STRUCTS = _layouts(_LAYOUTS)


class Unlisted(Exception):
    """The template sets a field of a Go struct whose layout is not listed here."""


def spew(value: Any, gotype: str, type_shown: bool = True) -> str:
    """What go-spew's ``%#v`` prints for ``value`` (decoded JSON) held in a Go value of ``gotype``
    (go-spew format.go: types in parentheses, except for slice/map elements and behind pointers; nil as
    ``<nil>``; struct fields as ``Name:value`` separated by spaces; map keys sorted)."""
    if gotype.startswith("*"):
        if value is None:
            return f"({gotype})<nil>" if type_shown else "<nil>"
        return (f"({gotype})" if type_shown else "<*>") + spew(value, gotype[1:], type_shown=False)
    shown = f"({gotype})" if type_shown else ""
    base = _NAMED.get(gotype, gotype)
    if base.startswith("[]"):
        if not value:  # an empty list does not survive the API server's storage: nil
            return shown + "<nil>"
        return shown + "[" + " ".join(spew(item, base[2:], type_shown=False) for item in value) + "]"
    if base.startswith("map["):
        if not value:
            return shown + "<nil>"
        key_type, _, value_type = base[4:].partition("]")
        items = (f"{spew(k, key_type, False)}:{spew(value[k], value_type, False)}" for k in sorted(value))
        return shown + "map[" + " ".join(items) + "]"
    if base in ("string", "v1.ResourceName"):
        return shown + str(value or "")
    if base == "bool":
        return shown + ("true" if value else "false")
    if base in ("int32", "int64", "uint64"):
        return shown + str(int(value or 0))
    if base in STRUCTS:
        value = value or {}
        fields = (
            f"{name}:{spew(None if tag == '-' else value.get(tag), ftype)}"
            for name, ftype, tag in STRUCTS[base]
        )
        return shown + "{" + " ".join(fields) + "}"
    raise Unlisted(gotype)


def template_defaults(template: Obj) -> Obj:
    """A pod template as the API server stores it (``SetDefaults_PodSpec``/``_Container``; what cases 040
    and 041 show in the stored Deployment and DaemonSet)."""
    out = copy.deepcopy(template)
    spec = out.setdefault("spec", {})
    for key, value in (("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30),
                       ("dnsPolicy", "ClusterFirst"), ("securityContext", {}),
                       ("schedulerName", "default-scheduler")):  # fmt: skip
        spec.setdefault(key, value)
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        image = str(container.get("image", ""))
        latest = ":" not in image.rpartition("/")[2] or image.endswith(":latest")
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")
    return out


def template_hash(template: Obj, collisions: int | None = None) -> str:
    """``controller.ComputeHash`` of a (not yet defaulted) pod template; a collision count is hashed as 8
    bytes, its uint32 little-endian first."""
    defaulted = template_defaults(template)
    try:
        printed = spew(defaulted, "v1.PodTemplateSpec")
    except Unlisted:
        printed = json.dumps(defaulted, sort_keys=True)
    value = 0x811C9DC5
    probe = b"" if collisions is None else collisions.to_bytes(4, "little") + bytes(4)
    for byte in printed.encode() + probe:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in str(value))
