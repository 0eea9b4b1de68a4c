"""The button protocol: every kind round-trips, forged data is refused, and each handler pattern
routes its own buttons and no other kind's."""

from __future__ import annotations

import re

import pytest

from bot.channels import buttons as b
from bot.channels.buttons import Prefix

# One real button of each kind, built the way the bot builds it.
BUILT = {
    Prefix.DRAFT: b.draft_button(12, "kind", "problem"),
    Prefix.CARD: b.card_button(345, "reject", "spam"),
    Prefix.ANSWER: b.answer_button(345, "resolved"),
    Prefix.FIX: b.fix_button(345, fixed=False),
    Prefix.CONSENT: b.consent_data(7, "ha"),
    Prefix.LANGUAGE_MENU: b.language_menu_data(7),
    Prefix.LANGUAGE: b.language_data("fr", 7),
    Prefix.MY_REPORTS_PAGE: b.page_data(Prefix.MY_REPORTS_PAGE, 3),
    Prefix.FORGET: b.forget_button(7, "ok", "keep"),
}

# Wire formats as they are in chats today: a change here strands every button already sent.
WIRE = {
    Prefix.DRAFT: "d:12:kind:problem",
    Prefix.CARD: "m:345:reject:spam",
    Prefix.ANSWER: "o:345:resolved",
    Prefix.FIX: "f:345:no",
    Prefix.CONSENT: "consent:7:ha",
    Prefix.LANGUAGE_MENU: "langs:7",
    Prefix.LANGUAGE: "lang:fr:7",
    Prefix.MY_REPORTS_PAGE: "mr:3",
    Prefix.FORGET: "fg:7:ok:keep",
}


def test_every_kind_keeps_its_wire_format() -> None:
    assert set(BUILT) == set(Prefix)
    assert BUILT == WIRE


def test_every_kind_round_trips() -> None:
    draft = b.parse_draft_button(BUILT[Prefix.DRAFT])
    assert draft is not None
    assert (draft.version, draft.action, draft.argument) == (12, "kind", "problem")
    card = b.parse_card_button(BUILT[Prefix.CARD])
    assert card is not None
    assert (card.report_id, card.action, card.argument) == (345, "reject", "spam")
    answer = b.parse_answer_button(BUILT[Prefix.ANSWER])
    assert answer is not None and (answer.key, answer.action) == (345, "resolved")
    fix = b.parse_fix_button(BUILT[Prefix.FIX])
    assert fix is not None and (fix.key, fix.action) == (345, "no")
    assert b.parse_consent(BUILT[Prefix.CONSENT]) == (7, "ha")
    assert b.parse_consent(b.consent_data(None)) == (None, None)
    assert b.parse_language(BUILT[Prefix.LANGUAGE_MENU]) == (None, 7)
    assert b.parse_language(BUILT[Prefix.LANGUAGE]) == ("fr", 7)
    assert b.parse_language(b.language_data("en")) == ("en", None)
    assert b.parse_page(BUILT[Prefix.MY_REPORTS_PAGE]) == 3
    assert b.int_argument(b.ButtonData(1, "pick", "42")) == 42


FORGED = [
    "",
    ":",
    "::",
    "d",
    "d:",
    "d::kind",
    "d:-1:kind",
    "d:abc:kind",
    "d:1",
    "d:²:kind",  # isdigit() says yes, int() says no
    "d:99999999999999999999:kind",  # beyond any database integer
    "m:1e3:approve",
    "m: 1:approve",
    "o:1",
    "f:x:yes",
    "x:1:approve",
    "mm:1:approve",
    "D:1:kind",
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_data_decodes_to_nothing(data: str) -> None:
    assert b.parse_draft_button(data) is None
    assert b.parse_card_button(data) is None
    assert b.parse_answer_button(data) is None
    assert b.parse_fix_button(data) is None


def test_a_button_of_one_kind_is_not_read_as_another() -> None:
    for prefix, data in BUILT.items():
        assert (b.parse_draft_button(data) is not None) == (prefix == Prefix.DRAFT)
        assert (b.parse_card_button(data) is not None) == (prefix == Prefix.CARD)
        assert (b.parse_answer_button(data) is not None) == (prefix == Prefix.ANSWER)
        assert (b.parse_fix_button(data) is not None) == (prefix == Prefix.FIX)


def test_malformed_small_payloads_fall_back_safely() -> None:
    assert b.parse_consent("consent:") == (None, None)
    assert b.parse_consent("consent:-3:fr") == (None, "fr")
    assert b.parse_consent("consent:²") == (None, None)
    assert b.parse_language("langs:x") == (None, None)
    assert b.parse_language("lang::0") == (None, None)
    assert b.parse_page("mr:") == 0
    assert b.parse_page("mr:-1") == 0
    assert b.parse_page("mr:³") == 0
    assert b.int_argument(b.ButtonData(1, "pick", "x")) is None
    assert b.int_argument(b.ButtonData(1, "pick", "²")) is None


def test_each_pattern_routes_its_own_kind_only() -> None:
    for prefix in Prefix:
        routes = re.compile(b.pattern(prefix))
        for other, data in BUILT.items():
            assert bool(routes.match(data)) == (other == prefix), (prefix, data)
    both = re.compile(b.pattern(Prefix.LANGUAGE_MENU, Prefix.LANGUAGE))
    assert both.match(BUILT[Prefix.LANGUAGE]) and both.match(BUILT[Prefix.LANGUAGE_MENU])
    assert not both.match(BUILT[Prefix.MY_REPORTS_PAGE])


def test_the_64_byte_limit_is_enforced_when_building() -> None:
    assert all(len(data.encode()) <= b.MAX_BYTES for data in BUILT.values())
    with pytest.raises(ValueError):
        b.card_button(1, "reject", "x" * 64)
    with pytest.raises(ValueError):
        b.draft_button(1, "search", "é" * 40)
    longest = b.card_button(b.MAX_NUMBER, "reject", "wrong_commitment")
    assert len(longest.encode()) <= b.MAX_BYTES
