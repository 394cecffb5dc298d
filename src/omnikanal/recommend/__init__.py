"""Recommendations: what each customer is likely to want, learnt from every channel's interactions."""
