"""Example strategies shipped with avin."""
