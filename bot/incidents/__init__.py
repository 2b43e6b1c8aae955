"""Incidents: grouping negative mentions, escalating them, and what people do with them."""
