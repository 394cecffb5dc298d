"""Analytics: touchpoints, paths to conversion, attribution models, media costs and returns."""
