"""Thin views: parse, go through access/actions/selectors, render. No model queries here."""
