from django.apps import AppConfig


class ModelTasksAppConfig(AppConfig):
    name = "tests.model_tasks_app"
    label = "tests_model_tasks_app"
    default_auto_field = "django.db.models.BigAutoField"
