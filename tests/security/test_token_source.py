"""The token's sources in order (AVIN_TOKEN, AVIN_TOKEN_FILE, the OS keyring, the config home's
token file, avin.toml), ``avin token set``'s storage, and refusals that never quote the token."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import ClassVar

import pytest

from engine.broker.tinvest.safety import mode_for
from engine.config import ConfigError, check_config, load_settings
from engine.paths import homes
from engine.security import token_source
from engine.security.token_source import TokenSourceError, store_token, token_origin

SECRET = "t.Secret-0123456789abcdefABCDEF"


class MemoryKeyring:
    """A keyring backend in memory, with the calls keyring's module offers."""

    priority = 5

    def __init__(self, fail: bool = False) -> None:
        self.items: dict[tuple[str, str], str] = {}
        self.fail = fail

    def get_password(self, service: str, user: str) -> str | None:
        if self.fail:
            raise RuntimeError("the collection is locked")
        return self.items.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.items[(service, user)] = value

    def delete_password(self, service: str, user: str) -> None:
        del self.items[(service, user)]


@pytest.fixture
def keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    ring = MemoryKeyring()
    monkeypatch.setattr(token_source, "keyring_module", lambda: ring)
    return ring


def _config(text: str, mode: int = 0o600) -> Path:
    path = homes().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def _token_file(name: str, value: str, mode: int = 0o600) -> Path:
    path = homes().config.parent / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)
    path.chmod(mode)
    return path


def _token() -> str | None:
    secret = load_settings().token
    return None if secret is None else secret.get_secret_value()


def test_each_source_wins_over_the_ones_after_it(
    keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config('token = "from-toml"\n')
    assert _token() == "from-toml"
    store_token("from-home-file", homes().config, use_keyring=False)
    assert _token() == "from-home-file"
    keyring.items[("avin", "token")] = "from-keyring"
    assert _token() == "from-home-file"  # a keyring avin did not store in is not asked
    (homes().config / "token.keyring").write_text("avin token set stored it there")
    assert _token() == "from-keyring"
    monkeypatch.setenv("AVIN_TOKEN_FILE", str(_token_file("secret", "from-token-file\n")))
    assert _token() == "from-token-file"  # the final newline of a secret file is not the token's
    monkeypatch.setenv("AVIN_TOKEN", "from-env")
    assert _token() == "from-env"
    origin = token_origin(homes().config, homes().config_file, True)
    assert origin is not None and origin.kind == "environment"
    monkeypatch.delenv("AVIN_TOKEN")
    origin = token_origin(homes().config, homes().config_file, True)
    assert origin is not None and origin.kind == "token file"


def test_an_empty_avin_token_does_not_hide_the_stored_one(monkeypatch: pytest.MonkeyPatch) -> None:
    store_token(SECRET, homes().config, use_keyring=False)
    monkeypatch.setenv("AVIN_TOKEN", "")  # `AVIN_TOKEN=` left in a systemd env file
    assert _token() == SECRET


def test_no_source_is_no_token_and_the_simulated_market() -> None:
    assert _token() is None
    assert mode_for(load_settings()).value == "sim"


def test_token_set_without_a_keyring_writes_a_0600_file_whatever_the_umask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(token_source, "keyring_module", lambda: None)
    old = os.umask(0o000)
    try:
        origin = store_token(f"  {SECRET}\n", homes().config)
    finally:
        os.umask(old)
    path = homes().config / "token"
    assert origin.kind == "config home" and origin.where == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == SECRET + "\n"
    assert [p.name for p in path.parent.iterdir()] == ["token"]  # no temporary file left
    assert _token() == SECRET


def test_token_set_with_a_keyring_keeps_one_copy_there(keyring: MemoryKeyring) -> None:
    store_token("old", homes().config, use_keyring=False)
    origin = store_token(SECRET, homes().config)
    assert origin.kind == "keyring"
    assert keyring.items == {("avin", "token"): SECRET}
    assert not (homes().config / "token").exists()
    marker = homes().config / "token.keyring"
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600 and SECRET not in marker.read_text()
    assert _token() == SECRET
    store_token("in-a-file", homes().config, use_keyring=False)  # --file: the keyring forgets it
    assert keyring.items == {} and not marker.exists()
    assert _token() == "in-a-file"


def test_a_token_stored_in_a_keyring_that_is_gone_is_said(
    keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_token(SECRET, homes().config)
    keyring.items.clear()  # removed by another program
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "holds no avin token any more" in str(caught.value)
    monkeypatch.setattr(token_source, "keyring_module", lambda: None)  # keyring uninstalled
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "no usable keyring is available now" in str(caught.value)
    assert "avin token set --file" in str(caught.value)


def test_without_a_marker_the_keyring_is_never_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_source, "keyring_module", lambda: pytest.fail("keyring asked"))
    assert _token() is None


@pytest.mark.parametrize("bad", ["", "   \n", "two words", "tab\there", "bell\x07"])
def test_a_value_that_cannot_be_a_token_is_refused_without_quoting_it(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        store_token(bad, homes().config)
    assert bad.strip() == "" or bad not in str(caught.value)
    assert not (homes().config / "token").exists()


def test_an_unreadable_or_empty_token_file_is_a_config_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AVIN_TOKEN_FILE", str(tmp_path / "missing"))
    problems = check_config()
    assert len(problems) == 1
    assert problems[0].file == "environment (AVIN_TOKEN_FILE)"
    assert "cannot read" in problems[0].message and "missing" in problems[0].message
    monkeypatch.setenv("AVIN_TOKEN_FILE", str(_token_file("empty", "\n")))
    assert "is empty" in check_config()[0].message


def test_a_locked_keyring_is_said_not_a_silent_switch_to_the_simulated_market(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(token_source, "keyring_module", lambda: MemoryKeyring(fail=True))
    (homes().config).mkdir(parents=True, exist_ok=True)
    (homes().config / "token.keyring").write_text("avin token set stored it there")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    text = str(caught.value)
    assert "the OS keyring" in text and "cannot be read" in text
    assert "unlock it" in text and "avin token set --file" in text


def test_the_real_keyring_package_round_trip_and_its_null_backend() -> None:
    """Through keyring's own API: a backend of priority 1 stores and gives the token back; the null
    backend (the tests' PYTHON_KEYRING_BACKEND, a server without a Secret Service) is no keyring."""
    import keyring
    import keyring.backend
    import keyring.backends.null

    class Memory(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]
        items: ClassVar[dict[tuple[str, str], str]] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username))

    previous = keyring.get_keyring()
    try:
        keyring.set_keyring(keyring.backends.null.Keyring())
        assert token_source.keyring_module() is None
        keyring.set_keyring(Memory())
        assert token_source.keyring_module() is keyring
        assert store_token(SECRET, homes().config).kind == "keyring"
        assert Memory.items == {("avin", "token"): SECRET}
        assert _token() == SECRET
        assert token_source.clear_token(homes().config) == ["the OS keyring entry"]
        assert Memory.items == {} and _token() is None
    finally:
        keyring.set_keyring(previous)


def test_token_source_error_keeps_its_parts() -> None:
    error = TokenSourceError("the OS keyring", "cannot be read", "unlock it")
    assert str(error) == "the OS keyring: cannot be read"
