"""`citizens export USER_ID`: the same JSON (and photos' zip) /mydata sends the citizen, written
to files, for a request that arrives by another channel (letter, e-mail, a data-protection
authority)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.admin.common import AdminError, admin_command, open_database, positive_int
from bot.citizens import data_export
from bot.core.settings import Settings
from bot.i18n.translate import _, ngettext
from storage.models import utcnow


def register(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = actions.add_parser(
        "export",
        help="write everything stored about a citizen to files (JSON, and photos as a zip)",
        description="Write everything stored about one citizen, as /mydata sends it to them: "
        "mydata-USER_ID.json and, when they have photos, mydata-USER_ID-photos.zip. The files "
        "hold their exact locations and texts as written: give them only to that citizen.",
    )
    parser.add_argument("user_id", metavar="USER_ID", help="the citizen's Telegram user id")
    parser.add_argument(
        "--output",
        default=".",
        metavar="DIR",
        type=Path,
        help="the folder to write to (made if missing; default: the current folder)",
    )
    parser.set_defaults(handler=run_citizen_export)


@admin_command
async def run_citizen_export(args: argparse.Namespace, settings: Settings) -> int:
    user_id = positive_int("USER_ID", args.user_id)
    folder: Path = args.output
    async with open_database(settings) as db:
        data = await data_export.collect(
            db, user_id, default_locale=settings.default_locale, now=utcnow()
        )
        if data is None:
            raise AdminError(
                _("no citizen with Telegram user id {user_id} is stored").format(user_id=user_id)
            )
        os.makedirs(folder, exist_ok=True)
        written = [folder / data_export.json_file_name(user_id)]
        with _replacing(written[0]) as partial:
            partial.write_bytes(data.json_bytes())
        for photos in data_export.split(data.photos, None):
            written.append(folder / data_export.zip_file_name(user_id))
            with _replacing(written[-1]) as partial, partial.open("wb") as out:
                await data_export.write_zip(db, photos, out)
    reports = ngettext("{n} report", "{n} reports", data.reports).format(n=data.reports)
    photos_count = ngettext("{n} photo", "{n} photos", len(data.photos)).format(n=len(data.photos))
    print(
        _("exported citizen {user_id} ({reports}, {photos}) to: {files}").format(
            user_id=user_id,
            reports=reports,
            photos=photos_count,
            files=", ".join(str(path) for path in written),
        )
    )
    return 0


@contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """A file beside `target` to write, renamed to it at the end: a failure leaves no half file."""
    partial = target.with_name(target.name + ".tmp")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
