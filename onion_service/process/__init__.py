"""The process model: the gunicorn master (server), its workers and the writer process."""
