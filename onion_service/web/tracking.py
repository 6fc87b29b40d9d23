"""Tracking parameters: the parts of a shared link that say who shared it or who clicked it.

Share buttons and ad networks add query parameters that identify an account or a click: a
reporter who pastes such a link could be traced through the platform, by the hotline or by
whoever later sees the report. The well-known ones are removed before the report is sealed; the
rest of the address is kept exactly as typed (staff need it to find the material), so only a
short, explicit list goes, each name with its reason.
"""

from __future__ import annotations

# Removed on every host.
_EVERYWHERE = {
    "fbclid": "Facebook's click id: ties the click to a Facebook account",
    "gclid": "Google Ads' click id",
    "dclid": "Google Display's click id",
    "msclkid": "Microsoft Advertising's click id",
    "ttclid": "TikTok's click id",
    "twclid": "X (Twitter)'s click id",
    "igsh": "Instagram's share id: names the account that shared the link",
    "igshid": "Instagram's older share id",
    "mc_eid": "Mailchimp's id of the e-mail's recipient",
}
# utm_source, utm_medium, utm_campaign, …: campaign tags, which mailings personalise per recipient.
_PREFIXES = ("utm_",)
# "si" is a common word elsewhere, so it goes only where it is the share id of the sharer's account.
_ON_HOSTS = {
    "si": ("youtube.com", "youtu.be", "spotify.com"),
}


def strip_tracking(url: str) -> str:
    """The address without the well-known tracking parameters; anything else kept as typed."""
    base, hash_mark, fragment = url.partition("#")
    path, question, query = base.partition("?")
    if not question:
        return url
    host = _host(path)
    kept = [part for part in query.split("&") if not _tracking(part.split("=", 1)[0].lower(), host)]
    if not kept and query:
        rebuilt = path
    else:
        rebuilt = path + "?" + "&".join(kept)
    return rebuilt + hash_mark + fragment


def _tracking(name: str, host: str) -> bool:
    if name in _EVERYWHERE or name.startswith(_PREFIXES):
        return True
    hosts = _ON_HOSTS.get(name, ())
    return any(host == h or host.endswith("." + h) for h in hosts)


def _host(before_query: str) -> str:
    # "https://www.youtube.com/watch" or "youtu.be/x": the host, lowercased, without port or user.
    rest = before_query.split("://", 1)[1] if "://" in before_query else before_query
    authority = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return authority.rsplit(":", 1)[0].lower() if not authority.startswith("[") else authority.lower()
