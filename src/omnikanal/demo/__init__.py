"""``omnikanal demo``: a realistic German DIY retailer built through the public APIs, then served."""
