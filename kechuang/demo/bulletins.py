"""The demo's bulletins: the seed article's half-year bulletin for Tongzhou, 2023H1, published
(version 1), and the next half-year's as a draft for the bureau to preview and publish."""

from collections.abc import Iterator

from kechuang.bulletins import services
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period

TEMPLATE = "half-year"
PUBLISHED = Period.parse("2023H1")  # the seed article's half year
DRAFT = Period.parse("2023H2")


def demo_bulletins(region_code: str) -> Iterator[str]:
    region = Region.objects.get(code=region_code)
    template = services.find_template(TEMPLATE)
    bulletin = services.bulletin_for(template, region, PUBLISHED)
    if not bulletin.versions.exists():
        version = services.publish(bulletin)
        yield (f"bulletin: {template.code} for {region.name_zh} {PUBLISHED.code} published as version "
               f"{version.number} ({version.files.count()} files)")
    services.bulletin_for(template, region, DRAFT)
    yield f"bulletin: {template.code} for {region.name_zh} {DRAFT.code} prepared as a draft"
