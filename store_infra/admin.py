"""What the store's admin pages share, and the read-only page of idempotency keys.

Admin pages are doors like the API: forms validate input, services write. A service refusing
(a DomainError) reaches the user as an error message, never as a server error.
"""

from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as delete_selected_confirmation
from django.contrib.admin.utils import model_ngettext
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from core.errors import DomainError

from .models import IdempotencyKey

admin.site.site_header = "Store Manager"
admin.site.site_title = "Store Manager"
admin.site.index_title = "Back office"


class ServiceAdmin(admin.ModelAdmin):
    """An admin page whose rows are written by services: subclasses implement save_model/delete_model.

    The form only validates; `save_model` hands its cleaned data to a service, which also writes
    any related rows, so the form itself is never saved. When adding, `save_model` sets `obj.pk` to
    the row the service created: the admin logs and redirects by it.
    """

    actions = ["delete_selected"]

    def save_form(self, request, form, change):
        return form.instance

    def save_related(self, request, form, formsets, change):
        """Nothing left to save: the service wrote the related rows."""

    def get_deleted_objects(self, objs, request):
        """What goes along with a row is the service's decision (an article's stock row, a user's
        idempotency keys): deleting it needs no permission on those, which nobody may delete alone.
        """
        deleted, model_count, _, protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, set(), protected

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            opts = self.opts
            url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[object_id],
                current_app=self.admin_site.name,
            )
            return HttpResponseRedirect(url)

    def apply_each(
        self,
        request,
        rows: Iterable,
        call: Callable,
        *,
        done: Callable[[int], str],
        label: Callable = str,
    ) -> None:
        """`call(row)` for every row, each its own service transaction; reports successes and refusals."""
        succeeded = 0
        for row in rows:
            try:
                call(row)
            except DomainError as error:
                self.message_user(request, f"{label(row)}: {error.message}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, done(succeeded), messages.SUCCESS)

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def delete_selected(self, request, queryset):
        """Django's confirmation page, then `delete_model` row by row.

        Unlike Django's action, a row the service refuses is reported and neither stops nor hides
        the deletion of the others, and only rows really deleted are logged.
        """
        if not request.POST.get("post"):
            return delete_selected_confirmation(self, request, queryset)

        def delete(obj):
            with transaction.atomic():
                self.log_deletions(request, [obj])
                self.delete_model(request, obj)

        self.apply_each(
            request,
            queryset,
            delete,
            done=lambda count: f"Deleted {count} {model_ngettext(self.opts, count)}.",
        )
        return None


class ReadOnlyAdmin(admin.ModelAdmin):
    """A page for rows that only the store itself writes (ledgers, replay records)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """The answers replayed to repeated API requests; `manage.py purge_idempotency_keys` expires them."""

    list_display = ("created_at", "user", "scope", "key", "response_status")
    list_filter = ("scope", "response_status", "created_at")
    search_fields = ("key", "user__username")
    list_select_related = ("user",)
