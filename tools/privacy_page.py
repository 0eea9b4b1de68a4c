"""PRIVACY.md: the privacy notice and the citizen's rights (/mydata, /forget) in every language,
rendered from the same catalogs the bot speaks from, with the default settings.

    python -m tools.privacy_page          # write PRIVACY.md
    python -m tools.privacy_page --check  # exit status 1 if PRIVACY.md is out of date

One source for the bot and the page: a translation changed in locales/ shows on both once this is
run (tests/i18n/test_privacy_page.py fails while the page is stale).
"""

from __future__ import annotations

import argparse
import re
import sys

from bot.core.settings import PROJECT_ROOT, Settings
from bot.i18n.translate import NATIVE_NAMES, use_locale
from handlers.prompts import help_text, privacy_notice

PAGE = PROJECT_ROOT / "PRIVACY.md"
# The lines of /help that name the citizen's rights.
RIGHTS = ("/mydata", "/forget")


def markdown(telegram_html: str) -> str:
    """Telegram's HTML as Markdown: bold marks, entities back to characters, one line each."""
    text = re.sub(r"</?b>", "**", telegram_html)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return "\n".join(line + "  " if line.strip() else line for line in text.split("\n"))


def render(settings: Settings | None = None) -> str:
    settings = settings or Settings()
    parts = [
        "# Commitment Watch: your privacy and your rights\n",
        "What the bot tells every citizen before anything is stored, and the commands that give "
        "them a copy of their data or erase it, in each of its languages (with the default "
        "settings: `DRAFT_RETENTION_DAYS`, `REJECTED_RETENTION_DAYS` and `REPORTS_PER_DAY` change "
        "the figures). Written by `python -m tools.privacy_page` from `locales/`; do not edit by "
        "hand.\n",
        " · ".join(f"[{name}](#{code})" for code, name in NATIVE_NAMES.items()) + "\n",
    ]
    for code, name in NATIVE_NAMES.items():
        with use_locale(code):
            rights = [line for line in help_text(None).split("\n") if line.startswith(RIGHTS)]
            parts.append(f'<a id="{code}"></a>\n\n## {name}\n')
            if code == "ar":
                parts.append('<div dir="rtl">\n')
            parts.append(markdown(privacy_notice(settings)) + "\n")
            parts.append("\n".join(f"- {line}" for line in rights) + "\n")
            if code == "ar":
                parts.append("</div>\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is up to date")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE.name} is out of date: run python -m tools.privacy_page", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
