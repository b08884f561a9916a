from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """100 items a page by default; clients may ask for up to 500 with ?page_size=."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
