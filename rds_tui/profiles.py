"""Instance profiles (a Pulp URL plus how to authenticate), kept in one TOML file.

Layout of the file (RDS_TUI_CONFIG, default: the platform's user config dir)::

    [profiles.prod]
    api_root = "https://pulp.example.com"
    username = "admin"
    password_env = "PULP_PROD_PASSWORD"

    [profiles.lab-direct]          # a PostgreSQL endpoint probed directly (rds-tui probe)
    kind = "direct"
    dsn = "postgresql://probe@127.0.0.1:6432/pulp"
    password_env = "PROBE_PASSWORD"

A profile without `kind` is a Pulp profile (files written before direct profiles read
unchanged). A direct profile has `dsn` or `dsn_env`, never api_root; its DSN holds no
password (that goes in `password_env`, or `password` when stored on purpose).

A password is written to the file only when the user asks for it; otherwise the
profile names an environment variable that holds it. The file is rewritten
atomically with mode 0600, and a file that does not parse or validate is reported
(file and line, or profile and field) and never overwritten.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rds_tui.constants import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES
from rds_tui.filestore import atomic_write_bytes, exclusive_lock

CONFIG_ENV = "RDS_TUI_CONFIG"
DEFAULT_TIME_UNIT_SECONDS = 60.0  # one "minute" of a direct run's durations
PULP_CLI_DEFAULT_PROFILE = "pulp-cli"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ProfileError(Exception):
    """A profile problem the user can fix; str() says what and how."""


class ProfileNotFound(ProfileError):
    def __init__(self, name: str, path: Path, known: Sequence[str]):
        self.name = name
        if known:
            hint = f"known profiles: {', '.join(known)}"
        else:
            hint = f"none defined yet; add one with: rds-tui profiles add {name} --api-root URL"
        super().__init__(f"no profile named {name!r} in {path} ({hint})")


class ProfileFileError(ProfileError):
    """The profiles file (or a pulp-cli file) cannot be read, parsed or validated."""


def default_config_path() -> Path:
    configured = os.environ.get(CONFIG_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_config_path  # imported lazily: keeps start-up fast

    return user_config_path("rds-tui") / "profiles.toml"


class Profile(BaseModel):
    """One Pulp instance and how to reach it. The password never shows in repr/str."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str
    # "pulp": a Pulp server (api_root...); "direct": a PostgreSQL endpoint (dsn or dsn_env).
    kind: Literal["pulp", "direct"] = "pulp"
    api_root: str | None = Field(
        default=None, description="server base URL, like https://pulp.example.com"
    )
    api_prefix: str = "/pulp/"
    domain: str = "default"
    username: str | None = None
    password_env: str | None = None
    password: str | None = Field(default=None, repr=False)
    cert: str | None = None
    key: str | None = None
    verify_ssl: bool | str = True
    poll_interval: float | None = Field(default=None, gt=0)
    expected_cutoff_seconds: int | None = Field(default=None, gt=0)
    default_tests: list[str] = Field(default_factory=list)
    default_duration: int | None = Field(
        default=None, ge=MIN_DURATION_MINUTES, le=MAX_DURATION_MINUTES
    )
    # The AWS side, for a run's "Collect next" commands (placeholders where unset; the
    # log groups default to AWS's naming from the proxy name and the DB instance id).
    rds_proxy_name: str | None = None
    aws_region: str | None = None
    db_instance_identifier: str | None = None
    postgres_log_group: str | None = None
    proxy_log_group: str | None = None
    # Direct profiles: the PostgreSQL DSN (without its password), or the variable holding
    # it; and how long one lab "minute" lasts (the lab shrinks durations: 1 s).
    dsn: str | None = None
    dsn_env: str | None = None
    time_unit_seconds: float = Field(default=DEFAULT_TIME_UNIT_SECONDS, gt=0)
    # Direct profiles: the in-transaction cutoff tests 3 and 4 are measured against (a
    # Pulp server states its own); None: expected_cutoff_seconds.
    expected_in_transaction_cutoff_seconds: int | None = Field(default=None, gt=0)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME_PATTERN.match(value):
            raise ValueError(
                "a profile name uses letters, digits, '.', '_' and '-' and starts with a "
                "letter or digit"
            )
        return value

    @field_validator("api_root")
    @classmethod
    def _check_api_root(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if "@" in parts.netloc:
            # Never echo it: the URL holds a password.
            raise ValueError(
                "the URL contains credentials (user:password@host); give the user as "
                "username and the password with password_env (or --store-password)"
            )
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not a server URL; use the base URL, like https://pulp.example.com"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                f"{value!r} has a path; api_root is the server's base URL "
                f"({parts.scheme}://{parts.netloc}), the API path goes in api_prefix"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator(
        "rds_proxy_name",
        "aws_region",
        "db_instance_identifier",
        "postgres_log_group",
        "proxy_log_group",
    )
    @classmethod
    def _check_aws_name(cls, value: str | None) -> str | None:
        # AWS names and log groups: letters, digits and . _ - / # : (no spaces).
        if value is not None and not re.fullmatch(r"[A-Za-z0-9._\-/#:]+", value):
            raise ValueError(f"{value!r} is not an AWS name: use letters, digits and . _ - / # :")
        return value

    @field_validator("api_prefix")
    @classmethod
    def _check_api_prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        return f"/{value}/" if value else "/"

    @field_validator("password_env", "dsn_env")
    @classmethod
    def _check_env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("dsn")
    @classmethod
    def _check_dsn(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from rds_tui.direct.dsn import DsnError, parse_dsn

        try:
            params = parse_dsn(value)
        except DsnError as exc:
            raise ValueError(str(exc)) from None  # never quotes the DSN
        if params.get("password"):
            raise ValueError(
                "the DSN holds a password; keep it out of the file's DSN: name a variable "
                "with password_env (--password-env VAR), or store it on purpose with "
                "--store-password (it then goes in `password`, not in the DSN)"
            )
        return value.strip()

    @model_validator(mode="after")
    def _check_kind(self) -> Profile:
        """Each kind has its own required fields; the other kind's fields are refused."""
        if self.kind == "pulp":
            missing = None if self.api_root else (
                "a Pulp profile needs api_root (the server's base URL); a direct "
                'PostgreSQL profile says kind = "direct" and has dsn or dsn_env'
            )  # fmt: skip
            others, why = _DIRECT_ONLY_FIELDS, (
                'belong(s) to direct profiles (kind = "direct"); a Pulp profile reaches '
                "PostgreSQL through Pulp's workers"
            )  # fmt: skip
        else:
            missing = None if (self.dsn is None) != (self.dsn_env is None) else (
                "a direct profile needs exactly one of dsn (the DSN without its password) "
                "and dsn_env (a variable holding the DSN)"
            )  # fmt: skip
            others, why = _PULP_ONLY_FIELDS, (
                "belong(s) to Pulp profiles; a direct profile connects with its DSN "
                "(rds-tui probe)"
            )  # fmt: skip
        if missing:
            raise ValueError(missing)
        given = [name for name in others if _differs(self, name)]
        if given:
            raise ValueError(f"{', '.join(given)} {why}")
        return self

    def require_pulp(self) -> Profile:
        """This profile, when it is a Pulp one; a ProfileError saying what to use instead."""
        if self.kind == "direct":
            raise ProfileError(
                f"profile {self.name} is a direct PostgreSQL profile; use "
                f"`rds-tui probe --profile {self.name}`"
            )
        return self

    @field_validator("verify_ssl")
    @classmethod
    def _check_verify_ssl(cls, value: bool | str) -> bool | str:
        if isinstance(value, str) and not value.strip():
            raise ValueError("use true, false or the path of a CA bundle")
        return value

    def resolve_password(self) -> str | None:
        """The stored password, else the value of the `password_env` variable, else None."""
        if self.password is not None:
            return self.password
        if self.password_env:
            return os.environ.get(self.password_env)
        return None

    def password_source(self) -> str:
        """Where the password comes from, in words (never the password itself)."""
        if self.password is not None:
            return "stored in the profiles file"
        if self.password_env:
            state = "set" if os.environ.get(self.password_env) else "NOT set"
            return f"environment variable {self.password_env} ({state})"
        if self.kind == "direct" and self.dsn_env:
            return f"the DSN in environment variable {self.dsn_env}, or libpq's own"
        if self.kind == "direct":
            return "libpq's own (PGPASSWORD or ~/.pgpass)"
        return "none"

    def auth_summary(self) -> str:
        """How this profile authenticates, in words (never the password itself)."""
        if self.kind == "direct":
            return f"password: {self.password_source()}"
        if self.cert:
            return "client certificate"
        if self.username:
            return f"{self.username} (password: {self.password_source()})"
        return "anonymous"

    def where(self) -> str:
        """What the profile reaches, as shown: the server URL, or the DSN without password."""
        if self.kind == "pulp":
            return str(self.api_root)
        if self.dsn_env:
            return f"${self.dsn_env}"
        from rds_tui.direct.dsn import public_dsn

        return public_dsn(self.dsn or "")

    def to_toml_table(self) -> dict[str, Any]:
        """The profile as written under [profiles.NAME]: no name, no unset fields (a Pulp
        profile is written as before direct profiles existed: no kind)."""
        table = self.model_dump(exclude={"name"}, exclude_none=True, exclude_defaults=True)
        if self.kind == "direct":
            return {"kind": "direct", **table}
        return table | {"api_root": self.api_root}


# Fields of one kind only (a value other than the default on the other kind is refused).
_DIRECT_ONLY_FIELDS = (
    "dsn",
    "dsn_env",
    "time_unit_seconds",
    "expected_in_transaction_cutoff_seconds",
)
_PULP_ONLY_FIELDS = (
    "api_root",
    "api_prefix",
    "domain",
    "username",
    "cert",
    "key",
    "verify_ssl",
    "poll_interval",
)


def fields_of_kind(kind: str) -> set[str]:
    """The fields a profile of `kind` uses (shown by `profiles show`)."""
    other = _PULP_ONLY_FIELDS if kind == "direct" else _DIRECT_ONLY_FIELDS
    return set(Profile.model_fields) - set(other)


def _differs(profile: Profile, name: str) -> bool:
    return getattr(profile, name) != Profile.model_fields[name].default


# Shown instead of pydantic's per-branch messages for fields with a union type.
_FIELD_HINTS = {"verify_ssl": "use true, false or the path of a CA bundle (a string)"}


def _format_validation_error(
    error: ValidationError, where: str, field_names: dict[str, str] | None = None
) -> str:
    """One line naming each bad field (as the file spells it) and what is wrong.

    The input values are left out: one of them could be a password.
    """
    field_names = field_names or {}
    problems: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        location = [str(part) for part in item["loc"]]
        top = location[0] if location else "(profile)"
        shown = field_names.get(top, top)
        if not location:  # the whole profile (which fields a kind needs)
            problems[top] = item["msg"].removeprefix("Value error, ")
        elif item["type"] == "extra_forbidden":
            known = ", ".join(name for name in Profile.model_fields if name != "name")
            problems[top] = f"unknown field {shown!r} (known fields: {known})"
        elif top in _FIELD_HINTS:
            problems[top] = f"field {shown!r}: {_FIELD_HINTS[top]}"
        else:
            path = ".".join([shown, *location[1:]])
            message = item["msg"].removeprefix("Value error, ")
            problems.setdefault(top, f"field {path!r}: {message}")
    return f"{where}: " + "; ".join(problems.values())


def make_profile(**fields: Any) -> Profile:
    """A validated Profile, or a ProfileError naming each bad field (never its value)."""
    try:
        return Profile(**fields)
    except ValidationError as exc:
        name = fields.get("name")
        raise ProfileError(_format_validation_error(exc, f"profile {name!r}")) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ProfileFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProfileFileError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        # The message carries "(at line L, column C)".
        raise ProfileFileError(
            f"{path} is not valid TOML: {exc}; fix the file (it was left untouched)"
        ) from None


class ProfileStore:
    """The profiles file: list, get, add or replace, remove, import from pulp-cli."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else default_config_path()

    # Reading -----------------------------------------------------------------------

    def _load(self) -> tuple[dict[str, Any], dict[str, Profile]]:
        document = _read_toml(self.path)
        tables = document.get("profiles", {})
        if not isinstance(tables, dict):
            raise ProfileFileError(f"{self.path}: 'profiles' must be a table ([profiles.NAME])")
        profiles: dict[str, Profile] = {}
        for name, table in tables.items():
            where = f"{self.path}: profile {name!r}"
            if not isinstance(table, dict):
                raise ProfileFileError(f"{where} must be a table ([profiles.{name}])")
            if "name" in table:
                raise ProfileFileError(
                    f"{where}: remove the 'name' field, the table name is the profile name"
                )
            try:
                profiles[name] = Profile(name=name, **table)
            except ValidationError as exc:
                raise ProfileFileError(_format_validation_error(exc, where)) from None
        return document, profiles

    def permission_warning(self) -> str | None:
        """A warning when the file holds a password but others may read it (edited or
        copied by hand: rds-tui itself always writes it 0600)."""
        try:
            mode = self.path.stat().st_mode & 0o777
        except OSError:
            return None
        if not mode & 0o077 or not any(p.password is not None for p in self.list()):
            return None
        return (
            f"{self.path} holds a password and is readable by others (mode {mode:o}); "
            f"fix with: chmod 600 {self.path}"
        )

    def list(self) -> list[Profile]:
        return sorted(self._load()[1].values(), key=lambda profile: profile.name)

    def get(self, name: str) -> Profile:
        profiles = self._load()[1]
        try:
            return profiles[name]
        except KeyError:
            raise ProfileNotFound(name, self.path, sorted(profiles)) from None

    # Writing (read-modify-write under a lock; an invalid file raises before any write) --

    def _write(self, document: dict[str, Any], profiles: dict[str, Profile]) -> None:
        document = dict(document)
        document["profiles"] = {name: profiles[name].to_toml_table() for name in sorted(profiles)}
        atomic_write_bytes(self.path, tomli_w.dumps(document).encode("utf-8"))

    def upsert(self, profile: Profile) -> None:
        """Add `profile`, or replace the profile of the same name."""
        with exclusive_lock(self.path):
            document, profiles = self._load()
            profiles[profile.name] = profile
            self._write(document, profiles)

    def remove(self, name: str) -> None:
        with exclusive_lock(self.path):
            document, profiles = self._load()
            if name not in profiles:
                raise ProfileNotFound(name, self.path, sorted(profiles))
            del profiles[name]
            self._write(document, profiles)

    def import_pulp_cli(
        self, paths: Iterable[Path] | None = None, *, store_passwords: bool = False
    ) -> list[Profile]:
        """Import pulp-cli's profiles; connection fields replace those of a same-named
        profile, rds-tui's own fields (poll interval, default tests...) are kept."""
        return self.add_imported(read_pulp_cli_profiles(paths, store_passwords=store_passwords))

    def add_imported(self, found: PulpCliProfiles) -> list[Profile]:
        """Save profiles read by `read_pulp_cli_profiles` (see `import_pulp_cli`)."""
        with exclusive_lock(self.path):
            document, profiles = self._load()
            imported = []
            for incoming in found.profiles:
                existing = profiles.get(incoming.name)
                if existing is not None:
                    kept = existing.model_dump(include=_RDS_TUI_ONLY_FIELDS)
                    incoming = incoming.model_copy(update=kept)
                    if incoming.password is None and existing.password is not None:
                        incoming = incoming.model_copy(update={"password": existing.password})
                profiles[incoming.name] = incoming
                imported.append(incoming)
            self._write(document, profiles)
        return imported


# Fields pulp-cli does not know: an import keeps the user's values for them.
_RDS_TUI_ONLY_FIELDS = {
    "password_env",
    "poll_interval",
    "expected_cutoff_seconds",
    "default_tests",
    "default_duration",
    "rds_proxy_name",
    "aws_region",
    "db_instance_identifier",
    "postgres_log_group",
    "proxy_log_group",
}

# pulp-cli key -> Profile field
_PULP_CLI_KEYS = {
    "base_url": "api_root",
    "api_root": "api_prefix",
    "domain": "domain",
    "username": "username",
    "password": "password",
    "cert": "cert",
    "key": "key",
    "verify_ssl": "verify_ssl",
}


_PULP_CLI_NAMES = {field_name: key for key, field_name in _PULP_CLI_KEYS.items()}


def pulp_cli_config_paths() -> list[Path]:
    """pulp-cli's files in the order it reads them (later wins per key)."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path("/etc/pulp/cli.toml"), Path(config_home) / "pulp" / "cli.toml"]


@dataclass
class PulpCliProfiles:
    profiles: list[Profile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # skipped sections, passwords left out
    sources: list[Path] = field(default_factory=list)


def read_pulp_cli_profiles(
    paths: Iterable[Path] | None = None, *, store_passwords: bool = False
) -> PulpCliProfiles:
    """Read pulp-cli's `[cli]` (named "pulp-cli" here) and `[cli-NAME]` sections."""
    candidates = list(paths) if paths is not None else pulp_cli_config_paths()
    result = PulpCliProfiles()
    merged: dict[str, dict[str, Any]] = {}
    for path in candidates:
        if not path.is_file():
            continue
        result.sources.append(path)
        for section, table in _read_toml(path).items():
            if not isinstance(table, dict):
                continue
            if section == "cli":
                name = PULP_CLI_DEFAULT_PROFILE
            elif section.startswith("cli-") and len(section) > 4:
                name = section[4:]
            else:
                continue
            merged.setdefault(name, {}).update(table)
    if not result.sources:
        looked = ", ".join(str(path) for path in candidates) or "(no paths given)"
        raise ProfileFileError(f"no pulp-cli configuration found (looked in {looked})")
    for name, table in merged.items():
        values = {
            _PULP_CLI_KEYS[key]: value for key, value in table.items() if key in _PULP_CLI_KEYS
        }
        if "password" in values and not store_passwords:
            del values["password"]
            result.notes.append(
                f"{name}: password not imported (pass --with-passwords to store it, or set "
                f"password_env with: rds-tui profiles add {name} ... --password-env VAR)"
            )
        if "api_root" not in values:
            result.notes.append(f"{name}: skipped, pulp-cli section has no base_url")
            continue
        try:
            result.profiles.append(Profile(name=name, **values))
        except ValidationError as exc:
            where = f"{name}: skipped, pulp-cli section"
            result.notes.append(_format_validation_error(exc, where, _PULP_CLI_NAMES))
    return result
