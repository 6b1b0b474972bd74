import pytest

from core.tests.admin_pages import admin_url, assert_changelist_queries_flat, logged_in, messages_of
from users.models import Role, User
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def new_user_form(**fields) -> dict:
    return {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "first_name": "New",
        "last_name": "Comer",
        "role": Role.CUSTOMER,
        "usable_password": "false",
        "password1": "",
        "password2": "",
        **fields,
    }


@pytest.mark.parametrize("who", ["manager", "clerk"])
def test_the_users_list_costs_the_same_queries_for_5_or_50_users(request, who, django_assert_num_queries):
    client = logged_in(request.getfixturevalue(who))

    assert_changelist_queries_flat(
        client, User, lambda n: UserFactory.create_batch(n, role=Role.CUSTOMER), django_assert_num_queries
    )


def test_a_clerk_sees_only_customers(clerk, manager, supplier, customer):
    client = logged_in(clerk)

    response = client.get(admin_url(User))

    assert [user.username for user in response.context["cl"].result_list] == [customer.username]
    assert client.get(admin_url(User, "change", manager.pk)).status_code == 302


def test_the_user_page_hides_superuser_groups_and_permissions(manager, customer):
    response = logged_in(manager).get(admin_url(User, "change", customer.pk))

    fields = response.context["adminform"].form.fields
    assert {"is_superuser", "groups", "user_permissions", "is_staff"}.isdisjoint(fields)
    assert {"role", "is_active", "email"} <= set(fields)
    assert logged_in(manager).get("/admin/auth/group/").status_code == 404


def test_a_clerk_registers_a_customer_without_a_password(clerk):
    response = logged_in(clerk).post(admin_url(User, "add"), new_user_form())

    assert response.status_code == 302
    created = User.objects.get(username="newcomer")
    assert created.role == Role.CUSTOMER
    assert not created.has_usable_password()


def test_a_clerk_cannot_create_a_clerk_and_is_told_why(clerk):
    response = logged_in(clerk).post(admin_url(User, "add"), new_user_form(role=Role.CLERK))

    assert response.status_code == 302
    assert messages_of(response) == ["Your role may not manage users of this role."]
    assert not User.objects.filter(username="newcomer").exists()


def test_a_manager_creates_staff_with_a_password_checked_by_the_validators(manager):
    client = logged_in(manager)
    weak = new_user_form(role=Role.CLERK, usable_password="true", password1="123", password2="123")
    strong = {**weak, "password1": "till-and-ledger-77", "password2": "till-and-ledger-77"}

    assert client.post(admin_url(User, "add"), weak).status_code == 200
    assert client.post(admin_url(User, "add"), strong).status_code == 302

    created = User.objects.get(username="newcomer")
    assert created.role == Role.CLERK and created.is_staff
    assert created.check_password("till-and-ledger-77")


def test_a_manager_changes_a_role_through_the_service(manager, customer):
    form = {
        "username": customer.username,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "role": Role.SUPPLIER,
        "is_active": "on",
    }

    response = logged_in(manager).post(admin_url(User, "change", customer.pk), form)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.role == Role.SUPPLIER
    assert not customer.is_staff


def test_a_clerk_may_only_view_a_customer(clerk, customer):
    client = logged_in(clerk)

    response = client.post(admin_url(User, "change", customer.pk), {"username": "renamed"})

    assert response.status_code == 403
    assert client.get(admin_url(User, "change", customer.pk)).status_code == 200
    customer.refresh_from_db()
    assert customer.username != "renamed"


def test_a_manager_cannot_delete_their_own_account(manager):
    response = logged_in(manager).post(admin_url(User, "delete", manager.pk), {"post": "yes"})

    assert response.status_code == 302
    assert messages_of(response) == ["You cannot delete your own account."]
    assert User.objects.filter(pk=manager.pk).exists()


@pytest.mark.django_db
def test_clerks_cannot_see_api_tokens_in_the_admin(client, clerk):
    client.force_login(clerk)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 403
    assert b"authtoken" not in client.get("/admin/").content
