"""Accounts in the admin, created and changed through users.services.

Permissions follow the role (users.backends.RoleBackend), so Django's superuser flag, groups and
per-user permissions are neither shown nor registered.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group

from store_infra.admin import ServiceAdmin

from . import selectors, services
from .models import User

admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(ServiceAdmin, DjangoUserAdmin):
    list_display = ("username", "email", "name", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("username", "email", "first_name", "last_name")
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("role", "is_active")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    @admin.display(description="name", ordering="last_name")
    def name(self, user: User) -> str:
        return user.get_full_name()

    def get_queryset(self, request):
        return selectors.user_list(actor=request.user)

    def _add_view(self, request, form_url="", extra_context=None):
        # Django's UserAdmin refuses "add" without "change" lest an adder create superusers; here
        # user_create decides which roles the actor may create, so clerks can register customers.
        return admin.ModelAdmin.add_view(self, request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            # The role check is made on the stored role; `obj` already carries the form's.
            stored = User.objects.get(pk=obj.pk)
            services.user_update(actor=request.user, user=stored, **changes)
            return
        data = form.cleaned_data
        fields = {name: value for name, value in data.items() if name in services.EDITABLE_FIELDS}
        password = data["password1"] if data["set_usable_password"] else None
        obj.pk = services.user_create(actor=request.user, password=password, **fields).pk

    def delete_model(self, request, obj):
        services.user_delete(actor=request.user, user=obj)
