"""Routing and clarifying: query -> the right pack/sheet with evidence, or what to ask first."""

from skillsrv.routing.models import ClarifyResult, Decision, RouteDecision
from skillsrv.routing.router import QueryError, Router, Thresholds

__all__ = ["ClarifyResult", "Decision", "QueryError", "RouteDecision", "Router", "Thresholds"]
