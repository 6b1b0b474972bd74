from core.errors import Conflict, NotFound


class ArticleInUse(Conflict):
    code = "article_in_use"
    default_message = (
        "This article has a history (orders or stock movements); deactivate it instead of deleting it."
    )


class UnknownSku(NotFound):
    code = "unknown_sku"
    default_message = "No article has this SKU."
