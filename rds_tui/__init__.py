"""rds-tui: launch, watch and read RDS Proxy connection probes in a Pulp deployment."""

__version__ = "0.1.0"
