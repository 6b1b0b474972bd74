"""Model fields of the shared kernel."""

from django.db.models import CharField


class ExactCharField(CharField):
    """A CharField compared byte for byte: a binary collation without padding on MySQL/MariaDB.

    Their utf8mb4 collations compare case- and accent-insensitively, so `KEY-X` would equal `Key-x`
    and `é` would equal `e`, and `utf8mb4_bin` still ignores trailing spaces; an identifier a client
    chose (an Idempotency-Key) must be taken as it is. SQLite compares bytes already. The collation
    is the column's, so its unique index compares alike.
    """

    def db_parameters(self, connection):
        parameters = super().db_parameters(connection)
        if connection.vendor == "mysql":
            parameters["collation"] = (
                "utf8mb4_nopad_bin" if connection.mysql_is_mariadb else "utf8mb4_0900_bin"
            )
        return parameters
