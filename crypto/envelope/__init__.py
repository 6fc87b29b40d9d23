"""meldpunt's report envelope: the report's schema, its fixed-size frame, the receipt code, and
the one seal/open chain over them (sealing.py)."""
