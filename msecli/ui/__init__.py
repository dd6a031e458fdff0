"""Rendering with Rich: the only package besides cli that imports it."""
