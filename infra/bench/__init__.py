"""`make bench`: cold start as Lambda pays it, AWS calls per operation, and the monthly bill.

`python -m infra.bench` prints three tables and writes them to docs/benchmarks.md. Rows show value,
baseline, ratio, target and pass/fail; the command fails only with `--strict`.
"""
