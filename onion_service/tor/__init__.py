"""Publishing meldpunt as a Tor onion service with stem.

| module | concern |
| --- | --- |
| `errors.py` | the Tor side's failures, as messages |
| `keys.py` | the ED25519-V3 onion key file and the address it gives |
| `control.py` | connecting and authenticating to a tor's control port or socket; the version check |
| `launch.py` | a tor that stem starts for meldpunt alone (`[tor] control = "launch"`) |
| `publisher.py` | ADD_ONION with the persistent key and proof-of-work, republished after reconnects |
| `serve.py` | `meldpunt serve` (Tor mode): the web server as a child process plus the publisher |

The private Tor network that the tests and `meldpunt demo` use is in devnet/, outside what a
server installs. Importing this package does no work.
"""
