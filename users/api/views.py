from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from store_infra.throttling import LoginRateThrottle

from .. import selectors, services
from ..errors import CannotDeleteSelf, RoleNotAllowed, UserInUse
from ..models import User
from ..permissions import ActionPermissions
from .serializers import CredentialsSerializer, TokenSerializer, UserSerializer


class ObtainTokenView(APIView):
    """Exchange a username and password for the API token to send as `Authorization: Token <key>`."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: TokenSerializer},
        tags=["auth"],
        examples=[
            OpenApiExample(
                "A clerk's login", value={"username": "clerk", "password": "its password"}, request_only=True
            )
        ],
    )
    def post(self, request):
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request, **credentials.validated_data)
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with the provided credentials."]}
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class UserViewSet(viewsets.ModelViewSet):
    """Accounts. Managers manage everyone; clerks list and register customers."""

    serializer_class = UserSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "users.view_user",
        "retrieve": "users.view_user",
        "create": "users.add_user",
        "update": "users.change_user",
        "partial_update": "users.change_user",
        "destroy": "users.delete_user",
    }
    domain_errors = {
        "create": [RoleNotAllowed],
        "destroy": [UserInUse, CannotDeleteSelf],
    }
    filterset_fields = ["role", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["id", "username", "date_joined"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return User.objects.none()
        return selectors.user_list(actor=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.user_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(
            actor=self.request.user, user=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.user_delete(actor=self.request.user, user=instance)
