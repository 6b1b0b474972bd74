from django.db.models.signals import post_delete
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from store_infra.cache import AUTH, invalidate


@receiver(post_delete, sender=Token)
def forget_deleted_token(sender, **kwargs):
    """A revoked token (admin, user deletion) must stop authenticating at once."""
    invalidate(AUTH)
