from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kechuang.accounts.models import Grant, Role
from kechuang.accounts.services import GrantRefused, grant_role, revoke_grant
from kechuang.registry.models import Organisation, Region


class Command(BaseCommand):
    help = ("Give a user a role with its scope, or take it away. SCOPE is a division code for "
            "bureau_admin and analyst (320612), an organisation key for park_manager and "
            "enterprise_user, and nothing for reviewer. Run by the installation's operator.")

    def add_arguments(self, parser):
        parser.add_argument("user", help="username")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("scope", nargs="?", default=None, help="division code or organisation key")
        parser.add_argument("--revoke", action="store_true", help="end the grant instead of giving it")
        parser.add_argument("--create-user", action="store_true", help="create the user (without a password) if missing")

    def handle(self, *args, user, role, scope, revoke=False, create_user=False, **options):
        User = get_user_model()
        account = User.objects.filter(username=user).first()
        if account is None:
            if not create_user:
                raise CommandError(f"no user {user!r}; create it first or pass --create-user")
            account = User.objects.create_user(username=user)
        region = organisation = None
        if scope is not None:
            if scope.isdigit():
                region = Region.objects.filter(code=scope).first()
                if region is None:
                    raise CommandError(f"no region has the code {scope}")
            else:
                organisation = Organisation.objects.filter(key=scope).first()
                if organisation is None:
                    raise CommandError(f"no organisation has the key {scope!r}")
        try:
            if revoke:
                grant = Grant.objects.active().filter(user=account, role=role, region=region, organisation=organisation).first()
                if grant is None:
                    raise CommandError(f"{user} holds no {role} grant for {scope or 'no scope'}")
                revoke_grant(grant, by=None)
                self.stdout.write(f"revoked: {grant}")
            else:
                self.stdout.write(f"granted: {grant_role(account, role, by=None, region=region, organisation=organisation)}")
        except GrantRefused as exc:
            raise CommandError(str(exc)) from None
