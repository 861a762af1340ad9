"""``answer-ninja call --script <name>``: a scripted caller rings the running stack and talks to the AI."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import typer
from rich.table import Table

from answer_ninja.cli import app
from answer_ninja.cli.common import console, err_console, machine_credential, operator_headers, settings_or_exit
from answer_ninja.platform.settings import Settings

if TYPE_CHECKING:  # the carrier (and the Twilio SDK under it) loads only when a call is placed
    from answer_ninja.telephony.loopback import LoopbackAnswer


def _ws_url(http_url: str, path: str) -> str:
    return http_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + path


async def _fetch_record(settings: Settings, call_id: str) -> dict[str, Any] | None:
    url = f"{settings.realtime_processor_url}/api/v1/voice/calls/{call_id}"
    async with httpx.AsyncClient(timeout=5.0, headers=operator_headers(settings)) as client:
        for _ in range(40):  # the record is written just after the stream closes
            try:
                response = await client.get(url)
            except httpx.TimeoutException:
                continue  # a busy service (Whisper on two cores) answers late, not never
            if response.status_code == 200 and response.json().get("status") == "completed":
                body: dict[str, Any] = response.json()
                return body
            await asyncio.sleep(0.25)
    return None


async def _place(settings: Settings, caller: str, dialled: str, call_sid: str) -> LoopbackAnswer:
    from answer_ninja.telephony.loopback import LoopbackCarrier

    carrier = LoopbackCarrier(settings.phone_gateway_url, auth_token=machine_credential(settings, "TWILIO_AUTH_TOKEN"))
    try:
        answer = await carrier.place_call(caller=caller, dialled=dialled, call_sid=call_sid)
    finally:
        await carrier.aclose()
    if answer.decision in ("transfer", "voicemail"):  # the AI cannot take calls now: the person's fallback
        await _run_fallback(settings, answer, call_sid, why="realtime-processor cannot take the call")
        raise typer.Exit(code=1)
    if answer.decision != "ai" or not answer.stream_url:
        raise typer.BadParameter(f"phone-gateway answered {answer.decision!r}, not the AI", param_hint="--to")
    return answer


async def _run_fallback(settings: Settings, answer: LoopbackAnswer, call_sid: str, *, why: str) -> None:
    """Run the fallback as Twilio would: a ring the person does not answer here, then the voicemail."""
    from answer_ninja.telephony.loopback import LoopbackCarrier

    carrier = LoopbackCarrier(settings.phone_gateway_url, auth_token=machine_credential(settings, "TWILIO_AUTH_TOKEN"))
    try:
        console.print(f"[yellow]fallback[/yellow] ({why})")
        next_answer: LoopbackAnswer | None = answer
        while next_answer is not None and next_answer.decision in ("transfer", "voicemail"):
            if next_answer.decision == "transfer":
                console.print(f"ringing the person's number {next_answer.transfer_number} (no answer here)")
                next_answer = await carrier.report_dial_result(next_answer, dial_status="no-answer")
            else:
                console.print(f"voicemail: {next_answer.prompt!r}, then a recording")
                next_answer = await carrier.leave_voicemail(next_answer, call_sid=call_sid, seconds=3)
    finally:
        await carrier.aclose()


def _direct_parameters(settings: Settings, caller: str) -> dict[str, str]:
    """A probe call straight to realtime-processor: the operator's machine holds INTERNAL_SECRET, so it signs the
    stream token phone-gateway would have given (no user; the caller picks the language)."""
    from answer_ninja.platform.auth.stream_tokens import issue_stream_token, stream_key

    secret = machine_credential(settings, "INTERNAL_SECRET")
    if not secret:
        raise typer.BadParameter(
            "INTERNAL_SECRET is not set here: --direct cannot sign a stream token", param_hint="--direct"
        )
    call_id = uuid.uuid4().hex
    token = issue_stream_token(
        stream_key(secret.encode()),
        call_id=call_id,
        user_id=None,
        language="",
        persona="polite",
        max_call_seconds=180.0,
        carrier="loopback",
    )
    return {"call_id": call_id, "caller": caller, "token": token}


async def _run_call(settings: Settings, name: str, dialled: str | None, direct: bool) -> int:
    from answer_ninja.speech.caller_voice import caller_tts
    from answer_ninja.speech.simulator import SimulatedCaller, load_script, synthesize_script

    script = load_script(name)
    console.print(f"[bold]{script.name}[/bold] ({script.language}): {script.description}")
    # Mandarin: the neural voice rendered at install time (espeak-ng when it is not there); English: Piper.
    voices = await asyncio.to_thread(caller_tts, english=script.language == "en-US")
    console.print(f"caller voice: {voices.name}")
    audio = await synthesize_script(script, voices)
    if direct:
        ws_url = _ws_url(settings.realtime_processor_url, "/media/twilio")
        parameters = _direct_parameters(settings, script.caller)
    else:
        call_sid = "CA" + uuid.uuid4().hex
        answer = await _place(settings, script.caller, dialled or settings.synthetic_probe_number, call_sid)
        ws_url, parameters = str(answer.stream_url), dict(answer.parameters)
    # The simulated caller speaks the script's language whatever the callee's preference is.
    parameters["language"] = script.language
    console.print(f"call {parameters['call_id']} -> {ws_url}")
    try:
        result = await SimulatedCaller(script, audio, ws_url=ws_url, parameters=parameters).run()
    except OSError as error:  # the stream never opened: Twilio would go on to the <Connect> action
        err_console.print(f"[yellow]the media stream failed[/yellow] ({type(error).__name__})")
        if direct:
            return 1
        await _follow_update(settings, call_sid, answer)
        return 1
    if not direct:
        await _follow_update(settings, call_sid, answer, caller_hung_up=result.ended_by == "caller")
    record = await _fetch_record(settings, parameters["call_id"])
    _print_call(result, record)
    return 0 if record is not None else 1


async def _follow_update(
    settings: Settings, call_sid: str, answer: LoopbackAnswer, *, caller_hung_up: bool = False
) -> None:
    """As Twilio runs an updated call's TwiML when its stream ends: a <Dial> rings the person (the loopback
    carrier reports it answered), a <Hangup> ends the call. Without an update, the <Connect> action says what
    next: a hang-up when the AI ended the call, otherwise the person's fallback."""
    from answer_ninja.telephony.loopback import LoopbackCarrier

    carrier = LoopbackCarrier(settings.phone_gateway_url, auth_token=machine_credential(settings, "TWILIO_AUTH_TOKEN"))
    try:
        update = await carrier.fetch_update(call_sid)
        if update is None:
            after = await carrier.stream_ended(answer, call_sid=call_sid, caller_hung_up=caller_hung_up)
            if after is not None and after.decision in ("transfer", "voicemail"):
                await _run_fallback(settings, after, call_sid, why="the stream ended without the AI ending the call")
            return
        if update is not None and update.decision == "transfer":
            console.print(f"[bold]transferred[/bold] to {update.transfer_number}: the person took the call")
            await carrier.report_dial_result(update, dial_status="completed")
        elif update is not None and update.decision == "hangup":
            console.print("[bold]hung up[/bold] by the person")
    finally:
        await carrier.aclose()


def _print_call(result: Any, record: dict[str, Any] | None) -> None:
    if record is None:
        err_console.print("[yellow]no call record came back from realtime-processor[/yellow]")
        for turn in result.turns:
            console.print(f"caller: {turn.text}  ({_ms(turn.voice_to_voice_ms)} to reply)")
        return
    timings = {entry["turn"]: entry for entry in record.get("turn_timings", [])}
    table = Table(show_header=True, header_style="bold")
    for column in ("turn", "speaker", "text", "voice-to-voice", "stages (ms)"):
        table.add_column(column)
    for entry in record.get("transcript", []):
        timing = timings.get(entry["turn"], {}) if entry["speaker"] == "ai" else {}
        stages = " ".join(
            f"{key}={round(timing[key])}" for key in ("endpointing", "stt", "reply", "tts_first_byte") if key in timing
        )
        text = entry["text"] + (" [cut off]" if entry.get("interrupted") else "")
        table.add_row(str(entry["turn"]), entry["speaker"], text, _ms(timing.get("voice_to_voice")), stages)
    console.print(table)
    heard = [turn.voice_to_voice_ms for turn in result.turns if turn.voice_to_voice_ms is not None]
    console.print(
        f"outcome: [bold]{record.get('outcome')}[/bold] (hung up by {result.ended_by}), "
        f"{result.duration_seconds:.1f}s, barge-ins {result.clears}, "
        f"caller-side voice-to-voice: {', '.join(_ms(value) for value in heard) or 'none'}"
    )


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} ms"


@app.command()
def call(
    script: str = typer.Option(..., "--script", help="Caller script name (answer-ninja call --list)"),
    to: str | None = typer.Option(None, help="Number dialled (default: the synthetic probe number)"),
    direct: bool = typer.Option(False, help="Skip phone-gateway: stream straight to realtime-processor"),
) -> None:
    """Place a scripted call through phone-gateway (loopback carrier) and print the conversation."""
    from answer_ninja.speech.simulator import ScriptError

    settings = settings_or_exit()
    try:
        code = asyncio.run(_run_call(settings, script, to, direct))
    except ScriptError as error:
        err_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
    except httpx.HTTPError as error:
        err_console.print(f"[red]error:[/red] cannot reach the stack ({type(error).__name__}: {error}); is it up?")
        raise typer.Exit(code=1) from None
    raise typer.Exit(code=code)


@app.command("call-scripts")
def call_scripts() -> None:
    """List the caller scripts."""
    from answer_ninja.speech.simulator import load_script, script_names

    for name in script_names():
        script = load_script(name)
        console.print(f"{name:<16} {script.language}  {script.description}")
