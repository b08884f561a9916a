def current_portfolio(request):
    return {}
