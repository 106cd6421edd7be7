"""The programmes' web forms. They parse what the user typed; the rules are the services'
(a refusal comes back as a `ProgrammeError` naming its field, which the view puts on the
form: `put_error`)."""

import datetime as dt
import uuid
from decimal import Decimal

from django import forms
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kechuang.registry.models import Organisation

from .attachments import TYPES, allowed_types, max_bytes, readable_size
from .services import ProgrammeError

#: What the filters of the lists offer (the labels are the page's language).
CALL_STATUSES = {"open": pgettext_lazy("call status", "Open"), "upcoming": pgettext_lazy("call status", "Upcoming"),
                 "closed": pgettext_lazy("call status", "Closed")}
STATE_LABELS = {
    "draft": pgettext_lazy("project state", "Draft"),
    "submitted": pgettext_lazy("project state", "Submitted"),
    "under_review": pgettext_lazy("project state", "Under review"),
    "approved": pgettext_lazy("project state", "Approved"),
    "rejected": pgettext_lazy("project state", "Rejected"),
    "in_progress": pgettext_lazy("project state", "In progress"),
    "completed": pgettext_lazy("project state", "Completed"),
    "terminated": pgettext_lazy("project state", "Terminated"),
}
#: The name of each lifecycle step as a status history writes it.
STEP_LABELS = {
    "submit": pgettext_lazy("project step", "Submitted"),
    "withdraw": pgettext_lazy("project step", "Withdrawn"),
    "return": pgettext_lazy("project step", "Returned for correction"),
    "start_review": pgettext_lazy("project step", "Expert review started"),
    "approve": pgettext_lazy("project step", "Approved"),
    "reject": pgettext_lazy("project step", "Rejected"),
    "start": pgettext_lazy("project step", "Work started"),
    "complete": pgettext_lazy("project step", "Completed and accepted"),
    "terminate": pgettext_lazy("project step", "Terminated"),
}
#: The bureau's decisions on the board, each a lifecycle step (services.LIFECYCLE).
DECISIONS = {"approve": pgettext_lazy("decision", "Approve"), "reject": pgettext_lazy("decision", "Reject"),
             "return": pgettext_lazy("decision", "Return for correction")}


def put_error(form: forms.Form, error: ProgrammeError, fields: dict[str, str] | None = None) -> None:
    """A service's refusal on the field it names (or on the form when the form has no such
    field); `fields` maps the service's field names to the form's where they differ."""
    name = (fields or {}).get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.reason)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _accept_attribute() -> str:
    return ",".join(ext for mime in allowed_types() if mime in TYPES for ext in TYPES[mime][1])


class ApplicationForm(forms.Form):
    """A draft application to a call: what `create_project` and `update_draft` take, and a file."""

    applicant = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Applicant"), empty_label=None)
    category = forms.ChoiceField(label=_("Category"), required=False)
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=300, required=False)
    title_en = forms.CharField(label=_("Title (English)"), max_length=300, required=False)
    summary = forms.CharField(label=pgettext_lazy("project", "Summary"), required=False, max_length=20000,
                              widget=forms.Textarea(attrs={"rows": 6}))
    requested_funding = forms.DecimalField(label=_("Requested funding (yuan)"), required=False, max_digits=16,
                                           decimal_places=2)
    own_funding = forms.DecimalField(label=_("Own funding (yuan)"), required=False, max_digits=16, decimal_places=2)
    planned_start = forms.DateField(label=pgettext_lazy("project", "Planned start"), required=False, widget=DateInput())
    planned_end = forms.DateField(label=pgettext_lazy("project", "Planned end"), required=False, widget=DateInput())
    file = forms.FileField(label=_("Attach a file"), required=False)
    updated_at = forms.CharField(widget=forms.HiddenInput, required=False)
    #: A new application's key, made when the blank form is shown (in the form of
    #: services.new_project's keys): the form sent twice, by a double click or a browser's
    #: retry, names the application its first sending made instead of making a second.
    key = forms.RegexField(regex=r"^project-[0-9a-f]{16}$", widget=forms.HiddenInput, required=False)

    #: The fields the services take (the rest: who applies, the file, the version).
    PROJECT_FIELDS = ("category", "title_zh", "title_en", "summary", "requested_funding", "own_funding",
                      "planned_start", "planned_end")

    def __init__(self, *args, call, applicants, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("— choose —"))] + [(c, c) for c in call.categories]
        self.fields["applicant"].queryset = applicants
        if editing:
            del self.fields["applicant"]  # the applicant of a draft stays
            del self.fields["key"]
        else:
            del self.fields["updated_at"]
            self.fields["key"].initial = f"project-{uuid.uuid4().hex[:16]}"
        limit = readable_size(max_bytes())
        labels = ", ".join(TYPES[t][0] for t in allowed_types() if t in TYPES)
        self.fields["file"].help_text = _("%(types)s; at most %(limit)s. Checked by its contents.") % {
            "types": labels, "limit": limit}
        self.fields["file"].widget.attrs["accept"] = _accept_attribute()

    def project_values(self) -> dict:
        data = self.cleaned_data
        values = {name: data.get(name) for name in self.PROJECT_FIELDS}
        for money in ("requested_funding", "own_funding"):
            if values[money] is None:
                values[money] = Decimal(0)
        for text in ("category", "title_zh", "title_en", "summary"):
            values[text] = values[text] or ""
        return values

    def version(self) -> dt.datetime | None:
        """The `updated_at` of the draft as the editor read it (a garbled one matches nothing)."""
        text = self.cleaned_data.get("updated_at") or ""
        if not text:
            return None
        try:
            return parse_datetime(text) or dt.datetime.min.replace(tzinfo=dt.UTC)
        except ValueError:
            return dt.datetime.min.replace(tzinfo=dt.UTC)


class CallFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1990, max_value=2100)
    region = forms.ChoiceField(label=_("Region"), required=False)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any"))] + list(CALL_STATUSES.items())
        self.fields["region"].choices = [("", _("Any"))] + list(regions)


class ProjectFilterForm(forms.Form):
    """The filters of the applications list and of the review board."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    call = forms.ChoiceField(label=_("Call"), required=False)
    q = forms.CharField(label=_("Title contains"), required=False, max_length=100)

    def __init__(self, *args, statuses, calls=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = list(statuses)
        self.fields["call"].choices = [("", _("Any"))] + list(calls)


class AssignForm(forms.Form):
    reviewer = forms.ChoiceField(label=_("Expert"))
    due = forms.DateField(label=_("Due"), required=False, widget=DateInput(),
                          help_text=_("Empty: the call's review period from today."))

    def __init__(self, *args, experts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].choices = [("", _("— choose —"))] + list(experts)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=pgettext_lazy("bureau", "Decision"), choices=list(DECISIONS.items()),
                                 widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Reason or comment"), required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Required to reject or return; the applicant reads it."))


class ScoreForm(forms.Form):
    """One field per criterion of the call, then the comment and the declaration."""

    comment = forms.CharField(label=pgettext_lazy("review", "Comment"), required=False, max_length=8000,
                              widget=forms.Textarea(attrs={"rows": 5}))
    declaration = forms.CharField(label=_("Declaration of no conflict of interest"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        scored = {}
        for position, criterion in enumerate(self.criteria):
            name = f"score_{position}"
            scored[name] = forms.DecimalField(
                label=_("%(criterion)s (0 to %(max)s)") % {"criterion": criterion["name"], "max": criterion["max"]},
                required=False, max_digits=7, decimal_places=2)
        self.fields = {**scored, **self.fields}
        self.fields["declaration"].initial = _("I declare that I have no conflict of interest with this application.")

    def score_field(self, criterion_name: str) -> str | None:
        for position, criterion in enumerate(self.criteria):
            if criterion["name"] == criterion_name:
                return f"score_{position}"
        return None

    def scores(self) -> dict:
        """{criterion: score} for the criteria given; a missing one is the service's to name."""
        values = {}
        for position, criterion in enumerate(self.criteria):
            value = self.cleaned_data.get(f"score_{position}")
            if value is not None:
                values[criterion["name"]] = value
        return values

    def put_error(self, error: ProgrammeError) -> None:
        # The service names a criterion at the start of its message ("创新性: 45 is outside 0..40").
        for criterion in self.criteria:
            if error.reason.startswith(f"{criterion['name']}:"):
                self.add_error(self.score_field(criterion["name"]), error.reason)
                return
        put_error(self, error)
