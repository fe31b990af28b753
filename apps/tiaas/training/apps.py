from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Trainings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from training.throttle import forget_login, log_failure

        user_logged_in.connect(forget_login, dispatch_uid="training.throttle.forget_login")
        user_login_failed.connect(log_failure, dispatch_uid="training.throttle.log_failure")
