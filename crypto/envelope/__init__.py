"""meldpunt's report envelope: the report's schema, its fixed-size frame and the receipt code."""
