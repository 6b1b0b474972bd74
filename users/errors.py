from rest_framework import status

from core.errors import Conflict, DomainError


class RoleNotAllowed(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "role_not_allowed"
    default_message = "Your role may not manage users of this role."


class UserInUse(Conflict):
    code = "user_in_use"
    default_message = "This user has orders; deactivate the account instead of deleting it."


class CannotDeleteSelf(Conflict):
    code = "cannot_delete_self"
    default_message = "You cannot delete your own account."
