"""Staff users of the console: accounts, passwords, sessions and the login rate limit."""
