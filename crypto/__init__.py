"""The offline side of meldpunt: the age file format, staff keys, report framing and the CLI.

This package must import and run with the standard library, `cryptography` and `click` alone:
it is what goes onto the hotline's air-gapped machine. Nothing here may import flask, werkzeug,
stem, sqlalchemy or gunicorn (tests/test_offline_imports.py checks it).
"""
