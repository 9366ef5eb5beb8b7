"""Looking up a login by the name typed into a form."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser


def user_named(username: str | None) -> AbstractBaseUser | None:
    """The account a typed user name names, if any."""
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first() if username else None
