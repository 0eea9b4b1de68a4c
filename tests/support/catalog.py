"""A small catalog of commitments for tests, written straight into the real database."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from storage.models import Agency, Commitment
from storage.text import fold_text


@dataclass(frozen=True)
class SeedCommitment:
    code: str
    title_en: str
    theme: str
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None
    title_ha: str | None = None
    title_fr: str | None = None


KADUNA_CATALOG = (
    SeedCommitment(
        "KAD-RD-017",
        "Kawo–Rigasa road rehabilitation",
        "Roads",
        10.5720,
        7.4400,
        1500,
        "Gyaran titin Kawo zuwa Rigasa",
    ),
    SeedCommitment(
        "KAD-HC-004",
        "Primary health centre, Ungwan Rimi",
        "Health",
        10.5400,
        7.4500,
        800,
        title_fr="Centre de santé primaire, Ungwan Rimi",
    ),
    SeedCommitment(
        "KAD-SC-021", "Classroom block, Barnawa primary school", "Education", 10.4850, 7.4200
    ),
    SeedCommitment("NG-FT-001", "Publish the citizens' budget every year", "Fiscal transparency"),
    SeedCommitment("NG-BO-002", "Public register of beneficial owners", "Fiscal transparency"),
    SeedCommitment(
        "KAD-WS-009", "Borehole and water scheme, Zaria city", "Water", 11.0850, 7.7100, 1000
    ),
)


async def seed_catalog(
    db: Database,
    items: tuple[SeedCommitment, ...] = KADUNA_CATALOG,
    agency_code: str = "kaduna-works",
) -> dict[str, int]:
    """Insert the commitments (and their agency); returns their ids by code."""
    async with db.write() as session:
        agency = Agency(code=agency_code, names={"en": "Kaduna State Ministry of Works"})
        session.add(agency)
        await session.flush()
        ids: dict[str, int] = {}
        for item in items:
            titles = {"en": item.title_en}
            titles |= {"ha": item.title_ha} if item.title_ha else {}
            titles |= {"fr": item.title_fr} if item.title_fr else {}
            commitment = Commitment(
                code=item.code,
                titles=titles,
                short_titles={},
                descriptions={},
                theme=item.theme,
                agency_id=agency.id,
                latitude=item.latitude,
                longitude=item.longitude,
                radius_m=item.radius_m,
                search_text=fold_text(" ".join([item.code, *titles.values()])),
            )
            session.add(commitment)
            await session.flush()
            ids[item.code] = commitment.id
    return ids
