"""Keep the sandbox's tables in their own database alias, and nothing else there."""

from __future__ import annotations

from django.db.models import Model

DB = "graph_sandbox"
APP_LABEL = "graph_sandbox"


class GraphSandboxRouter:
    """graph_sandbox models live only in the ``graph_sandbox`` alias, which holds nothing else."""

    def db_for_read(self, model: type[Model], **hints) -> str | None:
        return DB if model._meta.app_label == APP_LABEL else None

    def db_for_write(self, model: type[Model], **hints) -> str | None:
        return DB if model._meta.app_label == APP_LABEL else None

    def allow_relation(self, obj1: Model, obj2: Model, **hints) -> bool | None:
        ours = {obj1._meta.app_label == APP_LABEL, obj2._meta.app_label == APP_LABEL}
        if ours == {True}:
            return True
        if True in ours:
            return False  # no foreign keys between the sandbox and the product
        return None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        if db == DB:
            return app_label == APP_LABEL
        if app_label == APP_LABEL:
            return False
        return None
