"""The signals function (bars queue, signals-poll): functions.signals.handler.lambda_handler."""
