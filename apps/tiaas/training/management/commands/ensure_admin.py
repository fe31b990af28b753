"""Create or update the TIaaS admin account, idempotently, without the password on a command line.

The password comes from the environment variable ``TIAAS_ADMIN_PASSWORD`` or, when that is unset, from the first
line of standard input: never from an argument, so ``ps`` never shows it. The deploy role runs this on every
converge; the last line of output is one word, ``created``, ``updated`` or ``unchanged`` (with ``--dry-run``: what
would happen), so the role can report a change only when there was one.

The account ends up active, staff and superuser, with that email address and password. A password that is already
right is left alone (its hash is not rewritten), and published default passwords are refused unless
``--allow-default-password`` (demos) is given.
"""

from __future__ import annotations

import os
import sys

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tiaas.secret_policy import admin_password_problem

PASSWORD_ENV = "TIAAS_ADMIN_PASSWORD"  # noqa: S105 (the name of the variable, not a password)


class Command(BaseCommand):
    help = f"Create or update the admin account; the password is read from ${PASSWORD_ENV} or standard input."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="Email address of the account.")
        parser.add_argument("--dry-run", action="store_true", help="Only report what would change.")
        parser.add_argument(
            "--allow-default-password",
            action="store_true",
            help="Accept a published default or weak password (demos only).",
        )

    def handle(self, *args, username: str, email: str, dry_run: bool, allow_default_password: bool, **options):
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            password = sys.stdin.readline().rstrip("\r\n")
        if not username.strip():
            raise CommandError("the admin user name is empty")
        if not password:
            raise CommandError(f"no password: set ${PASSWORD_ENV} or give it on standard input")
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.select_for_update().filter(**{user_model.USERNAME_FIELD: username}).first()
            if not allow_default_password:
                problem = admin_password_problem(password)
                if problem:
                    raise CommandError(problem)
                try:
                    password_validation.validate_password(password, user or user_model(username=username, email=email))
                except ValidationError as exc:
                    raise CommandError("the admin password is refused: " + " ".join(exc.messages)) from exc
            if user is None:
                if not dry_run:
                    user_model.objects.create_superuser(username=username, email=email, password=password)
                self.stdout.write("would create" if dry_run else "created")
                return
            wanted = {"email": email, "is_active": True, "is_staff": True, "is_superuser": True}
            fields = [name for name, value in wanted.items() if getattr(user, name) != value]
            password_changes = not user.check_password(password)
            if not fields and not password_changes:
                self.stdout.write("unchanged")
                return
            if not dry_run:
                for name in fields:
                    setattr(user, name, wanted[name])
                if password_changes:
                    user.set_password(password)
                    fields.append("password")
                user.save(update_fields=fields)
            self.stdout.write("would update" if dry_run else "updated")
