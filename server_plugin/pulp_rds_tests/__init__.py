"""pulp-rds-tests: RDS Proxy connection probes as Pulp tasks."""

__version__ = "0.1.0"

default_app_config = "pulp_rds_tests.app.PulpRdsTestsPluginAppConfig"
