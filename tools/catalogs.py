"""The catalog workflow: extract, update, compile and check the Babel catalogs in locales/.

    python -m tools.catalogs refresh     # after changing a string: extract + update + compile
    python -m tools.catalogs extract     # code -> locales/messages.pot
    python -m tools.catalogs update      # .pot -> every locales/<lang>/LC_MESSAGES/messages.po
    python -m tools.catalogs compile     # .po -> .mo (checked in, so a fresh install has them)
    python -m tools.catalogs init LANG   # start a new language from the .pot
    python -m tools.catalogs check       # what the tests check; exit status 1 on a problem

extract/update/compile/init run pybabel with this project's options, so the same commands can be
typed by hand (see locales/README.md). `check` extracts the code in memory and reports: a template
that does not match the code, a message missing, empty or fuzzy in a language, a translation whose
{placeholders}, HTML tags or leading emoji differ from the English, a .po that does not compile,
and a .mo that differs from what its .po compiles to (compared message by message, since git does
not keep file times).
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from string import Formatter
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from bot.core.settings import PROJECT_ROOT
from bot.i18n.translate import DOMAIN, LOCALES_DIR

MAPPING_FILE = PROJECT_ROOT / "babel.cfg"
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
SOURCE_LOCALE = "en"  # msgids are English; its catalog may leave them untranslated
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
}
KEYWORD_ARGS = ("_", "gettext", "ngettext:1,2", "pgettext:1c,2", "N_")
COMMENT_TAG = "Translators:"

Key = tuple[str | tuple[str, ...], str | None]


# --- paths ----------------------------------------------------------------------------------------


def po_path(locale: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return po_path(locale, locales_dir).with_suffix(".mo")


def catalog_locales(locales_dir: Path = LOCALES_DIR) -> list[str]:
    """Every language with a .po in locales/, sorted."""
    return sorted(p.parent.parent.name for p in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


# --- running pybabel --------------------------------------------------------------------------------


@contextmanager
def _in_project_root() -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(PROJECT_ROOT)  # so the .pot names files relative to the project, e.g. bot/x.py
    try:
        yield
    finally:
        os.chdir(previous)


def _version() -> str:
    try:
        return metadata.version("commitment-watch")
    except metadata.PackageNotFoundError:
        return "0"


def pybabel(*args: str) -> int:
    with _in_project_root():
        return CommandLineInterface().run(["pybabel", *args]) or 0


def extract() -> int:
    keywords = [arg for keyword in KEYWORD_ARGS for arg in ("-k", keyword)]
    return pybabel(
        "extract",
        "-F",
        str(MAPPING_FILE.relative_to(PROJECT_ROOT)),
        "--no-default-keywords",
        *keywords,
        f"--add-comments={COMMENT_TAG}",
        "--add-location=file",
        "--project=Commitment Watch",
        f"--version={_version()}",
        "-o",
        str(TEMPLATE.relative_to(PROJECT_ROOT)),
        ".",
    )


def update() -> int:
    return pybabel(
        "update",
        "-i",
        str(TEMPLATE),
        "-d",
        str(LOCALES_DIR),
        "-D",
        DOMAIN,
        "--ignore-obsolete",
        "--previous",
        "--ignore-pot-creation-date",
    )


def compile_all() -> int:
    return pybabel("compile", "-d", str(LOCALES_DIR), "-D", DOMAIN, "--statistics")


def init(locale: str) -> int:
    return pybabel("init", "-i", str(TEMPLATE), "-d", str(LOCALES_DIR), "-D", DOMAIN, "-l", locale)


# --- reading ----------------------------------------------------------------------------------------


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """A .po or .pot; a syntax error raises (babel.messages.pofile.PoFileError)."""
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN, abort_invalid=True)


def messages_in_code() -> dict[Key, list[str]]:
    """What the code marks for translation, extracted in memory: key -> its source files."""
    with MAPPING_FILE.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, filename=str(MAPPING_FILE))
    found: dict[Key, list[str]] = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(PROJECT_ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=(COMMENT_TAG,),
    ):
        msgid = message if isinstance(message, str) else tuple(m for m in message if m)
        if isinstance(msgid, tuple) and len(msgid) == 1:
            msgid = msgid[0]
        found.setdefault((msgid, context), []).append(filename)
    return found


def _keys(catalog: Catalog) -> set[Key]:
    return {(_msgid(m.id), m.context) for m in catalog if m.id}


# --- checks -----------------------------------------------------------------------------------------


def template_problems() -> list[str]:
    """The .pot must hold exactly what the code marks for translation."""
    if not TEMPLATE.is_file():
        return [f"{TEMPLATE.relative_to(PROJECT_ROOT)} is missing: run refresh"]
    in_code = messages_in_code()
    in_template = _keys(read_catalog(TEMPLATE))
    problems = [
        f"not in the template (run refresh): {key[0]!r} from {', '.join(sorted(set(files)))}"
        for key, files in in_code.items()
        if key not in in_template
    ]
    problems += [
        f"in the template but no longer in the code (run refresh): {key[0]!r}"
        for key in sorted(in_template - set(in_code), key=repr)
    ]
    return problems


def placeholders(text: str) -> set[str]:
    """The {names} str.format fills in; ValueError for unbalanced braces."""
    return {field for _literal, field, _spec, _conv in Formatter().parse(text) if field is not None}


_TAG = re.compile(r"</?[a-z]+[^>]*>")
_WORD = re.compile(r"[^\W\d_]{2,}")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|</?[a-z]+[^>]*>")


def html_tags(text: str) -> list[str]:
    return sorted(_TAG.findall(text))


def leading_symbols(text: str) -> str:
    """The emoji (or other symbols) a label starts with, e.g. "✅" of "✅ Send report"."""
    head = text.split(" ", 1)[0]
    if head and not any(unicodedata.category(ch)[0] in "LNP" for ch in head):
        return head
    return ""


def _single_number_forms(catalog: Catalog) -> set[int]:
    """Plural forms used for one number only (Arabic "one" and "two", say), which may spell
    the number out instead of showing its placeholder."""
    rule = stdlib_gettext.c2py(catalog.plural_expr)
    counts: dict[int, int] = {}
    for n in range(0, 1000):
        counts[rule(n)] = counts.get(rule(n), 0) + 1
    return {form for form, count in counts.items() if count == 1}


def _message_problems(message: Message, catalog: Catalog, required: bool) -> Iterable[str]:
    sources = _texts(message.id)
    strings = _texts(message.string)
    label = repr(sources[0])
    if message.fuzzy:
        yield f"fuzzy (needs review): {label}"
    if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
        yield f"{len(strings)} plural forms instead of {catalog.num_plurals}: {label}"
    if not any(strings):
        if required:
            yield f"not translated: {label}"
        return
    if required and not all(strings):
        yield f"a plural form is empty: {label}"
    try:
        expected = set().union(*(placeholders(s) for s in sources))
    except ValueError as error:
        yield f"source string has bad braces ({error}): {label}"
        return
    single = _single_number_forms(catalog) if isinstance(message.id, tuple) else set()
    for form, text in enumerate(strings):
        if not text:
            continue
        try:
            found = placeholders(text)
        except ValueError as error:
            yield f"bad braces in the translation ({error}): {label}"
            continue
        if found != expected and not (form in single and found < expected):
            yield (
                f"placeholders {sorted(found)} instead of {sorted(expected)} (form {form}): {label}"
            )
        if html_tags(text) != html_tags(sources[0]):
            yield f"HTML tags {html_tags(text)} instead of {html_tags(sources[0])}: {label}"
        lead = leading_symbols(sources[0])
        if lead and not text.startswith(lead):
            yield f"does not start with {lead!r} like the English: {label}"
        if required and text in sources and len(_WORD.findall(_PLACEHOLDER.sub("", text))) > 1:
            yield f"copied from English: {label}"


def translation_problems(
    locale: str, locales_dir: Path = LOCALES_DIR, template: Path = TEMPLATE
) -> list[str]:
    """Every message of the template translated (except in English), and translated safely."""
    path = po_path(locale, locales_dir)
    if not path.is_file():
        return [f"{locale}: {path.name} is missing: run init {locale}"]
    try:
        catalog = read_catalog(path, locale)
    except Exception as error:  # a syntax error: compile_problems says so too
        return [f"{locale}: {path.name} cannot be read: {error}"]
    problems = []
    if catalog.fuzzy:
        problems.append("the catalog header is marked fuzzy, so pybabel compile skips it")
    required = locale != SOURCE_LOCALE
    if template.is_file():
        expected, present = _keys(read_catalog(template)), _keys(catalog)
        problems += [
            f"missing (run update): {key[0]!r}" for key in sorted(expected - present, key=repr)
        ]
        problems += [
            f"not in the template (run update): {key[0]!r}"
            for key in sorted(present - expected, key=repr)
        ]
    for message in catalog:
        if message.id:
            problems += _message_problems(message, catalog, required)
    return [f"{locale}: {problem}" for problem in problems]


def compiled(catalog: Catalog) -> dict[Key, object]:
    """What a catalog compiles to, read back: (msgid, context) -> translation."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _mo_messages(read_mo(buffer))


def _mo_messages(catalog: Catalog) -> dict[Key, object]:
    messages: dict[Key, object] = {
        (_msgid(m.id), m.context): _frozen(m.string) for m in catalog if m.id
    }
    messages[("", "Plural-Forms")] = catalog.plural_forms
    return messages


def _texts(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """A message's id or string as a tuple of texts (one, or one per plural form)."""
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


def _msgid(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def _frozen(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def compile_problems(locale: str, locales_dir: Path = LOCALES_DIR) -> list[str]:
    """The .po compiles, and the checked-in .mo is exactly what it compiles to."""
    po, mo = po_path(locale, locales_dir), mo_path(locale, locales_dir)
    try:
        expected = compiled(read_catalog(po, locale))
    except Exception as error:  # a syntax error anywhere in the .po
        return [f"{locale}: {po.name} does not compile: {error}"]
    if not mo.is_file():
        return [f"{locale}: {mo.name} is missing: run compile"]
    try:
        with mo.open("rb") as handle:
            actual = _mo_messages(read_mo(handle))
    except Exception as error:  # not a .mo file at all
        return [f"{locale}: {mo.name} cannot be read (run compile): {error}"]
    if actual != expected:
        changed = sorted(
            (
                repr(key[0])
                for key in expected.keys() | actual.keys()
                if expected.get(key) != actual.get(key)
            ),
        )
        return [f"{locale}: {mo.name} is older than {po.name} (run compile): {changed[:3]}"]
    return []


def all_problems(locales: Sequence[str] | None = None) -> list[str]:
    problems = template_problems()
    for locale in locales or catalog_locales():
        problems += translation_problems(locale)
        problems += compile_problems(locale)
    return problems


# --- command line -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "help"
    if command == "extract":
        return extract()
    if command == "update":
        return update()
    if command == "compile":
        return compile_all()
    if command == "init" and len(args) == 2:
        return init(args[1])
    if command == "refresh":
        return extract() or update() or compile_all()
    if command == "check":
        problems = all_problems()
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in {len(catalog_locales())} catalogs")
        return 1 if problems else 0
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    raise SystemExit(main())
