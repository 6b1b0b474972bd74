from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    CLERK = "clerk", "Clerk"
    SUPPLIER = "supplier", "Supplier"
    CUSTOMER = "customer", "Customer"


STAFF_ROLES = frozenset({Role.MANAGER, Role.CLERK})


class UserManager(DjangoUserManager):
    @classmethod
    def normalize_email(cls, email):
        # Emails are unique whatever their case, so they are stored lower-cased.
        return (email or "").strip().lower()

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.MANAGER)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person the store knows: staff (manager, clerk), a supplier, or a customer.

    Customers may have no usable password: orders are placed for them by staff.
    """

    email = models.EmailField("email address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER, db_index=True)

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
        ]

    def __str__(self) -> str:
        full_name = self.get_full_name()
        return f"{full_name} ({self.username})" if full_name else self.username

    def save(self, *args, **kwargs):
        # Admin access follows the role; nobody is a superuser by flag, managers get every
        # permission from users.backends.RoleBackend instead.
        self.is_staff = self.role in STAFF_ROLES
        self.is_superuser = False
        super().save(*args, **kwargs)
