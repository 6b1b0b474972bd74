"""How the store proves who it is to the payments service: `Authorization: Bearer <token>`."""

import hmac
from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions


@dataclass(frozen=True)
class ServiceClient:
    """The caller a valid service token stands for (there are no user accounts here)."""

    name: str = "store"
    is_authenticated: bool = True


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid bearer header: give exactly one token.")
        if not hmac.compare_digest(parts[1], settings.PAYMENTS_SERVICE_TOKEN.encode()):
            raise exceptions.AuthenticationFailed("Invalid service token.")
        return ServiceClient(), None

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return f'{self.keyword} realm="payments"'


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    target_class = ServiceTokenAuthentication
    name = "serviceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The store's service token."}
