"""Only OpenSSH public keys reach the nodes: private keys, key text in paths and missing keys are refused
with exit 2, and no key material is ever printed (not with -v, not with -o json)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clouder.errors import BadInputError
from clouder.spec import load_spec
from clouder.spec.sshkeys import public_keys
from support.cli import run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aws-minimal.yaml"


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


def _spec(tmp_path: Path, **access: str) -> Path:
    document = yaml.safe_load(EXAMPLE.read_text())
    document.pop("context")
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
        public_keys(load_spec(spec).access)
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
    assert public_keys(load_spec(spec).access) == [public + " me@laptop"]


def test_no_key_is_refused_on_either_cloud(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    result = run("validate", str(spec))
    assert result.code == 2 and "access: no SSH public key" in result.stderr, result.stderr
    with pytest.raises(BadInputError, match="no SSH public key"):
        public_keys(load_spec(spec).access)


def test_a_relative_key_path_that_starts_like_a_key_type_is_still_a_path(
    tmp_path: Path, key_pair: tuple[Path, str, str]
) -> None:
    _, _, public = key_pair
    (tmp_path / "ssh-keys").mkdir()
    (tmp_path / "ssh-keys" / "id_ed25519.pub").write_text(public + "\n")
    spec = _spec(tmp_path, publicKeyPath="ssh-keys/id_ed25519.pub", privateKeyPath="ssh-keys/id_ed25519")
    result = run("validate", str(spec), cwd=tmp_path)
    assert result.code == 0, result.stderr
