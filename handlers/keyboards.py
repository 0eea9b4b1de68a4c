"""Keyboards for each step; every label goes through gettext in the reader's language."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.catalog.commitments import Page
from bot.channels.buttons import Prefix, consent_data, draft_button, language_menu_data, page_data
from bot.i18n.translate import _
from bot.reports.drafting import KIND_LABELS, DraftView, Kind, Step

TITLE_IN_BUTTON = 60


def _short(text: str, limit: int = TITLE_IN_BUTTON) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def consent_keyboard(
    commitment_id: int | None, language: str | None = None
) -> InlineKeyboardMarkup:
    """The privacy notice's buttons: agree (carrying a language chosen before), or /language."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("✅ I agree"), callback_data=consent_data(commitment_id, language)
                )
            ],
            [
                InlineKeyboardButton(
                    # Translators: opens the list of languages; keep the globe.
                    _("🌐 Language"),
                    callback_data=language_menu_data(commitment_id),
                )
            ],
        ]
    )


def location_request_label() -> str:
    return _("📍 Share my location")


def no_location_label() -> str:
    return _("➡️ Continue without location")


def nearby_label() -> str:
    return _("📍 Commitments near me")


def browse_label() -> str:
    return _("🗂 Browse by theme")


def commitment_search_keyboard(*, with_themes: bool) -> ReplyKeyboardMarkup:
    """Under the commitment prompt: commitments near me, and the themes when the catalog has any."""
    rows = [[KeyboardButton(nearby_label(), request_location=True)]]
    if with_themes:
        rows.append([KeyboardButton(browse_label())])
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(location_request_label(), request_location=True)],
            [KeyboardButton(no_location_label())],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def results_keyboard(view: DraftView, page: Page) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                _short(f"{choice.code} · {choice.title}"),
                callback_data=draft_button(view.version, "cm", choice.id),
            )
        ]
        for choice in page.items
    ]
    nav: list[InlineKeyboardButton] = []
    if page.page > 0:
        nav.append(
            InlineKeyboardButton(
                _("◀️ Back"), callback_data=draft_button(view.version, "pg", page.page - 1)
            )
        )
    if page.page + 1 < page.pages:
        nav.append(
            InlineKeyboardButton(
                _("More ▶️"), callback_data=draft_button(view.version, "pg", page.page + 1)
            )
        )
    if nav:
        rows.append(nav)
    rows.append(
        [InlineKeyboardButton(browse_label(), callback_data=draft_button(view.version, "th"))]
    )
    return InlineKeyboardMarkup(rows)


def themes_keyboard(
    view: DraftView, themes: list[str], page: int, per_page: int = 8
) -> InlineKeyboardMarkup:
    start = page * per_page
    rows = [
        [InlineKeyboardButton(_short(theme), callback_data=draft_button(view.version, "t", index))]
        for index, theme in enumerate(themes[start : start + per_page], start=start)
    ]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                _("◀️ Back"), callback_data=draft_button(view.version, "tp", page - 1)
            )
        )
    if start + per_page < len(themes):
        nav.append(
            InlineKeyboardButton(
                _("More ▶️"), callback_data=draft_button(view.version, "tp", page + 1)
            )
        )
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def kind_keyboard(view: DraftView) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _(KIND_LABELS[kind]), callback_data=draft_button(view.version, "k", kind.value)
                )
            ]
            for kind in Kind
        ]
    )


def location_check_keyboard(view: DraftView) -> InlineKeyboardMarkup:
    """Under "This location is 4,980 km from ...: is that right?"; one answer a row, as the
    labels are long."""
    yes = (_("Yes, it is here"), "ly")
    no = (_("No, send another location"), "ln")
    return _draft_choices(view, [yes], [no])


def photos_done_label() -> str:
    return _("✅ Done with photos")


def photos_keyboard(view: DraftView) -> InlineKeyboardMarkup:
    label = photos_done_label() if view.photos else _("➡️ Skip photos")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=draft_button(view.version, "pd"))]]
    )


def send_label() -> str:
    return _("✅ Send report")


def summary_keyboard(view: DraftView) -> InlineKeyboardMarkup:
    def edit(label: str, step: Step) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            label, callback_data=draft_button(view.version, "e", step.value)
        )

    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(send_label(), callback_data=draft_button(view.version, "ok"))],
            [edit(_("✏️ Commitment"), Step.COMMITMENT), edit(_("✏️ Kind"), Step.KIND)],
            [edit(_("✏️ Description"), Step.DESCRIPTION), edit(_("✏️ Location"), Step.LOCATION)],
            [edit(_("✏️ Photos"), Step.PHOTOS)],
            [InlineKeyboardButton(_("✖️ Cancel"), callback_data=draft_button(view.version, "x"))],
        ]
    )


def discard_keyboard(view: DraftView) -> InlineKeyboardMarkup:
    """Asked before a draft with the citizen's work in it is thrown away."""
    return _draft_choices(view, [(_("Yes, discard"), "xy"), (_("No, keep going"), "xn")])


def _draft_choices(view: DraftView, *rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Rows of (label, action) buttons for the draft as it is now."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=draft_button(view.version, action))
                for label, action in row
            ]
            for row in rows
        ]
    )


def page_keyboard(prefix: Prefix, page: int, pages: int) -> InlineKeyboardMarkup | None:
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(InlineKeyboardButton(_("◀️ Back"), callback_data=page_data(prefix, page - 1)))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(_("More ▶️"), callback_data=page_data(prefix, page + 1)))
    return InlineKeyboardMarkup([nav]) if nav else None
