def handle(event, context):
    """Echo the request back as JSON: body, method, path, query and content type."""
    return {
        "statusCode": 200,
        "body": {
            "body": event.body.decode("utf-8", errors="replace"),
            "method": event.method,
            "path": event.path,
            "query": dict(event.query),
            "contentType": event.headers.get("Content-Type", ""),
            "hostname": context.hostname,
        },
        "headers": {"X-Echo": "echo-python"},
    }
