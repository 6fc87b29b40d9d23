"""The start of every page meldpunt writes for staff to open offline (the opened reports' overview,
the case statistics): a policy that lets the page load nothing, not even from the folder it sits in,
no referrer, and its own inline style."""

from __future__ import annotations

import html


def page_start(title: str, style: str) -> list[str]:
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{style}</style></head><body>",
    ]
