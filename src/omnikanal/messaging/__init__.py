"""Messaging: templates, the policy gate, the outbox and its dispatcher, and the channel adapters."""
