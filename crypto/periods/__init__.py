"""Staff keys by period: forward secrecy at rest.

Each staff member holds one age identity per period (a month by default), all in one
passphrase-protected identity file (`keyring.py`), and publishes a **schedule** (`schedule.py`):
each period's first day and its recipient. The server seals every report to the recipients of the
period that holds its day. When a period's reports are past retention, its identity is destroyed
(the identity file rewritten without it, `retire`): every sealed copy of that period, on any
medium or backup, is then unreadable by anyone.

Nothing here imports the server: it runs on the offline machine.
"""
