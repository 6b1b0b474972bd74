"""users.services.user_create_many: the accounts of a batch (demo data) under user_create's rules."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from users.errors import RoleNotAllowed
from users.models import Role, User
from users.services import user_create_many


def customers(*names: str) -> list[dict]:
    return [{"username": name, "email": f"{name.upper()}@Example.com "} for name in names]


def test_a_batch_of_customers_is_one_insert_with_emails_normalised_and_no_password(manager):
    with CaptureQueriesContext(connection) as queries:
        created = user_create_many(actor=manager, users=customers(*(f"c{n}" for n in range(50))))

    inserts = [query for query in queries if query["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert [user.pk for user in created] == list(
        User.objects.filter(username__startswith="c").order_by("pk").values_list("pk", flat=True)
    )
    first = User.objects.get(username="c0")
    assert (first.email, first.role, first.has_usable_password()) == ("c0@example.com", Role.CUSTOMER, False)


@pytest.mark.parametrize(
    "names", [("ann", "bob", "ann"), ("bob", "taken")], ids=["twice in the batch", "already an account"]
)
def test_a_username_taken_refuses_the_whole_batch(manager, names):
    User.objects.create_user("taken", "someone@example.com")

    with pytest.raises(ValidationError) as refused:
        user_create_many(actor=manager, users=customers(*names))

    expected = {"username", "email"} if "ann" in names else {"username"}
    assert set(refused.value.message_dict) == expected
    assert not User.objects.filter(username__in=["ann", "bob"]).exists()


def test_a_clerk_may_create_customers_only(clerk):
    with pytest.raises(RoleNotAllowed):
        user_create_many(actor=clerk, users=[{**customers("boss")[0], "role": Role.MANAGER}])
    assert not User.objects.filter(username="boss").exists()
