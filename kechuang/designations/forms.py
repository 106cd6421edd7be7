"""The designations' web forms: the lists' filters (GET) and the review queue's decisions (POST).

A filter form is bound to the URL's query; a field that does not validate is reported on
the page and left out of the query, so a bad value never costs the user the whole list.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from kechuang.registry.models import Region
from kechuang.web import language

from .models import DesignationType, Level, Stage

#: The stages as a page names them (the model's labels carry both languages at once).
STAGE_NAMES = {
    Stage.PUBLICITY: _("publicity"),
    Stage.FINAL: _("final"),
    Stage.REVOKED: _("revoked"),
    Stage.EXPIRED: _("expired"),
    Stage.RENAMED: _("renamed"),
}
LEVEL_NAMES = {
    Level.NATIONAL: _("national"),
    Level.PROVINCIAL: _("provincial"),
    Level.CITY: _("city"),
    Level.DISTRICT: _("district"),
}
#: The longest look-ahead of the expiry list: ten years, as the API allows.
MOST_DAYS = 3660


def _choices(names: dict) -> list:
    return [("", _("any")), *names.items()]


class RegionField(forms.CharField):
    """A division code (320612): the region, or an error naming the code."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 12)
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Region code"))
        super().__init__(**kwargs)

    def clean(self, value):
        code = super().clean(value).strip()
        if not code:
            return None
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise forms.ValidationError(_("No region has the code %(code)s; give a division code such as 320612."),
                                        params={"code": code})
        return region


class TypeField(forms.ChoiceField):
    """A designation type by its code, among the types there are when the form is made."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Designation"))
        super().__init__(**kwargs)

    def set_types(self, types) -> None:
        self.types = {row.code: row for row in types}
        self.choices = [("", _("any")), *[(row.code, language.bilingual(row)) for row in types]]

    def clean(self, value):
        code = super().clean(value)
        return self.types.get(code) if code else None


class ListFilter(forms.Form):
    """What the lists share: the designation type, its level, the region, a search."""

    type = TypeField()
    level = forms.ChoiceField(label=_("Level"), required=False, choices=_choices(LEVEL_NAMES))
    region = RegionField()
    q = forms.CharField(label=_("Organisation name or USCC"), required=False, max_length=200)

    def __init__(self, *args, types=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].set_types(types if types is not None else DesignationType.objects.order_by("code"))
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-describedby", "filter-errors")

    def filters(self) -> dict:
        """The valid filters (an invalid one is left out; the page names it)."""
        self.is_valid()
        return {name: value for name, value in getattr(self, "cleaned_data", {}).items()
                if value not in (None, "") and name not in self.errors}


class RegistryFilter(ListFilter):
    year = forms.IntegerField(label=_("Year granted"), required=False, min_value=1949, max_value=2100)
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=_choices(STAGE_NAMES))
    valid_on = forms.DateField(label=_("In force on"), required=False,
                               help_text=_("A date, YYYY-MM-DD"), widget=forms.DateInput(attrs={"type": "date"}))

    field_order = ["q", "type", "level", "year", "stage", "valid_on", "region"]


class ExpiryFilter(ListFilter):
    EXPIRING, EXPIRED = "expiring", "expired"

    state = forms.ChoiceField(label=_("Show"), required=False, choices=[
        (EXPIRING, _("expiring within the days")), (EXPIRED, _("expired in the last days"))])
    within = forms.IntegerField(label=_("Days"), required=False, min_value=0, max_value=MOST_DAYS)
    on = forms.DateField(label=_("As of"), required=False, help_text=_("Default: today"),
                         widget=forms.DateInput(attrs={"type": "date"}))

    field_order = ["state", "within", "on", "q", "type", "level", "region"]


class ScreeningForm(forms.Form):
    """Which rules, where, on which day: the screening's question."""

    ruleset = forms.ChoiceField(label=_("Rule set"), required=False)
    region = RegionField(help_text=_("Enterprises located in this region now"))
    date = forms.DateField(label=_("Screening date"), required=False,
                           help_text=_("It picks the rules in force and the years read; default today"),
                           widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, rule_sets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ruleset"].choices = [("", _("choose a rule set")),
                                          *[(rule_set.code, f"{language.bilingual(rule_set)}"
                                                             f" · {rule_set.code}") for rule_set in rule_sets]]
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-describedby", "filter-errors")


class PoolFilter(forms.Form):
    """Narrowing the screened enterprises: by standing, by name."""

    standing = forms.ChoiceField(label=_("Standing"), required=False)
    q = forms.CharField(label=_("Enterprise name or key"), required=False, max_length=200)

    def __init__(self, *args, standings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["standing"].choices = [("", _("any")), *standings]


class DismissForm(forms.Form):
    comment = forms.CharField(label=_("Why it is dismissed"), max_length=4000,
                              widget=forms.TextInput(attrs={"placeholder": _("another district's enterprise, a "
                                                                            "duplicate …")}))


class LinkForm(forms.Form):
    organisation = forms.CharField(label=_("Enterprise key"), max_length=100)
    granted_on = forms.DateField(label=_("Date of the notice"), required=False,
                                 help_text=_("Only when the list gives none"),
                                 widget=forms.DateInput(attrs={"type": "date"}))
