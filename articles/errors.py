from core.errors import Conflict


class ArticleInUse(Conflict):
    code = "article_in_use"
    default_message = (
        "This article has a history (orders or stock movements); deactivate it instead of deleting it."
    )
