from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "kechuang.registry"
    verbose_name = "Registry 登记"
