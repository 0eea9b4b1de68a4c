"""The e-mail channel, over a real SMTP connection to a local aiosmtpd server: the server is down
when the report is approved, comes up, and each address gets the report exactly once, in the
deployment's language, as plain text and HTML with the cleaned photo attached."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.core.settings import ConfigError, Settings, load_settings
from bot.outbox.dispatcher import AGENCY_RETRY_DELAYS
from tests.support.agency_channels import (
    STAFF_CHAT,
    Mailbox,
    approve,
    configure_agency,
    free_port,
    outbox_rows,
    staff,
    submit,
)
from tests.support.clock import Clock
from tests.support.conversation import expect, has_metadata, jpeg_with_gps
from tests.support.harness import Harness

MAIL_FROM = "Commitment Watch <bot@commitments.example>"
ADDRESSES = ["works@kaduna.example", "desk@kaduna.example", "nobody@kaduna.example"]
REFUSED = "nobody@kaduna.example"


@pytest.fixture
def smtp_port() -> int:
    return free_port()  # nothing listens there until the test starts the server


@pytest.fixture
def harness_overrides(smtp_port: int) -> dict[str, Any]:
    return {
        "moderator_chat_id": STAFF_CHAT,
        "moderator_locale": "en",
        "default_locale": "fr",  # the agency reads the deployment's language
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
        "mail_from": MAIL_FROM,
    }


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[tuple[Mailbox, Controller]]:
    box = Mailbox(refused={REFUSED})
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    yield box, controller
    if getattr(controller, "_thread", None) is not None:
        controller.stop()


async def test_server_down_then_up_each_address_gets_it_once(
    harness: Harness, mailbox: tuple[Mailbox, Controller]
) -> None:
    box, controller = mailbox
    clock = Clock()
    harness.services.clock = clock
    await configure_agency(harness, emails=ADDRESSES)
    moderator, group = staff(harness)
    citizen = harness.user("en", first_name="Zainab")
    reference = await submit(harness, citizen, jpeg_with_gps())
    card = await expect(group, reference, "waiting for review", timeout=15)
    dispatcher = harness.runner.dispatcher
    await dispatcher.stop()
    await approve(moderator, group, reference, card)

    await dispatcher.drain_once()  # port closed: every address waits for its retry
    rows = await outbox_rows(harness, "agency_email")
    assert sorted(r.payload["to"] for r in rows) == sorted(ADDRESSES)
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert all("SMTP" in (r.last_error or "") for r in rows)

    controller.start()
    assert await dispatcher.drain_once() == 0  # not due before the first delay
    clock.now += timedelta(seconds=AGENCY_RETRY_DELAYS[0])
    assert await dispatcher.drain_once() == 3
    clock.now += timedelta(days=2)
    assert await dispatcher.drain_once() == 0
    rows = {r.payload["to"]: r for r in await outbox_rows(harness, "agency_email")}
    assert (rows[REFUSED].status, rows[REFUSED].attempts) == ("failed", 2)
    assert "550" in (rows[REFUSED].last_error or "")
    delivered = [a for a in ADDRESSES if a != REFUSED]
    assert {(rows[a].status, rows[a].attempts) for a in delivered} == {("sent", 2)}

    assert sorted(to for to, _ in box.messages) == sorted([a] for a in delivered), "once each"
    for to, message in box.messages:
        assert message["To"] == to[0] and message["From"] == MAIL_FROM
        assert message["Subject"] == f"Signalement {reference} · publié, transmis à l’organisme"
        assert message["Content-Language"] == "fr"
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert plain is not None and html is not None
        text, markup = plain.get_content(), html.get_content()
        assert "culvert is cracked" in text and "<" not in text
        assert "<b>Engagement :</b> KAD-RD-017" in markup
        assert "<blockquote>The new culvert is cracked" in markup
        assert "Zainab" not in text + markup and str(citizen.id) not in text + markup
        [photo] = list(message.iter_attachments())
        assert photo.get_content_type() == "image/jpeg"
        assert photo.get_filename() == f"{reference}-1.jpg"
        data = photo.get_content()
        assert isinstance(data, bytes) and data[:2] == b"\xff\xd8"
        assert not has_metadata(data), "the cleaned photo, without the camera's EXIF and GPS"


async def test_without_smtp_no_mail_is_queued_and_start_warns(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await configure_agency(harness, emails=["works@kaduna.example"])
    await harness.stop_worker(harness.runner)
    with caplog.at_level(logging.WARNING, logger="bot.channels.agency_senders"):
        await harness.start_worker(smtp_host=None, mail_from=None, default_locale="en")
    assert "SMTP_HOST is not set" in caplog.text and "kaduna-works" in caplog.text
    moderator, group = staff(harness)
    citizen = harness.user("en")
    reference = await submit(harness, citizen)
    await approve(moderator, group, reference)
    await expect(citizen, "was approved and published", timeout=15)
    assert await outbox_rows(harness, "agency_email") == []


def test_mail_settings_are_checked(tmp_path: Path) -> None:
    def load(**env: str) -> Settings:
        return load_settings(env, env_file=tmp_path / "missing.env")

    assert not load().mail_enabled and load().web_port is None
    settings = load(SMTP_HOST="smtp.example.org", MAIL_FROM="bot@example.org", SMTP_PASSWORD="pw!")
    assert settings.mail_enabled and settings.smtp_starttls and not settings.smtp_tls
    assert settings.smtp_port_or_default == 587 and "pw!" not in repr(settings)
    tls = load(SMTP_HOST="smtp.example.org", MAIL_FROM="bot@example.org", SMTP_TLS="true")
    assert tls.smtp_tls and not tls.smtp_starttls and tls.smtp_port_or_default == 465
    assert load(WEB_PORT="8088", WEB_LISTEN="0.0.0.0").web_port == 8088
    for env, fragment in [
        ({"SMTP_HOST": "smtp.example.org"}, "MAIL_FROM is required"),
        ({"SMTP_TLS": "yes", "SMTP_STARTTLS": "yes"}, "SMTP_TLS and SMTP_STARTTLS"),
        ({"SMTP_TLS": "maybe"}, "SMTP_TLS"),
        ({"MAIL_FROM": "not an address"}, "MAIL_FROM"),
        ({"WEB_PORT": "0"}, "WEB_PORT"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            load(**env)
