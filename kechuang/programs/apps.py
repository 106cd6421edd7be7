from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "kechuang.programs"
    label = "programs"
    verbose_name = "Programmes 科技计划"
