"""The customs message layer, pure: typed inputs, lxml builders, XSDs, receipt parsers, rules."""
