"""The privacy notice and /help tell a citizen their rights (/mydata, /forget), how long
unsent and unpublished reports are kept, and the limits, as this deployment sets them, in the
citizen's language."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.conversation import expect, text_of
from tests.support.harness import Harness


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"draft_retention_days": 14, "rejected_retention_days": 0, "reports_per_day": 3}


async def test_the_privacy_notice_names_the_rights_and_this_deployments_limits(
    harness: Harness,
) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start")
    notice = text_of(await expect(citizen, "Before you start: your privacy"))
    assert "/mydata" in notice and "/forget" in notice
    assert "never send is deleted after 14 days" in notice
    # REJECTED_RETENTION_DAYS=0 keeps unpublished reports: the notice promises no deletion.
    assert "not published" not in notice
    assert "3 reports a day" in notice and "stop accepting reports" in notice
    assert notice.rstrip().endswith("Nothing about you is stored until you agree.")


async def test_help_lists_mydata_and_forget_in_the_citizens_language(harness: Harness) -> None:
    english, french = harness.user("en"), harness.user("fr")
    await english.send_command("help")
    text = text_of(await expect(english, "/report"))
    assert "/mydata: a copy of everything stored about you" in text
    assert "/forget: erase your data" in text
    await french.send_command("help")
    text = text_of(await expect(french, "/report"))
    assert "/mydata" in text and "/forget" in text
    assert "everything stored about you" not in text  # in French, not English
