"""What every HTTP API shares: the functions' router (router), one error mapping (errors) and safe
redirects (redirects)."""
