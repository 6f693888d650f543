"""`clouder context add/list/use/show/remove`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.errors import BadInputError, InvalidDocumentError

app = typer.Typer(
    help="Where clusters live: cloud, account, region and how credentials are found.", no_args_is_help=True
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Context name (a DNS label).")],
    cloud: Annotated[str, typer.Option("--cloud", help="aws or azure.")],
    region: Annotated[str, typer.Option("--region", help="AWS region or Azure location.")],
    credentials: Annotated[
        str,
        typer.Option(
            "--credentials",
            help="aws: profile|environment|instance-role; azure: cli|environment|managed-identity",
        ),
    ],
    account: Annotated[
        str | None, typer.Option("--account", help="AWS account ID or Azure subscription ID.")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Azure tenant ID.")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile name.")] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="Azure managed identity client ID.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Default tag KEY=VALUE (repeatable).")
    ] = None,
    use: Annotated[bool, typer.Option("--use", help="Make it the current context.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a context of that name.")] = False,
) -> None:
    """Add a context. Refuses anything that looks like a key, token or password."""
    from pydantic import ValidationError

    from clouder.contexts import Context, ContextStore
    from clouder.spec.loader import problems_from_validation

    tags = dict(_split_tag(item) for item in tag or [])
    raw: dict[str, Any] = {
        "name": name,
        "cloud": cloud,
        "region": region,
        "credentials": credentials,
        "account": account,
        "tenant": tenant,
        "profile": profile,
        "clientId": client_id,
        "tags": tags,
    }
    try:
        context = Context.model_validate({key: value for key, value in raw.items() if value is not None})
    except ValidationError as exc:
        raise InvalidDocumentError(
            f"context {name!r}", problems_from_validation(exc, None, Context), "context"
        ) from None
    store = ContextStore()
    store.add(context, replace=replace, use=use)
    typer.echo(f"added context {name} ({cloud}, {region}) to {store.path}")


@app.command("list")
def list_(output: OutputOption = None) -> None:
    """List contexts; the current one is marked with *."""
    from clouder.contexts import ContextStore

    contexts = ContextStore().load()
    if output_format(output) is Format.json:
        emit_json(
            {
                "current": contexts.current,
                "contexts": [c.model_dump(mode="json", by_alias=True) for c in contexts.contexts.values()],
            }
        )
        return
    if not contexts.contexts:
        typer.echo(
            "no contexts yet; add one with `clouder context add NAME --cloud aws --region … --credentials …`"
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("", "NAME", "CLOUD", "REGION", "ACCOUNT", "CREDENTIALS", box=None)
    for context in contexts.contexts.values():
        mark = "*" if context.name == contexts.current else ""
        table.add_row(
            mark, context.name, context.cloud, context.region, context.account or "-", context.credentials
        )
    Console().print(table)


@app.command("use")
def use(name: Annotated[str, typer.Argument()]) -> None:
    """Make NAME the current context."""
    from clouder.contexts import ContextStore

    ContextStore().use(name)
    typer.echo(f"now using context {name}")


@app.command("show")
def show(
    name: Annotated[str | None, typer.Argument(help="Default: the current context.")] = None,
    output: OutputOption = None,
) -> None:
    """Show one context."""
    from clouder.contexts import ContextStore

    context = ContextStore().get(name)
    data = context.model_dump(mode="json", by_alias=True, exclude_none=True)
    if output_format(output) is Format.json:
        emit_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{key}: {value}")


@app.command("remove")
def remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove a context."""
    from clouder.contexts import ContextStore

    ContextStore().remove(name)
    typer.echo(f"removed context {name}")


def _split_tag(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise BadInputError(f"--tag {item!r} is not KEY=VALUE.")
    return key, value


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="context")
