"""``answer-ninja converse``: the conversation engine from the command line (scripted transcripts, classify)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from answer_ninja.calls.vocabulary import Language
from answer_ninja.cli import app
from answer_ninja.cli.common import console, settings_or_exit

converse_app = typer.Typer(help="Conversation engine: intents, dialogue, replies.", no_args_is_help=True)
app.add_typer(converse_app, name="converse")

DEFAULT_TRANSCRIPTS = Path("docs/conversation-transcripts.md")


@converse_app.command("demo")
def demo(
    output: Path = typer.Option(DEFAULT_TRANSCRIPTS, help="Markdown file to write ('-' prints it)"),
) -> None:
    """Run the scripted calls (zh-CN and en-US, every persona) through the engine and write the transcripts."""
    from answer_ninja.services.conversation_engine.app import policy_from
    from answer_ninja.services.conversation_engine.demo import transcripts_markdown

    markdown = asyncio.run(transcripts_markdown(policy_from(settings_or_exit())))
    if str(output) == "-":
        console.print(markdown, markup=False, highlight=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown, encoding="utf-8")
    console.print(f"wrote {output}")


@converse_app.command("classify")
def classify_text(
    text: str = typer.Argument(..., help="What the caller said"),
    language: Language | None = typer.Option(None, help="zh-CN or en-US; detected when absent"),
) -> None:
    """The intent of one utterance, with its confidence and the words that decided it."""
    from answer_ninja.services.conversation_engine.understanding import understand

    result = understand(text, language)
    console.print(
        f"{result.intent.value} (confidence {result.confidence:.2f}, {result.language.value}, by {result.method}); "
        f"evidence: {', '.join(result.evidence) or '-'}",
        highlight=False,
    )
