from pulpcore.plugin import PulpPluginAppConfig


class PulpRdsTestsPluginAppConfig(PulpPluginAppConfig):
    """Entry point for the RDS connection tests plugin."""

    name = "pulp_rds_tests.app"
    label = "rds_tests"
    version = "0.1.0"
    python_package_name = "pulp-rds-tests"
    domain_compatible = True
