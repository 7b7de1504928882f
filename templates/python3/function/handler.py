def handle(req):
    """Handle a request to the function.

    Args:
        req (str): the request body
    """
    return req
