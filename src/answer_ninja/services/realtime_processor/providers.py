"""Speech providers chosen by settings, each chain ending in what works offline; failures mark the service degraded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from answer_ninja.platform.health import HealthState
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.speech.base import (
    FallbackSpeechToText,
    FallbackTextToSpeech,
    SpeechProviderError,
    SpeechToText,
    TextToSpeech,
    VoiceActivityDetector,
)
from answer_ninja.speech.vad import EnergyVad, GatedVad, WebRtcVad

log = get_logger(__name__)


@dataclass
class SpeechProviders:
    vad_factory: type[WebRtcVad] | type[EnergyVad] | None
    stt: SpeechToText
    tts: TextToSpeech  # live: speaks a reply no cache has, as fast as it can
    vad_aggressiveness: int = 2
    # The best voice, for audio prepared ahead (template lines, replies prepared while the caller speaks).
    prepared_tts: TextToSpeech | None = None
    voices: dict[str, str] = field(default_factory=dict)  # language -> the voice it is spoken with (/health)

    def new_vad(self) -> VoiceActivityDetector:
        """webrtcvad keeps per-stream state: one detector per call."""
        if self.vad_factory is WebRtcVad:
            return GatedVad(WebRtcVad(self.vad_aggressiveness))
        return EnergyVad()


class NoSpeechToText:
    """The last link when nothing can transcribe: the call still gets prompts and a goodbye."""

    name = "none"

    async def transcribe(self, pcm: bytes, language: str) -> str:
        return ""


class SilentTextToSpeech:
    """The last link when nothing can speak: a short silence, so the loop (and the hang-up) still works."""

    name = "silence"

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        yield bytes(16000)  # 0.5 s


def _degrade(health: HealthState, provider: str, error: BaseException) -> None:
    health.set_degraded(f"speech:{provider}", f"speech provider {provider} unavailable: {str(error)[:160]}")


def build_providers(settings: Settings, health: HealthState) -> SpeechProviders:
    """Load the configured providers (blocking: models load here). Missing ones degrade, never crash."""
    from answer_ninja.speech.models import default_model_root, prepare_whisper_base

    def failed(provider: str, error: BaseException) -> None:
        _degrade(health, provider, error)

    try:
        WebRtcVad(settings.vad_aggressiveness)
        vad_factory: type[WebRtcVad] | type[EnergyVad] = WebRtcVad
    except SpeechProviderError as error:
        failed("webrtcvad", error)
        vad_factory = EnergyVad

    stt_chain: list[SpeechToText] = []
    tts_chain: list[TextToSpeech] = []
    if settings.stt_provider == "azure" or settings.tts_provider == "azure":
        if settings.azure_speech_configured:
            from answer_ninja.speech.azure_speech import AzureSpeechToText, AzureTextToSpeech

            key = settings.azure_speech_key.get_secret_value() if settings.azure_speech_key else ""
            region = settings.azure_speech_region or ""
            try:
                if settings.stt_provider == "azure":
                    stt_chain.append(AzureSpeechToText(key, region))
                if settings.tts_provider == "azure":
                    tts_chain.append(AzureTextToSpeech(key, region))
            except SpeechProviderError as error:
                failed("azure", error)
        else:
            failed("azure", SpeechProviderError("AZURE_SPEECH_KEY/AZURE_SPEECH_REGION not set; using local"))

    try:
        from answer_ninja.speech.whisper_stt import WhisperSpeechToText

        root = settings.speech_model_dir or default_model_root(settings.data_dir)
        whisper = WhisperSpeechToText(
            prepare_whisper_base(root),
            cpu_threads=settings.whisper_cpu_threads,
            workers=settings.whisper_workers,
            window=settings.whisper_window,
        )
        stt_chain.append(whisper)
    except (SpeechProviderError, RuntimeError, OSError) as error:
        failed("whisper", error)
    if not stt_chain:
        stt_chain.append(NoSpeechToText())

    from answer_ninja.speech.local_tts import (
        EspeakTextToSpeech,
        LanguageRoutedTextToSpeech,
        LocalVoice,
        PiperTextToSpeech,
    )

    engines: list[LocalVoice] = []
    for engine_type in (PiperTextToSpeech, EspeakTextToSpeech):
        try:
            engines.append(engine_type())
        except (SpeechProviderError, RuntimeError, OSError) as error:
            failed(engine_type.name, error)
    natural: list[LocalVoice] = []
    if settings.tts_natural_voice:
        try:
            from answer_ninja.speech.kokoro_tts import KokoroTextToSpeech

            natural.append(KokoroTextToSpeech())
        except (SpeechProviderError, RuntimeError, OSError) as error:
            failed("kokoro", error)
    prepared_chain = list(tts_chain)
    if engines:
        tts_chain.append(LanguageRoutedTextToSpeech(engines))
    if engines or natural:
        prepared_chain.append(LanguageRoutedTextToSpeech([*engines[:1], *natural, *engines[1:]]))
    if not tts_chain:
        tts_chain.append(SilentTextToSpeech())
        prepared_chain.append(SilentTextToSpeech())
    voices = describe_voices(tts_chain, prepared_chain)
    log.info("speech_providers", stt=[p.name for p in stt_chain], tts=[p.name for p in tts_chain], voices=voices,
             vad=vad_factory.name)  # fmt: skip
    return SpeechProviders(
        vad_factory=vad_factory,
        stt=FallbackSpeechToText(stt_chain, failed),
        tts=FallbackTextToSpeech(tts_chain, failed),
        vad_aggressiveness=settings.vad_aggressiveness,
        prepared_tts=FallbackTextToSpeech(prepared_chain, failed),
        voices=voices,
    )


def _voice_for(chain: list[TextToSpeech], language: str) -> str:
    """The first voice in a chain that speaks ``language`` (Azure speaks both)."""
    for provider in chain:
        engines = getattr(provider, "engines", None)
        if engines is None:
            return provider.name
        for engine in engines:
            if language in engine.languages:
                return str(engine.name)
    return "none"


def describe_voices(live: list[TextToSpeech], prepared: list[TextToSpeech]) -> dict[str, str]:
    """Per language, the voice of prepared lines and (if different) of live replies: what /health shows."""
    described = {}
    for language in ("zh-CN", "en-US"):
        best, fast = _voice_for(prepared, language), _voice_for(live, language)
        described[language] = best if best == fast else f"{best} (prepared lines), {fast} (live)"
    return described
