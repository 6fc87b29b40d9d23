"""ISO 3166-1 alpha-2: the hosting country as the partner hotlines and the police file it.

The list is the officially assigned codes (with the exceptionally reserved ones hand-offs meet in
practice refused with a hint): a hand-off for "the partner hotline of that country" must name a
country that exists, and the codes people type by habit (UK, EU, XX) go to the wrong place or
nowhere, so they are refused with what to write instead.
"""

from __future__ import annotations

from crypto.case.errors import InputError

_ASSIGNED = frozenset(
    """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE
YT ZA ZM ZW
""".split()
)
assert len(_ASSIGNED) == 249  # ISO 3166-1 as of 2024

_HINTS = {
    "UK": "the United Kingdom's code is GB",
    "EU": "the European Union is not a country: name the member state hosting it",
    "EL": "Greece's code is GR",
    "XK": "Kosovo's code is user-assigned, not ISO 3166-1: give the hosting country another way (the note)",
    "XX": 'for an unknown country, leave it empty ("")',
    "ZZ": 'for an unknown country, leave it empty ("")',
}


def check(code: str) -> str:
    """The code in upper case, or InputError saying what to give instead."""
    code = code.strip().upper()
    if code in _ASSIGNED:
        return code
    hint = _HINTS.get(code, "a two-letter ISO 3166-1 code, such as NL, BE, DE or GB")
    raise InputError(f"{code!r} is not an ISO 3166-1 country code: {hint}")
