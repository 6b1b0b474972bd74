from collections import Counter
from collections.abc import Mapping, Sequence

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from core.db import bulk_insert
from store_infra.cache import changed

from .errors import CannotDeleteSelf, RoleNotAllowed, UserInUse
from .models import Role, User

EDITABLE_FIELDS = frozenset({"username", "email", "first_name", "last_name", "role", "is_active"})


def _check_actor_may_manage(actor: User, role: str) -> None:
    # Clerks register customers at the counter; every other account is a manager's decision.
    if actor.role == Role.MANAGER:
        return
    if actor.role == Role.CLERK and role == Role.CUSTOMER:
        return
    raise RoleNotAllowed(field="role")


def _set_password(user: User, password: str | None) -> None:
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()


def _new_user(
    *,
    actor: User,
    username: str,
    email: str,
    role: str = Role.CUSTOMER,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    is_active: bool = True,
) -> User:
    _check_actor_may_manage(actor, role)
    user = User(
        username=username,
        email=User.objects.normalize_email(email),
        role=role,
        first_name=first_name,
        last_name=last_name,
        is_active=is_active,
    )
    _set_password(user, password)
    return user


@transaction.atomic
def user_create(*, actor: User, **fields) -> User:
    """Create an account (fields: those of `_new_user`); without a password it cannot log in
    (customers usually)."""
    user = _new_user(actor=actor, **fields)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_create_many(*, actor: User, users: Sequence[Mapping]) -> list[User]:
    """Several accounts in one INSERT (demo data, imports); each item holds user_create's fields.

    The same checks as user_create, the unique fields asked once for all of them.
    """
    rows = [_new_user(actor=actor, **fields) for fields in users]
    for row in rows:
        row.full_clean(validate_unique=False)
    errors = {}
    for field in ("username", "email"):  # the unique fields, one query each for every row
        values = Counter(getattr(row, field) for row in rows)
        taken = set(User.objects.filter(**{f"{field}__in": values}).values_list(field, flat=True))
        taken |= {value for value, count in values.items() if count > 1}
        if taken:
            errors[field] = [f"Already taken: {', '.join(sorted(taken))}."]
    if errors:
        raise ValidationError(errors)
    created = bulk_insert(User, rows)
    changed(User)
    return created


@transaction.atomic
def user_update(*, actor: User, user: User, password: str | None = None, **changes) -> User:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    _check_actor_may_manage(actor, user.role)
    _check_actor_may_manage(actor, changes.get("role", user.role))
    if "email" in changes:
        changes["email"] = User.objects.normalize_email(changes["email"])
    for field, value in changes.items():
        setattr(user, field, value)
    if password:
        _set_password(user, password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_delete(*, actor: User, user: User) -> None:
    _check_actor_may_manage(actor, user.role)
    if user.pk == actor.pk:
        raise CannotDeleteSelf()
    if user.orders.exists():
        raise UserInUse()
    user.delete()
