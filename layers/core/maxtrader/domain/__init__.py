"""The pure core: models, calendar, clock, regimes, strategies and the safety engine.

Nothing under this package may import boto3, alpaca, massive or aws_lambda_powertools
(tests/unit/test_dependency_rule.py enforces it).
"""
