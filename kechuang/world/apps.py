from django.apps import AppConfig


class WorldConfig(AppConfig):
    name = "kechuang.world"
    verbose_name = "World file"
