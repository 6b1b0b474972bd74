"""`manage.py restock`: book a delivery, one article or a supplier's CSV file, all or nothing
(stocks.services.stock_deliver, as GraphQL and the admin), or check it with --dry-run."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from stocks.delivery_files import DeliveryFileUnreadable, read_delivery_csv
from stocks.errors import DeliveryRefused
from stocks.services import DeliveryLine, stock_deliver


def _read_csv(path: Path) -> list[DeliveryLine]:
    try:
        return read_delivery_csv(path.read_bytes(), name=str(path))
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
    except DeliveryFileUnreadable as error:
        raise CommandError(str(error)) from None


def _refusal(error: DeliveryRefused) -> str:
    problems = (
        f"{problem['place']}: {problem['message']}" if problem["place"] else problem["message"]
        for problem in error.details["problems"]
    )
    return "Nothing was booked:\n" + "\n".join(problems)


class Command(BaseCommand):
    help = (
        "Book a delivery: `restock SKU QUANTITY`, or `restock --csv FILE` with a `sku,quantity` header "
        "and one row per article. Every line is booked, or none is."
    )

    def add_arguments(self, parser):
        parser.add_argument("sku", nargs="?", help="SKU of the article delivered.")
        parser.add_argument("quantity", nargs="?", help="Units delivered.")
        parser.add_argument(
            "--csv",
            dest="csv_path",
            type=Path,
            help="Delivery file: header `sku,quantity`, one row per article.",
        )
        parser.add_argument("--reference", help='Delivery reference; default "csv:<file name>" or "manual".')
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the delivery as it would be booked, and book nothing.",
        )

    def handle(self, *args, sku, quantity, csv_path, reference, dry_run, **options):
        if csv_path is not None:
            if sku is not None:
                raise CommandError("Give either SKU QUANTITY or --csv FILE, not both.")
            lines, reference = _read_csv(csv_path), reference or f"csv:{csv_path.name}"
        elif sku is None or quantity is None:
            raise CommandError("Give SKU QUANTITY, or --csv FILE.")
        else:
            lines, reference = [DeliveryLine("", sku, quantity)], reference or "manual"
        try:
            stocks = stock_deliver(lines=lines, reference=reference, user=None, dry_run=dry_run)
        except DeliveryRefused as error:
            raise CommandError(_refusal(error)) from None
        except DomainError as error:
            raise CommandError(error.message) from None
        if options["verbosity"] == 0:
            return
        state = "would be" if dry_run else "now"
        for line, stock in zip(lines, stocks, strict=True):
            self.stdout.write(f"{line.sku}: +{int(line.quantity)}, {state} {stock.quantity}")
        units = sum(int(line.quantity) for line in lines)
        summary = f"{len(stocks)} line(s), {units} unit(s), reference {reference!r}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {summary}: nothing was booked (--dry-run)." if dry_run else f"Booked {summary}."
            )
        )
