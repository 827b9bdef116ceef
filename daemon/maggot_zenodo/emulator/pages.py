"""A small read-only HTML page of a deposition, behind ``links.html`` and ``record_html``.

So that the deposit link a researcher finds in ``META_zenodo.txt`` opens in a browser during a
demo. Everything shown is escaped; the page holds no token and no form.
"""

from __future__ import annotations

import html
from typing import Any

_STYLE = (
    "body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
    "code{font-size:.9em}"
)


def _text(value: Any) -> str:
    return html.escape(str(value))


def deposition_page(dep: dict[str, Any]) -> str:
    """Title, creators, state, DOI and files with their md5 of one deposition."""
    md = dep["metadata"]
    title = md.get("title") or "(untitled)"
    creators = [c.get("name", "") for c in md.get("creators") or [] if isinstance(c, dict)]
    doi = dep.get("doi")
    rows = "".join(
        f"<tr><td>{_text(f['key'])}</td><td>{f['size']}</td><td><code>{_text(f['md5'])}</code>"
        "</td></tr>"
        for f in dep["files"]
    )
    doi_html = (
        f'<a href="https://doi.org/{_text(doi)}">{_text(doi)}</a>' if doi else "none yet (draft)"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_text(title)}</title><style>{_STYLE}</style></head><body>"
        f"<p>Zenodo emulator · deposition {dep['id']}</p>"
        f"<h1>{_text(title)}</h1>"
        f"<p>Creators: {_text('; '.join(creators)) or 'none'}</p>"
        f"<p>State: <strong>{_text(dep['state'])}</strong>"
        f"{' (published)' if dep['submitted'] else ''}</p>"
        f"<p>DOI: {doi_html}</p>"
        f"<h2>Files ({len(dep['files'])})</h2>"
        "<table><tr><th>name</th><th>bytes</th><th>md5</th></tr>"
        f"{rows}</table></body></html>\n"
    )
