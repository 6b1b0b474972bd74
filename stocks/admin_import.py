"""The admin's delivery import: a supplier's CSV file uploaded, previewed, then booked all or nothing.

Upload: every bad row is listed at once (stocks.services.stock_deliver with `dry_run`, as
`manage.py restock --csv --dry-run`), or the levels the delivery would leave are shown. Book: the
same file, carried signed by the preview page, goes through stock_deliver again and is booked once
(a second click finds its key taken) or, if the stock changed meanwhile, refused with its problems.

django-import-export was not used: it imports row by row through model instances, where a delivery
must be one service call that locks, checks capacities and writes the ledger; bending it to that
would take more code than this page.
"""

import base64
import hashlib
import secrets

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.errors import DomainError
from store_infra.models import IdempotencyKey

from . import services
from .delivery_files import DeliveryFileUnreadable, read_delivery_csv
from .errors import DeliveryRefused

MAX_FILE_BYTES = 200_000  # about 8,000 rows: beyond any delivery note (and MAX_DELIVERY_LINES)
SALT = "stocks.delivery-import"
PREVIEW_LIFETIME = 3600  # seconds a preview may wait to be booked
IDEMPOTENCY_SCOPE = (
    "stocks.delivery-import"  # each preview's key books once (store_infra.models.IdempotencyKey)
)


class DeliveryFileForm(forms.Form):
    file = forms.FileField(
        help_text="CSV in UTF-8: a header naming `sku` and `quantity`, then a row per article."
    )
    reference = forms.CharField(
        max_length=services.REFERENCE_LENGTH,
        required=False,
        help_text='Default: "csv:" and the file\'s name.',
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"A delivery file holds at most {MAX_FILE_BYTES:,} bytes.")
        return upload


class BookingForm(forms.Form):
    """The previewed file as the preview page sends it back: signed, so that what is booked is what
    was previewed, and with a key of its own, so that it is booked once (a second click is refused)."""

    previewed = forms.CharField(widget=forms.HiddenInput)

    @staticmethod
    def sign(content: bytes, name: str, reference: str) -> "BookingForm":
        booking = {"content": base64.b64encode(content).decode(), "name": name, "reference": reference}
        previewed = signing.dumps({**booking, "key": secrets.token_hex(16)}, salt=SALT, compress=True)
        return BookingForm(initial={"previewed": previewed})

    def clean_previewed(self) -> dict:
        try:
            booking = signing.loads(self.cleaned_data["previewed"], salt=SALT, max_age=PREVIEW_LIFETIME)
        except signing.BadSignature:
            raise forms.ValidationError("The previewed file was altered or is too old.") from None
        return {**booking, "content": base64.b64decode(booking["content"])}


class _Shown(Exception):
    """Ends the request with the page showing `context` (a form's errors, a file's problems)."""

    def __init__(self, **context):
        self.context = context


def _received(request) -> tuple[bytes, str, str, str | None]:
    """The file's content, its name, the delivery's reference and, when it is sent back to be booked,
    the key that books it once."""
    if "book" in request.POST:
        booking = BookingForm(request.POST)
        if not booking.is_valid():
            raise _Shown(unreadable="The previewed file was altered or is too old; upload it again.")
        previewed = booking.cleaned_data["previewed"]
        return previewed["content"], previewed["name"], previewed["reference"], previewed["key"]
    upload = DeliveryFileForm(request.POST, request.FILES)
    if not upload.is_valid():
        raise _Shown(form=upload)
    file = upload.cleaned_data["file"]
    return file.read(), file.name, upload.cleaned_data["reference"] or f"csv:{file.name}", None


def _delivered(request, content: bytes, name: str, reference: str, *, key: str | None):
    """The file's lines and the levels they leave: booked once for `key`, or without one only
    checked; or the page shows why not."""
    try:
        lines = read_delivery_csv(content, name=name)
        if key is None:
            levels = services.stock_deliver(lines=lines, reference=reference, user=request.user, dry_run=True)
            return lines, levels
        with transaction.atomic():
            IdempotencyKey.objects.create(
                user=request.user,
                scope=IDEMPOTENCY_SCOPE,
                key=key,
                fingerprint=hashlib.sha256(content).hexdigest(),
                response_status=200,
                response_body={"reference": reference},
            )
            return lines, services.stock_deliver(lines=lines, reference=reference, user=request.user)
    except IntegrityError:
        raise _Shown(unreadable=f"{name} was booked already (reference {reference!r}).") from None
    except DeliveryFileUnreadable as error:
        raise _Shown(unreadable=str(error)) from None
    except DeliveryRefused as refused:
        raise _Shown(name=name, problems=refused.details["problems"]) from None
    except DomainError as error:
        raise _Shown(name=name, problems=[{"place": "", "message": error.message}]) from None


def import_delivery(model_admin, request):
    """GET: the upload form. POST: the preview of the uploaded file, or with `book`, its booking."""
    if not model_admin.has_restock_permission(request):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Import a delivery",
        "opts": model_admin.opts,
        "form": DeliveryFileForm(),
    }
    if request.method != "POST":
        return _page(request, context)
    try:
        content, name, reference, key = _received(request)
        lines, levels = _delivered(request, content, name, reference, key=key)
    except _Shown as shown:
        return _page(request, {**context, **shown.context})
    units = sum(int(line.quantity) for line in lines)
    if key is not None:
        done = f"Booked {len(lines)} line(s), {units} unit(s), reference {reference!r}."
        model_admin.message_user(request, done, messages.SUCCESS)
        return redirect(reverse("admin:stocks_stock_changelist", current_app=model_admin.admin_site.name))
    rows = [
        {
            "sku": line.sku,
            "before": level.quantity - int(line.quantity),
            "added": int(line.quantity),
            "after": level.quantity,
        }
        for line, level in zip(lines, levels, strict=True)
    ]
    booking = BookingForm.sign(content, name, reference)
    preview = {"name": name, "rows": rows, "units": units, "reference": reference, "booking": booking}
    return _page(request, {**context, **preview})


def _page(request, context):
    return TemplateResponse(request, "admin/stocks/stock/import_delivery.html", context)
