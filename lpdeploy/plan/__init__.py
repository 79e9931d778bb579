"""Deployment plans: which bundles go to which centre, in which wave."""

from lpdeploy.plan.build import build_plan
from lpdeploy.plan.model import Plan

__all__ = ["Plan", "build_plan"]
