"""Report statuses for reporters: decided and signed offline, looked up on the server by receipt code.

Both sides use this package: the case file writes and signs status files (`meldpunt case
statuses`), the server verifies and imports them (`meldpunt statuses import`) and answers a
reporter who types their code. `states` is the fixed vocabulary, `lookup` the key a code becomes,
`keys` the Ed25519 signing key and its text forms, `file` the one signed format.
"""
