from core.errors import Conflict


class ArticleInUse(Conflict):
    code = "article_in_use"
    default_message = "This article appears in orders; deactivate it instead of deleting it."
