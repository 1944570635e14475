"""Direct runs: the probes run from this machine straight against a PostgreSQL endpoint.

`dsn` decides where a direct run connects (and with which credentials), `errors` words a
failed connection for the user, `engine` runs the probes (rds_probes, the plugin's own
code) in this process and answers RunMonitor and RunService the way Pulp's tasks API
does, so the report, the diagnosis, the exports and the dashboard apply unchanged.

psycopg and rds_probes come with the `direct` extra; nothing here imports them at module
level except `engine`, which the faces import only when a direct run starts.
"""
