"""Bulletins (简报): the templates bureau staff keep, and what publishing freezes.

A `BulletinTemplate` is data: its `spec` (a YAML document in the editor, stored as JSON)
declares the values and registry facts it reads and holds the sentences in Chinese and
English (kechuang.bulletins.templating). A `Bulletin` is one template for one region and
period; each publication is a `BulletinVersion` that freezes the figures with their
definitions and as-of time, the rendered documents, and the files (`BulletinFile`) with
their SHA-256. A version and its files are never changed after they are written: a
correction of the data shows on the bulletin's page as a figure that would change, and
republishing makes the next version with a revision note.
"""

import hashlib

from django.conf import settings
from django.db import models

from kechuang.registry.models import Region


class BulletinTemplate(models.Model):
    code = models.SlugField(max_length=60, unique=True)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    spec = models.JSONField(help_text="Values, facts and sections: see docs/bulletins.md")
    source_text = models.TextField(blank=True, help_text="The spec as its editor wrote it (YAML, with comments).")
    built_in = models.BooleanField(default=False, help_text="Shipped with kechuang (kechuang/bulletins/data).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name_en})"


class Bulletin(models.Model):
    """One template for one region and period; published once it has a version."""

    template = models.ForeignKey(BulletinTemplate, on_delete=models.PROTECT, related_name="bulletins")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="bulletins")
    period = models.CharField(max_length=30, help_text="Period code: 2023H1, 2023Q1, 2023-01..2023-05, 2023")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    published_at = models.DateTimeField(null=True, blank=True, help_text="Its latest version's; null: a draft.")

    class Meta:
        ordering = ["-published_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["template", "region", "period"], name="bulletin_unique_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.template.code} {self.region.code} {self.period}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def latest(self) -> "BulletinVersion | None":
        return self.versions.order_by("-number").first()


class Frozen(models.Model):
    """A row written once: saving it again, or deleting it, is refused."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"a published {self._meta.verbose_name} is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"a published {self._meta.verbose_name} is never deleted")


class BulletinVersion(Frozen):
    bulletin = models.ForeignKey(Bulletin, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    as_of = models.DateTimeField(help_text="The moment the figures were read.")
    note = models.TextField(blank=True, help_text="What changed since the version before (required from version 2).")
    figures = models.JSONField(help_text="The declared values as published: {name: figure}.")
    documents = models.JSONField(help_text="The rendered documents by language (kechuang.bulletins.document).")
    spec = models.JSONField(help_text="The template's spec as it was.")

    class Meta:
        ordering = ["bulletin", "number"]
        constraints = [
            models.UniqueConstraint(fields=["bulletin", "number"], name="bulletin_version_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="bulletin_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.bulletin} v{self.number}"


class BulletinFile(Frozen):
    version = models.ForeignKey(BulletinVersion, on_delete=models.PROTECT, related_name="files")
    language = models.CharField(max_length=5, blank=True, help_text='"zh", "en"; "" for the open data')
    format = models.CharField(max_length=5, help_text="html, pdf, docx, md; csv, json")
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "language", "format"]
        constraints = [
            models.UniqueConstraint(fields=["version", "language", "format"], name="bulletin_file_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.language or 'data'}.{self.format}"

    @staticmethod
    def digest(content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()
