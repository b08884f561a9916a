"""Tributary's project package and the portfolio level of the domain."""

from .celery import app as celery_app

__all__ = ("celery_app",)
