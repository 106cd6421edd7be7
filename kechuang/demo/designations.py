"""The demo's designations (资质认定): national little giants, provincial specialised SMEs,
HNTEs, innovative and tech-based SMEs of Tongzhou and its neighbours, so the indicators
have grants to count.

One figure is real. It comes from the seed article (2023-09-04): "Tongzhou welcomed six new
national-level 'little giant' enterprises" in the first half of the year. So the demo has
exactly six national little giants granted in 2023H1 (final notices dated 2023-01-01 to
2023-06-30, one of them on 30 June itself) to enterprises located in Tongzhou.

Everything else is invented, seeded and marked: every designation is `synthetic`, its
source is `demo-designations`, its enterprise a synthetic "(demo)" one, every certificate
number starts with DEMO, and the dates are made up (the real fifth national batch was not
announced in the first half of 2023). Around the article's figure, so that a count is never
simply "all rows": earlier national batches (one revoked, one re-reviewed), a seventh
listing of the 2023 batch finalised on 1 July (2023H2), one withdrawn during its publicity,
little giants in other districts of Nantong, provincial specialised SMEs (a publicity list
still open at the article's date), HNTE certificates of three years (the 2020 ones
running out within 90 days of the article, one revoked), innovative SMEs, and tech-based
SMEs of 2022 (run out) and 2023. Nothing is dated after the article, so "expiring soon" is
counted from the article's day: `kechuang designations expiring --today 2023-09-04`.

Real enterprises (Zhongkeyi) get nothing: what they hold is on published lists we do not
have, and inventing it would pass a guess off as a fact.

Everything goes through the services (grant, advance_stage, revoke, re_review), as the
bureau would record it.
"""

import datetime as dt
import random
from collections.abc import Iterator

from kechuang.designations import services
from kechuang.designations.models import Designation, Stage
from kechuang.registry.models import Location, Organisation, OrganisationKind, Region, Source

SEED = 20230904
DEMO_SOURCE = "demo-designations"
ARTICLE_DAY = dt.date(2023, 9, 4)

#: "Tongzhou welcomed six new national-level 'little giant' enterprises" (2023H1).
LITTLE_GIANTS_2023H1 = 6


def demo_source() -> Source:
    source, _ = Source.objects.get_or_create(key=DEMO_SOURCE, defaults={
        "title": "Synthetic demo designations (not real grants) 演示用虚构资质",
        "publisher": "kechuang demo",
        "note": "Invented by kechuang/demo/designations.py around the seed article's figure (six new national "
                "little giants in Tongzhou in 2023H1). No real enterprise's designations; dates and certificate "
                "numbers are made up.",
    })
    return source


class _Pool:
    """Synthetic enterprises handed out without repetition within a tier, each located in its
    district since before the day it is granted (else the grant would count nowhere)."""

    def __init__(self, enterprises: list[Organisation], located_since: dict[int, dt.date], rng: random.Random):
        self.enterprises, self.since, self.rng = enterprises, located_since, rng
        self.taken: dict[str, set[int]] = {}

    def take(self, tier: str, count: int, before: dt.date, among: list[Organisation] | None = None) -> list:
        taken = self.taken.setdefault(tier, set())
        eligible = [org for org in (among if among is not None else self.enterprises)
                    if org.pk not in taken and self.since.get(org.pk, dt.date.max) <= before]
        if len(eligible) < count:
            raise RuntimeError(f"demo designations: only {len(eligible)} synthetic enterprises for {count} {tier}")
        chosen = self.rng.sample(eligible, count)
        taken.update(org.pk for org in chosen)
        return chosen


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def demo_designations(region_code: str) -> Iterator[str]:
    """The designations of the region and its neighbours, once: a second `kechuang demo` adds nothing."""
    source = demo_source()
    if Designation.objects.filter(source=source).exists():
        yield "designations: the demo designations are there already"
        return
    region = Region.objects.get(code=region_code)
    synthetic = Organisation.objects.filter(kind=OrganisationKind.ENTERPRISE, synthetic=True).order_by("key")
    home = list(synthetic.filter(pk__in=Organisation.objects.in_region(region).values("pk")))
    peers = list(synthetic.exclude(pk__in=[org.pk for org in home]))
    if not home:
        yield f"designations: no synthetic enterprises in {region.name_zh}; nothing to do"
        return
    since = {organisation_id: valid_from or dt.date.min for organisation_id, valid_from in
             Location.objects.filter(organisation__in=synthetic, valid_to__isnull=True)
             .values_list("organisation_id", "valid_from")}
    rng = random.Random(SEED)
    home_pool, peer_pool = _Pool(home, since, rng), _Pool(peers, since, rng)
    counts = {}
    counts["little giants"] = _little_giants(rng, home_pool, peer_pool, source)
    counts["specialised SMEs"] = _srdi_smes(rng, home_pool, peer_pool, source)
    counts["HNTEs"] = _hntes(rng, home_pool, peer_pool, source)
    counts["innovative SMEs"] = _innovative_smes(rng, home_pool, peer_pool, source)
    counts["tech-based SMEs"] = _tech_smes(rng, home_pool, peer_pool, source)
    listed = ", ".join(f"{count} {name}" for name, count in counts.items())
    yield (f"designations: {listed} (synthetic); {LITTLE_GIANTS_2023H1} national little giants granted in "
           f"{region.name_zh} in 2023H1 (the article's figure)")


def _grant(org, code: str, source, **fields) -> Designation:
    return services.grant(org, code, source=source, synthetic=True, today=ARTICLE_DAY, **fields)


def _little_giants(rng, home: _Pool, peers: _Pool, source) -> int:
    """National batches 2–5, each after a publicity list; the enterprises are specialised SMEs first."""
    made = 0
    batches = [  # batch, publicity, final, Tongzhou, other districts
        ("2", dt.date(2020, 11, 10), dt.date(2020, 12, 1), 2, 1),
        ("3", dt.date(2021, 7, 12), dt.date(2021, 8, 5), 3, 2),
        ("4", dt.date(2022, 7, 18), dt.date(2022, 8, 10), 2, 2),
    ]
    for batch, publicised, granted, at_home, elsewhere in batches:
        chosen = home.take("little-giant", at_home, publicised) + peers.take("little-giant", elsewhere, publicised)
        for org in chosen:
            _prerequisite(rng, org, granted, source)
            _grant(org, "little-giant", source, publicised_on=publicised, granted_on=granted, batch=batch,
                   certificate_number=f"DEMO-XJR-{batch}-{org.key[-4:]}")
            made += 1
    granted_2020 = Designation.objects.filter(source=source, type__code="little-giant", batch="2",
                                              organisation__in=home.enterprises).order_by("organisation__key")
    # One of the 2020 batch passed its re-review early; the other runs out within 90 days of the article.
    services.re_review(granted_2020.first(), on=dt.date(2023, 7, 20), passed=True, source=source,
                       comment="复核通过(demo)", today=ARTICLE_DAY)
    revoked = Designation.objects.filter(source=source, type__code="little-giant", batch="3",
                                         organisation__in=home.enterprises).order_by("organisation__key").first()
    services.revoke(revoked, on=dt.date(2023, 3, 20), comment="企业未按要求报送年度信息，取消资格(demo)", source=source,
                    today=ARTICLE_DAY)
    # The batch of the article: listed for publicity in May, six finalised in June (one on the 30th),
    # a seventh on 1 July after an objection was cleared, an eighth withdrawn; two elsewhere.
    publicised = dt.date(2023, 5, 22)
    chosen = home.take("little-giant", LITTLE_GIANTS_2023H1 + 2, publicised)
    finals = [dt.date(2023, 6, 30)] + [_day(rng, dt.date(2023, 6, 12), dt.date(2023, 6, 29))
                                       for _ in range(LITTLE_GIANTS_2023H1 - 1)]
    for number, org in enumerate(chosen):
        _prerequisite(rng, org, publicised, source)
        listing = _grant(org, "little-giant", source, stage=Stage.PUBLICITY, publicised_on=publicised, batch="5",
                         certificate_number="")
        made += 1
        if number < LITTLE_GIANTS_2023H1:
            services.advance_stage(listing, Stage.FINAL, on=finals[number], source=source,
                                   certificate_number=f"DEMO-XJR-5-{org.key[-4:]}", today=ARTICLE_DAY)
        elif number == LITTLE_GIANTS_2023H1:
            services.advance_stage(listing, Stage.FINAL, on=dt.date(2023, 7, 1), source=source,
                                   certificate_number=f"DEMO-XJR-5-{org.key[-4:]}",
                                   comment="公示异议已核实，予以认定(demo)", today=ARTICLE_DAY)
        else:
            services.revoke(listing, on=dt.date(2023, 6, 5), comment="公示期间收到异议，经核实撤回(demo)",
                            source=source, today=ARTICLE_DAY)
    for org in peers.take("little-giant", 2, publicised):
        _prerequisite(rng, org, publicised, source)
        _grant(org, "little-giant", source, publicised_on=publicised, granted_on=dt.date(2023, 6, 16), batch="5",
               certificate_number=f"DEMO-XJR-5-{org.key[-4:]}")
        made += 1
    return made


def _prerequisite(rng, org, before: dt.date, source) -> None:
    """A little giant holds a provincial specialised-SME designation first (domain-rules.md §1.3)."""
    if Designation.objects.filter(organisation=org, type__code="srdi-sme").exists():
        return
    granted = before - dt.timedelta(days=rng.randint(200, 600))
    _grant(org, "srdi-sme", source, granted_on=granted, batch=f"{granted.year}-demo",
           certificate_number=f"DEMO-ZJTX-{granted.year}-{org.key[-4:]}")


def _srdi_smes(rng, home: _Pool, peers: _Pool, source) -> int:
    """Provincial lists of 2020 (running out in the autumn of 2023), 2021, 2022 and June 2023, and a
    publicity list of August 2023 still open at the article's date."""
    made = 0
    for year, final, at_home, elsewhere in ((2020, dt.date(2020, 10, 20), 5, 3), (2021, dt.date(2021, 9, 28), 12, 4),
                                             (2022, dt.date(2022, 9, 15), 10, 4), (2023, dt.date(2023, 6, 21), 8, 3)):
        for org in home.take("srdi-sme", at_home, final) + peers.take("srdi-sme", elsewhere, final):
            if Designation.objects.filter(organisation=org, type__code="srdi-sme").exists():
                continue  # a little giant's prerequisite, already recorded
            _grant(org, "srdi-sme", source, publicised_on=final - dt.timedelta(days=21), granted_on=final,
                   batch=f"{year}-demo", certificate_number=f"DEMO-ZJTX-{year}-{org.key[-4:]}")
            made += 1
    designated = set(Designation.objects.filter(type__code="srdi-sme").values_list("organisation_id", flat=True))
    for org in home.take("srdi-sme", 3, dt.date(2023, 8, 21),
                         among=[org for org in home.enterprises if org.pk not in designated]):
        _grant(org, "srdi-sme", source, stage=Stage.PUBLICITY, publicised_on=dt.date(2023, 8, 21),
               batch="2023-2-demo")
        made += 1
    return made


def _hntes(rng, home: _Pool, peers: _Pool, source) -> int:
    """Certificates of 2020 (three years: running out on 2 December 2023), 2021 and 2022; one revoked."""
    made = 0
    for year, issued, at_home, elsewhere in ((2020, dt.date(2020, 12, 2), 15, 6), (2021, dt.date(2021, 11, 30), 12, 6),
                                              (2022, dt.date(2022, 12, 12), 14, 8)):
        for number, org in enumerate(home.take("hnte", at_home, issued) + peers.take("hnte", elsewhere, issued)):
            _grant(org, "hnte", source, granted_on=issued, batch=f"{year}-demo",
                   certificate_number=f"DEMO-GR{year}32{number:06d}")
            made += 1
    revoked = Designation.objects.filter(source=source, type__code="hnte", batch="2021-demo",
                                         organisation__in=home.enterprises).order_by("organisation__key").first()
    services.revoke(revoked, on=dt.date(2023, 4, 10), comment="研发费用归集不实，取消高新技术企业资格(demo)",
                    source=source, today=ARTICLE_DAY)
    return made


def _innovative_smes(rng, home: _Pool, peers: _Pool, source) -> int:
    made = 0
    for issued, at_home, elsewhere in ((dt.date(2022, 10, 25), 20, 5), (dt.date(2023, 5, 18), 10, 3)):
        for org in home.take("innovative-sme", at_home, issued) + peers.take("innovative-sme", elsewhere, issued):
            _grant(org, "innovative-sme", source, granted_on=issued, batch=f"{issued.year}-demo")
            made += 1
    return made


def _tech_smes(rng, home: _Pool, peers: _Pool, source) -> int:
    """Registrations of 2022 (valid through that year) and of 2023, each valid for its calendar year."""
    made = 0
    for year, at_home, elsewhere in ((2022, 30, 10), (2023, 35, 12)):
        first, last = dt.date(year, 3, 1), dt.date(year, 6, 30)
        for number, org in enumerate(home.take(f"tech-sme-{year}", at_home, first)
                                     + peers.take(f"tech-sme-{year}", elsewhere, first)):
            _grant(org, "tech-sme", source, granted_on=_day(rng, first, last),
                   certificate_number=f"DEMO-{year}320612A{number:04d}")
            made += 1
    return made
