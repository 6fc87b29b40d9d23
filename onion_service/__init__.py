"""The server side of meldpunt: the reporting form, its storage and its onion service.

Importing this package does no work: the application is built by `onion_service.web.app.create_app`.
"""
