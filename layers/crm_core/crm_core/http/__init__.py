"""What every HTTP API shares: one error mapping (errors) and safe redirects (redirects)."""
