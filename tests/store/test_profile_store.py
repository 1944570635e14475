"""Profiles: what a user relies on when keeping credentials for several Pulps."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from rds_tui import filestore
from rds_tui.profiles import (
    Profile,
    ProfileError,
    ProfileFileError,
    ProfileNotFound,
    ProfileStore,
    default_config_path,
    make_profile,
    read_pulp_cli_profiles,
)

SECRET = "s3cr3t-Passw0rd"


@pytest.fixture
def store(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "config" / "profiles.toml")


def test_round_trip_keeps_every_field_and_file_is_private(store: ProfileStore):
    profile = Profile(
        name="prod",
        api_root="https://pulp.example.com/",
        api_prefix="api/pulp",
        domain="team-a",
        username="admin",
        password_env="PULP_PROD_PASSWORD",
        cert="/etc/pki/client.crt",
        key="/etc/pki/client.key",
        verify_ssl="/etc/pki/ca.pem",
        poll_interval=30,
        expected_cutoff_seconds=1800,
        default_tests=["test_1_idle_connection", "test_6_listen_notify"],
        default_duration=45,
    )
    store.upsert(profile)

    again = ProfileStore(store.path).get("prod")
    assert again == profile
    assert again.api_root == "https://pulp.example.com"  # trailing slash dropped
    assert again.api_prefix == "/api/pulp/"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    text = store.path.read_text()
    assert "[profiles.prod]" in text
    assert "password =" not in text  # only the variable's name is stored
    assert [p.name for p in store.list()] == ["prod"]


def test_password_is_stored_only_when_given_and_never_shown(store, monkeypatch):
    store.upsert(Profile(name="lab", api_root="http://127.0.0.1:24817", password=SECRET))
    profile = store.get("lab")
    assert profile.resolve_password() == SECRET
    assert SECRET in store.path.read_text()  # explicit request: stored
    assert SECRET not in repr(profile) and SECRET not in str(profile)
    assert "stored" in profile.password_source()

    monkeypatch.setenv("MY_PULP_PW", "from-env")
    via_env = Profile(name="x", api_root="https://h", password_env="MY_PULP_PW")
    assert via_env.resolve_password() == "from-env"
    monkeypatch.delenv("MY_PULP_PW")
    assert via_env.resolve_password() is None
    assert "NOT set" in via_env.password_source()


def test_validation_error_names_field_but_not_password():
    with pytest.raises(ValidationError) as caught:
        Profile(name="p", api_root="https://h", password=SECRET, poll_interval=-1)
    assert "poll_interval" in str(caught.value)
    assert SECRET not in str(caught.value)
    # What the commands show: one line naming the field and what is wrong, no value.
    with pytest.raises(ProfileError) as caught:
        make_profile(name="p", api_root="https://h", password=SECRET, poll_interval=-1)
    message = str(caught.value)
    assert "'poll_interval'" in message and "greater than 0" in message
    assert SECRET not in message and "\n" not in message


def test_corrupt_toml_names_file_and_line_and_is_never_overwritten(store):
    store.path.parent.mkdir(parents=True)
    broken = b'[profiles.prod]\napi_root = "https://pulp.example.com"\nusername = admin\n'
    store.path.write_bytes(broken)

    with pytest.raises(ProfileFileError) as caught:
        store.list()
    message = str(caught.value)
    assert str(store.path) in message and "line 3" in message

    with pytest.raises(ProfileFileError):
        store.upsert(Profile(name="other", api_root="https://other"))
    with pytest.raises(ProfileFileError):
        store.remove("prod")
    assert store.path.read_bytes() == broken


def test_invalid_field_names_profile_and_field_and_secret_stays_hidden(store):
    store.path.parent.mkdir(parents=True)
    original = (
        f'[profiles.prod]\napi_root = "https://pulp.example.com/pulp/api/v3"\n'
        f'password = "{SECRET}"\n\n[profiles.stage]\napi_root = "https://s"\nusernmae = "x"\n'
    )
    store.path.write_text(original)
    with pytest.raises(ProfileFileError) as caught:
        store.get("stage")
    message = str(caught.value)
    assert "'prod'" in message and "api_root" in message and "api_prefix" in message
    assert SECRET not in message

    store.path.write_text('[profiles.stage]\napi_root = "https://s"\nusernmae = "x"\n')
    with pytest.raises(ProfileFileError, match=r"'stage'.*unknown field 'usernmae'"):
        store.list()


def test_missing_profile_lists_known_ones(store):
    store.upsert(Profile(name="a", api_root="https://a"))
    store.upsert(Profile(name="b", api_root="https://b"))
    with pytest.raises(ProfileNotFound, match=r"'c'.*known profiles: a, b"):
        store.get("c")
    store.remove("a")
    assert [p.name for p in store.list()] == ["b"]
    with pytest.raises(ProfileNotFound):
        store.remove("a")


def test_empty_or_absent_file_means_no_profiles(store):
    assert store.list() == []
    store.path.parent.mkdir(parents=True)
    store.path.write_text("")
    assert store.list() == []


def test_unrelated_top_level_keys_survive_a_rewrite(store):
    store.path.parent.mkdir(parents=True)
    store.path.write_text('theme = "dark"\n[profiles.a]\napi_root = "https://a"\n')
    store.upsert(Profile(name="b", api_root="https://b"))
    text = store.path.read_text()
    assert 'theme = "dark"' in text and "[profiles.a]" in text and "[profiles.b]" in text


def test_failed_write_leaves_old_file_and_no_temp_file(store, monkeypatch):
    store.upsert(Profile(name="a", api_root="https://a"))
    before = store.path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(filestore.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.upsert(Profile(name="b", api_root="https://b"))
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == [
        "profiles.toml",
        "profiles.toml.lock",
    ]


def test_concurrent_writers_lose_no_profile(store):
    def add(index: int) -> None:
        store.upsert(Profile(name=f"p{index}", api_root=f"https://h{index}"))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.list()) == 12


@pytest.mark.parametrize(
    ("api_root", "hint"),
    [("pulp.example.com", "base URL"), ("https://h/pulp/", "api_prefix"), ("ftp://h", "base URL")],
)
def test_bad_api_root_says_how_to_fix(api_root, hint):
    with pytest.raises(ValueError, match=hint):
        Profile(name="p", api_root=api_root)


def test_default_path_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RDS_TUI_CONFIG", str(tmp_path / "mine.toml"))
    assert default_config_path() == tmp_path / "mine.toml"
    assert ProfileStore().path == tmp_path / "mine.toml"


# pulp-cli import ------------------------------------------------------------------


def _pulp_cli_files(tmp_path: Path) -> list[Path]:
    system = tmp_path / "etc" / "cli.toml"
    user = tmp_path / "home" / "cli.toml"
    system.parent.mkdir()
    user.parent.mkdir()
    system.write_text(
        '[cli]\nbase_url = "https://pulp.corp"\nusername = "ops"\nverify_ssl = false\n'
        'format = "json"\n\n[cli-stage]\nbase_url = "https://stage.corp"\n'
        'api_root = "/api/pulp/"\ndomain = "qa"\n'
    )
    user.write_text(
        f'[cli]\nusername = "me"\npassword = "{SECRET}"\n\n'
        '[cli-certs]\nbase_url = "https://mtls.corp"\ncert = "/c.pem"\nkey = "/k.pem"\n\n'
        '[cli-broken]\nusername = "nobody"\n'
    )
    return [system, user]


def test_pulp_cli_import_merges_files_later_wins(store, tmp_path):
    paths = _pulp_cli_files(tmp_path)
    imported = {p.name: p for p in store.import_pulp_cli(paths)}

    assert set(imported) == {"pulp-cli", "stage", "certs"}
    default = store.get("pulp-cli")
    assert default.api_root == "https://pulp.corp"
    assert default.username == "me"  # the user's file wins over /etc
    assert default.verify_ssl is False  # kept from /etc
    assert default.password is None  # not stored without an explicit request
    assert SECRET not in store.path.read_text()
    stage = store.get("stage")
    assert (stage.api_prefix, stage.domain) == ("/api/pulp/", "qa")
    assert (store.get("certs").cert, store.get("certs").key) == ("/c.pem", "/k.pem")

    found = read_pulp_cli_profiles(paths)
    notes = "\n".join(found.notes)
    assert "broken: skipped" in notes and "base_url" in notes
    assert "pulp-cli: password not imported" in notes
    assert SECRET not in notes


def test_pulp_cli_import_with_passwords_keeps_own_fields(store, tmp_path):
    store.upsert(
        Profile(name="pulp-cli", api_root="https://old", poll_interval=15, default_duration=40)
    )
    store.import_pulp_cli(_pulp_cli_files(tmp_path), store_passwords=True)
    merged = store.get("pulp-cli")
    assert merged.api_root == "https://pulp.corp"
    assert merged.resolve_password() == SECRET
    assert (merged.poll_interval, merged.default_duration) == (15, 40)


def test_pulp_cli_import_errors_are_readable(store, tmp_path):
    with pytest.raises(ProfileError, match="no pulp-cli configuration found"):
        store.import_pulp_cli([tmp_path / "nowhere.toml"])
    bad = tmp_path / "cli.toml"
    bad.write_text("[cli\nbase_url = 1\n")
    with pytest.raises(ProfileFileError, match=r"cli\.toml.*line 1"):
        store.import_pulp_cli([bad])
    assert not store.path.exists()


def test_make_profile_reports_every_bad_field_readably():
    from rds_tui.profiles import make_profile

    with pytest.raises(ProfileError) as caught:
        make_profile(
            name="x", api_root="https://h", password=SECRET, verify_ssl="", default_duration=500
        )
    message = str(caught.value)
    assert message.startswith("profile 'x': ")
    assert "'verify_ssl': use true, false or the path of a CA bundle" in message
    assert "'default_duration'" in message and "300" in message
    assert SECRET not in message
