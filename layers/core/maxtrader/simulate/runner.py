"""One simulated trading day through the real handlers, in process, in New York time order.

    result = Simulation(day_input, drills=["broker-5xx"], repo=repo).run()

The runner owns the clock (a ``FixedClock`` swapped into the runtime clock, set to each step's
instant), the local stack (moto, emulators), the timeline, and the queue deliveries. Each step
is one invocation as Lambda would make it; after a step the queues are drained into their
consumers (bars -> signals, signals -> execute) and the new audit records and alerts are
logged. A push answered 5xx is retried at the next step, as the relay retries with backoff.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.config.loader import load_safety, load_stage, load_strategies
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import Clock, FixedClock, trading_date
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import AuditKind, AuditRecord, Bar, Direction
from maxtrader.ingest.messages import decode_bar_message
from maxtrader.parity import DaySources
from maxtrader.runtime.clock import runtime_clock, use_clock
from maxtrader.runtime.schedule_event import schedule_event
from maxtrader.simulate import handlers as fn
from maxtrader.simulate.audit_tail import AuditTail
from maxtrader.simulate.drills import Drill, active_drills, build_drills, missing_functions
from maxtrader.simulate.events import operator_event, push_event, status_of
from maxtrader.simulate.in_process import botocore_hooks, handler_output
from maxtrader.simulate.live_log import LiveLog
from maxtrader.simulate.local_stack import REGION, LocalStack
from maxtrader.simulate.market import ReplayMarket
from maxtrader.simulate.metering import UsageMeter
from maxtrader.simulate.parity import ParityResult, run_parity, stored_parity
from maxtrader.simulate.results import SimulationResult
from maxtrader.simulate.sqs_delivery import QueueDelivery, queue_name
from maxtrader.simulate.summary import OrderRow, Summary, read_summary
from maxtrader.simulate.timeline import Step, StepKind, bars_by_close, build_timeline

FOREIGN_PREFIX = "manual-"  # client_order_id of an order placed outside the system


@dataclass(frozen=True)
class DayInput:
    day: date
    bars: dict[str, list[Bar]]  # history and the day
    vix_daily: dict[date, float]
    vix_minutes: list[Bar]
    source: str  # "synthetic (seed N)" or the data files


@dataclass
class Invocations:
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Simulation:
    def __init__(
        self,
        day: DayInput,
        *,
        repo: Path,
        drills: Sequence[str] = (),
        stage: str = "staging",
        config_dir: Path | None = None,
        log: LiveLog | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.input = day
        self.repo = repo
        self.stage = load_stage(stage, config_dir)
        self.config_dir = config_dir
        self.log = log or LiveLog()
        self.log_path = log_path or repo / ".build" / "simulate" / "handlers.log"
        self.calendar = MarketCalendar.xnys()
        session = self.calendar.session(day.day)
        if session is None:
            raise InvalidInputError(f"{day.day} is not an XNYS trading session")
        self.session: Session = session
        self.drills_asked: list[Drill] = build_drills(drills, session)
        self.drills: list[Drill] = []  # the ones whose functions are deployed (set at run time)
        self.clock = FixedClock(session.open - timedelta(hours=1))
        self.meter = UsageMeter()
        self.botocore_hooks: list[tuple[str, Callable[..., Any]]] = self.meter.hooks()
        self.throttled_calls = 0
        self.invocations: dict[str, Invocations] = {}
        self.skipped: dict[str, int] = {}  # not-deployed function -> invocations it missed
        self._records: list[AuditRecord] = []
        self._retry_pushes: list[tuple[Bar, ...]] = []
        self._enqueued: dict[tuple[str, datetime], datetime] = {}  # (symbol, start) -> close
        self._expired = 0
        self._day = trading_date(session.open)

    # --- the run -------------------------------------------------------------------------------
    def run(self) -> SimulationResult:
        started = time.perf_counter()
        previous: Clock = runtime_clock().delegate
        use_clock(self.clock)
        try:
            with (
                handler_output(self.log_path),
                LocalStack.start(
                    self.stage, self.repo, self.clock, config_dir=self.config_dir
                ) as stack,
            ):
                self.stack = stack
                result = self._replay()
        finally:
            use_clock(previous)
            self.log.close()
        return result.model_copy(update={"elapsed_s": round(time.perf_counter() - started, 2)})

    def _replay(self) -> SimulationResult:
        stack = self.stack
        client = stack.clients["dynamodb"]
        self.store = DynamoDBStateStore(client, stack.env.state_table)
        self.bars_store = DynamoDBSessionStore(client, stack.env.state_table)
        self.tail = AuditTail(client, stack.env.state_table, self._day)
        self.botocore_hooks.append(("before-call.dynamodb", self.tail.hook))
        self.botocore_hooks += [
            (f"after-call.sns.{op}", stack.published) for op in ("Publish", "PublishBatch")
        ]
        self.functions = fn.load_handlers(self.repo, self.stage.name)
        # A drill whose functions are absent injects nothing: it could only disturb the others.
        self.drills = active_drills(self.drills_asked, self.functions)
        names = self.stage.resources
        queues = {"bars": names.bars_queue, "signals": names.signal_queue}
        created, sqs = stack.created, stack.clients["sqs"]
        self.deliveries = {
            source: QueueDelivery(sqs, created.queue_url(q), created.queue_arn(q), REGION)
            for source, q in queues.items()
        }
        self.retention = {source: created.retention_seconds(q) for source, q in queues.items()}
        by_name = {d.name: d for d in self.deliveries.values()}

        def sending(params: dict[str, Any], **_: Any) -> None:
            delivery = by_name.get(queue_name(str(params.get("QueueUrl", ""))))
            if delivery is not None:
                delivery.sent()

        for operation in ("SendMessage", "SendMessageBatch"):
            self.botocore_hooks.append((f"before-parameter-build.sqs.{operation}", sending))
        closed = bars_by_close(self.input.bars, self.session)
        withheld = frozenset().union(*(d.withheld() for d in self.drills))
        twice = frozenset().union(*(d.pushed_twice() for d in self.drills))
        steps = build_timeline(
            self.session, closed, self.stage.schedules, withheld=withheld, pushed_twice=twice
        )
        market = ReplayMarket(
            self.input.day,
            self.input.bars,
            self.input.vix_daily,
            self.input.vix_minutes,
            load_strategies(self.config_dir).options,
            self.calendar,
        )
        self.clock.set(steps[0].at)
        market.prepare(stack.alpaca, stack.massive, steps[0].at)
        self.start_equity = stack.alpaca.book.equity()
        for drill in self.drills:
            drill.arm(self)
        missing = fn.not_deployed(self.functions)
        self.log.note(
            f"simulating {self.input.day} ({self.input.source}); stage {self.stage.name}; "
            f"not deployed: {', '.join(missing) or 'none'}"
        )
        sent: dict[datetime, Sequence[Bar]] = {}
        with botocore_hooks(self.botocore_hooks):
            for n, step in enumerate(steps):
                self.clock.set(step.at)
                for drill in self.drills:
                    drill.before(self, step)
                self._run_step(step, market, sent)
                self._drain()
                if n + 1 == len(steps) or steps[n + 1].at.minute != step.at.minute:
                    self._log_new()  # once a minute: the store and the topic are read back
                self.log.tick(n + 1, len(steps), step.at)
            self.clock.set(self.session.close + timedelta(minutes=1))
            self._drain()
            self._log_new()
        return self._result(steps)

    def _run_step(
        self, step: Step, market: ReplayMarket, sent: dict[datetime, Sequence[Bar]]
    ) -> None:
        market.feed_vix(self.stack.massive, step.at)
        if step.kind is StepKind.MARKET:
            bars: Sequence[Bar] = step.bars
            for drill in self.drills:
                bars = drill.transform(self, bars)
            sent[step.at] = bars  # the push of this minute carries the same (drilled) bars
            market.feed(self.stack.alpaca, self.stack.massive, bars)
        elif step.kind is StepKind.SCHEDULE:
            function = fn.for_schedule(self.functions, step.schedule)
            if function is None:
                self.skipped[step.schedule] = self.skipped.get(step.schedule, 0) + 1
                return
            self._invoke(function, schedule_event(step.schedule, step.at))
        else:
            bars = sent.get(step.bars[0].closed_at, step.bars)
            retries, self._retry_pushes = self._retry_pushes, []
            for group in [*retries, tuple(bars)]:
                self._push(group, step.at)

    def _push(self, bars: tuple[Bar, ...], at: datetime) -> None:
        ingest = self.functions.get("ingest")
        if ingest is None:
            self.skipped["ingest"] = self.skipped.get("ingest", 0) + 1
            return
        answer = self._invoke(ingest, push_event(bars, self.stack.webhook_secret, at))
        if status_of(answer) >= 500:
            self._retry_pushes.append(bars)
        elif status_of(answer) == 200:  # enqueued (a repeat is deduplicated by the queue)
            self._enqueued.update({(b.symbol, b.ts): b.closed_at for b in bars})

    def _invoke(self, function: fn.DeployedFunction, event: dict[str, Any]) -> Any:
        tally = self.invocations.setdefault(function.spec.name, Invocations())
        try:
            answer = self._call(function, event)
        except Exception as exc:
            tally.failed += 1
            tally.errors.append(f"{self.clock.now().isoformat()} {type(exc).__name__}: {exc}"[:300])
            return None
        failed = isinstance(answer, dict) and status_of(answer) >= 500 and "statusCode" in answer
        tally.failed += failed
        tally.ok += not failed
        return answer

    def _call(self, function: fn.DeployedFunction, event: dict[str, Any]) -> Any:
        with self.meter.charging(function.spec.name):
            return function.invoke(event)

    def _drain(self) -> None:
        for source in ("bars", "signals"):
            consumer = fn.for_source(self.functions, source)
            if consumer is None:
                if source == "bars":
                    self._expire_bars()
                continue
            tally = self.invocations.setdefault(consumer.spec.name, Invocations())
            outcome = self.deliveries[source].drain(functools.partial(self._call, consumer))
            tally.ok += outcome.succeeded
            tally.failed += outcome.failed
            tally.errors.extend(e[:300] for e in outcome.errors)

    def _expire_bars(self) -> None:
        """With no signals function the bars queue is never read: SQS drops each message after
        the queue's retention period (simulated time here)."""
        retention = timedelta(seconds=self.retention["bars"])
        cutoff = self.clock.now() - retention
        sent = sum(1 for at in self._enqueued.values() if at < cutoff)
        due = sent - self._expired
        if due >= 10 or (due and self.clock.now() >= self.session.close):
            self._expired += self.deliveries["bars"].expire(
                self.clock.now(), retention, _bar_closed_at, due
            )

    # --- what drills use -----------------------------------------------------------------------
    def operator(self, method: str, path: str, body: Any) -> Any:
        """An operator's IAM-signed request to the kill-switch URL, now."""
        killswitch = self.functions.get("killswitch")
        if killswitch is None:
            return None
        return self._invoke(killswitch, operator_event(method, path, body, self.clock.now()))

    def foreign_order(self, symbol: str, qty: int) -> None:
        """An order placed at the broker by hand, outside the system (filled by the next bar)."""
        alpaca = self.stack.alpaca
        payload = (
            f'{{"symbol": "{symbol}", "qty": "{qty}", "side": "buy", "type": "market", '
            f'"time_in_force": "day", "client_order_id": "{FOREIGN_PREFIX}{qty}-{symbol}"}}'
        )
        headers = {"APCA-API-KEY-ID": alpaca.api_key, "APCA-API-SECRET-KEY": alpaca.secret_key}
        alpaca.handle("POST", "/v2/orders", headers, payload.encode())

    def is_foreign(self, order: OrderRow) -> bool:
        return order.client_order_id.startswith(FOREIGN_PREFIX)

    def audit(self, kind: AuditKind) -> list[AuditRecord]:
        return [r for r in self._records if r.kind is kind]

    def missing_bars(self, only: frozenset[datetime] | None = None) -> list[str]:
        """The day's bars (closing at ``only``, or all) the store does not hold."""
        missing = []
        for symbol, bars in self.input.bars.items():
            day = [b for b in bars if self.session.contains(b.ts)]
            if not day:
                continue
            stored = {
                b.ts for b in self.bars_store.bars(symbol, self.session.open, self.session.close)
            }
            missing += [
                f"{symbol} {b.ts:%H:%M}Z"
                for b in day
                if b.ts not in stored and (only is None or b.closed_at in only)
            ]
        return missing[:10]

    # --- reading back --------------------------------------------------------------------------
    def _log_new(self) -> None:
        self.log.records(self.tail.new(self.clock.now()))
        self.log.alerts(self.clock.now(), self.stack.read_alerts())

    def _summary(self) -> Summary:
        self._records = self.store.audit_log(self._day)  # all of them, through the StateStore
        alpaca = self.stack.alpaca
        tickets: dict[str, float] = {}
        for t in self.store.open_tickets():
            if t.qty:
                sign = 1 if t.direction is Direction.LONG else -1
                tickets[t.symbol] = tickets.get(t.symbol, 0.0) + sign * t.qty
        positions = {s: float(q) for s, q in alpaca.positions().items()}
        return read_summary(
            self._records,
            alpaca.orders(),
            positions,
            tickets,
            self.stack.alerts_seen,
            alpaca.book.equity() - self.start_equity,
        )

    def _parity(self) -> ParityResult:
        if "signals" not in self.functions or "execute" not in self.functions:
            return ParityResult(status="not run: signals and execute are not both deployed")
        day = self.session.day.isoformat()
        stored = [r for r in self._records if r.kind is AuditKind.PARITY and r.subject == day]
        if stored:  # the parity function ran on this day: its answer, not a second replay
            return stored_parity(stored[-1])
        sources = DaySources(
            state_store=self.store,
            session_store=self.bars_store,
            calendar=self.calendar,
            strategies=load_strategies(self.config_dir),
            symbols=tuple(self.stage.symbols),
        )
        return run_parity(self.session.day, sources, load_safety(self.config_dir))

    def _result(self, steps: Sequence[Step]) -> SimulationResult:
        summary = self._summary()
        faults = {}
        for drill in self.drills_asked:
            missing = missing_functions(drill, self.functions)
            faults[drill.name] = (
                f"not deployed: {', '.join(missing)}" if missing else drill.check(self, summary)
            )
        return SimulationResult(
            day=self.input.day,
            source=self.input.source,
            stage=self.stage.name,
            steps=len(steps),
            deployed=sorted(self.functions),
            not_deployed=fn.not_deployed(self.functions),
            skipped_invocations=dict(sorted(self.skipped.items())),
            invocations={k: v.__dict__ for k, v in sorted(self.invocations.items())},
            queue_depth={s: d.depth() for s, d in self.deliveries.items()},
            summary=summary,
            faults=faults,
            parity=self._parity(),
            usage=self.meter.usage(),
        )


def _bar_closed_at(body: str) -> datetime:
    return decode_bar_message(body).closed_at
