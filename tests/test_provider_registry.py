"""The one registry of providers: names, --provider's choices and help, building one from settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentctl.cli.common import PROVIDERS_HELP, ProviderName
from agentctl.config import load_settings
from agentctl.dispatch import DispatchOptions, run_dispatch
from agentctl.errors import UsageError
from agentctl.providers import PROVIDERS, ProviderOptions, build_provider, provider_names
from agentctl.providers.base import ProviderError
from agentctl.providers.scripted import ScriptedProvider
from tests.conftest import REPO, RunCli
from tests.test_dispatch import team, write_script

__all__ = ["team"]


def test_the_registry_names_every_provider_and_the_cli_offers_them() -> None:
    assert provider_names() == ("anthropic", "scripted", "claude-code") == tuple(PROVIDERS)
    assert [choice.value for choice in ProviderName] == list(provider_names())
    assert all(f"{name}: {spec.description}" in PROVIDERS_HELP for name, spec in PROVIDERS.items())


def test_an_unknown_provider_is_a_usage_error_naming_the_providers() -> None:
    with pytest.raises(UsageError) as unknown:
        build_provider("nope", None, {})
    assert unknown.value.message == "unknown provider 'nope'"
    assert unknown.value.hint == "providers: anthropic, scripted, claude-code (or --dry-run)"


def test_each_provider_is_built_from_its_own_inputs(team: Path) -> None:
    with pytest.raises(UsageError) as no_script:
        build_provider("scripted", None, {})
    assert no_script.value.message == "the scripted provider needs --script FILE"
    assert no_script.value.hint == "a YAML or JSON file of replies per agent"
    script = Path(write_script(team, {"lead": ["Hi."]}))
    assert isinstance(build_provider("scripted", None, {}, ProviderOptions(script=script)), ScriptedProvider)
    with pytest.raises(ProviderError) as no_key:
        build_provider("anthropic", None, {})
    assert no_key.value.kind == "auth" and no_key.value.message == "no Anthropic API key"


def test_an_unknown_provider_stops_a_dispatch_before_anything_is_recorded(cli: RunCli, team: Path) -> None:
    settings = load_settings(cwd=team, environ={})
    with pytest.raises(UsageError, match=r"^unknown provider 'nope'$"):
        run_dispatch(settings, DispatchOptions("lead", "Plan it", provider="nope"), {})
    assert not (team / ".agentctl" / "runs").exists()
    (team / "agentctl.toml").write_text('[dispatch]\nprovider = "nope"\n')  # the file's schema names them too
    result = cli("dispatch", "lead", "Plan it", cwd=team)
    assert (
        result.exit_code == 2
        and "dispatch.provider: Input should be 'anthropic', 'scripted' or 'claude-code'" in result.stderr
    )


def test_the_registry_imports_no_provider_until_one_is_built() -> None:
    probe = (
        "import sys, agentctl.providers\nprint(sorted(m for m in sys.modules if 'anthropic' in m or 'scripted' in m))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"
