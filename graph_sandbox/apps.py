from django.apps import AppConfig


class GraphSandboxConfig(AppConfig):
    name = "graph_sandbox"
    verbose_name = "Graph sandbox"
    default_auto_field = "django.db.models.BigAutoField"
