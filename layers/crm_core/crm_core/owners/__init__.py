"""Account owners: who owns a customer, personal tasks, notes, and the owners' morning digest."""
