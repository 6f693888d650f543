"""Only OpenSSH public keys reach the nodes: private keys, key text in paths and missing keys are refused
with exit 2, and no key material is ever printed (not with -v, not with -o json)."""

from __future__ import annotations

import base64
import struct
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clouder.errors import BadInputError
from clouder.spec import load_spec
from clouder.spec.sshkeys import MIN_RSA_BITS, NODE_KEY_TYPES, public_keys
from support.cli import run
from support.parts import missing

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "aws-minimal.yaml"


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, str, str]:
    """A fresh ed25519 key pair on disk: (private key path, private text, public line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    path = tmp_path / "id_ed25519"
    path.write_text(private)
    (tmp_path / "id_ed25519.pub").write_text(public + " me@laptop\n")
    return path, private, public


def _spec(tmp_path: Path, example: Path = EXAMPLE, **access: str) -> Path:
    document = yaml.safe_load(example.read_text())
    document.pop("context", None)
    document["access"] = {"mode": "bastion", **access}
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _body(private: str) -> list[str]:
    return [line for line in private.splitlines() if "-----" not in line]


def test_a_public_key_path_at_a_private_key_is_refused_and_never_echoed(
    tmp_path: Path, key_pair: tuple[Path, str, str]
) -> None:
    private_path, private, _ = key_pair
    spec = _spec(tmp_path, publicKeyPath=str(private_path))
    for args in (("validate", str(spec), "-v"), ("-o", "json", "validate", str(spec))):
        result = run(*args)
        assert result.code == 2, result.stdout + result.stderr
        output = result.stdout + result.stderr
        assert "access.publicKeyPath" in output and "private key" in output
        assert f"{private_path}.pub" in output  # the hint names the public key next to it
        assert not any(line in output for line in _body(private))
    with pytest.raises(BadInputError) as caught:  # what synth uses: the stacks never see the key
        public_keys(load_spec(spec).access, "aws")
    assert not any(line in caught.value.render() for line in _body(private))


def test_key_text_where_a_path_belongs_is_refused_without_echo(
    tmp_path: Path, key_pair: tuple[Path, str, str]
) -> None:
    _, private, public = key_pair
    for field, text in (("publicKeyPath", public), ("privateKeyPath", private), ("publicKey", private)):
        spec = _spec(tmp_path, **{field: text})
        result = run("validate", str(spec), "-v")
        assert result.code == 2 and f"access.{field}" in result.stderr, result.stderr
        secret_lines = _body(private) if field != "publicKeyPath" else [public.split()[1]]
        assert not any(line in result.stdout + result.stderr for line in secret_lines)


def test_a_public_key_file_is_parsed_and_installed(tmp_path: Path, key_pair: tuple[Path, str, str]) -> None:
    private_path, _, public = key_pair
    spec = _spec(tmp_path, publicKeyPath=f"{private_path}.pub", privateKeyPath=str(private_path))
    result = run("validate", str(spec))
    assert result.code == 0, result.stderr
    assert public_keys(load_spec(spec).access, "aws") == [public + " me@laptop"]


def test_no_key_is_refused_on_either_cloud(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    result = run("validate", str(spec))
    assert result.code == 2 and "access: no SSH public key" in result.stderr, result.stderr
    with pytest.raises(BadInputError, match="no SSH public key"):
        public_keys(load_spec(spec).access, "aws")


def test_a_relative_key_path_that_starts_like_a_key_type_is_still_a_path(
    tmp_path: Path, key_pair: tuple[Path, str, str]
) -> None:
    _, _, public = key_pair
    (tmp_path / "ssh-keys").mkdir()
    (tmp_path / "ssh-keys" / "id_ed25519.pub").write_text(public + "\n")
    spec = _spec(tmp_path, publicKeyPath="ssh-keys/id_ed25519.pub", privateKeyPath="ssh-keys/id_ed25519")
    result = run("validate", str(spec), cwd=tmp_path)
    assert result.code == 0, result.stderr


def _openssh(key: object) -> str:
    public = key.public_key()  # type: ignore[attr-defined]
    line: bytes = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.decode()


def _rsa_line(bits: int) -> str:
    """An ssh-rsa line with a modulus of ``bits`` bits: below 1024, which no key generator here will make."""
    modulus = (1 << (bits - 1)) | 0xABCDEF | 1

    def string(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    def mpint(value: int) -> bytes:
        return string(value.to_bytes(value.bit_length() // 8 + 1, "big"))

    return "ssh-rsa " + base64.b64encode(string(b"ssh-rsa") + mpint(65537) + mpint(modulus)).decode()


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@pytest.mark.parametrize(
    ("example", "line", "code", "said"),
    [
        ("aws-minimal", lambda: _openssh(dsa.generate_private_key(1024)), 2, "a DSA key, which the nodes"),
        ("aws-minimal", lambda: _rsa_line(768), 2, "RSA key of 768 bits; the nodes' OpenSSH refuses"),
        ("aws-minimal", lambda: _openssh(ec.generate_private_key(ec.SECP384R1())), 0, ""),
        ("aws-minimal", lambda: _openssh(rsa.generate_private_key(65537, 1024)), 0, ""),
        ("azure-minimal", lambda: _openssh(ec.generate_private_key(ec.SECP256R1())), 2,
         "key type ecdsa-sha2-nistp256, which Azure does not install; use ssh-ed25519 or ssh-rsa"),
        ("azure-minimal", lambda: _openssh(rsa.generate_private_key(65537, 1024)), 2,
         "RSA key of 1024 bits; Azure takes RSA keys of 2048 bits or more"),
        ("azure-minimal", lambda: _openssh(rsa.generate_private_key(65537, 2048)), 0, ""),
        ("azure-minimal", lambda: _openssh(Ed25519PrivateKey.generate()), 0, ""),
    ],
)  # fmt: skip
def test_a_key_is_held_to_what_the_nodes_and_the_cloud_accept(
    example: str, line: object, code: int, said: str, tmp_path: Path
) -> None:
    text = line()  # type: ignore[operator]
    (tmp_path / "key.pub").write_text(text + " me@laptop\n")
    for access in ({"publicKeyPath": str(tmp_path / "key.pub")}, {"publicKey": text}):
        spec = _spec(tmp_path, EXAMPLES / f"{example}.yaml", **access)
        result = run("validate", str(spec), "-o", "json")
        assert result.code == code, result.stdout + result.stderr
        assert said in result.stdout
        assert "Warning" not in result.stderr  # cryptography's DSA deprecation warning is not the user's
    if code:
        with pytest.raises(BadInputError, match=said.split(",")[0]):
            public_keys(load_spec(spec).access, example.split("-")[0])


def test_the_key_types_accepted_are_the_ones_the_real_sshd_accepts() -> None:
    """The nodes' sshd is Ubuntu 24.04's OpenSSH 9.6; this machine's (Debian's 9.2) has the same defaults."""
    sshd = Path("/usr/sbin/sshd")
    if not sshd.exists():
        missing("sshd", "install openssh-server")
    shown = subprocess.run([str(sshd), "-T", "-f", "/dev/null"], capture_output=True, text=True, check=True)
    settings = dict(line.split(" ", 1) for line in shown.stdout.splitlines() if " " in line)
    accepted = set(settings["pubkeyacceptedalgorithms"].split(","))
    assert {kind for kind in NODE_KEY_TYPES if kind != "ssh-rsa"} <= accepted
    assert {"rsa-sha2-256", "rsa-sha2-512"} <= accepted  # how sshd takes ssh-rsa keys today
    assert "ssh-dss" not in accepted
    assert int(settings["requiredrsasize"]) == MIN_RSA_BITS
