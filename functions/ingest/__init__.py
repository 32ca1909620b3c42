"""The signed bar ingest (Function URL): functions.ingest.handler.lambda_handler."""
