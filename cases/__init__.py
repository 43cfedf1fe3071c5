"""Gridbot's domain core: rules, routing, tickets, deadlines and storage. Never imports telegram."""
