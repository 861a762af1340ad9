"""The scripted transcripts: every persona, both languages, each call ends for a reason; docs/ is up to date."""

from __future__ import annotations

from pathlib import Path

from answer_ninja.calls.termination import TerminationPolicy
from answer_ninja.calls.vocabulary import Language, Persona
from answer_ninja.platform.settings import Settings
from answer_ninja.services.conversation_engine.app import policy_from
from answer_ninja.services.conversation_engine.demo import SCRIPTS, demo_engine, run_script, transcripts_markdown

DOCS = Path(__file__).resolve().parents[3] / "docs" / "conversation-transcripts.md"


def test_scripts_cover_every_persona_and_both_languages() -> None:
    assert {script.persona for script in SCRIPTS} == set(Persona)
    assert {script.language for script in SCRIPTS} == set(Language)


async def test_every_scripted_call_ends_with_a_reason() -> None:
    engine = demo_engine(TerminationPolicy())
    reasons = []
    for number, script in enumerate(SCRIPTS):
        responses = await run_script(script, f"t{number}", engine)
        assert responses[-1].should_terminate, script.title
        reasons.append(responses[-1].reason)
    assert {"persistence", "goodbye", "frustration", "message_taken"} <= set(reasons)


async def test_the_committed_transcripts_match_the_code() -> None:
    policy = policy_from(Settings.model_construct())  # the defaults, whatever this shell's environment says
    assert DOCS.read_text(encoding="utf-8") == await transcripts_markdown(policy), (
        "docs/conversation-transcripts.md is stale: run `answer-ninja converse demo`"
    )
