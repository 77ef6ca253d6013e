"""Config validation: every error named by key path and file line; secrets from env or files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from watcher.cli import main
from watcher.config import ConfigError, load_config

UID = "5b1f0c2e000000000100a1b2"
Write = Callable[[str], Path]


def test_misspelt_key_exits_2_naming_key_line_and_hint(
    write_config: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(f"""
        api:
          token: t
          timeout_s: 60
          concurency: 4
        watchlist:
          - user_id: {UID}
        """)
    assert main(["validate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: line 4: api.concurency: unknown key (did you mean 'concurrency'?)" in err


def test_every_error_is_listed_with_its_path(write_config: Write) -> None:
    path = write_config("""
        api:
          token: t
          date_type: DAY_7
        schedule:
          every: 5 minutes
        notify:
          channels:
            - name: x
              type: pager
        watchlist:
          - user_id: NOTHEX
          - name: no id
          - user_id: 5b1f0c2e000000000100a1b2
            detect: {threshold: high, directions: [up]}
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = {(p.key, p.line) for p in info.value.problems}
    assert ("api.date_type", 3) in found
    assert ("schedule.every", 5) in found
    assert ("notify.channels[0].type", 9) in found
    assert ("watchlist[0].user_id", 11) in found
    assert ("watchlist[1].user_id", 12) in found
    assert ("watchlist[2].detect.threshold", 14) in found
    assert ("watchlist[2].detect.directions[0]", 14) in found


def test_valid_config_summary(write_config: Write, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(f"""
        api: {{token: t}}
        schedule: {{every: 6h}}
        watchlist:
          - {{user_id: {UID}, name: A, tags: [beauty], detect: {{threshold: 11.5}}}}
        """)
    assert main(["validate", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 KOL(s)" in out and "console (console)" in out and "every 21600s" in out
    cfg = load_config(path)
    assert cfg.watchlist[0].detect.threshold == 11.5
    assert cfg.detect.threshold != 11.5  # the override is the KOL's alone


def test_env_and_secret_files(write_config: Write, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    path = write_config(f"""
        api:
          token_file: ${{CREDS}}/token
        notify:
          channels:
            - {{name: s, type: slack, webhook_url: "${{HOOK}}"}}
        watchlist: [{{user_id: {UID}}}]
        """)
    hook = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    cfg = load_config(path, env={"CREDS": str(tmp_path), "HOOK": hook})
    assert cfg.api.token == "from-file"  # trailing newline stripped
    # the webhook's path alone is a secret too: libraries log it without the host
    assert cfg.secrets() == ("from-file", hook, "/services/T000/B000/XXXXSECRET")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"CREDS": str(tmp_path)})
    assert "notify.channels[0].webhook_url: environment variable HOOK is not set" in str(
        info.value)


def test_region_picks_the_mainland_server(write_config: Write) -> None:
    path = write_config(f"api: {{token: t, region: cn}}\nwatchlist: [{{user_id: {UID}}}]\n")
    assert load_config(path).api.base_url == "http://47.117.133.51:30015"


def test_yaml_syntax_error_names_the_line(write_config: Write) -> None:
    path = write_config("api:\n  token: [unclosed\nwatchlist: []\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].line is not None


def test_example_config_is_valid() -> None:
    example = Path(__file__).parent.parent / "config.example.yaml"
    cfg = load_config(example, env={"JUSTONEAPI_TOKEN": "t", "SLACK_WEBHOOK_URL":
                                    "https://hooks.slack.com/services/x", "SMTP_PASSWORD": "p"})
    assert len(cfg.watchlist) >= 1 and len(cfg.channels) == 2


def test_risky_choices_are_warned_about_with_their_line(write_config: Write) -> None:
    path = write_config(f"""
        api:
          token: t
          region: cn
          timeout_s: 20
        watchlist: [{{user_id: {UID}}}]
        """)
    warnings = load_config(path).warnings
    assert any("line 3: api.region" in w and "plain HTTP" in w for w in warnings)
    assert any("line 4: api.timeout_s" in w and "billed" in w for w in warnings)
    loopback = write_config(f"api: {{token: t, base_url: 'http://127.0.0.1:8080'}}\n"
                            f"watchlist: [{{user_id: {UID}}}]\n", name="lo.yaml")
    assert load_config(loopback).warnings == ()


def test_example_detect_section_shows_the_real_defaults() -> None:
    # the example must document the tuned defaults, not silently override them
    from watcher.detect import DetectSettings

    example = Path(__file__).parent.parent / "config.example.yaml"
    cfg = load_config(example, env={"JUSTONEAPI_TOKEN": "t", "SLACK_WEBHOOK_URL":
                                    "https://hooks.slack.com/services/x", "SMTP_PASSWORD": "p"})
    assert cfg.detect == DetectSettings()


@pytest.mark.parametrize("cron", ["0 10 * * 7", "0 10 * * 5-7", "0 10 * * 1-5", "*/15 * * * *"])
def test_cron_is_validated_as_the_daemon_reads_it(write_config: Write, cron: str) -> None:
    # crontab(5) takes 7 for Sunday; validation used to reject what the daemon runs
    path = write_config(f'api: {{token: t}}\nschedule: {{cron: "{cron}"}}\n'
                        f"watchlist: [{{user_id: {UID}}}]\n")
    assert load_config(path).schedule.cron == cron


def test_a_bad_cron_names_its_line(write_config: Write) -> None:
    path = write_config(f'api: {{token: t}}\nschedule:\n  cron: "0 10 * *"\n'
                        f"watchlist: [{{user_id: {UID}}}]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [(p.key, p.line) for p in info.value.problems] == [("schedule.cron", 3)]
