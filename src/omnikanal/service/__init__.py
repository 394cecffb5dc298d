"""Service cases across channels: a customer's request, its thread of entries, promises and answers."""
