"""The run service: what both front ends (the headless CLI and the dashboard) call.

One module per job: `runs` (dispatch + record, resume, cancel, refresh, record
finished, export), `preflight` (is this server ready for a run?). Front ends keep only
argparse/printing or widgets/key bindings; they never talk HTTP themselves.
"""
