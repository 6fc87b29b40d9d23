"""meldpunt's command line, above both sides: `meldpunt.cli` parses arguments and calls into the
offline library (`crypto/`) or the server (`onion_service/`), and `meldpunt.assembly` is the one
place that puts the server together from its parts.

Nothing here is imported by `crypto/` or `onion_service/`: the arrows run down only.
"""
