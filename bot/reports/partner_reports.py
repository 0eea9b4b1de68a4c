"""A partner channel's report (Open311 POST, bot/channels/web/open311.py): checked as a
citizen's draft is (the description's words and length, the location inside the region), then
filed through the same path as a confirmed draft (bot/reports/filing.py): pending review, a
moderation card in the staff group, never public before a moderator approves it.

The partner's stand-in is its author (bot/roles/partners.py), a citizen nobody can reach in
Telegram: no notice, question, fix-check or block button is ever aimed at it. What a caller
tells the partner about themselves (e-mail, names, phone, device and account ids) is never
asked for here and never stored.

OPEN311_POSTS_PER_MINUTE: the reports one key filed in the last minute are counted from the
reports table, under the key's row lock, so the limit holds across restarts and workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from bot.core.services import Services
from bot.reports.drafting import Kind, check_location, check_text
from bot.reports.filing import Filing, file_report
from bot.roles.partners import KeyRefused, Partner, PartnerError
from storage.queries import api_keys
from storage.queries import commitments as commitment_queries
from storage.queries.limits import report_times_since

WINDOW = timedelta(minutes=1)


class TooManyPosts(PartnerError):
    """OPEN311_POSTS_PER_MINUTE filed in the last minute; one more in `retry_after` seconds."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(limit, retry_after)
        self.limit, self.retry_after = limit, retry_after


class UnknownService(PartnerError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PartnerReport:
    service_code: str
    kind: Kind
    text: str
    latitude: float
    longitude: float
    language: str


async def file_partner_report(services: Services, partner: Partner, report: PartnerReport) -> str:
    """File the report as the partner's stand-in; returns its reference. Raises the drafting
    errors for the text and the place (bot/reports/drafting.py), KeyRefused when the key was
    revoked meanwhile, TooManyPosts, UnknownService."""
    text = check_text(report.text)
    check_location(services, report.latitude, report.longitude)
    limit = services.settings.open311_posts_per_minute
    async with services.write_then_deliver() as session:
        key = await api_keys.by_id_for_update(session, partner.key_id)
        if key is None or key.revoked_at is not None:
            raise KeyRefused("api_key was revoked")
        now = services.clock()
        times = await report_times_since(session, key.citizen_id, now - WINDOW)
        if len(times) >= limit:
            frees = times[len(times) - limit] + WINDOW
            raise TooManyPosts(limit, max(1, math.ceil((frees - now).total_seconds())))
        commitment = await commitment_queries.by_code(session, report.service_code)
        if commitment is None:
            raise UnknownService(report.service_code)
        key.last_used_at = now
        filed = await file_report(
            services,
            session,
            Filing(
                citizen_id=key.citizen_id,
                commitment_id=commitment.id,
                kind=report.kind.value,
                language=report.language,
                text=text,
                latitude=report.latitude,
                longitude=report.longitude,
            ),
        )
        return filed.reference
