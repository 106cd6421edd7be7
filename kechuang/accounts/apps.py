from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kechuang.accounts"
    verbose_name = "Accounts 账户"
