"""Notifications: reminders and messages to people, listed in the app and mailed (SPEC §2)."""
