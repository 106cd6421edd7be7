from django.apps import AppConfig
from django.db.models.signals import post_migrate


def load_shipped_indicators(sender, using="default", **kwargs):
    """Every `migrate` brings the shipped indicator catalogue up to date (data/indicators.yaml)."""
    from .services import load_catalogue

    if using == "default":
        load_catalogue()


class IndicatorsConfig(AppConfig):
    name = "kechuang.indicators"
    label = "indicators"
    verbose_name = "Indicators 指标"

    def ready(self):
        from kechuang.world.sections import register

        from . import sources  # noqa: F401  the built-in sources register themselves
        from .world import EXCHANGE_RATES, INDICATORS, MEASURES

        post_migrate.connect(load_shipped_indicators, sender=self)
        from . import cache

        if cache.size() > 0:  # computed tables are reused until the data they read is written
            cache.watch()
        # The world file's exchange rates, measures and indicators are this app's to
        # describe: registered here, the way every app adds its sections.
        for section in (EXCHANGE_RATES, MEASURES, INDICATORS):
            register(section)
