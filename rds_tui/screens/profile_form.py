"""Add or edit one instance profile, validated by the Profile model before it is saved.

One form, two field lists: a Pulp instance (server URL, how to log in) or a direct one
(a PostgreSQL DSN probed from this machine; its password in a variable, or stored on
purpose, never inside the DSN)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from rds_tui.constants import (
    DASHBOARD_POLL_INTERVAL_SECONDS,
    DEFAULT_DURATION_MINUTES,
    PRODUCTION_CUTOFF_SECONDS,
)
from rds_tui.profiles import Profile

# (field, label, placeholder) in the order the form shows them.
TEXT_FIELDS: list[tuple[str, str, str]] = [
    ("name", "Name", "prod, staging, lab ..."),
    ("api_root", "Server URL", "https://pulp.example.com"),
    ("api_prefix", "API prefix", "/pulp/"),
    ("domain", "Domain", "default"),
    ("username", "User", "admin"),
    ("password_env", "Password variable", "PULP_PASSWORD (environment variable)"),
    ("password", "Password", "only stored if the box below is ticked"),
    ("cert", "Client cert", "/path/to/client.crt"),
    ("key", "Client key", "/path/to/client.key"),
    ("verify_ssl", "Verify TLS", "true, false or /path/to/ca-bundle.pem"),
    ("poll_interval", "Poll every (s)", f"{DASHBOARD_POLL_INTERVAL_SECONDS:g}"),
    (
        "expected_cutoff_seconds",
        "Cutoff (s)",
        f"from the server ({PRODUCTION_CUTOFF_SECONDS:g} in production)",
    ),
    ("default_duration", "Duration (min)", str(DEFAULT_DURATION_MINUTES)),
]

# The direct instance's form: a PostgreSQL endpoint, no Pulp.
DIRECT_FIELDS: list[tuple[str, str, str]] = [
    ("name", "Name", "rds-proxy, lab-direct ..."),
    ("dsn", "DSN", "postgresql://USER@HOST:PORT/DBNAME (or the variable below)"),
    ("dsn_env", "DSN variable", "PROBE_DSN (environment variable holding the DSN)"),
    ("password_env", "Password variable", "PROBE_PASSWORD (environment variable)"),
    ("password", "Password", "only stored if the box below is ticked"),
    ("time_unit_seconds", "Time unit (s)", "60: one minute of a duration (1 in a lab)"),
    ("expected_cutoff_seconds", "Cutoff (s)", "the proxy's idle cutoff (default 40 units)"),
    ("default_duration", "Duration (min)", str(DEFAULT_DURATION_MINUTES)),
]


def fields_for(kind: str) -> list[tuple[str, str, str]]:
    return DIRECT_FIELDS if kind == "direct" else TEXT_FIELDS


def _optional(value: str) -> str | None:
    value = value.strip()
    return value or None


def _verify_value(text: str) -> bool | str:
    lowered = text.strip().lower()
    if lowered in ("", "true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    return text.strip()


def _pulp_data(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "api_root": values.get("api_root", "").strip(),
        "verify_ssl": _verify_value(values.get("verify_ssl", "")),
    }
    for field in ("api_prefix", "domain"):
        if _optional(values.get(field, "")):
            data[field] = values[field].strip()
    for field in ("username", "password_env", "cert", "key"):
        data[field] = _optional(values.get(field, ""))
    if not data["api_root"]:
        errors["api_root"] = "required: the server's base URL, like https://pulp.example.com"
    return data


def _direct_data(
    values: dict[str, str], store_password: bool, errors: dict[str, str]
) -> dict[str, Any]:
    from rds_tui.direct.dsn import DsnError, strip_password

    data: dict[str, Any] = {"kind": "direct"}
    for field in ("dsn", "dsn_env", "password_env"):
        data[field] = _optional(values.get(field, ""))
    if not data["dsn"] and not data["dsn_env"]:
        errors["dsn"] = (
            "required: the DSN, like postgresql://probe@proxy.example.com:5432/pulp, "
            "or the name of the variable holding it (DSN variable)"
        )
    elif data["dsn"]:
        try:
            dsn, password = strip_password(data["dsn"])
        except DsnError:
            return data  # the model says what is wrong with it
        if password is not None and not store_password:
            errors["dsn"] = (
                "the DSN holds a password: remove it and name a Password variable, or "
                "tick 'Store the password in the profiles file' (it is then kept apart "
                "from the DSN, never shown)"
            )
        elif password is not None:
            if values.get("password"):
                errors["password"] = "the DSN holds a password already: keep only one"
            data["dsn"], data["password"] = dsn, password
    return data


def form_values_to_profile(
    values: dict[str, str], store_password: bool, kind: str = "pulp"
) -> Profile:
    """Build a Profile from the form's strings; raises FormError naming each bad field."""
    errors: dict[str, str] = {}
    name = values.get("name", "").strip()
    if not name:
        errors["name"] = "required: a short name for this instance, like prod or staging"
    if kind == "direct":
        data = _direct_data(values, store_password, errors)
    else:
        data = _pulp_data(values, errors)
    data["name"] = name
    password = values.get("password", "")
    if password:
        if store_password:
            data["password"] = password
        else:
            errors["password"] = (
                "tick 'Store the password in the profiles file', or leave it empty "
                "and name an environment variable above"
            )
    for field, number in (
        ("poll_interval", float),
        ("time_unit_seconds", float),
        ("expected_cutoff_seconds", int),
        ("default_duration", int),
    ):
        raw = _optional(values.get(field, ""))
        if raw is None:
            continue
        try:
            data[field] = number(raw)
        except ValueError:
            errors[field] = f"{raw!r} is not a {'number' if number is float else 'whole number'}"
    try:
        profile = Profile(**data)
    except ValidationError as exc:
        # A whole-profile error (which fields a kind needs) goes under the first field
        # that says where the instance is.
        whole = "dsn" if kind == "direct" else "api_root"
        for item in exc.errors(include_input=False, include_url=False):
            field = str(item["loc"][0]) if item["loc"] else whole
            errors.setdefault(field, item["msg"].removeprefix("Value error, "))
        raise FormError(errors) from None
    if errors:
        raise FormError(errors)
    return profile


class FormError(Exception):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


class ProfileFormScreen(ModalScreen[Profile | None]):
    """Dismisses with the validated Profile (not yet saved), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        profile: Profile | None = None,
        taken_names: set[str] | None = None,
        kind: str = "pulp",
    ):
        super().__init__()
        self.original = profile
        self.taken_names = taken_names or set()
        self.kind = profile.kind if profile is not None else kind
        self.fields = fields_for(self.kind)

    def compose(self) -> ComposeResult:
        profile = self.original
        with Vertical(id="dialog", classes="dialog form-dialog"):
            what = "direct PostgreSQL instance" if self.kind == "direct" else "instance"
            title = f"Edit {what} {profile.name}" if profile else f"New {what}"
            yield Static(title, classes="dialog-title", markup=False)
            with VerticalScroll(id="form-fields"):
                for field, label, placeholder in self.fields:
                    value = self._initial(field)
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(
                            value=value,
                            placeholder=placeholder,
                            password=field == "password",
                            id=f"field-{field}",
                            classes="form-input",
                        )
                    # Plain text: an error quotes what was typed.
                    yield Static("", id=f"error-{field}", classes="form-error", markup=False)
                yield Checkbox(
                    "Store the password in the profiles file (mode 0600)",
                    value=bool(profile and profile.password),
                    id="store-password",
                )
            yield Static("", id="form-status", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def _initial(self, field: str) -> str:
        profile = self.original
        if profile is None:
            return ""
        value = getattr(profile, field)
        if value is None or (field == "verify_ssl" and value is True):
            return ""
        if field in ("api_prefix",) and value == "/pulp/":
            return ""
        if field == "domain" and value == "default":
            return ""
        if field == "time_unit_seconds":
            return "" if value == 60 else f"{value:g}"
        return str(value).lower() if isinstance(value, bool) else str(value)

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _show_error(self, field: str, message: str) -> None:
        error = self.query_one(f"#error-{field}", Static)
        error.update(message)
        error.set_class(bool(message), "-shown")

    def action_save(self) -> None:
        values = {
            field: self.query_one(f"#field-{field}", Input).value for field, _, _ in self.fields
        }
        store = self.query_one("#store-password", Checkbox).value
        for field, _, _ in self.fields:
            self._show_error(field, "")
        try:
            profile = form_values_to_profile(values, store, self.kind)
            renamed = self.original is None or profile.name != self.original.name
            if renamed and profile.name in self.taken_names:
                raise FormError({"name": f"an instance named {profile.name!r} already exists"})
        except FormError as exc:
            first = None
            for field, message in exc.errors.items():
                if field not in {name for name, _, _ in self.fields}:
                    field = "name"
                self._show_error(field, f"↑ {message}")
                first = first or field
            status = self.query_one("#form-status", Static)
            status.update(f"{len(exc.errors)} field(s) to fix before saving")
            status.add_class("-shown")
            if first:
                self.query_one(f"#field-{first}", Input).focus()
            return
        if self.original is not None and self.original.default_tests:
            # The form does not show the default tests: keep them.
            profile = profile.model_copy(update={"default_tests": self.original.default_tests})
        self.dismiss(profile)
