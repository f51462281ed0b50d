"""The models the benchmarks measure: one per variant, all with the same fields."""
