from rest_framework import viewsets

from store_infra.http import cached_answer
from users.permissions import ActionPermissions

from .. import selectors, services
from ..errors import ArticleInUse
from ..filters import ArticleFilter
from .serializers import ArticleSerializer


class ArticleViewSet(viewsets.ModelViewSet):
    """What the store sells. An article with history cannot be deleted: deactivate it."""

    serializer_class = ArticleSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "articles.view_article",
        "retrieve": "articles.view_article",
        "create": "articles.add_article",
        "update": "articles.change_article",
        "partial_update": "articles.change_article",
        "destroy": "articles.delete_article",
    }
    domain_errors = {"destroy": [ArticleInUse]}
    lookup_value_regex = r"\d{1,18}"
    filterset_class = ArticleFilter
    ordering_fields = ["id", "sku", "name", "price", "created_at"]

    def get_queryset(self):
        return selectors.article_list()

    # From the read cache until an article or a stock level changes (an article shows its quantity):
    # the catalogue is read far more often than it changes.
    def list(self, request, *args, **kwargs):
        read = super().list
        return cached_answer(request, selectors.ARTICLE_PAGES, lambda: read(request))

    def retrieve(self, request, *args, **kwargs):
        read = super().retrieve
        return cached_answer(request, selectors.ARTICLE_PAGES, lambda: read(request, *args, **kwargs))

    def perform_create(self, serializer):
        serializer.instance = services.article_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.article_update(
            article=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.article_delete(article=instance)
