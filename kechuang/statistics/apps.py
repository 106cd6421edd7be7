from django.apps import AppConfig
from django.db.models.signals import post_migrate


def load_shipped_metrics(sender, using="default", **kwargs):
    """Every `migrate` brings the shipped metric catalogue up to date (data/metrics.yaml)."""
    from .services import load_catalogue

    if using == "default":
        load_catalogue()


class StatisticsConfig(AppConfig):
    name = "kechuang.statistics"
    label = "statistics"
    verbose_name = "Statistics 统计"

    def ready(self):
        post_migrate.connect(load_shipped_metrics, sender=self)
