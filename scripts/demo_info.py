#!/usr/bin/env python3
"""The demo's URLs and admin credentials, as `make demo` prints them.

    python scripts/demo_info.py [--json]        URLs reachable from this host, and the generated credentials
    python scripts/demo_info.py --recap LOG     the changed count of a converge log: "no changes" or per host

The demo is the Molecule scenario `full` kept up. URLs: the host ports the Galaxy container publishes
(`published_ports` in molecule/full/molecule.yml) and TIaaS's paths from the app's own URL configuration (Django's
`reverse`, with the `url_prefix`/`join_prefix` the scenario sets, else the app's defaults). Credentials: the secrets
the scenario's prepare generated into .cache/full/secrets.yml (GALAXYOPS_CACHE_DIR moves .cache). `--json` prints
the same as one JSON object (the demo's tests read it). Exits 1 with one `error:` line when a file is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SCENARIO = "full"
GALAXY_PLATFORM = f"gxops-{SCENARIO}-galaxy"
# The TIaaS pages the demo shows: URL name in the app's URL conf -> label.
TIAAS_PAGES = {
    "new": "TIaaS: request a training",
    "admin:training_training_changelist": "TIaaS: admin",
    "stats": "TIaaS: stats",
    "calendar": "TIaaS: calendar",
}


def _sibling(name: str):
    """A module of scripts/ (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ${VAR} and ${VAR:-default} interpolated as Molecule does: one home, the apt archives' reader.
interpolate = _sibling("molecule_apt_archives").interpolate
# host -> (changed, failed) of the last PLAY RECAP: one home, the check-mode judge.
recap = _sibling("molecule_check_recap").last_recap


class DemoError(Exception):
    """Something the demo needs is missing: the message says what and what to do."""


def load_scenario(path: Path, environ: dict[str, str] | None = None) -> dict:
    if not path.is_file():
        raise DemoError(f"{path} is missing: the demo is the Molecule scenario {SCENARIO}")
    return yaml.safe_load(interpolate(path.read_text(), dict(os.environ if environ is None else environ))) or {}


def host_port(spec: str | int, container_port: int) -> tuple[str, int] | None:
    """(host address, host port) of one Docker `published_ports` entry when it publishes container_port (TCP)."""
    text = str(spec)
    text, _, proto = text.partition("/")
    if proto and proto != "tcp":
        return None
    # [address:]host_port:container_port, or container_port alone (a random host port: not usable here).
    parts = text.rsplit(":", 2)
    if len(parts) < 2 or not parts[-1].isdigit() or int(parts[-1]) != container_port or not parts[-2].isdigit():
        return None
    address = parts[0].strip("[]") if len(parts) == 3 else ""
    # Every address or loopback: the name `localhost` (the demo's server name; TIaaS answers only for its names).
    if address in ("", "0.0.0.0", "::", "127.0.0.1", "::1"):  # noqa: S104
        address = "localhost"
    elif ":" in address:
        address = f"[{address}]"
    return address, int(parts[-2])


def galaxy_base_url(scenario: dict, platform: str = GALAXY_PLATFORM) -> str:
    """https://<address>:<port> of nginx's 443 as published to the host (else http:// of its 80)."""
    platforms = {p.get("name"): p for p in scenario.get("platforms") or []}
    if platform not in platforms:
        raise DemoError(f"molecule/{SCENARIO}/molecule.yml has no platform {platform}")
    ports = platforms[platform].get("published_ports") or []
    for scheme, container_port in (("https", 443), ("http", 80)):
        for spec in ports:
            found = host_port(spec, container_port)
            if found:
                address, port = found
                default = 443 if scheme == "https" else 80
                return f"{scheme}://{address}" + ("" if port == default else f":{port}")
    raise DemoError(
        f"{platform} in molecule/{SCENARIO}/molecule.yml publishes neither port 443 nor 80 (published_ports): "
        "the demo's URLs cannot be reached from this host"
    )


def tiaas_paths(url_prefix: str | None = None, join_prefix: str | None = None) -> dict[str, str]:
    """URL name -> path, reversed by Django from the app's URL conf with these prefixes (None: the app's default)."""
    environ = {"DJANGO_SETTINGS_MODULE": "tiaas.settings.test"}
    if url_prefix is not None:
        environ["TIAAS_URL_PREFIX"] = url_prefix
    if join_prefix is not None:
        environ["TIAAS_JOIN_PREFIX"] = join_prefix
    os.environ.update(environ)
    try:
        import django
        from django.urls import reverse
    except ImportError as exc:
        raise DemoError(f"Django is not importable ({exc}): run this with the harness's .venv/bin/python") from exc
    django.setup(set_prefix=False)
    paths = {name: reverse(name) for name in TIAAS_PAGES}
    paths["join"] = reverse("join", args=["IDENTIFIER"])
    return paths


def _yaml_files(top: Path, group: str) -> list[Path]:
    """An inventory's group_vars files for a group, in Ansible's order: <group>.yml, then <group>/* by name."""
    found = [top / f"{group}{ext}" for ext in (".yml", ".yaml") if (top / f"{group}{ext}").is_file()]
    if (top / group).is_dir():
        found += sorted(p for p in (top / group).iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
    return found


def inventory_vars(scenario_file: Path, scenario: dict, group: str) -> dict:
    """The variables of `group` as the scenario's inventory sets them (top-level keys; `all` first, then the group):
    its linked group_vars directory (else the repository's group_vars/), then molecule.yml's own group_vars."""
    inventory = (scenario.get("provisioner") or {}).get("inventory") or {}
    linked = (inventory.get("links") or {}).get("group_vars")
    top = (scenario_file.parent / linked) if linked else REPO / "group_vars"
    found: dict = {}
    for g in ("all", group):
        for path in _yaml_files(top, g):
            found.update(yaml.safe_load(path.read_text()) or {})
    for g in ("all", group):
        found.update((inventory.get("group_vars") or {}).get(g) or {})
    return found


def load_secrets(path: Path) -> dict:
    if not path.is_file():
        raise DemoError(f"{path} is missing: the demo's prepare generates it; run 'make demo'")
    return yaml.safe_load(path.read_text()) or {}


def demo_info(scenario_file: Path, secrets_file: Path) -> dict:
    scenario = load_scenario(scenario_file)
    base = galaxy_base_url(scenario)
    galaxy_vars = inventory_vars(scenario_file, scenario, "galaxyservers")
    tiaas_config = galaxy_vars.get("tiaas_config")
    tiaas_config = tiaas_config if isinstance(tiaas_config, dict) else {}
    paths = tiaas_paths(tiaas_config.get("url_prefix"), tiaas_config.get("join_prefix"))
    urls = {"Galaxy": base + "/"}
    urls.update({label: base + paths[name] for name, label in TIAAS_PAGES.items()})
    secrets = load_secrets(secrets_file)
    tiaas_user = galaxy_vars.get("tiaas_admin_user")
    if not isinstance(tiaas_user, str) or "{{" in tiaas_user:
        tiaas_user = "admin"
    credentials = {
        "Galaxy admin": {"user": secrets.get("galaxy_admin_email"), "password": secrets.get("galaxy_admin_password")},
        "TIaaS admin": {"user": tiaas_user, "password": secrets.get("vault_tiaas_admin_pass")},
    }
    return {
        "base_url": base,
        "urls": urls,
        "join_url": base + paths["join"],
        "credentials": credentials,
        "secrets_file": str(secrets_file),
    }


def recap_verdict(hosts: dict[str, tuple[int, int]]) -> str:
    changed = {h: c for h, (c, _) in hosts.items() if c}
    if not changed:
        return f"no changes ({len(hosts)} hosts, changed=0)"
    return "changed: " + ", ".join(f"{h} changed={c}" for h, c in sorted(changed.items()))


def render(info: dict) -> str:
    width = max(len(k) for k in info["urls"]) + 2
    out = ["The demo is up. From this host (a self-signed certificate: accept it in the browser):", ""]
    out += [f"  {label + ':':{width}} {url}" for label, url in info["urls"].items()]
    out += ["", "Admin accounts (generated; stored in " + info["secrets_file"] + "):", ""]
    for label, cred in info["credentials"].items():
        out.append(
            f"  {label + ':':{width}} {cred['user'] or '(not generated)'} / {cred['password'] or '(not generated)'}"
        )
    out += ["", "Remove it with 'make demo-down'."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--recap", metavar="LOG", help="print the changed count of a converge log")
    parser.add_argument("--scenario", type=Path, default=REPO / "molecule" / SCENARIO / "molecule.yml")
    cache = Path(os.environ.get("GALAXYOPS_CACHE_DIR") or REPO / ".cache")
    parser.add_argument("--secrets", type=Path, default=cache / SCENARIO / "secrets.yml")
    args = parser.parse_args(argv)
    try:
        if args.recap:
            try:
                lines = Path(args.recap).read_text(errors="replace").splitlines()
            except OSError as exc:
                raise DemoError(f"cannot read {args.recap}: {exc.strerror}") from exc
            hosts = recap(lines)
            if not hosts:
                raise DemoError(f"{args.recap} has no PLAY RECAP")
            print(f"converge: {recap_verdict(hosts)}")
            return 0
        info = demo_info(args.scenario, args.secrets)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(info, indent=2) if args.json else render(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
