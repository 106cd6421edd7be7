"""The bulletins' web forms: the list's filter (GET), a new bulletin, publishing, and the
template editor (POST).

A filter that does not validate is named on the page and left out; a form that changes data
is checked here for its shape only (a code, a period), and the services decide the rest.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from kechuang.registry.models import Region
from kechuang.statistics.periods import Period, PeriodError
from kechuang.web import language

from .models import BulletinTemplate

#: The longest revision note a version keeps (services.publish says the same).
NOTE_LENGTH = 2000


class RegionField(forms.CharField):
    """A division code (320612): the region, or an error naming the code."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 12)
        kwargs.setdefault("label", _("Region code"))
        super().__init__(**kwargs)

    def clean(self, value):
        code = (super().clean(value) or "").strip()
        if not code:
            return None
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise forms.ValidationError(_("No region has the code %(code)s; give a division code such as 320612."),
                                        params={"code": code[:20]})
        return region


class PeriodField(forms.CharField):
    """A period code (2023H1, 2023Q3, 2023-01..2023-05, 2023): the Period, or an error."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("label", _("Period"))
        kwargs.setdefault("help_text", _("2023H1, 2023Q3, 2023-07, 2023-01..2023-05 or 2023"))
        super().__init__(**kwargs)

    def clean(self, value):
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        try:
            return Period.parse(text)
        except PeriodError:
            raise forms.ValidationError(_("%(text)s is not a period code such as 2023H1."),
                                        params={"text": text[:30]}) from None


class BulletinFilter(forms.Form):
    region = RegionField(required=False)
    period = PeriodField(required=False)

    def filters(self) -> dict:
        """The fields that validated and were given: {"region": Region, "period": Period}."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned[name] for name in self.fields if cleaned.get(name) is not None}


def _template_choices() -> list[tuple[str, str]]:
    return [(row.code, language.bilingual(row)) for row in BulletinTemplate.objects.order_by("code")]


class NewBulletinForm(forms.Form):
    """A template, one of the regions the user publishes for, and a period: the draft to open."""

    template = forms.ChoiceField(label=_("Template"))
    region = forms.ChoiceField(label=_("Region"))
    period = PeriodField()

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = _template_choices()
        self.fields["region"].choices = [(region.code, f"{language.bilingual(region)} · {region.code}")
                                         for region in regions]


class PublishForm(forms.Form):
    note = forms.CharField(label=_("Revision note"), required=False, max_length=NOTE_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("What changed since the version before: the readers see it on the bulletin."))


class TemplateForm(forms.Form):
    """The editor: the template's names and YAML, and the region and period to preview it with."""

    code = forms.SlugField(label=_("Code"), max_length=60, required=False,
                           help_text=_("Letters, digits and hyphens: the template's address, e.g. half-year."))
    name_zh = forms.CharField(label=_("Name in Chinese"), max_length=200, required=False)
    name_en = forms.CharField(label=_("Name in English"), max_length=200, required=False)
    source = forms.CharField(label=_("Template (YAML)"), strip=False,
                             widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "source"}))
    region = RegionField(label=_("Preview for region"), required=False)
    period = PeriodField(label=_("Preview for period"), required=False)

    def __init__(self, *args, new: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.new = new
        if new:
            self.fields["code"].required = True
            self.fields["name_zh"].required = self.fields["name_en"].required = True
        else:
            del self.fields["code"]

    def clean_code(self):
        code = self.cleaned_data.get("code", "")
        # "new" is the address of this very form (/bulletins/templates/new/).
        if code == "new" or BulletinTemplate.objects.filter(code=code).exists():
            raise forms.ValidationError(_("A template with the code %(code)s exists: choose another code."),
                                        params={"code": code})
        return code
