"""Profiles: the AWS side of an instance, and URLs that would carry a password."""

from __future__ import annotations

import pytest

from rds_tui.cli import EXIT_OK, EXIT_USAGE
from rds_tui.main import main
from rds_tui.profiles import ProfileError, ProfileStore, make_profile


def test_aws_fields_are_saved_shown_and_kept_on_reimport(capsys):
    code = main(
        [
            "profiles", "add", "prod", "--api-root", "https://pulp.example.com",
            "--rds-proxy-name", "pulp-prod-proxy", "--aws-region", "eu-west-1",
            "--db-instance-identifier", "pulp-db",
        ]
    )  # fmt: skip
    assert code == EXIT_OK
    profile = ProfileStore().get("prod")
    assert (profile.rds_proxy_name, profile.aws_region) == ("pulp-prod-proxy", "eu-west-1")
    capsys.readouterr()
    assert main(["profiles", "show", "prod"]) == EXIT_OK
    shown = capsys.readouterr().out
    assert "pulp-prod-proxy" in shown and "pulp-db" in shown


@pytest.mark.parametrize("value", ["eu west 1", "x;rm -rf ~", "a\nb"])
def test_aws_names_with_spaces_or_shell_characters_are_refused(value):
    with pytest.raises(ProfileError, match="is not an AWS name"):
        make_profile(name="p", api_root="https://pulp.example.com", aws_region=value)


def test_a_url_with_a_password_is_refused_without_echoing_it(capsys):
    code = main(["profiles", "add", "x", "--api-root", "https://admin:S3cr3t-pw@pulp.example.com"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "contains credentials" in err
    assert "S3cr3t-pw" not in err
    assert not ProfileStore().path.exists() or "x" not in {p.name for p in ProfileStore().list()}
