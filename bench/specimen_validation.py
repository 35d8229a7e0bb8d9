"""Darwin Core validation throughput: GBIF-style interpretation of generated rows.

Runs `quality_flags.interpret` (the code every deposit path calls) over N generated rows
(default 100,000; ~8 % with coordinate or country defects, ~1 % unlikely dates, misspelt
names), three times, and prints rows/s for each run, the median, the flags raised and the
peak RSS of this process. No services are needed.

    python bench/specimen_validation.py [--rows 100000] [--rounds 3]
"""

import argparse
import collections
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generated_specimens import rows  # noqa: E402

from specimen_rdm_specimens.quality_flags import interpret  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = rows(args.rows)
    interpret(data[0])  # load polygons and name lists once, outside the timing
    rates, flags = [], collections.Counter()
    for round_no in range(1, args.rounds + 1):
        flags.clear()
        start = time.perf_counter()
        for row in data:
            flags.update(interpret(row).flags())
        rate = args.rows / (time.perf_counter() - start)
        rates.append(rate)
        print(f"bench: round {round_no}: {args.rows} rows, {rate:,.0f} rows/s", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"specimen_validation: rows/s median {statistics.median(rates):,.0f} "
        f"(rounds: {', '.join(f'{r:,.0f}' for r in rates)}; {args.rows:,} rows, 1 core)"
    )
    print(f"specimen_validation: flags raised per round: {dict(flags.most_common())}")
    print(f"specimen_validation: peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
