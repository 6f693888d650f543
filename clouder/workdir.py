"""Where Clouder keeps a cluster's local files, and how it writes them so that nobody else can steer it.

``$CLOUDER_WORK_DIR/<cluster>``, by default ``$XDG_STATE_HOME/clouder/<cluster>`` (``~/.local/state``):
outside any checkout, so a pull request cannot ship a work folder. Local files speed things up (synthesized
stack, saved plans, journal, kubeconfig) but correctness never depends on them: a GitOps runner starts with
none of them.

The work folder is trusted as code and data (it holds the Terraform root), so Clouder refuses one that is a
symlink, belongs to another user or is writable by group or others, and never follows a symlink when it
writes a file there: appends open with ``O_NOFOLLOW``, whole files are written to a temporary file in the
checked folder and renamed over the old name.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from clouder.errors import BadInputError

if TYPE_CHECKING:
    from clouder.spec.model import ClusterSpec

WORK_DIR_ENV = "CLOUDER_WORK_DIR"


def work_root() -> Path:
    explicit = os.environ.get(WORK_DIR_ENV)
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "clouder"


def private_dir(path: Path) -> Path:
    """Create ``path`` (0700) if missing; refuse it unless it is a real folder of ours that only we write."""
    if not os.path.lexists(path):
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_private_dir(path)
    return path


def check_private_dir(path: Path) -> None:
    info = os.lstat(path)
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "is not a folder"
    elif info.st_uid != os.geteuid():
        problem = f"belongs to another user (uid {info.st_uid})"
    elif info.st_mode & 0o022:
        problem = f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o})"
    if problem:
        raise BadInputError(
            f"work folder {path} {problem}; Clouder runs Terraform from it and will not trust it.",
            f"Remove it (or `chmod go-w` a folder of yours), or point {WORK_DIR_ENV} at a private folder "
            "outside the checkout.",
        )


def cluster_dir(spec: ClusterSpec, create: bool = True) -> Path:
    root = work_root()
    path = root / spec.name
    if create:
        private_dir(root)
        private_dir(path)
    elif os.path.lexists(path):
        check_private_dir(path)
    return path


def write_private(path: Path, data: str | bytes, checked: bool = True) -> Path:
    """Replace ``path`` atomically with ``data``: a 0600 temporary file in the (checked) folder, renamed.

    A rename replaces a symlink planted at ``path`` instead of writing through it. ``checked=False`` is for
    files the user placed outside the work folder (``--out``, a kubeconfig to merge into)."""
    if checked:
        check_private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def open_private(path: Path, append: bool = True) -> int:
    """A descriptor on ``path`` for appending (or reading), never through a symlink; an existing file is
    made 0600 again and must be a regular file of ours."""
    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_WRONLY | os.O_CREAT | os.O_APPEND if append else os.O_RDONLY
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            raise BadInputError(
                f"{path} is a symbolic link; Clouder does not write or read its files through links.",
                "Remove the link; Clouder creates the file itself.",
            ) from None
        raise exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(fd)
        raise BadInputError(
            f"{path} is not a regular file of yours; Clouder will not use it.", "Remove it and run again."
        )
    if append and stat.S_IMODE(info.st_mode) != 0o600:
        os.fchmod(fd, 0o600)
    return fd


def read_private(path: Path) -> bytes:
    """The bytes of a file in the work folder, refusing a symlink or someone else's file."""
    fd = open_private(path, append=False)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def outputs_path(spec: ClusterSpec) -> Path:
    """The outputs contract as `terraform output -json` printed it after the last apply."""
    return cluster_dir(spec) / "outputs.json"


def kubeconfig_path(spec: ClusterSpec) -> Path:
    """The admin kubeconfig fetched by the bootstrap (0600)."""
    return cluster_dir(spec) / "admin.conf"


def events_path(spec: ClusterSpec) -> Path:
    """JSON-lines event log of every run against this cluster."""
    return cluster_dir(spec) / "events.jsonl"
