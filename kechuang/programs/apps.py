from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "kechuang.programs"
    label = "programs"
    verbose_name = "Programmes 科技计划"

    def ready(self) -> None:
        # The world file's calls and projects are this app's to describe: registered
        # here, the way every app adds its sections (kechuang.world.sections).
        from kechuang.world.sections import register

        from .world import CALLS, PROJECTS

        register(CALLS)
        register(PROJECTS)
