"""CDK constructs and stacks of MaxTrader: one construct per concern, one stack per stage."""
