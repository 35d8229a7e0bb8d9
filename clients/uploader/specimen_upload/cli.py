"""`specimen-upload --url URL --token TOKEN PATH`: the command line."""

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .api import ApiError, BulkApi
from .journal import Journal
from .sources import SourceError, read_source
from .uploader import Settings, Uploader, file_digest, submitted_line

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 2, 1


def parser() -> argparse.ArgumentParser:
    """The options."""
    p = argparse.ArgumentParser(
        prog="specimen-upload",
        description="Upload a Darwin Core Archive, or a folder of images with a CSV, to a "
        "Specimen RDM instance through its bulk API. Run it again after an interruption: it "
        "resumes from its journal and never creates a record twice.",
    )
    p.add_argument("path", type=Path, help="Darwin Core Archive (.zip or folder) or folder + CSV")
    p.add_argument("--url", required=True, help="the instance, e.g. https://specimens.example.org")
    p.add_argument(
        "--token",
        default=os.environ.get("SPECIMEN_TOKEN"),
        help="personal access token (or the SPECIMEN_TOKEN environment variable)",
    )
    p.add_argument("--csv", type=Path, help="the CSV of a folder holding several")
    p.add_argument("--community", help="community (id or slug) to add every record to")
    p.add_argument("--batch-size", type=int, default=10_000, help="records per job (≤ 10,000)")
    p.add_argument("--concurrency", type=int, default=4, help="files uploaded in parallel")
    p.add_argument("--part-size", type=int, default=8, help="upload part size in MiB")
    p.add_argument(
        "--files-per-request",
        type=int,
        default=8,
        help="small files sent together in one request (1: one file per request)",
    )
    p.add_argument("--max-retries", type=int, default=12, help="retries of one request")
    p.add_argument("--journal", type=Path, help="journal file (default: beside PATH)")
    p.add_argument("--report", type=Path, help="CSV report (default: beside the journal)")
    p.add_argument("--dry-run", action="store_true", help="validate only; create nothing")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--version", action="version", version=f"specimen-upload {__version__}")
    return p


def _default_journal(path: Path) -> Path:
    return path.parent / f"{path.name}.specimen-upload.sqlite"


def dry_run(api: BulkApi, records, settings: Settings) -> int:
    """Local checks, then the server's validation of each batch; nothing is created."""
    from .journal import Journal as _Journal

    journal = _Journal(":memory:")
    lines = []
    for record in records:
        lines.append(submitted_line(record, [file_digest(journal, f) for f in record.files]))
    counts: dict[str, int] = {}
    problems = []
    for start in range(0, len(lines), settings.batch_size):
        verdict = api.dry_run(lines[start : start + settings.batch_size], settings.community)
        for result in verdict["records"]:
            counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
            if result["outcome"] in ("rejected", "duplicate"):
                problems.append(result)
    print(f"dry run: {len(lines)} records, {sum(len(r.files) for r in records)} files")
    for outcome, count in sorted(counts.items()):
        print(f"  {outcome}: {count}")
    for result in problems[:50]:
        print(f"  {result['outcome']} {result['key']}: {'; '.join(result['reasons'])}")
    return EXIT_REJECTED if problems else EXIT_OK


def main(argv=None) -> int:
    """Run the command; its exit status (0 all published, 2 some rejected, 1 error)."""
    args = parser().parse_args(argv)
    if not args.token:
        print("specimen-upload: --token (or SPECIMEN_TOKEN) is required", file=sys.stderr)
        return EXIT_ERROR
    if not 1 <= args.batch_size <= 10_000:
        print("specimen-upload: --batch-size must be between 1 and 10000", file=sys.stderr)
        return EXIT_ERROR
    settings = Settings(
        batch_size=args.batch_size,
        concurrency=max(1, args.concurrency),
        part_size=args.part_size * 1024 * 1024,
        files_per_request=max(1, args.files_per_request),
        community=args.community,
    )
    try:
        records = read_source(args.path, args.csv)
    except (SourceError, OSError) as error:
        print(f"specimen-upload: {error}", file=sys.stderr)
        return EXIT_ERROR
    journal_path = args.journal or _default_journal(args.path)
    journal = Journal(journal_path) if not args.dry_run else None
    api = BulkApi(
        args.url,
        args.token,
        max_retries=args.max_retries,
        on_retry=(lambda cause: journal.count(f"retry:{cause}")) if journal else None,
        verify=not args.insecure,
    )
    try:
        if args.dry_run:
            return dry_run(api, records, settings)
        uploader = Uploader(api, journal, settings)
        uploader.prepare(records)
        report = uploader.run()
    except ApiError as error:
        print(f"specimen-upload: {error}", file=sys.stderr)
        print(f"specimen-upload: run the same command again to resume ({journal_path})")
        return EXIT_ERROR
    finally:
        if journal:
            journal.close()
    report_path = args.report or journal_path.with_suffix(".report.csv")
    report.write_csv(report_path)
    print(report.text())
    print(f"report: {report_path}")
    states = report.by_state()
    return EXIT_REJECTED if states.get("rejected") or states.get("pending") else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
