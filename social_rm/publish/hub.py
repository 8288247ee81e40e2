"""Publishing to the Hugging Face Hub: one commit per repo, one clear message on failure, never the token.

The token comes from the environment (HF_TOKEN) or `hf auth login`, through huggingface_hub."""

from __future__ import annotations

from pathlib import Path

from social_rm.errors import SocialRMError


class HubError(SocialRMError, RuntimeError):
    """A push that did not happen: no token, no connection, or the Hub refused it."""


CLIENT_MODULES = ("huggingface_hub", "httpx", "httpx2", "httpcore", "requests", "urllib3")


def _is_client_error(error: BaseException) -> bool:
    """Whether the hub client raised it for a failed request (a connection error from it is not an OSError)."""
    if isinstance(error, (ConnectionError, TimeoutError, OSError)):
        return True
    return any(base.__module__.split(".")[0] in CLIENT_MODULES for base in type(error).__mro__)


def client():
    from huggingface_hub import HfApi, get_token

    token = get_token()
    if not token:
        raise HubError(
            "no Hugging Face token: set HF_TOKEN or run `hf auth login` (a write token for the organisation)"
        )
    return HfApi(token=token), token


def upload(
    repo_id: str,
    folder: Path,
    repo_type: str,
    message: str,
    revision: str | None = None,
    create_pr: bool = False,
    space_sdk: str | None = None,
) -> str:
    """Upload `folder` as one commit (or one pull request) to `repo_id`; returns the commit or PR URL."""
    api, token = client()
    try:
        api.create_repo(repo_id, repo_type=repo_type, exist_ok=True, space_sdk=space_sdk)
        if revision:
            api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type=repo_type,
            commit_message=message,
            revision=revision,
            create_pr=create_pr,
        )
    except Exception as error:
        if not _is_client_error(error):
            raise
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise HubError(f"could not publish {repo_type} {repo_id}: {text.replace(token, '***')}") from None
    return str(getattr(info, "pr_url", None) or getattr(info, "commit_url", info))


def open_pull_request(repo_id: str, folder: Path, message: str) -> str:
    return upload(repo_id, folder, "dataset", message, create_pr=True)
