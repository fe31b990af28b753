from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Trainings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from training.throttle import record_failure

        user_login_failed.connect(record_failure, dispatch_uid="training.throttle.record_failure")
