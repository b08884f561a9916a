from .selectors import current_portfolio_for


def current_portfolio(request):
    """The portfolio being worked in, the others the user may switch to, and its words."""
    if not hasattr(request, "user"):
        return {}
    portfolio = current_portfolio_for(request)
    return {
        "current_portfolio": portfolio,
        "user_portfolios": getattr(request, "portfolios", []),
        "words": portfolio.words
        if portfolio
        else {"pi": "PI", "pi_long": "Program Increment", "board": "program board"},
    }
