"""Stand-in for ``kubeadm`` on the test hosts (the one stand-in TESTING.md allows).

It behaves like kubeadm at its command line: ``init``/``join`` read v1beta4 config files (decoded strictly, as
``kubeadm config validate`` does: an unknown field is an error), refuse to run twice
on a node (kubeadm's preflight), check join tokens, CA hashes and certificate keys against what ``init``
and ``upload-certs`` created, write admin.conf and kubelet.conf, and print what kubeadm prints (tokens
included, so Clouder's redaction is exercised). State shared between the hosts ("the cluster") lives in
the registry folder named by $STANDIN_REGISTRY, which the hosts' private mounts do not hide. Every call is
logged to registry/kubeadm.log; faults are injected per host through registry/faults.json.

Upgrades: ``upgrade plan/apply/node`` behave as kubeadm's do (one minor at a time, never newer than the
kubeadm binary, ``node`` only after ``apply``), and static pod manifests name their image version. The
node's packages (kubeadm, kubelet, kubectl) are kept per host in the registry; ``node-packages`` stands in
for the node helper ``clouder-node-packages`` that cloud-init installs (pkgs.k8s.io is not reachable here).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

REGISTRY = Path(os.environ["STANDIN_REGISTRY"])
ETC = Path("/etc/kubernetes")
HOST = socket.gethostname()
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def log(action: str, outcome: str, **extra: object) -> None:
    entry = {"time": time.time(), "host": HOST, "action": action, "outcome": outcome, **extra}
    with (REGISTRY / "kubeadm.log").open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


@contextlib.contextmanager
def registry():
    with (REGISTRY / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = REGISTRY / "state.json"
        state = (
            json.loads(path.read_text()) if path.exists() else {"cluster": None, "tokens": {}, "nodes": {}}
        )
        yield state
        path.write_text(json.dumps(state))


def settings() -> dict:
    path = REGISTRY / "settings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def fault(command: str, config_text: str = "") -> None:
    path = REGISTRY / "faults.json"
    if not path.exists():
        return
    faults = json.loads(path.read_text())
    kind = faults.get(HOST, {}).get(command)
    if kind is None:
        return
    log(command, f"fault:{kind}")
    if kind == "fail":
        fail(f"error execution phase preflight: [preflight] Some fatal errors occurred:\n"
             f"\t[ERROR StandIn]: {command} fails on demand on {HOST}")  # fmt: skip
    if kind == "fail-verbose":  # as kubeadm does with -v5: the config (secrets included) ends up in the error
        fail(f"{config_text}\nerror execution phase preflight: {command} fails on demand on {HOST}")
    if kind == "slow":
        time.sleep(float(settings().get("slow_s", 30)))
    if kind in ("drop", "drop-once"):
        if kind == "drop-once":
            faults[HOST].pop(command)
            (REGISTRY / f"faults.{HOST}").write_text(json.dumps(faults))
            os.replace(REGISTRY / f"faults.{HOST}", path)  # other hosts' kubeadm may be reading it
        drop_connection()


def drop_connection() -> None:
    """Kill this session's sshd processes (not the listener): the client sees the connection drop."""
    session = []  # found before any is killed: a killed child's parent may exit before /proc is read
    pid = os.getppid()
    while pid > 1:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if cmdline.startswith("sshd") and " -D" not in cmdline:
            session.append(pid)
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
    for pid in session:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(5)
    sys.exit(255)


# The v1beta4 field names (kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go, v1.31 and later; the
# corev1 Taint and EnvVar they embed). kubeadm decodes its configs strictly: a field it does not know fails
# `config validate` with `strict decoding error: unknown field "discovery.timeout"` (the real `join` only
# warns and ignores it, which hides a setting that never took effect; the stand-in refuses it everywhere).
# None marks a leaf: a scalar, a list of scalars or a free-form map. A dict under a list applies to each item.
_ARG = {"name": None, "value": None}
_ENV = {"name": None, "value": None, "valueFrom": None}
_COMPONENT = {
    "extraArgs": _ARG,
    "extraEnvs": _ENV,
    "extraVolumes": {"name": None, "hostPath": None, "mountPath": None, "readOnly": None, "pathType": None},
}
_REGISTRATION = {
    "name": None, "criSocket": None, "kubeletExtraArgs": _ARG, "ignorePreflightErrors": None,
    "taints": {"key": None, "value": None, "effect": None, "timeAdded": None},
    "imagePullPolicy": None, "imagePullSerial": None,
}  # fmt: skip
_ENDPOINT = {"advertiseAddress": None, "bindPort": None}
_TIMEOUTS = dict.fromkeys(("controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall",
                           "etcdAPICall", "tlsBootstrap", "discovery", "upgradeManifests"))  # fmt: skip
_COMMON = {"apiVersion": None, "kind": None, "dryRun": None, "nodeRegistration": _REGISTRATION,
           "skipPhases": None, "patches": {"directory": None}, "timeouts": _TIMEOUTS}  # fmt: skip
_IMAGE = {"imageRepository": None, "imageTag": None}
SCHEMAS: dict[str, dict] = {
    "InitConfiguration": {
        **_COMMON, "localAPIEndpoint": _ENDPOINT, "certificateKey": None,
        "bootstrapTokens": dict.fromkeys(("token", "description", "ttl", "expires", "usages", "groups")),
    },
    "ClusterConfiguration": {
        "apiVersion": None, "kind": None, "kubernetesVersion": None, "controlPlaneEndpoint": None,
        "etcd": {"local": {**_IMAGE, "dataDir": None, "extraArgs": _ARG, "extraEnvs": _ENV,
                           "serverCertSANs": None, "peerCertSANs": None},
                 "external": dict.fromkeys(("endpoints", "caFile", "certFile", "keyFile"))},
        "networking": dict.fromkeys(("serviceSubnet", "podSubnet", "dnsDomain")),
        "apiServer": {**_COMPONENT, "certSANs": None},
        "controllerManager": _COMPONENT, "scheduler": _COMPONENT,
        "dns": {**_IMAGE, "disabled": None}, "proxy": {"disabled": None}, "certificatesDir": None,
        "imageRepository": None, "featureGates": None, "clusterName": None, "encryptionAlgorithm": None,
        "certificateValidityPeriod": None, "caCertificateValidityPeriod": None,
    },
    "JoinConfiguration": {
        **_COMMON, "caCertPath": None,
        "discovery": {
            "bootstrapToken": dict.fromkeys(("token", "apiServerEndpoint", "caCertHashes",
                                             "unsafeSkipCAVerification")),
            "file": {"kubeConfigPath": None}, "tlsBootstrapToken": None,
        },
        "controlPlane": {"localAPIEndpoint": _ENDPOINT, "certificateKey": None},
    },
}  # fmt: skip


def unknown_fields(value: object, schema: dict | None, path: str = "") -> list[str]:
    if schema is None:
        return []
    if isinstance(value, list):
        return [found for item in value for found in unknown_fields(item, schema, path)]
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        found += unknown_fields(item, schema[key], where) if key in schema else [where]
    return found


def config(path: str) -> dict[str, dict]:
    import yaml

    docs = [doc for doc in yaml.safe_load_all(Path(path).read_text()) if doc]
    for doc in docs:
        if doc.get("apiVersion") not in ("kubeadm.k8s.io/v1beta4", "kubelet.config.k8s.io/v1beta1"):
            fail(f"unsupported apiVersion {doc.get('apiVersion')!r} in {path}")
        if doc.get("apiVersion") == "kubeadm.k8s.io/v1beta4":
            if doc.get("kind") not in SCHEMAS:
                fail(f'no kind {doc.get("kind")!r} is registered for version "kubeadm.k8s.io/v1beta4"')
            unknown = unknown_fields(doc, SCHEMAS[doc["kind"]])
            if unknown:
                fields = ", ".join(f'unknown field "{name}"' for name in unknown)
                kind = f'Group:"kubeadm.k8s.io", Version:"v1beta4", Kind:"{doc["kind"]}"'
                fail(f"error unmarshaling configuration schema.GroupVersionKind{{{kind}}}: "
                     f"strict decoding error: {fields}")  # fmt: skip
    return {doc["kind"]: doc for doc in docs}


def validate(args: list[str]) -> None:
    """``kubeadm config validate --config FILE``."""
    config(flag(args, "--config") or fail("--config is required"))
    print("ok")


def flag(args: list[str], name: str, default: str | None = None) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def new_token() -> str:
    return (
        "".join(secrets.choice(ALPHABET) for _ in range(6))
        + "."
        + "".join(secrets.choice(ALPHABET) for _ in range(16))
    )


def add_token(state: dict, ttl_s: float, description: str) -> str:
    token = new_token()
    state["tokens"][token] = {"expires": time.time() + ttl_s, "description": description}
    return token


def make_ca() -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650)).sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, "sha256:" + hashlib.sha256(spki).hexdigest()


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def kubeconfig(cluster: dict, user: str, key: str) -> str:
    import yaml

    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster["name"], "cluster": {
            "server": f"https://{cluster['endpoint']}", "certificate-authority-data": b64(cluster["ca"])}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": b64("cert-" + key), "client-key-data": key}}],
        "contexts": [{"name": f"{user}@{cluster['name']}", "context": {
            "cluster": cluster["name"], "user": user}}],
        "current-context": f"{user}@{cluster['name']}",
    })  # fmt: skip


def write(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def start_kubelet() -> None:
    """kubeadm's [kubelet-start] phase; the stand-in systemctl reads this marker."""
    (ETC / ".standin-kubelet-active").touch()


def preflight(*paths: Path) -> None:
    errors = [
        f"\t[ERROR FileAvailable-{str(p).replace('/', '-')}]: {p} already exists" for p in paths if p.exists()
    ]
    if errors:
        fail("error execution phase preflight: [preflight] Some fatal errors occurred:\n" + "\n".join(errors))


def check_registration(reg: dict) -> None:
    if reg.get("name") != HOST:
        fail(f"nodeRegistration.name {reg.get('name')!r} is not this node's name {HOST!r}")
    args = {a["name"]: a["value"] for a in reg.get("kubeletExtraArgs", [])}
    if args.get("cloud-provider") != "external":
        fail("kubeletExtraArgs must set cloud-provider=external")


def init(args: list[str]) -> None:
    docs = config(flag(args, "--config") or fail("--config is required"))
    init_cfg, cluster_cfg = docs["InitConfiguration"], docs["ClusterConfiguration"]
    check_registration(init_cfg["nodeRegistration"])
    preflight(ETC / "manifests" / "kube-apiserver.yaml", ETC / "pki" / "ca.crt", ETC / "kubelet.conf")
    fault("init")
    log("init", "start")
    ca, ca_hash = make_ca()
    write(ETC / "pki" / "ca.crt", ca, 0o644)
    write_manifests(cluster_cfg["kubernetesVersion"])
    time.sleep(float(settings().get("init_s", 0.2)))
    cluster = {"name": cluster_cfg["clusterName"], "endpoint": cluster_cfg["controlPlaneEndpoint"], "ca": ca,
               "ca_hash": ca_hash, "version": cluster_cfg["kubernetesVersion"], "cert_key": None}  # fmt: skip
    with registry() as state:
        state["cluster"] = cluster
        token = add_token(state, 86400, "The default bootstrap token generated by 'kubeadm init'.")
        admin_key = b64(secrets.token_bytes(48))
        state["admin_key"] = admin_key
        state["nodes"][HOST] = "control-plane"
        kubelet = docs.get("KubeletConfiguration")
        if kubelet is not None:
            state["kubelet_config"] = kubelet
    write(ETC / "admin.conf", kubeconfig(cluster, "kubernetes-admin", admin_key))
    write(ETC / "kubelet.conf", kubeconfig(cluster, f"system:node:{HOST}", b64(secrets.token_bytes(16))))
    start_kubelet()
    log("init", "done")
    print("Your Kubernetes control-plane has initialized successfully!\n\nYou can now join any number of "
          f"machines by running the following on each node as root:\n\n  kubeadm join {cluster['endpoint']} "
          f"--token {token} \\\n\t--discovery-token-ca-cert-hash {ca_hash}")  # fmt: skip


def upload_certs(args: list[str]) -> None:
    if not (ETC / "admin.conf").exists():
        fail(
            "error execution phase upload-certs: failed to load admin kubeconfig: "
            "open /etc/kubernetes/admin.conf"
        )
    key = config(flag(args, "--config") or fail("--config is required"))["InitConfiguration"].get(
        "certificateKey"
    )
    if not key or len(key) != 64:
        fail("error execution phase upload-certs: invalid certificate key")
    fault("upload-certs")
    with registry() as state:
        state["cluster"]["cert_key"] = key
        state["cluster"]["cert_key_expires"] = time.time() + 7200
    log("upload-certs", "done")
    print(
        '[upload-certs] Storing the certificates in Secret "kubeadm-certs"\n'
        f"[upload-certs] Using certificate key:\n{key}"
    )


def token(args: list[str]) -> None:
    if not (ETC / "admin.conf").exists():
        fail("failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory")
    fault("token")
    if args[:1] == ["list"]:
        with registry() as state:
            tokens = dict(state["tokens"])
        for value, info in tokens.items():
            expires = dt.datetime.fromtimestamp(info["expires"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(json.dumps({
                "kind": "BootstrapToken", "apiVersion": "output.kubeadm.k8s.io/v1alpha3", "token": value,
                "description": info["description"], "expires": expires,
                "usages": ["authentication", "signing"],
                "groups": ["system:bootstrappers:kubeadm:default-node-token"],
            }, indent=2))  # fmt: skip
        log("token-list", "done")
        return
    if args[:1] == ["create"]:
        ttl = flag(args, "--ttl", "24h") or "24h"
        seconds = float(ttl[:-1]) * {"h": 3600, "m": 60, "s": 1}[ttl[-1]]
        with registry() as state:
            value = add_token(state, seconds, flag(args, "--description", "") or "")
            endpoint, ca_hash = state["cluster"]["endpoint"], state["cluster"]["ca_hash"]
        log("token-create", "done")
        if "--print-join-command" in args:
            print(f"kubeadm join {endpoint} --token {value} --discovery-token-ca-cert-hash {ca_hash}")
        else:
            print(value)
        return
    fail(f"unknown token command {args}")


def join(args: list[str]) -> None:
    path = flag(args, "--config") or fail("--config is required")
    join_cfg = config(path)["JoinConfiguration"]
    check_registration(join_cfg["nodeRegistration"])
    preflight(ETC / "kubelet.conf", ETC / "pki" / "ca.crt")
    discovery = join_cfg["discovery"]["bootstrapToken"]
    control = join_cfg.get("controlPlane")
    with registry() as state:
        cluster, tokens = state["cluster"], state["tokens"]
    if cluster is None or discovery["apiServerEndpoint"] != cluster["endpoint"]:
        fail(
            f"couldn't validate the identity of the API Server: {discovery['apiServerEndpoint']} unreachable"
        )
    info = tokens.get(discovery["token"])
    if info is None or info["expires"] < time.time():
        fail("error execution phase preflight: couldn't validate the identity of the API Server: "
             "invalid bootstrap token (unknown or expired)")  # fmt: skip
    if cluster["ca_hash"] not in discovery["caCertHashes"]:
        fail("error execution phase preflight: cluster CA found in cluster-info ConfigMap is invalid: "
             "none of the public keys match the pinned hash")  # fmt: skip
    if control is not None and (
        control.get("certificateKey") != cluster.get("cert_key")
        or cluster.get("cert_key_expires", 0) < time.time()
    ):
        fail("error execution phase control-plane-prepare/download-certs: error downloading certs: "
             "error decoding certificate key (secret kubeadm-certs missing or expired)")  # fmt: skip
    role = "control-plane" if control is not None else "worker"
    fault("join", Path(path).read_text())
    log("join", "start", role=role)
    write(ETC / "pki" / "ca.crt", cluster["ca"], 0o644)
    if control is not None:
        write_manifests(cluster["version"])
    time.sleep(float(settings().get("join_s", 0.1)))
    if control is not None:
        with registry() as state:
            write(ETC / "admin.conf", kubeconfig(cluster, "kubernetes-admin", state["admin_key"]))
    write(ETC / "kubelet.conf", kubeconfig(cluster, f"system:node:{HOST}", b64(secrets.token_bytes(16))))
    start_kubelet()
    with registry() as state:
        state["nodes"][HOST] = role
    log("join", "done", role=role)
    print("This node has joined the cluster")


def write_manifests(version: str) -> None:
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        tag = "3.5.21-0" if component == "etcd" else version
        image = f"registry.k8s.io/{component}:{tag}"
        write(
            ETC / "manifests" / f"{component}.yaml",
            f"# {component}\nspec:\n  containers:\n  - image: {image}\n",
        )


def minor(version: str) -> tuple[int, int]:
    major, minor_, *_ = version.lstrip("v").split("-")[0].split(".")
    return int(major), int(minor_)


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("-")[0].split("."))


def installed(host: str = HOST) -> dict[str, str]:
    default = settings().get("version", "v1.33.5").lstrip("v") + "-1.1"
    with registry() as state:
        have = dict(state.get("packages", {}).get(host, {}))
    return {name: have.get(name, default) for name in ("kubeadm", "kubelet", "kubectl")}


def kubeadm_version() -> str:
    return "v" + installed()["kubeadm"].split("-")[0]


def upgrade(args: list[str]) -> None:
    what, rest = (args[0] if args else ""), args[1:]
    own = kubeadm_version()
    with registry() as state:
        cluster = state["cluster"]
    if cluster is None:
        fail("couldn't create a Kubernetes client: the cluster is not initialised")
    if what == "plan":
        if not (ETC / "admin.conf").exists():
            fail("[upgrade/config] FATAL: failed to load admin kubeconfig: open /etc/kubernetes/admin.conf")
        fault("upgrade-plan")
        target = rest[0] if rest and not rest[0].startswith("-") else own
        log("upgrade-plan", "done", version=target)
        print(f"Upgrade to the latest version in the v{'.'.join(map(str, minor(target)))} series:\n\n"
              f"COMPONENT                 CURRENT    TARGET\nkube-apiserver            "
              f"{cluster['version']:<10} {target}\n\nYou can now apply the upgrade by executing the "
              f"following command:\n\n\tkubeadm upgrade apply {target}")  # fmt: skip
        return
    if what == "apply":
        target = next((a for a in rest if a.startswith("v")), None) or fail("specify a version to upgrade to")
        if "--yes" not in rest and "-y" not in rest:
            fail("[upgrade/confirm] Are you sure you want to proceed? [y/N]: aborted (no --yes)")
        if not (ETC / "admin.conf").exists():
            fail("[upgrade/config] FATAL: failed to load admin kubeconfig: open /etc/kubernetes/admin.conf")
        if release(target) > release(own):
            fail(f"[upgrade/version] FATAL: the specified version to upgrade to {target!r} is higher "
                 f"than the kubeadm version {own!r}. Upgrade kubeadm first")  # fmt: skip
        have = cluster["version"]
        if release(target) < release(have):
            fail(f"[upgrade/version] FATAL: the specified version {target} is lower than {have}")
        if minor(target)[1] > minor(have)[1] + 1:
            fail(f"[upgrade/version] FATAL: the specified version {target} is too high: skipping minor "
                 f"versions is not supported (cluster is at {have})")  # fmt: skip
        fault("upgrade-apply")
        log("upgrade-apply", "start", version=target)
        time.sleep(float(settings().get("upgrade_s", 0.1)))
        write_manifests(target)
        with registry() as state:
            state["cluster"]["version"] = target
        log("upgrade-apply", "done", version=target)
        print(f'[upgrade/successful] SUCCESS! Your cluster was upgraded to "{target}". Enjoy!')
        return
    if what == "node":
        if not (ETC / "kubelet.conf").exists():
            fail("couldn't read /etc/kubernetes/kubelet.conf: this node has not joined a cluster")
        have = cluster["version"]
        control = (ETC / "manifests" / "kube-apiserver.yaml").exists()
        if control and release(own) != release(have):
            fail(f"[upgrade/node] FATAL: kubeadm {own} cannot upgrade this control-plane node to the "
                 f"cluster's version {have}: upgrade the kubeadm package to {have} first")  # fmt: skip
        fault("upgrade-node")
        log("upgrade-node", "start", version=have)
        time.sleep(float(settings().get("upgrade_s", 0.1)))
        if control:
            write_manifests(have)
        log("upgrade-node", "done", version=have, role="control-plane" if control else "worker")
        print("[upgrade] The configuration for this node was successfully upgraded!")
        return
    fail(f"unknown upgrade command {args}")


def node_packages(args: list[str]) -> None:
    """Stand-in for /usr/local/sbin/clouder-node-packages: ``versions`` | ``install VERSION PACKAGE...``."""
    if args[:1] == ["versions"]:
        for name, version in installed().items():
            print(f"{name}={version}")
        return
    if args[:1] == ["install"] and len(args) >= 3:
        version, packages = args[1], args[2:]
        fault("packages")
        with registry() as state:
            mine = state.setdefault("packages", {}).setdefault(HOST, {})
            for name in packages:
                mine[name] = version
        log("packages", "done", version=version, packages=packages)
        return
    fail(f"usage: clouder-node-packages versions | install VERSION PACKAGE... (got {args})", 2)


def reset(args: list[str]) -> None:
    for child in ETC.iterdir() if ETC.exists() else []:
        if child.is_dir():
            for sub in sorted(child.rglob("*"), reverse=True):
                sub.rmdir() if sub.is_dir() else sub.unlink()
            child.rmdir()
        else:
            child.unlink()
    with registry() as state:
        state["nodes"].pop(HOST, None)
    log("reset", "done")
    print("[reset] Deleted contents of the etcd data directory and /etc/kubernetes")


def main(argv: list[str]) -> None:
    if argv[:1] == ["version"]:
        print(kubeadm_version() if "short" in argv else "kubeadm version: stand-in")
    elif argv[:1] == ["upgrade"]:
        upgrade(argv[1:])
    elif argv[:1] == ["node-packages"]:
        node_packages(argv[1:])
    elif argv[:3] == ["init", "phase", "upload-certs"]:
        upload_certs(argv[3:])
    elif argv[:1] == ["init"]:
        init(argv[1:])
    elif argv[:1] == ["join"]:
        join(argv[1:])
    elif argv[:1] == ["token"]:
        token(argv[1:])
    elif argv[:2] == ["config", "validate"]:
        validate(argv[2:])
    elif argv[:1] == ["reset"]:
        reset(argv[1:])
    else:
        fail(f"stand-in kubeadm: unsupported command {' '.join(argv)}")


if __name__ == "__main__":
    main(sys.argv[1:])
