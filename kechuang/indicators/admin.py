"""The indicator catalogue and exchange rates in the admin: definitions are checked by
the same services as the world file, so a formula that does not parse is a form error."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from .models import ExchangeRate, Indicator, Measure
from .services import IndicatorError, check_indicator, check_measure


class CheckedAdmin(SimpleHistoryAdmin):
    definition_check = None

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        check = type(self).definition_check

        class Checked(form):
            def _post_clean(self):
                super()._post_clean()
                try:
                    check(self.instance)
                except IndicatorError as error:
                    field = error.field if error.field in self.fields else None
                    self.add_error(field, ValidationError(error.reason))

        return Checked

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # bulletins published with a definition must stay reproducible


@admin.register(Measure)
class MeasureAdmin(CheckedAdmin):
    definition_check = staticmethod(check_measure)
    list_display = ["code", "name_zh", "name_en", "kind", "aggregate", "metric", "source"]
    list_filter = ["kind"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Indicator)
class IndicatorAdmin(CheckedAdmin):
    definition_check = staticmethod(check_indicator)
    list_display = ["code", "name_zh", "name_en", "formula", "unit", "official_metric"]
    list_filter = ["unit_kind"]
    search_fields = ["code", "name_zh", "name_en", "formula"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(SimpleHistoryAdmin):
    list_display = ["currency", "date", "rate", "source"]
    list_filter = ["currency"]
    date_hierarchy = "date"

    def has_delete_permission(self, request, obj=None):
        return False
