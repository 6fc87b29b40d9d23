"""What the status page says for each state and message id of crypto/status/states.py.

Only these texts reach a reporter: a status file carries ids, and an id without a text here is
refused by the file's own checks before it is ever stored.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

# (heading, explanation) per state.
STATE_TEXTS = {
    "received": (
        lazy_gettext("Received"),
        lazy_gettext("Our analysts have received your report. They have not yet finished assessing it."),
    ),
    "in-review": (lazy_gettext("Being assessed"), lazy_gettext("An analyst is assessing the addresses you reported.")),
    "forwarded": (
        lazy_gettext("Passed on"),
        lazy_gettext(
            "We have passed what you reported on to the police, to a partner hotline "
            "abroad or to the hosting provider, so that they can act."
        ),
    ),
    "removed": (lazy_gettext("Removed"), lazy_gettext("The material you reported has been removed.")),
    "closed": (lazy_gettext("Closed"), lazy_gettext("We have finished working on your report.")),
}

MESSAGE_TEXTS = {
    "unreachable": lazy_gettext("We could not reach the address you reported."),
    "already-gone": lazy_gettext("The material had already been removed when we checked."),
    "not-illegal": lazy_gettext("What you reported is not illegal under the law we apply."),
    "already-reported": lazy_gettext("The address had already been reported to us."),
    "abroad": lazy_gettext("The material is hosted abroad. We passed it on to the hotline in that country."),
    "takes-longer": lazy_gettext("The assessment is taking longer than usual."),
}
