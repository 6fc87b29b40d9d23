"""One assessment, three schemes: INHOPE's, the IWF's categories and NCMEC's grid.

Hotlines exchange reports in INHOPE's terms (illegal under the international baseline, under
national law only, or not illegal); the IWF files images in categories A/B/C by what they show;
NCMEC's grid crosses the age (A prepubescent, B pubescent) with what is shown (1 a sex act,
2 a lascivious exhibition). The analyst records what they see once, in the fields below, and
each scheme's category is derived here, never typed, so the three can never disagree.
An empty value means "not assessed"; the derived category is then empty as well, never guessed.
"""

from __future__ import annotations

# What the material shows, the one field the IWF and NCMEC categories both turn on.
ACTIVITIES = {
    "penetrative": "penetrative sexual activity",
    "sadism-bestiality": "sexual activity involving sadism or an animal",
    "non-penetrative": "non-penetrative sexual activity",
    "exhibition": "lascivious exhibition of the genitals or anal area",
    "other-indecent": "other indecent images",
    "none": "no sexual activity or exhibition",
}
GENDERS = ("female", "male", "both", "unknown")
CONTENT_TYPES = ("image", "video", "images-and-videos", "livestream", "text", "drawn", "other")
VIRTUAL = ("real", "virtual", "ai-generated", "unknown")
SITE_TYPES = (
    "website",
    "image-host",
    "file-host",
    "video-host",
    "forum",
    "social",
    "chat",
    "blog",
    "cloud-storage",
    "banner",
    "redirector",
    "p2p",
    "onion",
    "other",
)
COMMERCIAL = ("yes", "no", "unknown")

# The assessment's fields beyond verdict, age group, country, provider and note; each maps to
# its allowed values (crypto/case/decisions.py checks them).
EXTRA = {
    "gender": GENDERS,
    "content_type": CONTENT_TYPES,
    "virtual": VIRTUAL,
    "site_type": SITE_TYPES,
    "commercial": COMMERCIAL,
    "activity": tuple(ACTIVITIES),
}

_INHOPE = {"baseline": "baseline", "national": "national", "not-illegal": "not illegal"}
_IWF = {"penetrative": "A", "sadism-bestiality": "A", "non-penetrative": "B", "exhibition": "C", "other-indecent": "C"}
_NCMEC_AGE = {"infant": "A", "prepubescent": "A", "pubescent": "B"}
_NCMEC_ACT = {"penetrative": "1", "sadism-bestiality": "1", "non-penetrative": "1", "exhibition": "2"}


def categories(assessment: dict[str, str] | None) -> dict[str, str]:
    """{"inhope", "iwf", "ncmec"}: each scheme's category of this assessment, "" where it has none
    (not illegal, gone, or a field it needs not assessed)."""
    a = assessment or {}
    verdict = a.get("verdict") or ""
    illegal = verdict in ("baseline", "national")
    activity = a.get("activity") or ""
    age = _NCMEC_AGE.get(a.get("age_group") or "", "")
    act = _NCMEC_ACT.get(activity, "")
    return {
        "inhope": _INHOPE.get(verdict, ""),
        "iwf": _IWF.get(activity, "") if illegal else "",
        "ncmec": f"{age}{act}" if illegal and age and act else "",
    }
