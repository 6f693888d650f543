"""SSH key material in a spec: only OpenSSH public keys go to the nodes; key text is never echoed.

Keys are parsed with ``cryptography``'s OpenSSH parser (the library asyncssh itself builds on): importing
asyncssh costs about 0.2 s, more than the whole budget of ``clouder validate``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from clouder.errors import BadInputError, Problem

if TYPE_CHECKING:
    from clouder.spec.model import Access

MAX_KEY_FILE_BYTES = 16 * 1024
PRIVATE_MARKERS = ("PRIVATE KEY", "PuTTY-User-Key-File", "SSH2 ENCRYPTED PRIVATE KEY")
# A key line ("ssh-ed25519 AAAA…"), a PEM block, or a bare base64 key body, as opposed to a file name.
KEY_TEXT = re.compile(r"^\s*((ssh-|ecdsa-sha2-|sk-)\S+\s+AAAA|-----BEGIN|AAAA[A-Za-z0-9+/]{40})")
# The key types the nodes' sshd (Ubuntu 24.04's OpenSSH 9.6) accepts by default, and its RequiredRSASize: DSA
# has been off since OpenSSH 7.0. tests/spec/test_spec_keys.py holds these to the real `sshd -T`.
NODE_KEY_TYPES = (
    "ssh-ed25519", "sk-ssh-ed25519@openssh.com", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-rsa",
)  # fmt: skip
MIN_RSA_BITS = 1024
# What a cloud's own API accepts for the key it installs (the spec's first): Azure takes RSA of 2048 bits or
# more, or Ed25519 (the azurerm provider's validate.SSHKey refuses any other key at plan).
INSTALLED_KEY_RULES: dict[str, tuple[tuple[str, ...], int]] = {"azure": (("ssh-ed25519", "ssh-rsa"), 2048)}


def is_private_key(text: str) -> bool:
    return any(marker in text for marker in PRIVATE_MARKERS)


def looks_like_key_text(value: str) -> bool:
    """True when a value meant to be a path holds key text (or something no path would hold)."""
    return "\n" in value or len(value) > 512 or KEY_TEXT.match(value) is not None


def public_key_problem(text: str, cloud: str | None = None) -> str | None:
    """Why ``text`` is not one OpenSSH public key line the nodes accept (never quoting it), or None.

    With ``cloud``, the key is also held to what that cloud's API accepts for the key it installs."""
    parsed = _node_key(text)
    if isinstance(parsed, str):
        return parsed
    kind, bits = parsed
    kinds, min_rsa_bits = INSTALLED_KEY_RULES.get(cloud or "", (NODE_KEY_TYPES, MIN_RSA_BITS))
    who = str(cloud).capitalize()
    if kind not in kinds:
        return f"key type {kind}, which {who} does not install; use {' or '.join(kinds)}"
    if kind == "ssh-rsa" and bits < min_rsa_bits:
        return f"an RSA key of {bits} bits; {who} takes RSA keys of {min_rsa_bits} bits or more"
    return None


@lru_cache(maxsize=16)
def _node_key(text: str) -> tuple[str, int] | str:
    """The key's type and RSA size, or why the nodes' OpenSSH would not take it: parsed once per line (the
    model checks an inline key, and the spec's rules check it again for its cloud)."""
    if is_private_key(text):
        return "this is a private key, which must never leave your machine"
    kind = text.split(maxsplit=1)[0] if text.strip() else ""
    if kind not in NODE_KEY_TYPES:
        if kind == "ssh-dss":
            return "a DSA key, which the nodes' OpenSSH refuses (off since OpenSSH 7.0); use ssh-ed25519"
        if kind.startswith(("ssh-", "ecdsa-", "sk-")) and len(text.split()) > 1:
            return f"not a supported key type (use {', '.join(NODE_KEY_TYPES)})"
        return "not an OpenSSH public key (a line like 'ssh-ed25519 AAAA… comment')"
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    try:
        key = load_ssh_public_key(text.strip().encode())
    except (ValueError, TypeError):
        return "not an OpenSSH public key (a line like 'ssh-ed25519 AAAA… comment')"
    except Exception:  # cryptography raises UnsupportedAlgorithm for key types it does not know
        return f"not a supported key type (use {', '.join(NODE_KEY_TYPES)})"
    bits = getattr(key, "key_size", 0) if kind == "ssh-rsa" else 0
    if kind == "ssh-rsa" and bits < MIN_RSA_BITS:
        return f"an RSA key of {bits} bits; the nodes' OpenSSH refuses RSA keys under {MIN_RSA_BITS} bits"
    return kind, bits


def public_keys(access: Access, cloud: str) -> list[str]:
    """The public key lines to install on every node; refuses a private key, a missing key or no key."""
    problems = key_problems(access, cloud)
    if problems:
        raise BadInputError(problems[0].render(), "")
    if access.public_key:
        return [access.public_key.strip()]
    assert access.public_key_path is not None
    return _key_lines(Path(access.public_key_path).expanduser(), cloud)[0]


def key_problems(access: Access, cloud: str, read_files: bool = True) -> list[Problem]:
    """What is wrong with the spec's public key for ``cloud``; with ``read_files``, the key file is read."""
    if access.public_key:
        reason = public_key_problem(access.public_key, cloud)
        return [] if reason is None else [Problem("access.publicKey", f"{reason}.", "")]
    if not read_files:
        return []
    if access.public_key_path is None:
        return [
            Problem(
                "access",
                "no SSH public key: nodes would accept no login.",
                "Set access.publicKeyPath to your public key file (e.g. ~/.ssh/id_ed25519.pub) "
                "or access.publicKey to its text.",
            )
        ]
    path = Path(access.public_key_path).expanduser()
    try:
        reason = _key_lines(path, cloud)[1]
    except OSError as exc:
        return [
            Problem(
                "access.publicKeyPath",
                f"cannot read {path} ({exc.strerror or exc}).",
                "Point it at your OpenSSH public key file (e.g. ~/.ssh/id_ed25519.pub).",
            )
        ]
    if reason is None:
        return []
    hint = "Point it at the public key (the .pub file)."
    sibling = path.with_name(path.name + ".pub")
    if "private key" in reason and sibling.is_file():
        hint = f"Point it at the public key next to it, {sibling}."
    return [Problem("access.publicKeyPath", f"{path}: {reason}.", hint)]


def _key_lines(path: Path, cloud: str) -> tuple[list[str], str | None]:
    with path.open("rb") as handle:
        data = handle.read(MAX_KEY_FILE_BYTES + 1)
    if len(data) > MAX_KEY_FILE_BYTES:
        return [], f"larger than {MAX_KEY_FILE_BYTES // 1024} KiB, so not a public key file"
    text = data.decode("utf-8", errors="replace")
    if is_private_key(text):
        return [], "this file holds a private key, which must never leave your machine"
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        return [], "the file is empty"
    for number, line in enumerate(lines, start=1):
        # The cloud's rule binds the first key, the one it installs; the nodes' sshd reads them all.
        reason = public_key_problem(line, cloud if number == 1 else None)
        if reason is not None:
            return [], f"key {number}: {reason}"
    return lines, None
