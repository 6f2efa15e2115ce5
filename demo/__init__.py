"""The one-command demo: a simulated account, Meltano, and a DuckDB warehouse (dev tooling)."""
