from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kechuang.accounts import services


class Command(BaseCommand):
    help = ("Print USER's API token, creating it if there is none; with --revoke, delete it "
            "(clients using it get 401 from then on).")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="delete the user's token instead")

    def handle(self, *args, username, revoke=False, **options):
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if revoke:
            if services.revoke_token(user, by="command line"):
                self.stdout.write(f"token of {username} revoked")
            else:
                self.stdout.write(f"{username} had no token")
            return
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive; a token would not be accepted")
        self.stdout.write(services.issue_token(user, by="command line").key)
