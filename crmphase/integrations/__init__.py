"""Integrations (SPEC §7): signed webhooks, chat messages and calendar feeds."""
