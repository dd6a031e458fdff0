"""DETERMINISTIC, IMPURE BY DESIGN: the world around the spec core (loop, element, scenario scripts)."""
