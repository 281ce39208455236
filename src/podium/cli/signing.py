"""``podium keys signing``: the Ed25519 key pairs that sign model packages."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from podium.cli.context import err, out

__all__ = ["app"]

app = typer.Typer(help="Ed25519 keys that sign model packages: create.", no_args_is_help=True)


@app.command("create")
def create(
    out_dir: Path = typer.Option(Path("keys"), "--out", help="folder to write the pair in (created)"),
    name: str = typer.Option("podium-signing", "--name", help="file name stem: NAME.key and NAME.pub"),
) -> None:
    """Make a key pair: NAME.key (private, mode 0600) signs packages; NAME.pub checks them.

    The public key is printed. Set `signing_key: KEYS/NAME.key` in podium.yaml where models are
    registered, and `require_signed: true` with `trusted_keys: [KEYS/NAME.pub]` where they are
    served and promoted.
    """
    from podium.registry.signing import PublicKey, generate_key_pair

    private, public = generate_key_pair(out_dir, name)
    key = PublicKey.load(public)
    err.print(escape(f"signing key {key.key_id}: private {private} (mode 600, keep it secret), public {public}"))
    err.print(escape(f"in podium.yaml: signing_key: {private} (to sign) · require_signed: true, "
                     f"trusted_keys: [{public}] (to check)"))
    out.print(key.pem().rstrip())
