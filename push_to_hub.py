"""Publish social-rm on the Hugging Face Hub: the dataset `ORG/social-pairs` (a built folder), the metric Space
`ORG/social_rm` (metric/social_rm) and the leaderboard Space `ORG/social-rm-leaderboard` (leaderboard/), each
as one commit. `--dry-run DIR` writes exactly what would be uploaded into DIR instead.

The leaderboard Space runs on social-rm itself: a wheel built from this checkout is uploaded with it and its
requirements.txt installs that file, so the Space runs the revision published with it, never an unpublished
package name. The metric Space is self-contained (its script needs only evaluate, datasets, numpy, pyarrow).

    python push_to_hub.py --org my-org --dataset-dir out/social-pairs [--create-pr | --revision BRANCH] [--dry-run OUT]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from social_rm.dataset_builders.output import MARKER
from social_rm.publish.hub import HubError, upload

REPO = Path(__file__).resolve().parent


def stage(org: str, dataset_dir: Path, out: Path) -> dict[str, tuple[Path, str, str | None]]:
    """Lay out the three repos under `out`: {repo_id: (folder, repo_type, space_sdk)}."""
    if not (dataset_dir / "README.md").is_file():
        raise HubError(
            f"{dataset_dir} is not a built social-pairs folder (no README.md); run `social-rm build` first"
        )
    repos = {
        f"{org}/social-pairs": (out / "social-pairs", "dataset", None),
        f"{org}/social_rm": (out / "social_rm", "space", "gradio"),
        f"{org}/social-rm-leaderboard": (out / "social-rm-leaderboard", "space", "gradio"),
    }
    shutil.copytree(
        dataset_dir,
        repos[f"{org}/social-pairs"][0],
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(MARKER),
    )
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    # __init__.py makes the folder a subpackage of the wheel; the Space loads social_rm.py on its own
    shutil.copytree(
        REPO / "metric" / "social_rm",
        repos[f"{org}/social_rm"][0],
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"),
    )
    leaderboard = repos[f"{org}/social-rm-leaderboard"][0]
    shutil.copytree(REPO / "leaderboard", leaderboard, dirs_exist_ok=True, ignore=ignore)
    wheel = build_wheel(leaderboard)
    requirements = (
        (leaderboard / "requirements.txt").read_text().replace("social-rm-wheel", f"./{wheel.name}")
    )
    (leaderboard / "requirements.txt").write_text(requirements)
    app = (
        (leaderboard / "app.py")
        .read_text()
        .replace('"social-rm/social-rm-results"', f'"{org}/social-rm-results"')
    )
    (leaderboard / "app.py").write_text(app)
    return repos


def build_wheel(out: Path) -> Path:
    """A wheel of this checkout (no dependencies bundled) written into `out`."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
    )
    wheels = sorted(out.glob("social_rm-*.whl"))
    if done.returncode or not wheels:
        raise HubError(
            f"could not build the social-rm wheel for the leaderboard Space: {done.stderr.strip()[-500:]}"
        )
    return wheels[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", required=True, help="Hub organisation (or user) to publish under")
    parser.add_argument(
        "--dataset-dir", type=Path, default=Path("out/social-pairs"), help="built social-pairs folder"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--revision", help="push to this branch instead of main")
    target.add_argument("--create-pr", action="store_true", help="open pull requests instead of committing")
    parser.add_argument(
        "--dry-run", type=Path, help="write what would be uploaded into this folder, upload nothing"
    )
    args = parser.parse_args(argv)
    try:
        if args.dry_run:
            repos = stage(args.org, args.dataset_dir, args.dry_run)
            for repo_id, (folder, repo_type, _) in repos.items():
                print(f"dry run: {repo_type} {repo_id} -> {folder}")
            return 0
        with tempfile.TemporaryDirectory() as tmp:
            for repo_id, (folder, repo_type, sdk) in stage(args.org, args.dataset_dir, Path(tmp)).items():
                url = upload(
                    repo_id, folder, repo_type, "Publish social-rm", args.revision, args.create_pr, sdk
                )
                print(f"published {repo_type} {repo_id}: {url}")
    except HubError as error:
        print(f"push_to_hub: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
