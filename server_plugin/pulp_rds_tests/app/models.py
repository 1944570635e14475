from django.db import models

PERMISSION_CODENAME = "run_rds_connection_tests"
# What a non-staff user needs to start tests (grant it directly or through a Pulp role).
RUN_PERMISSION = f"rds_tests.{PERMISSION_CODENAME}"
GATE_NAME = "dispatch"


class DispatchGate(models.Model):
    """One row that every dispatch locks, and the carrier of the plugin's permission.

    Locking the row (SELECT ... FOR UPDATE) makes "count the active test tasks, then
    dispatch" atomic, so two simultaneous requests cannot both squeeze under
    RDS_CONNECTION_TESTS_MAX_ACTIVE.
    """

    name = models.CharField(max_length=32, primary_key=True)

    class Meta:
        default_permissions = ()
        permissions = ((PERMISSION_CODENAME, "Can run RDS connection tests"),)
