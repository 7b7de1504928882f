def handle(event, context):
    """event: .body (bytes), .headers, .method, .query, .path; context: .hostname.

    Return a dict with "statusCode" (default 200), "body" (str, bytes or dict;
    a dict is sent as JSON) and "headers", or None for an empty 200.
    """
    return {
        "statusCode": 200,
        "body": "Hello from OpenFaaS!",
    }
