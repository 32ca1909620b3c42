"""What every Lambda handler shares: observability and the per-container adapter factory.

Not core: it imports Powertools and boto3. Handlers (``functions/<name>/handler.py``) import it;
the core never does.
"""
