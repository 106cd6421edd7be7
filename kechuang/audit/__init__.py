"""The audit trail (审计): every create, change and delete of an audited model, with
who made it, when, what changed, and through which interface (api, web, admin, cli,
import). See docs/audit.md.

For a model:          history = audit.History()   (then makemigrations)
For a bulk write:     audit.bulk_create(Model, rows), audit.bulk_update(Model, rows, fields)
For one record of several changes to a row (its fields, then its many-to-many rows):
                      with audit.unrecorded(row): ...; then audit.record(row, "~")
For a command:        with audit.interface("cli"): ...
For an importer:      with audit.importing("world file x.yaml"): ...
For the API:          kechuang.audit.api.HistoryMixin on the viewset
For the admin:        kechuang.audit.admin.AuditedAdmin, register_history(site, models)
Requests:             kechuang.audit.middleware.AuditMiddleware (api, admin, web by path)
"""

from .context import Interface, current, importing, interface
from .history import History, bulk_create, bulk_update, record, unrecorded

__all__ = [
    "History", "Interface", "bulk_create", "bulk_update", "current", "importing", "interface", "record", "unrecorded",
]
