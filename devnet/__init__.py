"""Development and test only: a private Tor network on loopback, and `meldpunt demo` on it.

Not part of what deploy/install.sh installs on a server.
"""
