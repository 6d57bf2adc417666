"""Build and preview the email templates: `python -m app.mail.preview [--serve PORT]`.

Renders every template with realistic sample values into `emails/preview/` (git-ignored): an
HTML and a plain-text file per email and an index page. A template that fails to render (a
typo, a missing variable) fails the build.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
from pathlib import Path

from app.config import PROJECT_ROOT
from app.mail.rendering import SAMPLE_CONTEXTS, EmailTemplate, render_email

PREVIEW_DIR = PROJECT_ROOT / "emails" / "preview"


def build(directory: Path = PREVIEW_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = []
    for template in EmailTemplate:
        rendered = render_email(template, SAMPLE_CONTEXTS[template])
        html_path = directory / f"{template}.html"
        text_path = directory / f"{template}.txt"
        html_path.write_text(rendered.html)
        text_path.write_text(f"Subject: {rendered.subject}\n\n{rendered.text}")
        written += [html_path, text_path]
        rows.append(
            f"<li><strong>{html.escape(rendered.subject)}</strong> — "
            f'<a href="{template}.html">HTML</a> · <a href="{template}.txt">plain text</a></li>'
        )
    index = directory / "index.html"
    index.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Email previews</title></head>"
        "<body style='font-family:sans-serif;max-width:720px;margin:40px auto'>"
        "<h1>Campaign Platform emails</h1><ul>" + "".join(rows) + "</ul>"
        "<p>Sample values live in <code>app/mail/rendering.py</code> (SAMPLE_CONTEXTS).</p></body></html>"
    )
    written.append(index)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m app.mail.preview")
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve the previews on this port")
    args = parser.parse_args()
    written = build()
    print(f"rendered {len(written)} files into {PREVIEW_DIR}")  # noqa: T201
    if args.serve:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(PREVIEW_DIR))
        with http.server.ThreadingHTTPServer(("127.0.0.1", args.serve), handler) as server:
            print(f"previews at http://127.0.0.1:{args.serve}/ (Ctrl-C to stop)")  # noqa: T201
            server.serve_forever()


if __name__ == "__main__":
    main()
