"""Slack: Block Kit rendering (pure), action and command parsing (pure), and transport (SDK)."""
