import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.tests import assert_error, call, count_list_queries, role_matrix
from orders.services import order_create
from users.models import Role, User
from users.tests.factories import UserFactory

TOKEN_URL = "/api/v1/auth/token/"
USERS_URL = "/api/v1/users/"
LIST_URLS = [
    "/api/v1/users/",
    "/api/v1/articles/",
    "/api/v1/stocks/",
    "/api/v1/stocks/movements/",
    "/api/v1/orders/",
]


@pytest.fixture
def target(db):
    """A customer account that the role under test reads, edits or deletes."""
    return UserFactory(role=Role.CUSTOMER, username="target")


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_obtained_with_username_and_password_authenticates_later_requests(manager):
    anonymous = APIClient()
    response = anonymous.post(
        TOKEN_URL, {"username": "manager", "password": "correct-horse-battery"}, format="json"
    )
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    key = response.json()["token"]
    assert Token.objects.get(key=key).user == manager

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    listed = client.get(USERS_URL)
    assert listed.status_code == 200
    assert "manager" in [user["username"] for user in listed.json()["results"]]


@pytest.mark.django_db
def test_asking_twice_for_a_token_returns_the_same_key(manager):
    client = APIClient()
    credentials = {"username": "manager", "password": "correct-horse-battery"}
    first = client.post(TOKEN_URL, credentials, format="json").json()["token"]
    second = client.post(TOKEN_URL, credentials, format="json").json()["token"]
    assert first == second


@pytest.mark.django_db
def test_a_wrong_password_gets_no_token(manager):
    response = APIClient().post(TOKEN_URL, {"username": "manager", "password": "wrong"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert "non_field_errors" in body["fields"]
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_a_token_request_without_password_lists_the_missing_field():
    response = APIClient().post(TOKEN_URL, {"username": "manager"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert "password" in body["fields"]


@pytest.mark.django_db
def test_an_inactive_user_gets_no_token(manager):
    manager.is_active = False
    manager.save()
    response = APIClient().post(
        TOKEN_URL, {"username": "manager", "password": "correct-horse-battery"}, format="json"
    )
    assert_error(response, 400, "invalid")


@pytest.mark.django_db
def test_an_unknown_token_is_refused_as_authentication_failed():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert_error(client.get(USERS_URL), 401, "authentication_failed")


@pytest.mark.django_db
@pytest.mark.parametrize("url", LIST_URLS)
def test_anonymous_requests_to_list_endpoints_are_not_authenticated(url):
    response = APIClient().get(url)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_a_session_login_opens_the_browsable_api(clerk):
    client = APIClient()
    assert client.login(username="clerk", password="correct-horse-battery")
    response = client.get("/api/v1/articles/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Article" in response.content


# --- permissions ------------------------------------------------------------------------------

STAFF = {"manager", "clerk"}
USER_ENDPOINTS = [
    ("get", USERS_URL, None, {"manager": 200, "clerk": 200}),
    (
        "post",
        USERS_URL,
        {"username": "walkin", "email": "walkin@example.com", "role": "customer"},
        {"manager": 201, "clerk": 201},
    ),
    ("get", USERS_URL + "{target}/", None, {"manager": 200, "clerk": 200}),
    ("patch", USERS_URL + "{target}/", {"first_name": "Ann"}, {"manager": 200}),
    (
        "put",
        USERS_URL + "{target}/",
        {"username": "target", "email": "target@example.com", "role": "customer"},
        {"manager": 200},
    ),
    ("delete", USERS_URL + "{target}/", None, {"manager": 204}),
]


@pytest.mark.parametrize(("role", "method", "url", "payload", "expected"), role_matrix(USER_ENDPOINTS))
def test_each_role_reaches_exactly_its_user_endpoints(
    request, api_client, target, role, method, url, payload, expected
):
    client = api_client(request.getfixturevalue(role))
    response = call(client, method, url.format(target=target.pk), payload)
    if expected == 403:
        assert_error(response, 403, "permission_denied")
        assert User.objects.filter(pk=target.pk, first_name=target.first_name).exists()
        assert not User.objects.filter(username="walkin").exists()
    else:
        assert response.status_code == expected, response.content


@pytest.mark.django_db
def test_a_clerk_cannot_create_a_clerk(api_client, clerk):
    response = api_client(clerk).post(
        USERS_URL,
        {"username": "clerk2", "email": "clerk2@example.com", "role": "clerk", "password": "S3cret-pass!"},
        format="json",
    )
    body = assert_error(response, 403, "role_not_allowed")
    assert "role" in body["fields"]
    assert not User.objects.filter(username="clerk2").exists()


@pytest.mark.django_db
def test_a_manager_may_create_a_clerk(api_client, manager):
    response = api_client(manager).post(
        USERS_URL,
        {"username": "clerk2", "email": "clerk2@example.com", "role": "clerk", "password": "S3cret-pass!"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["role"] == "clerk"
    assert User.objects.get(username="clerk2").is_staff


@pytest.mark.django_db
def test_clerks_see_only_customers_in_the_user_list(api_client, manager, clerk, supplier, customer):
    listed = api_client(clerk).get(USERS_URL).json()
    assert [user["username"] for user in listed["results"]] == ["customer"]
    assert listed["count"] == 1


@pytest.mark.django_db
def test_managers_see_every_account(api_client, manager, clerk, supplier, customer):
    listed = api_client(manager).get(USERS_URL).json()
    assert {user["username"] for user in listed["results"]} == {"manager", "clerk", "supplier", "customer"}


@pytest.mark.django_db
def test_a_clerk_cannot_read_a_manager_account(api_client, manager, clerk):
    assert_error(api_client(clerk).get(f"{USERS_URL}{manager.pk}/"), 404, "not_found")


@pytest.mark.django_db
def test_the_user_list_filters_by_role(api_client, manager, clerk, supplier, customer):
    listed = api_client(manager).get(USERS_URL, {"role": "supplier"}).json()
    assert [user["username"] for user in listed["results"]] == ["supplier"]


# --- accounts ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_password_is_write_only(api_client, manager):
    client = api_client(manager)
    created = client.post(
        USERS_URL,
        {"username": "sam", "email": "sam@example.com", "role": "supplier", "password": "S3cret-pass!"},
        format="json",
    )
    assert created.status_code == 201
    assert "password" not in created.json()
    user_id = created.json()["id"]
    assert "password" not in client.get(f"{USERS_URL}{user_id}/").json()
    assert all("password" not in user for user in client.get(USERS_URL).json()["results"])
    patched = client.patch(f"{USERS_URL}{user_id}/", {"password": "An0ther-pass!"}, format="json")
    assert patched.status_code == 200
    assert "password" not in patched.json()
    assert User.objects.get(pk=user_id).check_password("An0ther-pass!")


@pytest.mark.django_db
def test_a_created_user_gets_a_token_with_the_password_given(api_client, manager):
    api_client(manager).post(
        USERS_URL,
        {"username": "sam", "email": "sam@example.com", "role": "supplier", "password": "S3cret-pass!"},
        format="json",
    )
    response = APIClient().post(TOKEN_URL, {"username": "sam", "password": "S3cret-pass!"}, format="json")
    assert response.status_code == 200
    assert response.json()["token"]


@pytest.mark.django_db
def test_a_weak_password_is_refused_with_a_field_error(api_client, manager):
    response = api_client(manager).post(
        USERS_URL, {"username": "sam", "email": "sam@example.com", "password": "123"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert "password" in body["fields"]
    assert not User.objects.filter(username="sam").exists()


@pytest.mark.django_db
def test_emails_are_unique_whatever_their_case(api_client, clerk):
    client = api_client(clerk)
    first = client.post(USERS_URL, {"username": "foo1", "email": "Foo@X.com"}, format="json")
    assert first.status_code == 201
    assert first.json()["email"] == "foo@x.com"

    second = client.post(USERS_URL, {"username": "foo2", "email": "foo@x.com"}, format="json")
    body = assert_error(second, 400, "invalid")
    assert "email" in body["fields"]
    assert not User.objects.filter(username="foo2").exists()


@pytest.mark.django_db
def test_changing_an_email_to_another_users_in_other_case_is_refused(api_client, manager, customer):
    other = UserFactory(email="taken@example.com")
    response = api_client(manager).patch(
        f"{USERS_URL}{customer.pk}/", {"email": "TAKEN@example.com"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert "email" in body["fields"]
    customer.refresh_from_db()
    assert customer.email != other.email


@pytest.mark.django_db
def test_a_customer_created_without_password_cannot_get_a_token(api_client, clerk):
    created = api_client(clerk).post(
        USERS_URL, {"username": "walkin", "email": "w@example.com"}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["role"] == "customer"
    assert not User.objects.get(username="walkin").has_usable_password()

    for password in ("", "anything", "!"):
        response = APIClient().post(TOKEN_URL, {"username": "walkin", "password": password}, format="json")
        assert_error(response, 400, "invalid")
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_a_user_without_username_or_email_is_refused_with_field_errors(api_client, manager):
    response = api_client(manager).post(USERS_URL, {"role": "customer"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert {"username", "email"} <= set(body["fields"])


@pytest.mark.django_db
def test_an_unknown_role_is_refused(api_client, manager):
    response = api_client(manager).post(
        USERS_URL, {"username": "x", "email": "x@example.com", "role": "admin"}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert "role" in body["fields"]


@pytest.mark.django_db
def test_a_manager_cannot_delete_their_own_account(api_client, manager):
    response = api_client(manager).delete(f"{USERS_URL}{manager.pk}/")
    assert_error(response, 409, "cannot_delete_self")
    assert User.objects.filter(pk=manager.pk).exists()


@pytest.mark.django_db
def test_a_customer_with_orders_cannot_be_deleted(api_client, manager, customer, stocked_article):
    article = stocked_article(5)
    order_create(customer=customer, lines=[{"article": article.pk, "quantity": 1}], created_by=manager)
    response = api_client(manager).delete(f"{USERS_URL}{customer.pk}/")
    assert_error(response, 409, "user_in_use")
    assert User.objects.filter(pk=customer.pk).exists()


@pytest.mark.django_db
def test_an_unknown_or_huge_user_id_is_a_json_404(api_client, manager):
    client = api_client(manager)
    assert_error(client.get(f"{USERS_URL}999999/"), 404, "not_found")
    assert_error(client.get(f"{USERS_URL}99999999999999999999999/"), 404, "not_found")


@pytest.mark.django_db
def test_the_user_list_issues_the_same_queries_for_any_page_size(api_client, manager):
    UserFactory.create_batch(55)
    client = api_client(manager)
    small = count_list_queries(client, USERS_URL, 5)
    large = count_list_queries(client, USERS_URL, 50)
    print(f"users list queries: page_size 5 -> {small}, page_size 50 -> {large}")
    assert small == large
