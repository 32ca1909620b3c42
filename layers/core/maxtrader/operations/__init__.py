"""Operator operations: the logic behind the operator-facing functions (ports only, no boto3)."""
