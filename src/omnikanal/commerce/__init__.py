"""Commerce across channels: catalogue, locations, stock, reservations, orders, returns, carts, scan."""
