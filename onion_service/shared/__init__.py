"""State shared between the server's processes: what the gunicorn master makes before it forks and
every worker reads (the form token's secret and the spent tokens, the per-minute budgets, the
per-circuit counts), in fixed-size tables in shared memory. Nothing in it is ever written to disk.

`web/` (the views) and `process/` (the master and its workers) both import it; it imports neither.
"""
