"""Spread scoring: predicted final reach of a post from its early reshares."""
