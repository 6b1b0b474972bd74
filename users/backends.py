"""`has_perm` answered from the user's role (users.permissions.ROLE_PERMISSIONS), for every door."""

from django.contrib.auth.backends import ModelBackend

from .permissions import role_grants


class RoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm, obj=None):
        return _active(user_obj) and role_grants(user_obj.role, perm.split(".", 1)[0], perm)

    def has_module_perms(self, user_obj, app_label):
        return _active(user_obj) and role_grants(user_obj.role, app_label)


def _active(user_obj) -> bool:
    return user_obj.is_active and not user_obj.is_anonymous
