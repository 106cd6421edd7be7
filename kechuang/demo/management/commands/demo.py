from django.core.management.base import BaseCommand, CommandError

from kechuang.demo.builder import DEMO_PASSWORD, DEMO_USERNAME, build_demo, demo_present


class Command(BaseCommand):
    help = ("Build the Tongzhou demo world: divisions, the real entities and facts of the seed "
            "article, and synthetic '(demo)' organisations. Deterministic and idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the database already holds organisations (used by `make run`)")

    def handle(self, *args, if_empty=False, **options):
        if if_empty and demo_present():
            self.stdout.write("demo: the database already holds data; leaving it as it is")
            return
        try:
            for line in build_demo(bulletins=True):
                self.stdout.write(f"demo: {line}")
        except Exception as exc:
            raise CommandError(f"demo failed, nothing was written: {exc}") from exc
        self.stdout.write(f"demo: log in as {DEMO_USERNAME} / {DEMO_PASSWORD}")
