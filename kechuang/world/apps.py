from django.apps import AppConfig


class WorldConfig(AppConfig):
    name = "kechuang.world"
    verbose_name = "World file"

    def ready(self) -> None:
        # The registry app's sections are registered here, the way any other app
        # registers its own (kechuang.world.sections.register in its ready()).
        from .organisations import ORGANISATIONS
        from .regions import REGIONS
        from .sections import register
        from .sources import SECTORS, SOURCES

        for section in (SOURCES, SECTORS, REGIONS, ORGANISATIONS):
            register(section)
