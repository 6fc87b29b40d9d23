"""The fixed vocabulary a reporter can be told: states and messages, by id.

Staff choose from these lists and never type text: nothing an analyst writes can reach the
server. The web server holds the translations of each id (onion_service/web/status_texts.py);
the English here is what staff see in the command's help.
"""

from __future__ import annotations

import re

# In the order a report moves through them.
STATES = {
    "received": "the report has reached the analysts",
    "in-review": "an analyst is assessing the addresses",
    "forwarded": "passed to the police, a partner hotline or the hosting provider",
    "removed": "the material has been removed",
    "closed": "nothing more will happen with this report",
}

MESSAGES = {
    "unreachable": "we could not reach the address you reported",
    "already-gone": "the material had already been removed when we checked",
    "not-illegal": "what you reported is not illegal under the law we apply",
    "already-reported": "the address had already been reported to us",
    "abroad": "the material is hosted abroad; we passed it to the hotline in that country",
    "takes-longer": "the assessment is taking longer than usual",
}

# What an id may look like on the wire: short, lowercase, so a changed file cannot smuggle text.
ID = re.compile(r"[a-z][a-z-]{0,31}")
