"""Configuration: defaults are safe, and every wrong value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.cli import build_parser
from bot.core.settings import (
    TELEGRAM_API_BASE_URL,
    ConfigError,
    RegionBounds,
    Settings,
    declared_settings,
    load_settings,
)
from storage.db import default_database_url

VALID_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def test_defaults_are_sqlite_in_data_english_world(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "missing.env")
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("/data/commitment_watch.db")
    assert settings.default_locale == "en"
    assert settings.telegram_api_base_url == TELEGRAM_API_BASE_URL  # Telegram's own server
    assert TELEGRAM_API_BASE_URL.startswith("https://") and TELEGRAM_API_BASE_URL.endswith("/bot")
    assert settings.region_bounds == RegionBounds()
    assert settings.moderator_chat_id is None


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DEFAULT_LOCALE=ha\nMODERATOR_CHAT_ID=-100555\n")
    settings = load_settings({"DEFAULT_LOCALE": "fr"}, env_file=env_file)
    assert settings.default_locale == "fr"
    assert settings.moderator_chat_id == -100555


def test_file_url_follows_api_base() -> None:
    settings = load_settings(
        {"TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot"}, env_file=Path("/nonexistent")
    )
    assert settings.file_base_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEFAULT_LOCALE", "klingon", "DEFAULT_LOCALE"),
        ("REGION_BOUNDS", "1,2,3", "REGION_BOUNDS"),
        ("REGION_BOUNDS", "12,3,10,15", "south < north"),
        ("REGION_BOUNDS", "a,b,c,d", "south,west,north,east"),
        ("REGION_BOUNDS", "1,2,3,200", "longitudes"),
        ("MODERATOR_CHAT_ID", "staff-group", "MODERATOR_CHAT_ID"),
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
        ("TELEGRAM_API_BASE_URL", "not a url", "TELEGRAM_API_BASE_URL"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("WEBHOOK_PORT", "99999", "WEBHOOK_PORT"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL"),
        ("REPORTS_PER_DAY", "-3", "expected reports from 1 to 1000"),
        ("REPORTS_PER_DAY", "ten", "expected reports from 1 to 1000"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, env_file=Path("/nonexistent"))
    assert name in str(caught.value)
    assert expected in str(caught.value)


def test_region_bounds_parsed_and_checked() -> None:
    settings = load_settings({"REGION_BOUNDS": "9.0,6.0,11.5,9.0"}, env_file=Path("/nonexistent"))
    assert settings.region_bounds.contains(10.5, 7.4)
    assert not settings.region_bounds.contains(6.5, 3.4)  # Lagos is outside Kaduna's box


def test_bounds_across_the_antimeridian() -> None:
    fiji = RegionBounds(-21.0, 176.0, -12.0, -178.0)
    assert fiji.contains(-18.1, 178.4)
    assert fiji.contains(-16.0, -179.5)
    assert not fiji.contains(-18.0, 170.0)


def test_postgres_url_gets_the_async_driver() -> None:
    settings = load_settings(
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1/test"}, env_file=Path("/nonexistent")
    )
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1/test"


@pytest.mark.parametrize(
    "token", [None, "", "abc", "123:short", "12345678:has spaces in it xxxxxxxxxxxxxxxxxxxx"]
)
def test_missing_or_malformed_token_explains_botfather_and_sandbox(token: str | None) -> None:
    env = {} if token is None else {"TELEGRAM_BOT_TOKEN": token}
    settings = load_settings(env, env_file=Path("/nonexistent"))
    with pytest.raises(ConfigError) as caught:
        settings.require_token()
    message = str(caught.value)
    assert "@BotFather" in message and "--sandbox" in message
    if token:
        assert token not in message


def test_valid_token_accepted() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": VALID_TOKEN}, env_file=Path("/nonexistent"))
    assert settings.require_token() == VALID_TOKEN


# One bad value per typed setting (every setting not read as plain text); a new typed setting
# must add one here, or test_every_typed_setting_has_a_bad_value fails.
BAD_VALUES = {
    "TELEGRAM_API_BASE_URL": "not a url",
    "TELEGRAM_FILE_BASE_URL": "ftp://files",
    "DATABASE_URL": "mysql://root@localhost/x",
    "DEFAULT_LOCALE": "klingon",
    "TIMEZONE": "Mars/Olympus",
    "REGION_BOUNDS": "1,2,3",
    "MODERATOR_CHAT_ID": "staff-group",
    "MODERATOR_LOCALE": "klingon",
    "DUPLICATE_RADIUS_M": "0",
    "PUBLIC_LOCATION_GRID_M": "a block",
    "PUBLIC_MIN_SAMPLE": "0",
    "PUBLIC_FIGURES_CACHE_SECONDS": "-1",
    "MAP_TILE_URL": "http://tiles.example.org/{z}/{x}/{y}.png",
    "FIX_CHECK_DAYS": "many",
    "DRAFT_RETENTION_DAYS": "-1",
    "REJECTED_RETENTION_DAYS": "1.5",
    "REPORTS_PER_DAY": "0",
    "OPEN311_POSTS_PER_MINUTE": "0",
    "FLOOD_MESSAGES_PER_MINUTE": "lots",
    "FLOOD_COOLDOWN_SECONDS": "1.5",
    "BOT_USERNAME": "@x",
    "LOG_LEVEL": "loud",
    "TELEGRAM_MAX_MESSAGES_PER_SECOND": "-1",
    "TELEGRAM_PAID_BROADCAST_FROM": "-5",
    "WEBHOOK_URL": "example.org/hook",
    "WEBHOOK_PORT": "99999",
    "WEB_PORT": "0",
    "HEALTH_MAX_OUTBOX_LAG_SECONDS": "0",
    "DRAIN_SECONDS": "twenty",
    "INBOX_LEASE_SECONDS": "0",
    "DATABASE_POOL_SIZE": "0",
    "PUBLIC_BASE_URL": "watch.example.org",
    "SMTP_PORT": "smtp",
    "SMTP_STARTTLS": "maybe",
    "SMTP_TLS": "maybe",
    "MAIL_FROM": "not an address",
}


def test_every_typed_setting_has_a_bad_value() -> None:
    typed = {decl.env for _, decl in declared_settings() if decl.parse is not str}
    assert typed == set(BAD_VALUES)


@pytest.mark.parametrize(("name", "value"), sorted(BAD_VALUES.items()))
def test_bad_value_of_each_typed_setting_is_one_line_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, env_file=Path("/nonexistent"))
    message = str(caught.value)
    assert message.startswith(f"{name} is invalid: ")
    assert "invalid literal" not in message and "could not convert" not in message
    assert "\n" not in message


def test_empty_environment_gives_the_declared_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "missing.env")
    assert settings == Settings(database_url=default_database_url())
    assert settings.timezone == "UTC" and settings.log_level == "INFO"
    assert settings.duplicate_radius_m == 250.0 and settings.fix_check_days == 7.0
    assert settings.max_messages_per_second == 30.0 and settings.webhook_port == 8443
    assert settings.webhook_listen == settings.web_listen == "127.0.0.1"
    assert settings.smtp_starttls and not settings.smtp_tls and settings.web_port is None
    assert settings.reports_per_day == 10 and settings.flood_messages_per_minute == 30
    assert settings.flood_cooldown_seconds == 60
    assert settings.health_max_outbox_lag_seconds == 300 and settings.drain_seconds == 20
    assert settings.staff_locale == "en"


def test_blank_values_mean_the_default() -> None:
    settings = load_settings(
        {"WEBHOOK_LISTEN": " ", "WEBHOOK_PORT": "", "SMTP_TLS": ""}, env_file=Path("/nonexistent")
    )
    assert settings.webhook_listen == "127.0.0.1" and settings.webhook_port == 8443
    assert settings.smtp_starttls and not settings.smtp_tls


def test_every_setting_is_in_help_with_its_variable_and_default() -> None:
    text = build_parser().format_help()
    for _, decl in declared_settings():
        line = next(line for line in text.splitlines() if line.split()[:1] == [decl.env])
        assert decl.help in line
        assert f"(default: {decl.shown_default})" in line
    assert "(default: 250)" in text and "(default: 8443)" in text
    assert f"(default: {TELEGRAM_API_BASE_URL})" in text
