"""Faults tests and demos ask for, and Outlook's limit of 4 concurrent calls per mailbox.

A ``FaultRule`` (global, or for one mailbox) can add a fixed latency to every
matching call and make a fraction of them fail:

- ``429``: Too Many Requests with ``Retry-After``;
- ``503``: Service Unavailable with ``Retry-After``;
- ``slow``: answer normally after ``slow_seconds``;
- ``drop``: close the connection without answering (nothing happened);
- ``drop_after``: do the work, then close without answering (the answer was lost).
- ``unlicensed`` (Graph only): answer ``404 MailboxNotEnabledForRESTAPI``, as Graph
  does for a mailbox that lost its Exchange Online licence (or lives on premises):
  nothing in the mailbox changes, and it all comes back with the licence.

With a ``seed`` the choice of calls is repeatable; ``remaining`` limits how many
calls a rule may still fail.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from django.db.models import F, QuerySet

from graph_sandbox import store
from graph_sandbox.models import ChanceRule, FaultRule, FaultTarget
from ops.compiled_queries import query_objects, reads

FAULT_KINDS = ("429", "503", "slow", "drop", "drop_after", "unlicensed")
# Kinds that only make sense for Graph calls (the identity platform still signs in).
GRAPH_ONLY_KINDS = frozenset({"unlicensed"})


@dataclass(frozen=True)
class Decision:
    """What to do to one call."""

    latency_seconds: float = 0.0
    kind: str = ""  # "" or one of FAULT_KINDS
    retry_after_seconds: int = 0
    slow_seconds: float = 0.0


_rngs: dict[tuple[str, int], random.Random] = {}
_rng_lock = threading.Lock()


def decide(*, target: str, mailbox_address: str) -> Decision:
    """The latency and fault (if any) for one call to ``target`` ("graph" or "identity")."""
    rules = [
        rule
        for rule in query_objects(_rules_for, fixed=(target,))  # every call: compiled once
        if not rule.mailbox_address or rule.mailbox_address.lower() == mailbox_address.lower()
    ]
    latency = sum(rule.latency_ms for rule in rules) / 1000
    for rule in rules:
        if rule.kinds and fires(rule):
            kind = pick_kind(rule)
            return Decision(latency, kind, rule.retry_after_seconds, rule.slow_seconds)
    return Decision(latency_seconds=latency)


@reads(FaultRule)
def _rules_for(target: str) -> QuerySet[FaultRule]:
    return FaultRule.objects.filter(applies_to__in=(target, FaultTarget.ALL)).order_by("id")


def forget_random_state() -> None:
    """Start every seeded rule's sequence afresh (after the rules were reset)."""
    with _rng_lock:
        _rngs.clear()


def fires(rule: ChanceRule) -> bool:
    """Whether ``rule`` (a ``FaultRule`` or ``DeliveryRule``) strikes now.

    ``rule.fraction`` of the calls are hit (repeatably with ``rule.seed``); a
    rule with ``remaining`` strikes only that many times in all.
    """
    with _rng_lock:
        hit = _rng(rule).random() < rule.fraction
    if not hit:
        return False
    if rule.remaining is None:
        return True
    with store.writing():
        return bool(
            type(rule)
            .objects.filter(pk=rule.pk, remaining__gt=0)
            .update(remaining=F("remaining") - 1)
        )


def pick_kind(rule: ChanceRule) -> str:
    """One of ``rule.kinds``, from the rule's own random sequence."""
    with _rng_lock:
        return _rng(rule).choice(rule.kinds)


def _rng(rule: ChanceRule) -> random.Random:
    key = (rule._meta.label, rule.pk)
    if key not in _rngs:
        _rngs[key] = random.Random(rule.seed)  # noqa: S311 - test faults, not secrets
    return _rngs[key]


class MailboxGate:
    """Counts calls in flight per (app, mailbox) in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[tuple[str, str]] = Counter()

    def enter(self, key: tuple[str, str], limit: int) -> bool:
        """Take a slot; False (and no slot) when ``limit`` calls are already in flight."""
        with self._lock:
            if limit and self._in_flight[key] >= limit:
                return False
            self._in_flight[key] += 1
            return True

    def leave(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]


GATE = MailboxGate()
