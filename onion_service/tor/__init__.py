"""Publishing meldpunt as a Tor onion service with stem, and the private Tor network for tests.

| module | concern |
| --- | --- |
| `errors.py` | the Tor side's failures, as messages |
| `keys.py` | the ED25519-V3 onion key file and the address it gives |
| `control.py` | connecting and authenticating to a tor's control port or socket; the version check |
| `launch.py` | a tor that stem starts for meldpunt alone (`[tor] control = "launch"`) |
| `publisher.py` | ADD_ONION with the persistent key and proof-of-work, republished after reconnects |
| `serve.py` | `meldpunt serve` (Tor mode): the web server as a child process plus the publisher |
| `private_network.py` | authorities, relays, service and client tors on 127.0.0.1 |
| `demo.py` | `meldpunt demo` |

Importing this package does no work.
"""
