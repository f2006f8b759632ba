"""HTML-to-text helpers used by the extraction operator: engines, math, markdown cleanup, bounds."""
