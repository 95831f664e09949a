"""Data Docs that render without internet: Great Expectations' pages load Bootstrap, jQuery, Font
Awesome, Vega and their logo from CDNs; each run's site gets the copies kept in ``data_docs_assets/``
(see its NOTICE.md) and its pages point at them by relative paths, so they work served under ``/oks``
and opened from disk alike. Links to GX's documentation stay links."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

__all__ = ["ASSETS", "CDN_COPIES", "localize_assets"]

ASSETS = Path(__file__).parent / "data_docs_assets"
_VENDOR = "static/oks-assets"

# What GX 1.24's page templates load from the internet → our copy (under ASSETS).
CDN_COPIES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}  # fmt: skip
# GX's logo comes from S3 with a cache-busting query; the site's own static folder has the same image.
_LOGO = re.compile(r'"https://great-expectations-web-assets\.s3\.[^"/]+\.amazonaws\.com/(logo-long\.png|full_logo_dark\.png)[^"]*"')
_ASSET_ATTR = re.compile(r'(?:src|href)="(https?://[^"]+)"')


def localize_assets(site: Path) -> list[str]:
    """Copy the assets into ``site`` and point its pages at them; returns the external asset URLs
    left in the pages that have no copy (none with the GX version we pin)."""
    shutil.copytree(ASSETS, site / _VENDOR, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md"))
    missing: set[str] = set()
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        vendor = Path(os.path.relpath(site / _VENDOR, page.parent)).as_posix()
        images = Path(os.path.relpath(site / "static" / "images", page.parent)).as_posix()
        for url, copy in CDN_COPIES.items():
            text = text.replace(f'"{url}"', f'"{vendor}/{copy}"')
        text = _LOGO.sub(f'"{images}/logo-long.png"', text)
        page.write_text(text, encoding="utf-8")
        missing.update(url for url in _ASSET_ATTR.findall(text) if _loads(text, url))
    return sorted(missing)


def _loads(text: str, url: str) -> bool:
    # A stylesheet or a script/image source is an asset; an <a href> is a link a person may follow.
    return f'src="{url}"' in text or re.search(rf'<link[^>]*href="{re.escape(url)}"', text) is not None
