from django.apps import AppConfig
from django.db.models.signals import post_migrate


def load_shipped_templates(sender, using="default", **kwargs):
    """Every `migrate` adds the shipped bulletin templates that are missing (data/*.yaml);
    one a bureau has edited is left as it is."""
    from .services import load_shipped

    if using == "default":
        load_shipped()


class BulletinsConfig(AppConfig):
    name = "kechuang.bulletins"
    label = "bulletins"
    verbose_name = "Bulletins 简报"

    def ready(self) -> None:
        post_migrate.connect(load_shipped_templates, sender=self)
