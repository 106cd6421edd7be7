from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kechuang.demo"
    verbose_name = "Tongzhou demo world"
