"""Pure packaging logic: where segments are cut, and how samples become segment files."""
