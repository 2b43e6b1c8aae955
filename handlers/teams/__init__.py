"""Microsoft Teams: Adaptive Card rendering (pure), card-action parsing (pure), and transport."""
