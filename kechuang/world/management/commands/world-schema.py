from django.core.management.base import BaseCommand

from kechuang.world.sections import schema_text


class Command(BaseCommand):
    help = ("Print the JSON Schema (draft 2020-12) of the world file, assembled from the registered "
            "sections. docs/world.schema.json is this output: kechuang world-schema > docs/world.schema.json")

    def handle(self, *args, **options):
        self.stdout.write(schema_text(), ending="")
