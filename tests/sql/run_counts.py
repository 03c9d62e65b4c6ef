"""Reads a run's stored locations with DuckDB, as Athena reads the run_locations table: every
JSON-lines part under ROOT/locations/ (the report store's layout, year=/month=/day=/run_id=/),
filtered on RUN_ID. Prints one JSON object: the locations by status, how many rows there are and
how many distinct locations, and the date partitions the rows were found under.

    python tests/sql/run_counts.py ROOT RUN_ID
"""

import json
import sys

import duckdb


def main(root, run_id):
    connection = duckdb.connect()
    parts = f"{root}/locations/year=*/month=*/day=*/run_id=*/*.ndjson"
    rows = connection.execute(
        f"""
        SELECT status, count(*) AS locations
        FROM read_json_auto('{parts}', format = 'newline_delimited', filename = true)
        WHERE run_id = ?
        GROUP BY status ORDER BY status
        """,
        [run_id],
    ).fetchall()
    totals = connection.execute(
        f"""
        SELECT count(*), count(DISTINCT (location.account_id, location.region)),
               list(DISTINCT regexp_extract(filename, 'year=([0-9]+)/month=([0-9]+)/day=([0-9]+)', 0))
        FROM read_json_auto('{parts}', format = 'newline_delimited', filename = true)
        WHERE run_id = ?
        """,
        [run_id],
    ).fetchone()
    print(
        json.dumps(
            {
                "counts": {status: count for status, count in rows},
                "rows": totals[0],
                "distinct_locations": totals[1],
                "partitions": sorted(totals[2]),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
