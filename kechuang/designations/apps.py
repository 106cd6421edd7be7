from django.apps import AppConfig
from django.db.models.signals import post_migrate


def load_shipped_types(sender, using="default", **kwargs):
    """Every `migrate` brings the shipped designation types up to date (data/types.yaml)."""
    from .services import load_catalogue

    if using == "default":
        load_catalogue()


class DesignationsConfig(AppConfig):
    name = "kechuang.designations"
    label = "designations"
    verbose_name = "Designations 资质认定"

    def ready(self) -> None:
        # The indicators count designations through the sources this app registers
        # (kechuang.indicators.sources): granted in a period, and held on a day.
        from .indicator_sources import register_sources

        post_migrate.connect(load_shipped_types, sender=self)
        register_sources()
