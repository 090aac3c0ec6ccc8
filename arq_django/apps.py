from django.apps import AppConfig


class ArqDjangoConfig(AppConfig):
    name = "arq_django"
    verbose_name = "arq jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from arq_django import checks  # noqa: F401  (registers the system checks)
        from arq_django.startup import warm_up
        from arq_django.tasks.setup import install

        install()
        warm_up()
