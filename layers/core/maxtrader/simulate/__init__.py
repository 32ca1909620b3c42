"""``maxtrader simulate``: one trading day through the real handlers on local stand-ins.

runner.Simulation       the day: clock, local stack, timeline, queue deliveries, summary
handlers.FUNCTIONS      THE table of functions it drives (a missing module: not deployed)
timeline                what runs when (New York time, the stage's cadences, early closes)
local_stack / moto_server / stack_template / resources   moto with the stack's resources
market                  what the Alpaca and Massive emulators serve, minute by minute
events / sqs_delivery   real-shaped Function URL, Scheduler and SQS events
drills                  the fault drills and their checks
summary / audit_tail / live_log / report / results / parity   reading the day back
synthetic               the deterministic synthetic session (documented as synthetic)
"""
